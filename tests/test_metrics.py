"""The MTF instruments on a known linear filter (Gaussian blur, analytic MTF)."""

import numpy as np
import pytest
from scipy import ndimage

from engine.metrics import grating_contrast, mtf50, slanted_edge_sfr

PITCH_UM = 0.5
SIGMA_PX = 1.2


def gaussian_mtf(freq_cyc_per_mm):
    f_cyc_per_px = freq_cyc_per_mm * PITCH_UM * 1e-3
    return np.exp(-2 * (np.pi * SIGMA_PX * f_cyc_per_px) ** 2)


@pytest.mark.parametrize("orientation", ["h", "v"])
def test_grating_lock_in_recovers_gaussian_mtf(orientation):
    n, contrast = 256, 0.6
    freqs = np.linspace(50, 950, 20)  # up to 0.475 cycles/pixel
    rng = np.random.default_rng(0)
    measured = []
    for f in freqs:
        x_mm = (np.arange(n) * PITCH_UM * 1e-3)
        profile = 0.5 * (1 + contrast * np.cos(2 * np.pi * f * x_mm + 0.3))
        image = np.tile(profile, (n, 1)) if orientation == "h" else np.tile(profile[:, None], (1, n))
        blurred = ndimage.gaussian_filter(image, SIGMA_PX, mode="wrap") + rng.normal(0, 0.005, image.shape)
        measured.append(grating_contrast(blurred, f, PITCH_UM, orientation) / contrast)
    # A sampled sinusoid blurred by a sampled Gaussian kernel: compare with the kernel's own DFT.
    kernel_mtf = gaussian_mtf(freqs)
    np.testing.assert_allclose(measured, kernel_mtf, atol=0.02)


def test_mtf50_interpolates_first_crossing():
    freqs = np.array([0.0, 100.0, 200.0, 300.0])
    assert mtf50(freqs, np.array([1.0, 0.8, 0.4, 0.6])) == pytest.approx(175.0)
    assert np.isnan(mtf50(freqs, np.array([1.0, 0.9, 0.8, 0.7])))
    expected = np.sqrt(np.log(2) / 2) / (np.pi * SIGMA_PX) * 1e3 / PITCH_UM
    dense = np.linspace(0, 1000, 2001)
    assert mtf50(dense, gaussian_mtf(dense)) == pytest.approx(expected, rel=1e-3)


def test_slanted_edge_matches_gaussian_mtf50():
    n, angle_deg, super_k = 128, 5.0, 8
    yy, xx = np.mgrid[0 : n * super_k, 0 : n * super_k] / super_k
    edge_hi = (xx - n / 2 > np.tan(np.radians(angle_deg)) * (yy - n / 2)).astype(float)
    edge = edge_hi.reshape(n, super_k, n, super_k).mean(axis=(1, 3)) * 0.6 + 0.2
    blurred = ndimage.gaussian_filter(edge, SIGMA_PX)
    freq, sfr = slanted_edge_sfr(blurred, PITCH_UM)
    # The pixel-area rendering of the edge adds a sinc(f) box; include it in the truth.
    f_px = freq * PITCH_UM * 1e-3
    truth = gaussian_mtf(freq) * np.abs(np.sinc(f_px))
    assert mtf50(freq, sfr) == pytest.approx(mtf50(freq, truth), rel=0.05)


def test_edge_that_is_not_slanted_is_refused():
    edge = np.zeros((64, 64))
    edge[:, 32:] = 1.0
    with pytest.raises(ValueError, match="not slanted"):
        slanted_edge_sfr(edge, PITCH_UM)

"""The MTF instruments on known linear filters (Gaussian blur, box: analytic MTFs) and ideal pipelines."""

import numpy as np
import pytest
from scipy import ndimage

from engine import metrics
from engine.metrics import grating_contrast, mtf50, mtf_crossing, slanted_edge_sfr, texture_mtf

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


@pytest.mark.parametrize("angle_deg", [5.0, 20.0])
def test_slanted_edge_matches_gaussian_mtf50(angle_deg):
    """Across the edge, the slant's cos (6 % at 20 deg) included: within 2 % of the closed form."""
    n, super_k = 128, 8
    yy, xx = np.mgrid[0 : n * super_k, 0 : n * super_k] / super_k
    edge_hi = (xx - n / 2 > np.tan(np.radians(angle_deg)) * (yy - n / 2)).astype(float)
    edge = edge_hi.reshape(n, super_k, n, super_k).mean(axis=(1, 3)) * 0.6 + 0.2
    blurred = ndimage.gaussian_filter(edge, SIGMA_PX)
    freq, sfr = slanted_edge_sfr(blurred, PITCH_UM, np.tan(np.radians(angle_deg)))
    # The pixel-area rendering of the edge adds the pixel box, seen across the edge; include it in the truth.
    f_px = freq * PITCH_UM * 1e-3
    slant = np.radians(angle_deg)
    truth = gaussian_mtf(freq) * np.abs(np.sinc(f_px * np.cos(slant)) * np.sinc(f_px * np.sin(slant)))
    assert mtf50(freq, sfr) == pytest.approx(mtf50(freq, truth), rel=0.02)


def test_slanted_edge_holds_its_mtf50_on_a_noisy_edge():
    """Noise of 1/6 the edge step per pixel (about 16 dB): the chart's known slant keeps every one of
    ten noise draws within 15 % of the closed form (a line fitted to such an image was off by up to
    70 % or never fell through 0.5)."""
    n, angle_deg, super_k = 112, 5.0, 8
    yy, xx = np.mgrid[0 : n * super_k, 0 : n * super_k] / super_k
    edge_hi = (xx - n / 2 > np.tan(np.radians(angle_deg)) * (yy - n / 2)).astype(float)
    edge = ndimage.gaussian_filter(edge_hi.reshape(n, super_k, n, super_k).mean(axis=(1, 3)) * 0.6 + 0.2, SIGMA_PX)
    ratios = []
    for seed in range(10):
        noisy = edge + np.random.default_rng(seed).normal(0.0, 0.1, edge.shape)
        freq, sfr = slanted_edge_sfr(noisy, PITCH_UM, np.tan(np.radians(angle_deg)))
        ratios.append(mtf50(freq, sfr) / mtf50(freq, gaussian_mtf(freq) * np.abs(np.sinc(freq * PITCH_UM * 1e-3))))
    assert np.all(np.abs(np.array(ratios) - 1.0) < 0.15), ratios


def test_edge_that_is_not_slanted_is_refused():
    edge = np.zeros((64, 64))
    edge[:, 32:] = 1.0
    with pytest.raises(ValueError, match="not slanted"):
        slanted_edge_sfr(edge, PITCH_UM, 0.005)


def _dead_leaves_luminance(n=128, seed=0):
    from engine.scenes import dead_leaves

    return dead_leaves(PITCH_UM, (n, n), rng=seed, rmin_um=0.5 * PITCH_UM, rmax_um=64 * PITCH_UM)[..., 1].astype(float)


def test_texture_mtf_of_an_identity_pipeline_is_one():
    reference = np.stack([_dead_leaves_luminance(seed=k) for k in range(2)])  # two charts, as the instrument
    rng = np.random.default_rng(1)
    noisy = reference + rng.normal(0, 0.02, reference.shape)
    flat = np.full_like(reference, reference.mean()) + rng.normal(0, 0.02, reference.shape)
    freq, mtf_h, mtf_v = texture_mtf(noisy, reference, flat, PITCH_UM)
    upto = freq <= 0.7 * 1e3 / (2 * PITCH_UM)
    np.testing.assert_allclose(mtf_h[upto], 1.0, atol=0.05)
    np.testing.assert_allclose(mtf_v[upto], 1.0, atol=0.05)


def test_texture_mtf_of_a_gaussian_blur_is_its_analytic_mtf():
    reference = _dead_leaves_luminance()
    rng = np.random.default_rng(2)
    blurred = ndimage.gaussian_filter(reference, SIGMA_PX) + rng.normal(0, 0.005, reference.shape)
    flat = np.full_like(reference, reference.mean()) + rng.normal(0, 0.005, reference.shape)
    freq, mtf_h, mtf_v = texture_mtf(blurred, reference, flat, PITCH_UM)
    for mtf in (mtf_h, mtf_v):
        np.testing.assert_allclose(mtf, gaussian_mtf(freq), atol=0.05)
        assert mtf50(freq, mtf) == pytest.approx(mtf50(freq, gaussian_mtf(freq)), rel=0.05)
    _, noisy_h, _ = texture_mtf(blurred, reference, np.zeros_like(flat), PITCH_UM)
    assert noisy_h[-4:].min() > 10 * gaussian_mtf(freq[-4])  # without the flat patch the noise reads as texture


def test_texture_mtf_divides_the_reference_aperture_out():
    """A reference box-filtered by a 1-px aperture: the MTF of the identity is then that box's sinc."""
    reference = _dead_leaves_luminance()
    box = ndimage.uniform_filter(reference, 3)  # a 3-px box stands in for a known aperture
    freq, mtf_h, _ = texture_mtf(box, box, np.zeros_like(box), PITCH_UM, reference_box_px=3.0)
    f_px = freq * PITCH_UM * 1e-3
    upto = f_px < 0.3  # the sinc's first zero is at 1/3 cycles/px
    np.testing.assert_allclose(mtf_h[upto], np.abs(np.sinc(3 * f_px[upto])), atol=0.05)


def test_mtf_crossings_at_10_30_and_50_percent():
    dense = np.linspace(0, 1000, 2001)
    mtf = gaussian_mtf(dense)
    for level in (0.1, 0.3, 0.5):
        expected = np.sqrt(-np.log(level) / 2) / (np.pi * SIGMA_PX) * 1e3 / PITCH_UM
        assert mtf_crossing(dense, mtf, level) == pytest.approx(expected, rel=1e-3)


def test_texture_mtf_refuses_mismatched_sizes():
    with pytest.raises(ValueError, match="same image size"):
        texture_mtf(np.zeros((32, 32)), np.zeros((32, 32)), np.zeros((16, 16)), PITCH_UM)


def _cosine(f_cyc_per_mm: float, pitch_um: float, n: int = 128) -> np.ndarray:
    x = np.arange(n) * pitch_um / 1000.0
    return np.broadcast_to(np.cos(2 * np.pi * f_cyc_per_mm * x)[None, :], (n, n)).copy()


def test_energy_above_a_frequency_counts_only_the_components_beyond_it():
    pitch = 0.5  # Nyquist 1000 cycles/mm
    img = _cosine(250.0, pitch) + 0.5 * _cosine(750.0, pitch)
    # the 750 component carries 0.25 / 1.25 of the energy
    assert metrics.energy_above(img, pitch, 500.0) == pytest.approx(0.2, abs=0.02)
    assert metrics.energy_above(img, pitch, 900.0) < 0.01
    assert metrics.energy_above(img, pitch, 100.0) > 0.99


def test_ideal_lowpass_keeps_what_lies_below_the_cutoff_and_removes_the_rest():
    pitch = 0.5
    low, high = _cosine(250.0, pitch), _cosine(750.0, pitch)
    out = metrics.ideal_lowpass(np.stack([low + high, low], axis=-1), pitch, 500.0)
    inner = (slice(16, -16), slice(16, -16))  # away from the mirror seam
    assert np.abs(out[..., 0][inner] - low[inner]).max() < 0.05
    assert np.abs(out[..., 1][inner] - low[inner]).max() < 0.05

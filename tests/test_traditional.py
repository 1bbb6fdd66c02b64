"""The traditional ISP: exact demosaic of flat colour, noise reduction, mild sharpening, clear errors."""

import numpy as np
import pytest

from engine.design import preset
from engine.isp import PipelineUnavailable, run_pipeline
from engine.isp.traditional import _upsample2, bilateral, bilinear_demosaic, demosaic_pipeline, traditional_pipeline
from engine.sensor import cfa_pattern
from engine.study import measure_mtf


@pytest.mark.parametrize("layout", ["hex", "quad", "bayer"])
def test_demosaic_of_constant_colour_is_exact(layout):
    cfa = cfa_pattern(layout, (40, 48))
    colour = np.array([0.31, 0.52, 0.17], dtype=np.float32)
    np.testing.assert_allclose(bilinear_demosaic(colour[cfa], cfa, layout), np.broadcast_to(colour, (40, 48, 3)), atol=1e-6)


def test_demosaic_keeps_measured_samples():
    cfa = cfa_pattern("hex", (32, 32))
    raw = np.random.default_rng(0).uniform(0, 1, (32, 32)).astype(np.float32)
    rgb = bilinear_demosaic(raw, cfa, "hex")
    np.testing.assert_array_equal(np.take_along_axis(rgb, cfa[..., None].astype(int), axis=2)[..., 0], raw)


def test_pyramid_upsampling_is_linear_zoom():
    """The pyramid's 2x upsampling equals scipy's linear zoom on the pixel-centre grid."""
    from scipy import ndimage

    x = np.random.default_rng(0).random((37, 64)).astype(np.float32)
    expected = np.pad(ndimage.zoom(x, 2, order=1, grid_mode=True, mode="nearest"), [(0, 1), (0, 0)], mode="edge")
    np.testing.assert_allclose(_upsample2(x, (75, 128)), expected, atol=1e-6)


def test_bilateral_matches_exact_gaussian_range_kernel():
    """The vectorised range weight stays close to a direct exp() bilateral (edges replicated), keeps
    a step edge and smooths noise."""
    rng = np.random.default_rng(1)
    img = (np.where(np.arange(48) < 24, 0.2, 0.8)[None, :] + rng.normal(0, 0.02, (40, 48))).astype(np.float32)
    sigma_s, sigma_r, r = 2.0, 0.06, 4
    pad = np.pad(img, r, mode="edge")
    d = np.arange(-r, r + 1)
    spatial = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * sigma_s**2))
    exact = np.empty_like(img)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            window = pad[i:i + 2 * r + 1, j:j + 2 * r + 1]
            w = spatial * np.exp(-((window - img[i, j]) ** 2) / (2 * sigma_r**2))
            exact[i, j] = np.sum(w * window) / np.sum(w)
    out = bilateral(img, sigma_s, sigma_r)
    assert np.abs(out - exact).max() < 2e-3
    assert out[:, :20].std() < 0.5 * img[:, :20].std()
    assert out[:, 23].mean() < 0.3 and out[:, 24].mean() > 0.7


def test_traditional_lowers_noise_on_flat_grey():
    cfa = cfa_pattern("hex", (128, 128))
    sigma = 0.02
    grey = np.array([0.25, 0.4, 0.3], dtype=np.float32)[cfa]
    raw = grey + np.random.default_rng(1).normal(0, sigma, grey.shape).astype(np.float32)
    demosaiced = demosaic_pipeline(raw, cfa, "hex")
    processed = traditional_pipeline(raw, cfa, "hex", np.full(raw.shape, sigma, dtype=np.float32))
    noise_before = demosaiced[16:-16, 16:-16].std(axis=(0, 1))
    noise_after = processed[16:-16, 16:-16].std(axis=(0, 1))
    assert np.all(noise_after < 0.5 * noise_before)
    np.testing.assert_allclose(processed.mean(axis=(0, 1)), demosaiced.mean(axis=(0, 1)), atol=0.01)


def test_traditional_raises_mtf50_only_slightly_over_demosaic():
    design = preset("0.55")
    results = measure_mtf(design, ("demosaic", "traditional"), size_px=64, count=12)
    demosaiced, traditional = results["demosaic"], results["traditional"]
    for ours, base in [(traditional.mtf50_h_cyc_per_mm, demosaiced.mtf50_h_cyc_per_mm),
                       (traditional.mtf50_v_cyc_per_mm, demosaiced.mtf50_v_cyc_per_mm)]:
        assert 1.0 < ours / base < 1.15


@pytest.mark.parametrize(
    "raw, cfa, layout, message",
    [
        (np.zeros((16, 16)), cfa_pattern("hex", (16, 16)), "xtrans", "cfa layout must be one of hex, quad, bayer"),
        (np.zeros((16, 18)), cfa_pattern("hex", (16, 16)), "hex", r"raw must be \(H, W\) or \(frames, H, W\) matching cfa"),
        (np.full((32, 32), np.nan), cfa_pattern("hex", (32, 32)), "hex", "raw must be finite"),
        (np.zeros((8, 8)), cfa_pattern("hex", (8, 8)), "hex", "at least 16 pixels per side for hex"),
    ],
)
def test_bad_raw_inputs_are_refused(raw, cfa, layout, message):
    with pytest.raises(ValueError, match=message):
        bilinear_demosaic(raw, cfa, layout)


def test_neural_pipeline_without_weights_says_so():
    from engine.sensor import simulate_raw

    delta_psf = np.zeros((4, 3, 16, 16), dtype=np.float32)
    delta_psf[..., 8, 8] = 1.0
    off_preset = preset("0.35").replace(pitch_um=0.4, f_number=1.9)  # no weights are trained for it
    capture = simulate_raw(np.full((64, 64, 3), 0.4, np.float32), delta_psf, off_preset, rng=0)
    with pytest.raises(PipelineUnavailable, match="no trained weights"):
        run_pipeline("neural", capture, neural="design")

"""Known-PSF restoration (pipeline ``deconv``): Wiener filter against closed forms."""

import numpy as np
import pytest
import scipy.ndimage

from engine.design import preset
from engine.isp import color, deconv, run_pipeline
from engine.simulate import capture_scene


def gaussian_kernels(sigma_px: float, size: int = 32) -> np.ndarray:
    x = np.arange(size) - size // 2
    g = np.exp(-0.5 * (x / sigma_px) ** 2)
    k = np.outer(g, g)
    return np.stack([k / k.sum()] * 3)


def test_wiener_restores_a_known_gaussian_blur():
    """A cosine blurred by a known Gaussian comes back at its own amplitude (the Gaussian's closed-form
    MTF at that frequency is 0.29, so a failure to deconvolve is plain), away from the borders."""
    n, sigma_px, cycles = 128, 1.5, 24
    f = cycles / n
    x = np.arange(n)
    image = 0.5 + 0.3 * np.cos(2 * np.pi * f * x)[None, :] * np.ones((n, 1))
    rgb = np.repeat(image[..., None], 3, axis=2)
    blurred = np.stack([scipy.ndimage.gaussian_filter(rgb[..., c], sigma_px, mode="reflect", truncate=8) for c in range(3)], -1)
    analytic_mtf = np.exp(-2 * (np.pi * sigma_px * f) ** 2)
    inner = slice(24, -24)

    def amplitude(img):
        row = img[inner, inner, 1].mean(axis=0) - img[inner, inner, 1].mean()
        xs = x[inner]
        return 2 * abs(np.mean(row * np.exp(-2j * np.pi * f * xs)))

    assert amplitude(blurred) == pytest.approx(0.3 * analytic_mtf, rel=0.02)
    restored = deconv.wiener_deconvolve(blurred, gaussian_kernels(sigma_px), 1e-5)
    assert amplitude(restored) == pytest.approx(0.3, rel=0.03)


def test_wiener_is_noise_aware():
    """More noise -> less gain at high frequencies (never amplifying noise without bound), and a
    noisy blurred image gets closer to the truth than it was."""
    rng = np.random.default_rng(0)
    n = 96
    truth = np.kron(rng.random((n // 8, n // 8, 3)), np.ones((8, 8, 1)))  # blocks: a 1/f^2 spectrum
    kernels = gaussian_kernels(1.0)
    blurred = np.stack([scipy.ndimage.gaussian_filter(truth[..., c], 1.0, mode="reflect", truncate=8) for c in range(3)], -1)
    noisy = blurred + 0.002 * rng.standard_normal(blurred.shape)
    restored = deconv.wiener_deconvolve(noisy, kernels, 0.002)
    inner = (slice(16, -16), slice(16, -16))
    err_before = np.sqrt(np.mean((noisy - truth)[inner] ** 2))
    err_after = np.sqrt(np.mean((restored - truth)[inner] ** 2))
    assert err_after < 0.7 * err_before
    strong = deconv.wiener_deconvolve(noisy, kernels, 0.05)
    assert np.std(np.diff(strong[inner], axis=1)) < np.std(np.diff(restored[inner], axis=1))


def test_system_kernels_sum_to_one_and_centre():
    psfs = np.zeros((4, 3, 64, 64))
    psfs[:, :, 32, 32] = 1.0
    k = deconv.system_kernels(psfs, 2)
    assert k.shape == (3, 32, 32)
    assert k[:, 16, 16] == pytest.approx(1.0)
    assert np.allclose(k.sum(axis=(1, 2)), 1.0)


def test_mtf_descriptor_of_a_delta_is_one():
    k = np.zeros((3, 32, 32))
    k[:, 16, 16] = 1
    assert np.allclose(deconv.mtf_descriptor(k), 1.0)
    assert np.all(np.diff(deconv.mtf_descriptor(gaussian_kernels(1.0))) < 0)


def test_deconv_pipeline_sharper_than_demosaic_on_a_preset():
    design = preset("0.55")
    capture = capture_scene(design, "slanted_edge", 64, seed=0)
    chain = color.color_chain()
    out = run_pipeline("deconv", capture, chain)
    base = run_pipeline("demosaic", capture, chain)
    assert out.shape == base.shape == (64, 64, 3)
    assert np.isfinite(out).all()
    grad = lambda im: np.abs(np.diff(im[16:-16, 16:-16, 1], axis=1)).max()  # noqa: E731
    assert grad(out) > 1.2 * grad(base)


def test_wiener_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        deconv.wiener_deconvolve(np.full((16, 16, 3), np.nan), gaussian_kernels(1.0, 8), 0.01)


def test_system_kernels_do_not_depend_on_noise_settings():
    design = preset("0.45")
    noisy = design.replace(snr_db=12.0, flux="physical", burst=3)
    assert noisy.without_noise() == design
    assert deconv.design_kernels(noisy) is deconv.design_kernels(design)  # computed once per optics

"""Known-PSF restoration: bilinear demosaic, then a per-channel Wiener filter with the design's own
system PSF. Pipeline ``deconv``: it separates "knowing the PSF" from "learning to invert it".

* **System kernel.** The pixel PSFs (optics x pixel aperture, ``engine.optics.PSFSet.psf_pixel``)
  averaged over the four OCL phases and sampled every pixel pitch about the centre: (3, 32, 32),
  one per colour channel, each summing to 1. It is what a bright, noise-free mosaic pixel sees.
* **Wiener filter.** ``W = conj(H) / (|H|^2 + NSR(f))`` per channel, with the noise-to-signal ratio
  of white noise (variance from the capture's noise sigma map) over a natural-image prior
  ``P(f) ~ 1 / (f^2 + f0^2)`` (f in cycles per pixel), whose level is the channel's variance above
  the noise. The image is mirror-padded by half a kernel before the FFT, so the periodic transform
  adds no seams.

Units: frequencies in cycles per pixel (multiply by ``1000 / pitch_um`` for cycles/mm); images in
linear camera RGB.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

from engine.design import DesignPoint
from engine.memo import ContentMemo
from engine.simulate import psfs_for

PRIOR_CORNER_CYC_PER_PX = 1.0 / 64
"""f0 of the 1/(f^2 + f0^2) image prior: the spectrum flattens below ~1/64 cycles per pixel."""
MTF_DESCRIPTOR_CYC_PER_PX = (0.1, 0.2, 0.3, 0.4)
"""Frequencies of :func:`mtf_descriptor`, cycles per pixel."""


def system_kernels(psf_pixel: np.ndarray, oversample: int) -> np.ndarray:
    """(4 phases, 3 channels, S, S) pixel PSFs sampled every ``oversample`` samples -> (3, S/K, S/K)
    float64 per-channel kernels on the pixel grid, averaged over the OCL phases, centre at index
    S/(2K), each summing to 1."""
    psf = np.asarray(psf_pixel, dtype=np.float64)
    if psf.ndim != 4 or psf.shape[:2] != (4, 3) or psf.shape[2] != psf.shape[3]:
        raise ValueError(f"psf_pixel must be (4, 3, S, S), got {psf.shape}")
    size = psf.shape[-1]
    k = int(oversample)
    centre = size // 2
    start = centre % k
    kernels = psf.mean(axis=0)[:, start::k, start::k]
    return kernels / kernels.sum(axis=(1, 2), keepdims=True)


def design_kernels(design: DesignPoint) -> np.ndarray:
    """:func:`system_kernels` of ``design`` (PSFs computed once per optics and process: noise, flux
    and burst settings do not change them)."""
    return _optics_kernels(design.without_noise())


@lru_cache(maxsize=16)
def _optics_kernels(design: DesignPoint) -> np.ndarray:
    return system_kernels(psfs_for(design).psf_pixel, design.oversample)


def kernel_otf(kernels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(C, h, w) kernels centred at (h//2, w//2) -> (C, H, W // 2 + 1) one-sided OTF on an (H, W)
    grid, phase-referenced to the kernel centre."""
    c, h, w = kernels.shape
    rows, cols = shape
    if h > rows or w > cols:
        raise ValueError(f"kernels ({h} x {w}) larger than the image grid {rows} x {cols}")
    placed = np.zeros((c, rows, cols))
    placed[:, :h, :w] = kernels
    placed = np.roll(placed, (-(h // 2), -(w // 2)), axis=(1, 2))
    return scipy.fft.rfft2(placed, axes=(1, 2))


def _prior_shape(shape: tuple[int, int]) -> np.ndarray:
    """(H, W // 2 + 1) relative NSR shape ``(f^2 + f0^2) * mean(1 / (f^2 + f0^2))`` of the prior."""
    fy = scipy.fft.fftfreq(shape[0])[:, None]
    fx = scipy.fft.rfftfreq(shape[1])[None, :]
    denom = fy**2 + fx**2 + PRIOR_CORNER_CYC_PER_PX**2
    return denom * np.mean(1.0 / denom)


def wiener_deconvolve(rgb: np.ndarray, kernels: np.ndarray, noise_sigma: float | np.ndarray, *,
                      strength: float = 1.0) -> np.ndarray:
    """Restore (H, W, C) linear ``rgb`` blurred by ``kernels`` (C, h, w) with per-channel Wiener filters.

    noise_sigma: noise standard deviation (scalar, or a per-pixel map whose median is used), same
    units as ``rgb``. strength: multiplies the noise-to-signal ratio (1: the Wiener estimate).
    Returns (H, W, C) float32.
    """
    img = np.asarray(rgb, dtype=np.float64)
    if img.ndim != 3 or img.shape[2] != kernels.shape[0]:
        raise ValueError(f"rgb must be (H, W, {kernels.shape[0]}), got {img.shape}")
    if not np.all(np.isfinite(img)):
        raise ValueError("rgb holds NaN or infinite values")
    sigma = float(np.median(noise_sigma))
    if not np.isfinite(sigma) or sigma < 0 or strength <= 0:
        raise ValueError(f"noise sigma must be finite and >= 0 and strength > 0, got {sigma!r}, {strength!r}")
    h, w = img.shape[:2]
    pad = kernels.shape[-1] // 2
    padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
    shape = padded.shape[:2]
    otf = kernel_otf(kernels, shape)
    prior = _prior_shape(shape)
    out = np.empty_like(img, dtype=np.float32)
    for c in range(img.shape[2]):
        channel = padded[..., c]
        mean = channel.mean()
        signal_var = max(float(channel.var()) - sigma**2, 1e-12)
        nsr = strength * sigma**2 / signal_var * prior
        spec = scipy.fft.rfft2(channel - mean)
        otf_c = otf[c]
        restored = scipy.fft.irfft2(spec * np.conj(otf_c) / (np.abs(otf_c) ** 2 + nsr), s=shape)
        out[..., c] = restored[pad:pad + h, pad:pad + w] + mean
    return out


def mtf_descriptor(kernels: np.ndarray, freqs_cyc_per_px=MTF_DESCRIPTOR_CYC_PER_PX) -> np.ndarray:
    """Channel-averaged, radially averaged system MTF of ``kernels`` at ``freqs_cyc_per_px``:
    a compact description of the optics (len(freqs),) in [0, 1]."""
    h, w = kernels.shape[-2:]
    mtf = np.abs(np.fft.fft2(kernels.mean(axis=0)))
    fr = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij"))
    half_bin = 0.5 / min(h, w)
    return np.array([mtf[np.abs(fr - f) <= half_bin].mean() for f in freqs_cyc_per_px], dtype=np.float32)


def deconv_capture(capture, *, kernels: np.ndarray | None = None) -> np.ndarray:
    """A RawCapture -> (H, W, 3) linear camera RGB: bilinear demosaic of the reference frame, then
    :func:`wiener_deconvolve` with the design's system kernels and the capture's noise sigma.

    With the design's own kernels the result is remembered for the last few captures (by content),
    so the deconv pipeline and the universal Neural ISP's conditioning restore a capture once."""
    from engine.isp.traditional import bilinear_demosaic

    raw = capture.raw if capture.raw.ndim == 2 else capture.raw[0]
    sigma = capture.noise_sigma if capture.noise_sigma.ndim == 2 else capture.noise_sigma[0]
    key = None
    if kernels is None:
        key = _RESTORED.key((raw, sigma, capture.cfa), capture.design.without_noise())
        remembered = _RESTORED.get(key)
        if remembered is not None:
            return remembered
        kernels = design_kernels(capture.design)
    restored = wiener_deconvolve(bilinear_demosaic(raw, capture.cfa, capture.design.cfa), kernels, sigma)
    if key is not None:
        _RESTORED.put(key, restored)
    return restored


_RESTORED = ContentMemo(kept=8)
"""The last captures' :func:`deconv_capture` results (a few MB each at 512 x 512 px)."""

"""The traditional ISP of the paper (section 3.2): bilinear demosaic, colour chain, pyramid bilateral
denoise in YCbCr (light on luma, strong on chroma), light unsharp mask; multi-frame variant that
aligns and averages a burst first.

Outline of :func:`traditional_pipeline`:

1. ``align_and_average`` (bursts only): phase-correlation alignment on demosaiced luminance,
   Fourier sub-pixel shift, mean in linear camera RGB.
2. ``bilinear_demosaic``: CFA-aware normalised convolution (hex, quad, bayer).
3. ``color.camera_to_display``: white balance, CCM, tone curve, sRGB encoding.
4. ``pyramid_bilateral`` on Y, Cb, Cr with range sigmas scaled from the sensor noise propagated
   through steps 2-3 (``noise_in_ycbcr``).
5. ``unsharp_mask`` on Y.

Images are float32; RAW and camera RGB are linear (white diffuser green = 1), display images are
sRGB-encoded in [0, 1]. Distances are in pixels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba
import numpy as np
from scipy import ndimage

from engine.isp import color
from engine.memo import ContentMemo
from engine.parallel import PARALLEL_LOCK
from engine.sensor.cfa import CFA_BLOCK_PX as CFA_BLOCK
from engine.validation import InputError, check_choice, check_finite_array


@dataclass(frozen=True)
class TraditionalParams:
    """Tuning of the traditional ISP (defaults: conservative luma, strong chroma, light sharpening).

    luma_range_k / chroma_range_k: bilateral range sigma in units of the propagated noise sigma.
    luma_spatial_px / chroma_spatial_px: bilateral spatial sigma, pixels. levels: pyramid levels.
    unsharp_amount: gain of the unsharp mask on Y; unsharp_sigma_px: its Gaussian sigma, pixels.
    """

    luma_range_k: float = 1.5
    chroma_range_k: float = 4.0
    luma_spatial_px: float = 1.0
    chroma_spatial_px: float = 2.0
    levels: int = 3
    unsharp_amount: float = 0.35
    unsharp_sigma_px: float = 1.0


def _check_raw(raw: np.ndarray, cfa: np.ndarray, layout: str) -> None:
    check_choice("cfa layout", layout, tuple(CFA_BLOCK))
    if raw.ndim not in (2, 3) or raw.shape[-2:] != cfa.shape:
        raise InputError("raw", f"(H, W) or (frames, H, W) matching cfa {cfa.shape}", raw, got=str(raw.shape))
    if min(cfa.shape) < 4 * CFA_BLOCK[layout]:
        raise InputError("raw", f"at least {4 * CFA_BLOCK[layout]} pixels per side for {layout}", raw,
                         got=str(cfa.shape))
    check_finite_array("raw", raw)


def _tent(half_width_px: int) -> np.ndarray:
    d = np.arange(-half_width_px + 1, half_width_px)
    return (half_width_px - np.abs(d)).astype(np.float32)


def _tent_filter(values: np.ndarray, half_width_px: int) -> np.ndarray:
    tent = _tent(half_width_px)
    return ndimage.correlate1d(ndimage.correlate1d(values, tent, 0, mode="mirror"), tent, 1, mode="mirror")


@dataclass(frozen=True)
class _ChannelPlan:
    """What bilinear demosaicing of one colour needs from the CFA alone: its sample mask, the
    tent-filtered mask (normalisation) and, where that is 0, the wide tent's."""

    mask: np.ndarray
    den: np.ndarray
    holes: np.ndarray | None
    wide_den: np.ndarray | None


@functools.lru_cache(maxsize=4)
def _demosaic_plan(cfa_bytes: bytes, dtype: str, shape: tuple[int, int], layout: str) -> tuple[_ChannelPlan, ...]:
    """Per-colour plans for one CFA (cached: every capture of a design shares its CFA)."""
    cfa = np.frombuffer(cfa_bytes, dtype=dtype).reshape(shape)
    block = CFA_BLOCK[layout]
    plans = []
    for c in range(3):
        mask = (cfa == c).astype(np.float32)
        den = _tent_filter(mask, max(2, block // 2 + 1))
        holes = den == 0
        wide_den = _tent_filter(mask, 2 * block + 1) if holes.any() else None
        plans.append(_ChannelPlan(mask, den, holes if wide_den is not None else None, wide_den))
    return tuple(plans)


def bilinear_demosaic(raw: np.ndarray, cfa: np.ndarray, layout: str) -> np.ndarray:
    """(H, W) mosaic -> (H, W, 3) linear camera RGB by normalised convolution with a separable tent.

    The tent is the smallest that reaches the nearest same-colour samples inside the mosaic:
    half-width ``max(2, block // 2 + 1)`` pixels (2 for Bayer, exactly the classic bilinear kernels;
    3 for hex). Near the border, where mirrored blocks leave no sample within reach, a tent of
    half-width ``2 * block + 1`` fills in. Measured samples are kept as they are.
    The last few results are remembered by content (the demosaic, traditional and deconv pipelines
    demosaic one RAW once).
    """
    raw = np.asarray(raw, dtype=np.float32)
    _check_raw(raw, cfa, layout)
    block = CFA_BLOCK[layout]
    cfa = np.ascontiguousarray(cfa)
    key = _DEMOSAICED.key((raw, cfa), layout)
    remembered = _DEMOSAICED.get(key)
    if remembered is not None:
        return remembered
    out = np.empty(raw.shape + (3,), dtype=np.float32)
    for c, plan in enumerate(_demosaic_plan(cfa.tobytes(), cfa.dtype.str, cfa.shape, layout)):
        samples = raw * plan.mask
        num, den = _tent_filter(samples, max(2, block // 2 + 1)), plan.den
        if plan.holes is not None:
            num = np.where(plan.holes, _tent_filter(samples, 2 * block + 1), num)
            den = np.where(plan.holes, plan.wide_den, den)
        out[..., c] = np.where(plan.mask > 0, raw, num / den)
    _DEMOSAICED.put(key, out)
    return out


_DEMOSAICED = ContentMemo(kept=4)
"""The last mosaics' :func:`bilinear_demosaic` results (3 MB each at 512 x 512 px)."""


RANGE_KERNEL_SQUARINGS = 8
"""The Gaussian range weight exp(-t) is evaluated as (1 - t / 2^8)^(2^8) (clamped at 0): within 4.5 %
of exp(-t) wherever the weight exceeds 1 %, and a loop of multiplies that vectorises (about 10x
faster than a scalar exp per tap at 512 x 512)."""


@numba.njit(parallel=True, fastmath=True, cache=True)
def _bilateral_padded(padded, spatial, inv_two_range_var):
    r = spatial.shape[0] // 2
    h, w = padded.shape[0] - 2 * r, padded.shape[1] - 2 * r
    out = np.empty((h, w), dtype=np.float32)
    scale = np.float32(inv_two_range_var / 2.0**RANGE_KERNEL_SQUARINGS)
    for i in numba.prange(h):
        num = np.zeros(w, dtype=np.float32)
        den = np.zeros(w, dtype=np.float32)
        centre = padded[i + r, r:r + w]
        for di in range(2 * r + 1):
            row = padded[i + di]
            for dj in range(2 * r + 1):
                s = spatial[di, dj]
                for j in range(w):
                    v = row[j + dj]
                    d = v - centre[j]
                    weight = max(np.float32(1.0) - d * d * scale, np.float32(0.0))
                    for _ in range(RANGE_KERNEL_SQUARINGS):
                        weight = weight * weight
                    weight = s * weight
                    num[j] += weight * v
                    den[j] += weight
        for j in range(w):
            out[i, j] = num[j] / den[j]
    return out


def bilateral(channel: np.ndarray, sigma_spatial_px: float, sigma_range: float) -> np.ndarray:
    """Edge-preserving bilateral filter of one channel (spatial sigma in pixels, range in its units;
    edges extended by replication)."""
    r = max(1, int(math.ceil(2 * sigma_spatial_px)))
    d = np.arange(-r, r + 1)
    spatial = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * sigma_spatial_px**2)).astype(np.float32)
    padded = np.pad(np.asarray(channel, dtype=np.float32), r, mode="edge")
    with PARALLEL_LOCK:
        return _bilateral_padded(padded, spatial, np.float32(1 / (2 * sigma_range**2)))


def _downsample2(x: np.ndarray) -> np.ndarray:
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    return x[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _upsample2_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """2x linear upsampling along ``axis`` (pixel-centre grid, edges replicated): each new pixel is
    3/4 of its parent plus 1/4 of the neighbour on its side."""
    x = np.moveaxis(x, axis, 0)
    before = np.concatenate([x[:1], x[:-1]])
    after = np.concatenate([x[1:], x[-1:]])
    out = np.empty((2 * x.shape[0],) + x.shape[1:], dtype=x.dtype)
    out[0::2] = 0.75 * x + 0.25 * before
    out[1::2] = 0.75 * x + 0.25 * after
    return np.moveaxis(out, 0, axis)


def _upsample2(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    up = _upsample2_axis(_upsample2_axis(x, 0), 1)
    pad = [(0, max(0, s - u)) for s, u in zip(shape, up.shape)]
    return np.pad(up, pad, mode="edge")[: shape[0], : shape[1]]


def pyramid_bilateral(channel: np.ndarray, sigma_range: float, sigma_spatial_px: float, levels: int) -> np.ndarray:
    """Multi-scale bilateral: denoise the 2x-downsampled image recursively (noise sigma halves per
    level), swap it in for the coarse content, then bilateral-filter the fine level."""
    if levels > 1 and min(channel.shape) >= 32:
        low = _downsample2(channel)
        low_denoised = pyramid_bilateral(low, sigma_range / 2, sigma_spatial_px, levels - 1)
        channel = channel + _upsample2(low_denoised - low, channel.shape)
    return bilateral(channel, sigma_spatial_px, sigma_range)


def unsharp_mask(channel: np.ndarray, amount: float, sigma_px: float) -> np.ndarray:
    return (channel + amount * (channel - ndimage.gaussian_filter(channel, sigma_px))).astype(np.float32)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.709 YCbCr of display RGB in [0, 1]: Y in [0, 1], Cb/Cr in [-0.5, 0.5]."""
    return np.asarray(color.colour.RGB_to_YCbCr(rgb, out_legal=False), dtype=np.float32)


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    return np.asarray(color.colour.YCbCr_to_RGB(ycbcr, in_legal=False), dtype=np.float32)


def noise_in_ycbcr(sigma_linear: float, level: float, chain: color.ColorChain) -> np.ndarray:
    """(3,) noise sigma of Y, Cb, Cr after the colour chain, for white-ish camera signal ``level`` with
    independent per-channel noise ``sigma_linear`` (propagated through the chain on a seeded flat patch)."""
    rng = np.random.default_rng(0)
    grey = np.full((64, 64, 3), level, dtype=np.float32) / chain.wb_gains
    noisy = grey + rng.normal(0.0, sigma_linear, grey.shape).astype(np.float32)
    ycc = rgb_to_ycbcr(color.camera_to_display(noisy, chain, clip=False))
    return ycc.reshape(-1, 3).std(axis=0)


ALIGN_BLUR_PX = 2.0
"""Gaussian sigma (pixels) applied to the luminance before registration: it removes the demosaic's
fixed CFA-period pattern (8 px for hex), which does not move with the scene and pulled plain phase
correlation toward zero shift (estimates 10-50 % of the true hand-shake)."""


ALIGN_SEARCH_PX = 2.0
"""Largest shift (pixels per axis) the burst aligner considers: hand-shake between frames of a burst
(the sensor model's default is +-1 px). Bounding the search keeps periodic content (a grating's
correlation peaks repeat every period; along its bars it has none) from locking on a far peak."""


def phase_correlation_shift(reference: np.ndarray, moving: np.ndarray, search_px: float = ALIGN_SEARCH_PX) -> np.ndarray:
    """(dy, dx) in pixels that moves ``moving`` onto ``reference``, each within +-``search_px``: the
    peak of the cross-correlation of the blurred (ALIGN_BLUR_PX), mean-free, Hann-windowed
    luminances inside that range, refined to 1/50 px by a matrix DFT of the cross-power spectrum
    around it (skimage.registration.phase_cross_correlation's upsampling, which cannot bound the
    search). Within 0.1 px of the sensor model's hand-shake at 40 dB (tests/test_lowlight.py)."""
    return _registration_peak(_registration_spectrum(reference) * np.conj(_registration_spectrum(moving)), search_px)


def _registration_spectrum(image: np.ndarray) -> np.ndarray:
    """FFT of the blurred (ALIGN_BLUR_PX), mean-free, Hann-windowed luminance."""
    window = np.outer(np.hanning(image.shape[0]), np.hanning(image.shape[1]))
    smooth = ndimage.gaussian_filter(np.asarray(image, dtype=np.float64), ALIGN_BLUR_PX)
    return np.fft.fft2((smooth - smooth.mean()) * window)


def _registration_peak(product: np.ndarray, search_px: float) -> np.ndarray:
    """(dy, dx) of the cross-correlation peak of a cross-power spectrum within +-``search_px``, to 1/50 px."""
    freqs = [np.fft.fftfreq(n) for n in product.shape]
    lags = [f * n for f, n in zip(freqs, product.shape)]  # integer shifts of the inverse FFT's bins
    allowed = (np.abs(lags[0])[:, None] <= search_px) & (np.abs(lags[1])[None, :] <= search_px)
    coarse = np.unravel_index(np.argmax(np.where(allowed, np.real(np.fft.ifft2(product)), -np.inf)), product.shape)
    steps = np.arange(-50, 51) / 50.0  # +-1 px around the coarse peak, 1/50 px apart
    grids = [np.clip(lag[i] + steps, -search_px, search_px) for lag, i in zip(lags, coarse)]
    rows = np.exp(2j * np.pi * np.outer(grids[0], freqs[0]))
    cols = np.exp(2j * np.pi * np.outer(freqs[1], grids[1]))
    fine = np.unravel_index(np.argmax(np.real(rows @ product @ cols)), (steps.size, steps.size))
    return np.array([grids[0][fine[0]], grids[1][fine[1]]])


def burst_shifts(frames_rgb: np.ndarray) -> np.ndarray:
    """(F, 2) shifts (dy, dx) in pixels that move each of the (F, H, W, 3) frames onto frame 0
    (:func:`phase_correlation_shift` of their luminances; frame 0 at zero)."""
    luma = frames_rgb @ np.array([0.25, 0.5, 0.25], dtype=np.float32)
    reference = _registration_spectrum(luma[0])
    return np.array([np.zeros(2)] + [_registration_peak(reference * np.conj(_registration_spectrum(f)), ALIGN_SEARCH_PX)
                                     for f in luma[1:]])


def align_and_average(frames_rgb: np.ndarray, shifts_px: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean of (F, H, W, 3) frames after aligning each onto frame 0; returns (mean, shifts_px (F, 2)).
    shifts_px: the frames' shifts where already known (default: :func:`burst_shifts`)."""
    shifts = burst_shifts(frames_rgb) if shifts_px is None else shifts_px
    aligned = [
        np.real(np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(frame, axes=(0, 1)), tuple(s) + (0,)), axes=(0, 1)))
        for frame, s in zip(frames_rgb, shifts)
    ]
    return np.mean(aligned, axis=0).astype(np.float32), shifts


def mosaic_burst_shifts(raw: np.ndarray, cfa: np.ndarray, layout: str, frames_rgb: np.ndarray | None = None) -> np.ndarray:
    """(F, 2) pixel shifts moving each of the (F, H, W) RAW frames onto frame 0: :func:`burst_shifts`
    of their bilinear demosaics (``frames_rgb`` where the caller has them). Remembered by content,
    so the traditional ISP and the multi-frame Neural ISP align one burst once."""
    key = _BURST_SHIFTS.key((raw, cfa), layout)
    shifts = _BURST_SHIFTS.get(key)
    if shifts is None:
        if frames_rgb is None:
            frames_rgb = np.stack([bilinear_demosaic(f, cfa, layout) for f in raw])
        shifts = burst_shifts(frames_rgb)
        _BURST_SHIFTS.put(key, shifts)
    return shifts


_BURST_SHIFTS = ContentMemo(kept=4)
"""The last bursts' :func:`mosaic_burst_shifts` (a few numbers each)."""


def demosaic_pipeline(raw: np.ndarray, cfa: np.ndarray, layout: str, chain: color.ColorChain | None = None) -> np.ndarray:
    """The paper's 'demosaiced' column: bilinear demosaic + colour chain -> display sRGB (H, W, 3)."""
    rgb = bilinear_demosaic(raw if raw.ndim == 2 else raw[0], cfa, layout)
    return color.camera_to_display(rgb, chain or color.color_chain())


def traditional_pipeline(
    raw: np.ndarray,
    cfa: np.ndarray,
    layout: str,
    noise_sigma: np.ndarray,
    chain: color.ColorChain | None = None,
    params: TraditionalParams = TraditionalParams(),
) -> np.ndarray:
    """The full traditional ISP on one RAW (H, W) or a burst (F, H, W) -> display sRGB (H, W, 3)."""
    chain = chain or color.color_chain()
    raw = np.asarray(raw, dtype=np.float32)
    _check_raw(raw, cfa, layout)
    if raw.ndim == 3:
        frames_rgb = np.stack([bilinear_demosaic(f, cfa, layout) for f in raw])
        rgb, _ = align_and_average(frames_rgb, mosaic_burst_shifts(raw, cfa, layout, frames_rgb))
        frames = raw.shape[0]
    else:
        rgb, frames = bilinear_demosaic(raw, cfa, layout), 1
    level = float(np.median(rgb[..., 1]))
    sigma_linear = float(np.median(noise_sigma)) / math.sqrt(frames)
    sigma_ycc = np.maximum(noise_in_ycbcr(sigma_linear, max(level, 1e-3), chain), 1e-4)
    ycc = rgb_to_ycbcr(color.camera_to_display(rgb, chain, clip=False))
    y = pyramid_bilateral(ycc[..., 0], params.luma_range_k * sigma_ycc[0], params.luma_spatial_px, params.levels)
    cb, cr = (
        pyramid_bilateral(ycc[..., c], params.chroma_range_k * sigma_ycc[c], params.chroma_spatial_px, params.levels)
        for c in (1, 2)
    )
    y = unsharp_mask(y, params.unsharp_amount, params.unsharp_sigma_px)
    return np.clip(ycbcr_to_rgb(np.stack([y, cb, cr], axis=-1)), 0.0, 1.0)

"""Sensor: CFA layouts with OCL phases, exact Fourier-domain image formation, noise, bursts -> RAW.

Conventions (design.md 3, paper appendix A.2-A.4)
-------------------------------------------------
* **Grids.** A scene is linear camera RGB, float32 ``(H*K, W*K, 3)``, sampled every
  ``dx_um = pitch_um / K`` micrometres (``K = design.oversample``); the RAW is ``(H, W)``, one value
  per pixel of pitch ``pitch_um``. Pixel ``(i, j)`` covers scene samples ``[i K, (i+1) K)`` along
  rows and ``[j K, (j+1) K)`` along columns; its centre is at sample coordinate
  ``(i K + (K-1)/2, j K + (K-1)/2)``, between samples when K is even. ``H`` and ``W`` must be even
  (whole OCL groups).
* **Scene model.** The scene is the band-limited (trigonometric) interpolant of its samples, the
  Nyquist component split symmetrically (``cos``), so evaluating it between samples is exact.
* **Boundary: periodic.** Blur, shifts and sampling wrap around the scene edges. Callers that care
  render a margin of at least half the PSF support (plus the burst shift) and crop the RAW.
* **CFA** (colour index 0 = R, 1 = G, 2 = B): ``hex`` = 16-cell, 4x4 same-colour blocks in Bayer
  order (R G / G B at block level), period 8; ``quad`` = 2x2 blocks, period 4; ``bayer`` = period 2,
  R at (0, 0). **OCL phase** ``p = 2 * (row % 2) + (col % 2)``.
* **Image formation.** RAW(i, j) = (scene * psf_pixel[p, c])(pixel centre) with ``c``, ``p`` the
  colour and OCL phase of the pixel; ``psf_pixel`` already includes the pixel aperture. Computed
  exactly in the Fourier domain: the scene spectrum (one ``rfft2`` per channel) times the OTF of
  each (phase, channel) on the scene grid, times the phase ramp of the pixel-centre offset, folded
  (alias-summed) onto the half-resolution grid of that OCL phase, one small ``irfft2``, and each
  pixel keeps the value of its own (phase, colour). For ``bayer`` colour and phase coincide, so only
  4 of the 12 products are formed. OTFs are built by :func:`make_sensor_otf` so callers can cache
  them per (design, scene shape).
* **Ground truth.** Aberration-free, noise-free RGB on the pixel grid: each channel box-filtered by
  the pixel aperture (side ``fill_factor * pitch_um``, OTF ``sinc(f w) sinc(g w)``, the same
  convention as ``engine.optics.pixel_aperture``) and sampled at the pixel centres.
* **Signal units.** RAW and ground truth are in scene units (linear camera RGB); PSFs sum to 1, so a
  flat scene of level ``L`` gives RAW ``L``. No clipping, no black level: with noise the RAW may go
  negative (a real RAW has a black-level offset). Noise is never clipped.
* **Noise.** Reference signal ``REFERENCE_SIGNAL = 1.0`` (a perfect white diffuser in camera RGB
  green). Shot-noise law: ``var(s) = max(s, 0) * REFERENCE_SIGNAL / SNR^2 (+ read noise)`` with
  ``SNR = 10^(snr_db / 20)``, so the SNR equals ``snr_db`` at the reference level and falls as
  ``sqrt(s)`` below it. Equivalently a conversion gain of ``SNR^2 / REFERENCE_SIGNAL`` electrons
  per signal unit (``SNR^2`` electrons at the reference level). ``gaussian`` (default, the
  paper's model) draws Gaussian noise of that variance; ``poisson_gaussian`` draws Poisson
  electrons plus Gaussian read noise; ``none`` adds nothing. The returned ``noise_sigma`` is the
  standard deviation of the noise actually added, computed from the *clean* signal (so it is
  exact, not estimated from the noisy RAW), in signal units.
* **Flux** (:func:`effective_snr_db`): ``hold`` keeps ``snr_db`` per pixel; ``physical`` adds
  ``20 log10((pitch_um / 0.75) * (3.55 / f_number))`` dB (photons per pixel ~ pitch^2 / F#^2,
  relative to 0.75 um at F/3.55).
* **Bursts.** Frame 0 is the reference (no motion). Frames 1.. are translated by uniform random
  shifts in ``[-max_shift_px, max_shift_px]`` pixels per axis (applied exactly as a phase ramp on
  the scene spectrum) and optionally rotated by uniform random angles in
  ``[-max_rotation_deg, max_rotation_deg]`` (cubic spline, ``scipy.ndimage.rotate``, about the scene
  centre, before the shift). A shift ``(dy, dx)`` moves the content toward +row, +column:
  ``frame_f(y, x) = frame_0(y - dy, x - dx)``. Noise is independent per frame. The ground truth is
  that of frame 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np
import scipy.fft
import scipy.ndimage

from engine.design import BURST_RANGE, DesignPoint
from engine.parallel import PARALLEL_LOCK

__all__ = [
    "CHANNELS",
    "FLUX_REFERENCE_F_NUMBER",
    "FLUX_REFERENCE_PITCH_UM",
    "NOISE_MODELS",
    "REFERENCE_SIGNAL",
    "RawCapture",
    "SensorOTF",
    "add_noise",
    "cfa_pattern",
    "effective_snr_db",
    "electrons_per_signal",
    "make_sensor_otf",
    "noise_sigma_at_white",
    "noise_sigma_map",
    "ocl_phase_map",
    "render_ground_truth",
    "simulate_raw",
]

CHANNELS = ("R", "G", "B")
N_PHASES = 4
REFERENCE_SIGNAL = 1.0
"""Signal level (scene units, linear camera RGB; 1.0 = perfect white diffuser in green) at which the
shot-noise SNR equals the design's ``snr_db``."""
FLUX_REFERENCE_PITCH_UM = 0.75
FLUX_REFERENCE_F_NUMBER = 3.55
NOISE_MODELS = ("gaussian", "poisson_gaussian", "none")
PSF_SUM_TOLERANCE = 1e-3
MAX_SHIFT_PX = 16.0
MAX_ROTATION_DEG = 10.0
_CFA_BLOCK_PX = {"hex": 4, "quad": 2, "bayer": 1}
_FFT_WORKERS = -1  # scipy.fft on all cores: ~5x numpy.fft for 2048^2 float32 on 2 cores


# ---------------------------------------------------------------------------------------------
# CFA and OCL layouts


def cfa_pattern(layout: str, shape: tuple[int, int]) -> np.ndarray:
    """Colour index (0 = R, 1 = G, 2 = B) of every pixel, (H, W) uint8.

    layout: ``hex`` (4x4 same-colour blocks, period 8 px), ``quad`` (2x2 blocks, period 4 px) or
    ``bayer`` (period 2 px); blocks in Bayer order R G / G B, R block at (0, 0).
    shape: (H, W) pixels.
    """
    if layout not in _CFA_BLOCK_PX:
        raise ValueError(f"cfa layout must be one of {', '.join(_CFA_BLOCK_PX)}, got {layout!r}")
    rows, cols = _check_pixel_shape(shape)
    block = _CFA_BLOCK_PX[layout]
    by = (np.arange(rows) // block) % 2
    bx = (np.arange(cols) // block) % 2
    return (by[:, None] + bx[None, :]).astype(np.uint8)


def ocl_phase_map(shape: tuple[int, int]) -> np.ndarray:
    """OCL phase ``2 * (row % 2) + (col % 2)`` of every pixel, (H, W) uint8 in 0..3."""
    rows, cols = _check_pixel_shape(shape)
    return (2 * (np.arange(rows) % 2)[:, None] + (np.arange(cols) % 2)[None, :]).astype(np.uint8)


def _check_pixel_shape(shape) -> tuple[int, int]:
    if (
        not isinstance(shape, tuple | list)
        or len(shape) != 2
        or not all(isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 1 for n in shape)
    ):
        raise ValueError(f"shape must be (H, W) positive integers (pixels), got {shape!r}")
    return int(shape[0]), int(shape[1])


def _phase_channel_pairs(layout: str) -> tuple[tuple[int, int], ...]:
    """The (OCL phase, colour) combinations that occur in ``layout``: 12 for hex/quad, 4 for bayer."""
    period = 2 * _CFA_BLOCK_PX[layout] * 2
    cfa = cfa_pattern(layout, (period, period))
    phase = ocl_phase_map((period, period))
    return tuple(sorted({(int(p), int(c)) for p, c in zip(phase.ravel(), cfa.ravel())}))


# ---------------------------------------------------------------------------------------------
# Flux and noise


def effective_snr_db(design: DesignPoint) -> float:
    """Per-pixel shot-noise SNR at ``REFERENCE_SIGNAL``, dB, after the design's flux mode.

    ``hold``: ``design.snr_db``. ``physical``: ``design.snr_db + 20 log10((pitch_um / 0.75) *
    (3.55 / f_number))`` (photons per pixel ~ pitch^2 / F#^2 relative to 0.75 um at F/3.55).
    """
    _check_design(design)
    if design.flux == "hold":
        return float(design.snr_db)
    ratio = (design.pitch_um / FLUX_REFERENCE_PITCH_UM) * (FLUX_REFERENCE_F_NUMBER / design.f_number)
    return float(design.snr_db + 20.0 * np.log10(ratio))


def electrons_per_signal(snr_db: float) -> float:
    """Conversion gain, electrons per signal unit, such that the shot-noise SNR at
    ``REFERENCE_SIGNAL`` is ``snr_db`` (``10^(snr_db / 10)`` electrons at the reference level)."""
    _check_finite_number("snr_db", snr_db, "dB")
    return 10.0 ** (snr_db / 10.0) / REFERENCE_SIGNAL


def noise_sigma_at_white(snr_db: float) -> float:
    """Shot-noise standard deviation at ``REFERENCE_SIGNAL`` (a white pixel), signal units:
    ``REFERENCE_SIGNAL / SNR`` with ``SNR = 10^(snr_db / 20)`` (no read noise). snr_db: dB."""
    _check_finite_number("snr_db", snr_db, "dB")
    return REFERENCE_SIGNAL * 10.0 ** (-snr_db / 20.0)


def noise_sigma_map(signal: np.ndarray, snr_db: float, *, read_noise_e: float = 0.0) -> np.ndarray:
    """Noise standard deviation per pixel, signal units, float32 of ``signal``'s shape.

    ``sigma = sqrt(max(signal, 0) * g + read_noise_e^2) / g`` with ``g = electrons_per_signal(snr_db)``;
    without read noise ``var = max(signal, 0) * REFERENCE_SIGNAL / SNR^2``.

    signal: clean (noise-free) signal, scene units. snr_db: SNR at ``REFERENCE_SIGNAL``, dB.
    read_noise_e: read noise, electrons RMS, >= 0.
    """
    _check_nonnegative("read_noise_e", read_noise_e, "electrons")
    gain = electrons_per_signal(snr_db)
    electrons = np.maximum(signal, 0.0, dtype=np.float32) * np.float32(gain)
    return (np.sqrt(electrons + np.float32(read_noise_e) ** 2) / np.float32(gain)).astype(np.float32)


def add_noise(
    signal: np.ndarray,
    snr_db: float,
    *,
    model: str = "gaussian",
    read_noise_e: float = 0.0,
    rng: np.random.Generator | int,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy signal and the per-pixel noise sigma, both float32 of ``signal``'s shape, signal units.

    model: ``gaussian`` (Gaussian of the shot + read variance, default), ``poisson_gaussian``
    (Poisson electrons at ``electrons_per_signal(snr_db)`` per unit plus Gaussian read noise; the
    Poisson fluctuation is added to the clean signal, so the mean stays exact even where
    interpolation ringing makes the clean signal slightly negative), or ``none`` (sigma = 0).
    snr_db: SNR at ``REFERENCE_SIGNAL``, dB. read_noise_e: electrons RMS. rng: Generator or seed.
    Nothing is clipped: the result may be negative.
    """
    if model not in NOISE_MODELS:
        raise ValueError(f"noise model must be one of {', '.join(NOISE_MODELS)}, got {model!r}")
    rng = _make_rng(rng)
    signal = np.asarray(signal, dtype=np.float32)
    if model == "none":
        return signal.copy(), np.zeros_like(signal)
    sigma = noise_sigma_map(signal, snr_db, read_noise_e=read_noise_e)
    if model == "gaussian":
        return signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32), sigma
    gain = electrons_per_signal(snr_db)
    mean_e = np.maximum(signal, 0.0).astype(np.float64) * gain
    shot_e = rng.poisson(mean_e) - mean_e
    read_e = read_noise_e * rng.standard_normal(signal.shape)
    return (signal + ((shot_e + read_e) / gain).astype(np.float32)), sigma


# ---------------------------------------------------------------------------------------------
# Fourier-domain image formation


@dataclass(frozen=True, slots=True, eq=False)
class SensorOTF:
    """OTFs of the (OCL phase, colour) PSFs that occur in a CFA on one scene grid, ready to fold.

    For pair ``i`` the OTF times the phase ramp to the pixel centres of its OCL phase, divided by
    (2K)^2 (the fold), is ``otf[i] * row_factor[i][:, None]`` (kept separable so it is built from
    small transforms).
    otf: (P, H*K, W*K // 2 + 1) complex64, one-sided 2-D DFT of the PSF placed at rows and columns
    0..S-1, times the column ramp. row_factor: (P, H*K) complex64, the row ramp (undoes the
    placement, moves to the pixel centres) divided by (2K)^2.
    pairs: P (phase, colour) tuples, in the order of ``otf``.
    scene_shape: (H*K, W*K) scene samples. oversample: K, samples per pixel. cfa: layout name.
    Memory: 8 * P * H*K * (W*K/2 + 1) bytes (12 OTFs at 512 x 512 px: 50 MB at K = 2, 201 MB at K = 4).
    """

    otf: np.ndarray
    row_factor: np.ndarray
    pairs: tuple[tuple[int, int], ...]
    scene_shape: tuple[int, int]
    oversample: int
    cfa: str


def make_sensor_otf(psf_pixel: np.ndarray, design: DesignPoint, scene_shape: tuple[int, ...]) -> SensorOTF:
    """Build the cacheable OTFs of ``psf_pixel`` for ``design``'s CFA on a scene grid.

    psf_pixel: (4 phases, 3 channels, S, S) PSFs including the pixel aperture, sampled every
    ``design.dx_um`` micrometres, each slice summing to 1, centred at (S//2, S//2); S even and at
    most the scene size. design: supplies ``oversample`` (K) and ``cfa``. scene_shape: (H*K, W*K)
    or (H*K, W*K, 3) scene samples.
    Only the (phase, colour) pairs present in the CFA are transformed (4 for bayer, 12 otherwise),
    each by a pruned 2-D FFT (S rows along columns, then all columns along rows).
    """
    _check_design(design)
    rows, cols = _check_scene_shape(tuple(scene_shape), design.oversample)
    psf = _check_psf(psf_pixel, (rows, cols))
    pairs = _phase_channel_pairs(design.cfa)
    half = psf.shape[-1] // 2
    k = design.oversample
    centre = (k - 1) / 2.0
    fold = (2 * k) ** 2
    # translate the placed PSF back by S//2 and evaluate at the centres of phase rows r, columns s
    ramp_y = [(_translation_ramp(rows, -(half + r * k + centre), onesided=False) / fold).astype(np.complex64)
              for r in (0, 1)]
    ramp_x = [_translation_ramp(cols, -(half + s * k + centre), onesided=True).astype(np.complex64) for s in (0, 1)]
    otf = np.empty((len(pairs), rows, cols // 2 + 1), dtype=np.complex64)
    for i, (p, c) in enumerate(pairs):
        column_spectrum = scipy.fft.rfft(psf[p, c], n=cols, axis=1, workers=_FFT_WORKERS) * ramp_x[p % 2]
        otf[i] = scipy.fft.fft(column_spectrum, n=rows, axis=0, workers=_FFT_WORKERS)
    row_factor = np.stack([ramp_y[p // 2] for p, _ in pairs])
    return SensorOTF(otf, row_factor, pairs, (rows, cols), k, design.cfa)


def _translation_ramp(n: int, shift_samples: float, *, onesided: bool) -> np.ndarray:
    """DFT factor ``exp(-2 pi i f shift)`` (f in cycles/sample, signed) that translates a band-limited
    length-``n`` signal by ``shift_samples`` toward higher indices; at Nyquist (n even) the real
    ``cos(pi shift)`` of the symmetric interpolant. complex128, (n,) or (n//2 + 1,) if ``onesided``."""
    freq = scipy.fft.rfftfreq(n) if onesided else scipy.fft.fftfreq(n)
    ramp = np.exp(-2j * np.pi * freq * shift_samples)
    if n % 2 == 0:
        ramp[n // 2] = np.cos(np.pi * shift_samples)
    return ramp


@numba.njit(parallel=True, fastmath=True, cache=True)
def _fold_products(spec, otf, row_factor, spec_index, otf_index, out_rows, out_cols, n_cols):  # pragma: no cover
    """Alias-sum of ``spec[spec_index[q]] * otf[otf_index[q]] * row_factor[otf_index[q]][:, None]`` onto
    an (out_rows, out_cols) grid.

    spec, otf: (., R, n_cols//2 + 1) complex64 one-sided spectra of real signals (R rows, n_cols
    columns); row_factor: (., R) complex64, Hermitian (``row_factor[-k] = conj(row_factor[k])``).
    Returns (Q, out_rows, out_cols//2 + 1) complex64, the one-sided spectrum of the real signal
    sampled every R/out_rows rows and n_cols/out_cols columns. Columns beyond n_cols/2 come from
    Hermitian symmetry, X[k1, k2] = conj(X[-k1, n_cols - k2]).
    """
    n_prod = spec_index.size
    n_rows = spec.shape[1]
    nyquist = n_cols // 2
    out_half = out_cols // 2 + 1
    fold_rows = n_rows // out_rows
    fold_cols = n_cols // out_cols
    out = np.zeros((n_prod, out_rows, out_half), dtype=np.complex64)
    for q1 in numba.prange(out_rows):
        sum_re = np.empty(out_half, dtype=np.float32)  # real/imag split: vectorises, ~1.5x complex64
        sum_im = np.empty(out_half, dtype=np.float32)
        for m1 in range(fold_rows):
            k1 = q1 + out_rows * m1
            k1_mirror = (n_rows - k1) % n_rows
            for q in range(n_prod):
                s_row, o_row = spec[spec_index[q], k1], otf[otf_index[q], k1]
                s_mirror, o_mirror = spec[spec_index[q], k1_mirror], otf[otf_index[q], k1_mirror]
                sum_re[:] = 0
                sum_im[:] = 0
                for m2 in range(fold_cols):
                    base = out_cols * m2
                    direct_end = min(out_half, max(0, nyquist - base + 1))
                    for q2 in range(direct_end):
                        a, b = s_row[base + q2], o_row[base + q2]
                        sum_re[q2] += a.real * b.real - a.imag * b.imag
                        sum_im[q2] += a.real * b.imag + a.imag * b.real
                    for q2 in range(direct_end, out_half):  # conj(X[-k1, n_cols - k2])
                        a, b = s_mirror[n_cols - base - q2], o_mirror[n_cols - base - q2]
                        sum_re[q2] += a.real * b.real - a.imag * b.imag
                        sum_im[q2] -= a.real * b.imag + a.imag * b.real
                factor = row_factor[otf_index[q], k1]
                for q2 in range(out_half):
                    out[q, q1, q2] += factor * complex(sum_re[q2], sum_im[q2])
    return out


def _scene_spectrum(scene_cf: np.ndarray) -> np.ndarray:
    """(3, H*K, W*K//2 + 1) complex64 rfft2 of a channel-first float32 scene."""
    return scipy.fft.rfft2(scene_cf, workers=_FFT_WORKERS)


def _sample_mosaic(spec: np.ndarray, sensor_otf: SensorOTF, cfa: np.ndarray) -> np.ndarray:
    """Noise-free RAW (H, W) float32 from a scene spectrum: fold each (phase, colour) product onto its
    OCL phase's half-resolution grid, invert, and keep each pixel's own (phase, colour)."""
    rows, cols = cfa.shape
    sub_rows, sub_cols = rows // 2, cols // 2
    channels = np.array([c for _, c in sensor_otf.pairs], dtype=np.int64)
    pair_index = np.arange(len(channels), dtype=np.int64)
    with PARALLEL_LOCK:
        folded = _fold_products(spec, sensor_otf.otf, sensor_otf.row_factor, channels, pair_index,
                                sub_rows, sub_cols, sensor_otf.scene_shape[1])
    images = scipy.fft.irfft2(folded, s=(sub_rows, sub_cols), workers=_FFT_WORKERS)
    raw = np.empty((rows, cols), dtype=np.float32)
    for image, (p, c) in zip(images, sensor_otf.pairs):
        r, s = divmod(p, 2)
        np.copyto(raw[r::2, s::2], image, where=cfa[r::2, s::2] == c)
    return raw


@lru_cache(maxsize=4)
def _box_otf(rows: int, cols: int, oversample: int, fill_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-aperture OTF sinc(f w) sinc(g w) (w = fill_factor * K samples) times the ramp to the pixel
    centres, divided by K^2 (the fold), split as for :class:`SensorOTF`: (1, rows, cols//2 + 1)
    column part and (1, rows) row part, complex64 (cached: do not modify)."""
    width = fill_factor * oversample
    centre = (oversample - 1) / 2.0
    row_part = np.sinc(scipy.fft.fftfreq(rows) * width) * _translation_ramp(rows, -centre, onesided=False)
    col_part = np.sinc(scipy.fft.rfftfreq(cols) * width) * _translation_ramp(cols, -centre, onesided=True)
    otf = np.broadcast_to(col_part.astype(np.complex64), (1, rows, col_part.size)).copy()
    row_factor = (row_part / oversample**2).astype(np.complex64)[None]
    return otf, row_factor


def _ground_truth_from_spectrum(spec: np.ndarray, design: DesignPoint) -> np.ndarray:
    rows, cols = spec.shape[1], 2 * (spec.shape[2] - 1)
    k = design.oversample
    otf, row_factor = _box_otf(rows, cols, k, float(design.fill_factor))
    channels, same_otf = np.arange(3, dtype=np.int64), np.zeros(3, dtype=np.int64)
    with PARALLEL_LOCK:
        folded = _fold_products(spec, otf, row_factor, channels, same_otf, rows // k, cols // k, cols)
    rgb = scipy.fft.irfft2(folded, s=(rows // k, cols // k), workers=_FFT_WORKERS)
    return np.ascontiguousarray(rgb.transpose(1, 2, 0), dtype=np.float32)


def render_ground_truth(scene: np.ndarray, design: DesignPoint) -> np.ndarray:
    """Aberration-free, noise-free RGB on the pixel grid, (H, W, 3) float32, scene units.

    Each channel of ``scene`` ((H*K, W*K, 3), linear camera RGB, ``design.dx_um`` micrometres per
    sample) box-filtered by the pixel aperture (side ``fill_factor * pitch_um``) and sampled at the
    pixel centres, exactly (band-limited scene, periodic boundary).
    """
    return prepare_scene(scene, design).ground_truth


@dataclass(frozen=True, slots=True, eq=False)
class PreparedScene:
    """A validated scene with what every capture of it shares, whatever the optics: its spectrum
    and its ground truth (cacheable per scene and pixel aperture; do not modify).

    scene_cf: (3, H*K, W*K) float32 channel-first scene. spectrum: (3, H*K, W*K//2 + 1) complex64.
    ground_truth: (H, W, 3) float32 (:func:`render_ground_truth`). oversample: K. fill_factor: of
    the pixel aperture the ground truth used.
    """

    scene_cf: np.ndarray
    spectrum: np.ndarray
    ground_truth: np.ndarray
    oversample: int
    fill_factor: float


def prepare_scene(scene: np.ndarray, design: DesignPoint) -> PreparedScene:
    """The scene's spectrum and ground truth for ``design``'s sampling (K) and pixel aperture."""
    _check_design(design)
    scene_cf = _check_scene(scene, design.oversample)
    spectrum = _scene_spectrum(scene_cf)
    return PreparedScene(scene_cf, spectrum, _ground_truth_from_spectrum(spectrum, design), design.oversample,
                         float(design.fill_factor))


# ---------------------------------------------------------------------------------------------
# RAW capture


@dataclass(frozen=True, slots=True, eq=False)
class RawCapture:
    """One simulated capture (single frame or burst).

    raw: (H, W) float32, or (F, H, W) for a burst (F > 1); scene units, may be negative.
    noise_sigma: noise standard deviation per pixel, same shape as ``raw``, scene units, from the
    clean signal. cfa: (H, W) uint8 colour index 0/1/2 (R/G/B). phase: (H, W) uint8 OCL phase 0..3.
    ground_truth: (H, W, 3) float32 linear camera RGB of frame 0. shifts_px: (F, 2) float64
    (dy, dx) translation of each frame, pixels (frame 0: zero). rotations_deg: (F,) float64,
    degrees (frame 0: zero). snr_db: effective SNR at ``REFERENCE_SIGNAL`` after the flux mode, dB.
    noise_model: as in :func:`add_noise`. design: the design point.
    """

    raw: np.ndarray
    noise_sigma: np.ndarray
    cfa: np.ndarray
    phase: np.ndarray
    ground_truth: np.ndarray
    shifts_px: np.ndarray
    rotations_deg: np.ndarray
    snr_db: float
    noise_model: str
    design: DesignPoint

    @property
    def frames(self) -> int:
        """Number of frames F."""
        return self.shifts_px.shape[0]

    @property
    def shifts_um(self) -> np.ndarray:
        """(F, 2) (dy, dx) translation of each frame, micrometres on the sensor."""
        return self.shifts_px * self.design.pitch_um

    def to_npz(self, path: str | Path) -> None:
        """Write the design.md 4 contract: ``raw``, ``noise_sigma``, ``cfa``, ``phase``,
        ``ground_truth``, ``design_json`` (the design's ``to_dict()``); bursts add ``shifts_px`` and
        ``rotations_deg``."""
        arrays = {
            "raw": self.raw,
            "noise_sigma": self.noise_sigma,
            "cfa": self.cfa,
            "phase": self.phase,
            "ground_truth": self.ground_truth,
            "design_json": np.array(json.dumps(self.design.to_dict(), sort_keys=True)),
        }
        if self.frames > 1:
            arrays["shifts_px"] = self.shifts_px
            arrays["rotations_deg"] = self.rotations_deg
        np.savez(path, **arrays)


@dataclass(frozen=True, slots=True, eq=False)
class CleanCapture:
    """A capture before noise: what :func:`simulate_raw` forms before :func:`add_capture_noise`.

    clean: (F, H, W) float32 noise-free RAW frames, scene units. cfa, phase, ground_truth,
    shifts_px, rotations_deg, design: as in :class:`RawCapture`. rng_state: the random generator's
    state after the motion draw (``Generator.bit_generator.state``), so noise can be added later,
    e.g. in another cached stage, and equal :func:`simulate_raw`'s draw exactly.
    """

    clean: np.ndarray
    cfa: np.ndarray
    phase: np.ndarray
    ground_truth: np.ndarray
    shifts_px: np.ndarray
    rotations_deg: np.ndarray
    design: DesignPoint
    rng_state: dict


def simulate_raw(
    scene: np.ndarray,
    psf_pixel: np.ndarray | SensorOTF,
    design: DesignPoint,
    *,
    rng: np.random.Generator | int,
    frames: int | None = None,
    noise: str = "gaussian",
    read_noise_e: float = 0.0,
    max_shift_px: float = 1.0,
    max_rotation_deg: float = 0.0,
) -> RawCapture:
    """Turn a scene into a RAW capture (one frame or a burst) through ``design``'s sensor.

    Outline:
      1. validate; draw the burst motion (:func:`_draw_motion`);
      2. scene spectrum, one rfft2 per channel (:func:`_scene_spectrum`); ground truth of frame 0
         (:func:`_ground_truth_from_spectrum`);
      3. per frame: rotate the scene if asked, translate by a spectral phase ramp, fold the
         (phase, colour) products onto the mosaic (:func:`_sample_mosaic`);
      4. per frame: independent noise at :func:`effective_snr_db` (:func:`add_noise`).

    Parameters
    ----------
    scene : (H*K, W*K, 3) float array, linear camera RGB, sampled every ``design.dx_um`` micrometres;
        H, W even (pixels). Boundary is periodic.
    psf_pixel : (4, 3, S, S) float array (see :func:`make_sensor_otf`), or a :class:`SensorOTF`
        made by it for this design and scene shape (cache it: it is the expensive part).
    design : DesignPoint; uses oversample, cfa, fill_factor, snr_db, flux, pitch_um, f_number, burst.
    rng : numpy Generator or int seed (keyword-only; no global RNG).
    frames : frames F in [1, 16]; default ``design.burst``.
    noise : ``gaussian`` | ``poisson_gaussian`` | ``none``. read_noise_e : electrons RMS, >= 0.
    max_shift_px : burst translations uniform in [-max_shift_px, max_shift_px] pixels per axis,
        in [0, 16]. max_rotation_deg : burst rotations uniform in +-max_rotation_deg, degrees, [0, 10]
        (cubic spline on the scene: ~1.5 s per rotated frame at 2048 x 2048 samples on 2 cores).

    Returns
    -------
    RawCapture ; ``raw`` is (H, W) when F == 1, else (F, H, W).

    Raises
    ------
    ValueError naming the parameter, its allowed range or shape and the value given.
    """
    if noise not in NOISE_MODELS:
        raise ValueError(f"noise must be one of {', '.join(NOISE_MODELS)}, got {noise!r}")
    _check_nonnegative("read_noise_e", read_noise_e, "electrons")
    rng = _make_rng(rng)
    clean = render_clean(scene, psf_pixel, design, rng=rng, frames=frames, max_shift_px=max_shift_px,
                         max_rotation_deg=max_rotation_deg)
    return add_capture_noise(clean, design, rng=rng, noise=noise, read_noise_e=read_noise_e)


def render_clean(
    scene: np.ndarray,
    psf_pixel: np.ndarray | SensorOTF,
    design: DesignPoint,
    *,
    rng: np.random.Generator | int,
    frames: int | None = None,
    max_shift_px: float = 1.0,
    max_rotation_deg: float = 0.0,
) -> CleanCapture:
    """Steps 1-3 of :func:`simulate_raw` (same parameters): the noise-free frames. Its design's
    noise fields (snr_db, flux) are not used. ``scene`` may also be a :class:`PreparedScene` of
    this design's sampling and pixel aperture (cache it: optics changes then skip its transform)."""
    _check_design(design)
    frames = design.burst if frames is None else frames
    _check_int_range("frames", frames, *BURST_RANGE)
    _check_float_range("max_shift_px", max_shift_px, 0.0, MAX_SHIFT_PX, "pixels")
    _check_float_range("max_rotation_deg", max_rotation_deg, 0.0, MAX_ROTATION_DEG, "degrees")
    rng = _make_rng(rng)
    prepared = _resolve_scene(scene, design)
    scene_cf, spec0, ground_truth = prepared.scene_cf, prepared.spectrum, prepared.ground_truth
    sensor_otf = _resolve_otf(psf_pixel, design, scene_cf.shape[1:])
    pixel_shape = (scene_cf.shape[1] // design.oversample, scene_cf.shape[2] // design.oversample)
    cfa = cfa_pattern(design.cfa, pixel_shape)
    shifts_px, rotations_deg = _draw_motion(frames, max_shift_px, max_rotation_deg, rng)

    cleans = []
    for shift_px, angle_deg in zip(shifts_px, rotations_deg):
        spec = spec0 if angle_deg == 0 else _scene_spectrum(_rotate(scene_cf, angle_deg))
        if np.any(shift_px != 0):
            spec = spec * _shift_ramp_2d(scene_cf.shape[1:], shift_px * design.oversample)
        cleans.append(_sample_mosaic(spec, sensor_otf, cfa))
    return CleanCapture(np.stack(cleans), cfa, ocl_phase_map(pixel_shape), ground_truth, shifts_px,
                        rotations_deg, design, rng.bit_generator.state)


def add_capture_noise(
    clean: CleanCapture,
    design: DesignPoint,
    *,
    rng: np.random.Generator | None = None,
    noise: str = "gaussian",
    read_noise_e: float = 0.0,
) -> RawCapture:
    """Step 4 of :func:`simulate_raw`: independent noise per frame at ``effective_snr_db(design)``.

    ``design`` may differ from ``clean.design`` only in its noise fields (snr_db, flux). rng: the
    generator to continue; default: a fresh one at ``clean.rng_state`` (the same draw).
    """
    _check_design(design)
    if design.replace(snr_db=clean.design.snr_db, flux=clean.design.flux) != clean.design:
        raise ValueError("design must match the clean capture's design except snr_db and flux")
    if rng is None:
        bit_generator = getattr(np.random, clean.rng_state["bit_generator"])()
        bit_generator.state = clean.rng_state
        rng = np.random.Generator(bit_generator)
    snr_db = effective_snr_db(design)
    raws, sigmas = zip(*(add_noise(frame, snr_db, model=noise, read_noise_e=read_noise_e, rng=rng)
                         for frame in clean.clean))
    raw, sigma = (raws[0], sigmas[0]) if len(raws) == 1 else (np.stack(raws), np.stack(sigmas))
    return RawCapture(raw, sigma, clean.cfa, clean.phase, clean.ground_truth, clean.shifts_px,
                      clean.rotations_deg, snr_db, noise, design)


def _draw_motion(frames: int, max_shift_px: float, max_rotation_deg: float, rng: np.random.Generator):
    """(F, 2) shifts in pixels and (F,) rotations in degrees; frame 0 is zero. Rotations are drawn
    only when ``max_rotation_deg > 0`` (so enabling them does not change the shifts' stream)."""
    shifts = np.zeros((frames, 2))
    rotations = np.zeros(frames)
    shifts[1:] = rng.uniform(-max_shift_px, max_shift_px, size=(frames - 1, 2))
    if max_rotation_deg > 0:
        rotations[1:] = rng.uniform(-max_rotation_deg, max_rotation_deg, size=frames - 1)
    return shifts, rotations


def _shift_ramp_2d(shape: tuple[int, int], shift_samples: np.ndarray) -> np.ndarray:
    """(rows, cols//2 + 1) complex64 ramp translating a one-sided spectrum by (dy, dx) samples."""
    ramp_y = _translation_ramp(shape[0], shift_samples[0], onesided=False)
    ramp_x = _translation_ramp(shape[1], shift_samples[1], onesided=True)
    return np.outer(ramp_y, ramp_x).astype(np.complex64)


def _rotate(scene_cf: np.ndarray, angle_deg: float) -> np.ndarray:
    """Scene (3, rows, cols) rotated by ``angle_deg`` about its centre (scipy.ndimage convention:
    counter-clockwise as displayed with row 0 at the top), cubic spline, periodic edges."""
    return scipy.ndimage.rotate(scene_cf, angle_deg, axes=(2, 1), reshape=False, order=3, mode="grid-wrap")


# ---------------------------------------------------------------------------------------------
# Validation


def _check_design(design) -> None:
    if not isinstance(design, DesignPoint):
        raise ValueError(f"design must be a DesignPoint, got {type(design).__name__}")


def _check_scene_shape(shape: tuple, oversample: int) -> tuple[int, int]:
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise ValueError(f"scene shape must be (H*K, W*K, 3) samples, got {shape}")
    rows, cols = int(shape[0]), int(shape[1])
    step = 2 * oversample
    if rows < step or cols < step or rows % step or cols % step:
        raise ValueError(
            f"scene shape must be a positive multiple of 2*K = {step} samples per side "
            f"(an even number of pixels at K = {oversample} samples per pixel), got {shape}"
        )
    return rows, cols


def _check_scene(scene, oversample: int) -> np.ndarray:
    """Validated scene as channel-first float32 (3, rows, cols)."""
    if not isinstance(scene, np.ndarray) or not np.issubdtype(scene.dtype, np.floating):
        got = f"{type(scene).__name__} {getattr(scene, 'dtype', '')}"
        raise ValueError(f"scene must be a float ndarray (H*K, W*K, 3), got {got}")
    _check_scene_shape(scene.shape, oversample)
    if scene.ndim != 3:
        raise ValueError(f"scene shape must be (H*K, W*K, 3) samples, got {scene.shape}")
    scene_cf = np.ascontiguousarray(scene.transpose(2, 0, 1), dtype=np.float32)
    bad = np.count_nonzero(~np.isfinite(scene_cf))
    if bad:
        raise ValueError(f"scene must be finite, got {bad} NaN/inf samples")
    return scene_cf


def _check_psf(psf, scene_shape: tuple[int, int]) -> np.ndarray:
    if not isinstance(psf, np.ndarray) or not np.issubdtype(psf.dtype, np.floating):
        got = f"{type(psf).__name__} {getattr(psf, 'dtype', '')}"
        raise ValueError(f"psf_pixel must be a float ndarray (4, 3, S, S), got {got}")
    size_max = min(scene_shape)
    if psf.ndim != 4 or psf.shape[:2] != (N_PHASES, 3) or psf.shape[2] != psf.shape[3] or psf.shape[2] % 2:
        raise ValueError(f"psf_pixel shape must be (4 phases, 3 channels, S, S) with S even, got {psf.shape}")
    if psf.shape[2] > size_max:
        raise ValueError(f"psf_pixel size S must be <= the scene size {size_max} samples, got S = {psf.shape[2]}")
    bad = np.count_nonzero(~np.isfinite(psf))
    if bad:
        raise ValueError(f"psf_pixel must be finite, got {bad} NaN/inf samples")
    sums = psf.sum(axis=(2, 3), dtype=np.float64)
    worst = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
    if abs(sums[worst] - 1.0) > PSF_SUM_TOLERANCE:
        raise ValueError(
            f"psf_pixel slices must each sum to 1 (within {PSF_SUM_TOLERANCE:g}), "
            f"got {sums[worst]:.6g} for phase {worst[0]}, channel {CHANNELS[worst[1]]}"
        )
    return psf.astype(np.float32, copy=False)


def _resolve_scene(scene, design: DesignPoint) -> PreparedScene:
    if not isinstance(scene, PreparedScene):
        return prepare_scene(scene, design)
    expected = (design.oversample, float(design.fill_factor))
    if (scene.oversample, scene.fill_factor) != expected:
        raise ValueError(f"scene PreparedScene must match (oversample, fill_factor) = {expected}, got "
                         f"{(scene.oversample, scene.fill_factor)}; rebuild it with prepare_scene for this design")
    return scene


def _resolve_otf(psf_pixel, design: DesignPoint, scene_shape: tuple[int, int]) -> SensorOTF:
    if not isinstance(psf_pixel, SensorOTF):
        return make_sensor_otf(psf_pixel, design, scene_shape)
    expected = (tuple(scene_shape), design.oversample, design.cfa)
    got = (psf_pixel.scene_shape, psf_pixel.oversample, psf_pixel.cfa)
    if got != expected:
        raise ValueError(
            f"psf_pixel SensorOTF must match (scene_shape, oversample, cfa) = {expected}, got {got}; "
            "rebuild it with make_sensor_otf for this design and scene"
        )
    return psf_pixel


def _make_rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy.random.Generator or a non-negative int seed, got {rng!r}")


def _is_real_number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _check_finite_number(name: str, value, unit: str) -> None:
    if not _is_real_number(value) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number ({unit}), got {value!r}")


def _check_nonnegative(name: str, value, unit: str) -> None:
    if not _is_real_number(value) or not (0 <= value < np.inf):
        raise ValueError(f"{name} must be a finite number >= 0 ({unit}), got {value!r}")


def _check_float_range(name: str, value, lo: float, hi: float, unit: str) -> None:
    if not _is_real_number(value) or not (lo <= value <= hi):
        raise ValueError(f"{name} must be in [{lo:g}, {hi:g}] {unit}, got {value!r}")


def _check_int_range(name: str, value, lo: int, hi: int) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or not (lo <= value <= hi):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")

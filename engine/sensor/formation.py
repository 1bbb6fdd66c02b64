"""Fourier-domain image formation: scene -> noise-free mosaic, and the aberration-free ground truth.

Grids (see ``engine.sensor``): a scene is linear camera RGB, float32 ``(H*K, W*K, 3)``, sampled every
``dx_um = pitch_um / K`` micrometres; pixel ``(i, j)`` covers samples ``[i K, (i+1) K)`` and its
centre is at sample ``(i K + (K-1)/2, j K + (K-1)/2)``; ``H``, ``W`` even. The scene is the
band-limited interpolant of its samples (Nyquist split symmetrically), the boundary periodic.
RAW(i, j) = (scene * psf_pixel[p, c])(pixel centre), computed exactly in the Fourier domain: the scene
spectrum times the OTF of each (phase, colour) pair, times the phase ramp to the pixel centres,
alias-summed onto the half-resolution grid of that OCL phase (:func:`_fold_products`), one small
``irfft2`` each. Ground truth: each channel box-filtered by the pixel aperture (side
``fill_factor * pitch_um``) and sampled at the pixel centres. Signals in scene units.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np
import scipy.fft

from engine.design import DesignPoint
from engine.parallel import PARALLEL_LOCK
from engine.sensor.cfa import N_PHASES, _phase_channel_pairs
from engine.validation import InputError, MismatchError, check_finite_array, check_float_array, check_instance

__all__ = ["CHANNELS", "PreparedScene", "SensorOTF", "make_sensor_otf", "prepare_scene", "render_ground_truth"]

CHANNELS = ("R", "G", "B")
PSF_SUM_TOLERANCE = 1e-3
_FFT_WORKERS = -1  # scipy.fft on all cores: ~5x numpy.fft for 2048^2 float32 on 2 cores


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
    ``design.dx_um`` micrometres, each slice summing to 1, centred at (S//2, S//2); S even (a PSF
    wider than the scene is wrapped onto it: the scene is periodic, as a whole-cycle grating is).
    design: supplies ``oversample`` (K) and ``cfa``. scene_shape: (H*K, W*K) or (H*K, W*K, 3) scene
    samples.
    Only the (phase, colour) pairs present in the CFA are transformed (4 for bayer, 12 otherwise),
    each by a pruned 2-D FFT (S rows along columns, then all columns along rows).
    """
    check_instance("design", design, DesignPoint)
    rows, cols = _check_scene_shape(tuple(scene_shape), design.oversample)
    psf = _check_psf(psf_pixel)
    pairs = _phase_channel_pairs(design.cfa)
    half = psf.shape[-1] // 2
    psf = _wrap_onto(psf, rows, cols)
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
    check_instance("design", design, DesignPoint)
    scene_cf = _check_scene(scene, design.oversample)
    spectrum = _scene_spectrum(scene_cf)
    return PreparedScene(scene_cf, spectrum, _ground_truth_from_spectrum(spectrum, design), design.oversample,
                         float(design.fill_factor))


# ---------------------------------------------------------------------------------------------
# Input checks and cached-input resolution


def _check_scene_shape(shape: tuple, oversample: int) -> tuple[int, int]:
    """(rows, cols) of a scene shape (H*K, W*K) or (H*K, W*K, 3) with H, W even and positive."""
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise InputError("scene shape", "(H*K, W*K, 3) samples", shape)
    rows, cols = int(shape[0]), int(shape[1])
    step = 2 * oversample
    if rows < step or cols < step or rows % step or cols % step:
        raise InputError("scene shape", f"a positive multiple of 2*K = {step} samples per side (an even "
                         f"number of pixels at K = {oversample} samples per pixel)", shape)
    return rows, cols


def _check_scene(scene, oversample: int) -> np.ndarray:
    """Validated scene as channel-first float32 (3, rows, cols)."""
    check_float_array("scene", scene, "(H*K, W*K, 3)")
    _check_scene_shape(scene.shape, oversample)
    if scene.ndim != 3:
        raise InputError("scene shape", "(H*K, W*K, 3) samples", scene.shape)
    scene_cf = np.ascontiguousarray(scene.transpose(2, 0, 1), dtype=np.float32)
    check_finite_array("scene", scene_cf)
    return scene_cf


def _check_psf(psf) -> np.ndarray:
    """Validated ``psf_pixel`` (4, 3, S, S) as float32: S even, finite, each slice summing to 1
    within ``PSF_SUM_TOLERANCE``."""
    check_float_array("psf_pixel", psf, "(4, 3, S, S)")
    if psf.ndim != 4 or psf.shape[:2] != (N_PHASES, 3) or psf.shape[2] != psf.shape[3] or psf.shape[2] % 2:
        raise InputError("psf_pixel shape", "(4 phases, 3 channels, S, S) with S even", psf.shape)
    check_finite_array("psf_pixel", psf)
    sums = psf.sum(axis=(2, 3), dtype=np.float64)
    worst = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
    if abs(sums[worst] - 1.0) > PSF_SUM_TOLERANCE:
        raise InputError("psf_pixel slices", f"normalised to sum to 1 (within {PSF_SUM_TOLERANCE:g})", sums,
                         got=f"{sums[worst]:.6g} for phase {worst[0]}, channel {CHANNELS[worst[1]]}")
    return psf.astype(np.float32, copy=False)


def _wrap_onto(psf: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``psf`` (4, 3, S, S) with each sample of an axis longer than the scene's (rows, cols) added
    onto its index modulo that length: the same periodic convolution, at most the scene's size."""
    size = psf.shape[-1]
    if size > rows:
        padded = np.pad(psf, ((0, 0), (0, 0), (0, -size % rows), (0, 0)))
        psf = padded.reshape(*psf.shape[:2], -1, rows, size).sum(axis=2)
    if size > cols:
        padded = np.pad(psf, ((0, 0), (0, 0), (0, 0), (0, -size % cols)))
        psf = padded.reshape(*psf.shape[:3], -1, cols).sum(axis=3)
    return psf


def _resolve_scene(scene, design: DesignPoint) -> PreparedScene:
    """``scene`` prepared for ``design`` (a :class:`PreparedScene` is checked against it)."""
    if not isinstance(scene, PreparedScene):
        return prepare_scene(scene, design)
    expected = (design.oversample, float(design.fill_factor))
    got = (scene.oversample, scene.fill_factor)
    if got != expected:
        raise MismatchError("scene PreparedScene", f"(oversample, fill_factor) = {expected} (rebuild it with "
                            "prepare_scene for this design)", got)
    return scene


def _resolve_otf(psf_pixel, design: DesignPoint, scene_shape: tuple[int, int]) -> SensorOTF:
    """``psf_pixel`` as a :class:`SensorOTF` for ``design`` and the scene grid (one given is checked)."""
    if not isinstance(psf_pixel, SensorOTF):
        return make_sensor_otf(psf_pixel, design, scene_shape)
    expected = (tuple(scene_shape), design.oversample, design.cfa)
    got = (psf_pixel.scene_shape, psf_pixel.oversample, psf_pixel.cfa)
    if got != expected:
        raise MismatchError("psf_pixel SensorOTF", f"(scene_shape, oversample, cfa) = {expected} (rebuild it "
                            "with make_sensor_otf for this design and scene)", got)
    return psf_pixel

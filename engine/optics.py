"""Lens optics: fixed wavefront truncated by F#, polychromatic OCL PSFs by matrix Fourier transform,
pixel-aperture integration, and lens OTF/MTF.

Geometry (design.md 3). Pupil coordinates ``u, v`` are normalised to the radius of the *reference*
pupil (F/``f_number_ref``); the working pupil is the centred disk of radius
``f_number_ref / f_number``. Fraunhofer propagation to the image plane (micrometres) is

    E(x, y) = sum_uv P(u, v) exp(-2 pi i (x u + y v) / (2 lambda N_ref)),

two matrix products per wavelength, so every wavelength lands on the same grid
``dx_um = pitch_um / oversample``. The focal length drops out. PSFs are intensity ``|E|^2``
normalised to unit sum over the S x S window, centred at index (S//2, S//2); H = along x
(columns), V = along y (rows). Frequencies are in cycles/mm.

OCL phases: phase ``p = 2 * (row % 2) + (col % 2)`` adds ``tilt/sqrt2 * (sx Z2 + sy Z3)`` and
``coma/sqrt2 * (sx Z8 + sy Z7)`` (waves at 550 nm) with ``sx = +1`` for the right column, ``sy = +1``
for the lower row; a positive Z2 moves the PSF toward +x.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numba
import numpy as np

from engine.design import DesignError, DesignPoint, OCLOffsets
from engine.spectra import REFERENCE_WAVELENGTH_NM, WAVELENGTHS_NM, channel_weights
from engine.zernike import wavefront_waves

N_PHASES = 4
DEFAULT_PUPIL_SAMPLES = 256
PSF_WINDOW_PX = 32
"""Least side of the PSF window in pixels (``psf_window_px``): in pixels, so the simulated capture
does not depend on the oversampling once the PSF is Nyquist-sampled."""
PSF_HALF_WINDOW_LAMBDA_F = 6.0
"""Least half-side of the PSF window in ``lambda F#`` at 550 nm: what PSF_WINDOW_PX gives the Table 1
presets (F# / pitch 4.7 per um), so a slower or finer design loses no more of its Airy halo than
they do (docs/design.md, Optics)."""


def psf_window_px(design: DesignPoint) -> int:
    """Side of ``design``'s PSF window in pixels: PSF_WINDOW_PX, or wider (whole 8-px CFA periods)
    where its half-side would hold fewer than PSF_HALF_WINDOW_LAMBDA_F ``lambda F#`` at 550 nm."""
    needed = 2 * PSF_HALF_WINDOW_LAMBDA_F * REFERENCE_WAVELENGTH_NM * 1e-3 * design.f_number / design.pitch_um
    return max(PSF_WINDOW_PX, 8 * math.ceil(needed / 8 - 1e-9))


def psf_size(design: DesignPoint) -> int:
    """PSF grid side in samples for ``design``: its window (:func:`psf_window_px`) x oversample."""
    return psf_window_px(design) * design.oversample


def pupil_samples_for(design: DesignPoint, size: int, wavelengths_nm: np.ndarray = WAVELENGTHS_NM) -> int:
    """DEFAULT_PUPIL_SAMPLES, or more (even) where an S = ``size`` sample PSF window would exceed the
    period of the pupil's Fourier transform at the shortest wavelength."""
    needed = size * design.dx_um / (float(np.min(wavelengths_nm)) * 1e-3 * design.f_number_ref)
    return max(DEFAULT_PUPIL_SAMPLES, 2 * math.ceil(needed / 2))


def nyquist_dx_um(f_number: float, wavelengths_nm: np.ndarray = WAVELENGTHS_NM) -> float:
    """Coarsest image-plane sampling that Nyquist-samples the PSF: ``lambda_min F# / 2``, um."""
    return float(np.min(wavelengths_nm)) * 1e-3 * f_number / 2


def nyquist_cyc_per_mm(pitch_um: float) -> float:
    """Sampling Nyquist frequency of a pixel grid of pitch ``pitch_um``: 1000 / (2 pitch), cycles/mm."""
    return 1000.0 / (2.0 * pitch_um)


def cutoff_cyc_per_mm(f_number: float, wavelength_nm: float = REFERENCE_WAVELENGTH_NM) -> float:
    """Incoherent diffraction cutoff 1 / (lambda F#) of an aberration-free lens, cycles/mm."""
    return 1e6 / (wavelength_nm * f_number)


AIRY_RADIUS_PER_LAMBDA_F = 1.22
"""First dark ring of the Airy pattern in units of ``lambda F#`` (the first zero of ``J1(pi r / (lambda
F#))`` is at 1.2197 ``lambda F#``; 1.22 is the textbook rounding)."""


def airy_radius_um(f_number: float, wavelength_nm: float = REFERENCE_WAVELENGTH_NM) -> float:
    """Radius of the Airy disk's first dark ring of an aberration-free lens,
    ``1.22 lambda F#``, micrometres (``wavelength_nm`` in nanometres)."""
    return AIRY_RADIUS_PER_LAMBDA_F * wavelength_nm * 1e-3 * f_number


def min_oversample(pitch_um: float, f_number: float, wavelengths_nm: np.ndarray = WAVELENGTHS_NM) -> int:
    """Smallest oversample (samples per pixel) whose ``dx = pitch / oversample`` is at most
    :func:`nyquist_dx_um`."""
    return max(1, math.ceil(pitch_um / nyquist_dx_um(f_number, wavelengths_nm)))


def nyquist_sampled(design: DesignPoint, *, given: bool = False) -> DesignPoint:
    """``design`` with its oversampling raised, where needed, to :func:`min_oversample`: the least
    that samples its PSF at the optical Nyquist. given: the user set the oversampling, so one too
    coarse is refused (DesignError naming ``oversample``) instead of raised."""
    needed = min_oversample(design.pitch_um, design.f_number)
    if design.oversample >= needed:
        return design
    if given:
        raise DesignError("oversample", f"at least {needed} at pitch {design.pitch_um:g} um and F/{design.f_number:g} "
                          "(the PSF sampled at the optical Nyquist; left out, it is set so)", design.oversample)
    return design.replace(oversample=needed)


@dataclass(frozen=True)
class PSFSet:
    """Channel PSFs of one design on the image-plane grid.

    psf_optical: (4 phases, 3 channels, S, S) float32, before the pixel aperture, each slice sums to 1.
    psf_pixel: same, after integration over the pixel aperture.
    dx_um: sample spacing, micrometres. wavelengths_nm: (W,). channel_weights: (3, W), rows sum to 1.
    timings_s: wall time of each stage, seconds.
    """

    psf_optical: np.ndarray
    psf_pixel: np.ndarray
    dx_um: float
    wavelengths_nm: np.ndarray
    channel_weights: np.ndarray
    timings_s: dict = field(default_factory=dict, compare=False)


def pupil_coordinates(pupil_samples: int, fraction: float) -> np.ndarray:
    """1-D pupil sample positions (normalised to the reference radius) inside ``|u| <= fraction``."""
    u = (np.arange(pupil_samples) - (pupil_samples - 1) / 2) * (2.0 / pupil_samples)
    return u[np.abs(u) <= fraction]


def ocl_phase_zernike(ocl: OCLOffsets) -> list[dict[int, float]]:
    """Zernike offsets (Noll -> waves at 550 nm) of the four OCL phases (empty dicts when disabled)."""
    if not ocl.enabled:
        return [{} for _ in range(N_PHASES)]
    offsets = []
    for p in range(N_PHASES):
        sy, sx = (1.0 if p // 2 else -1.0), (1.0 if p % 2 else -1.0)
        a, c = ocl.tilt_waves / math.sqrt(2), ocl.coma_waves / math.sqrt(2)
        offsets.append({2: a * sx, 3: a * sy, 8: c * sx, 7: c * sy})
    return offsets


def phase_wavefronts(design: DesignPoint, u: np.ndarray) -> np.ndarray:
    """(P, M, M) wavefront in waves at 550 nm over the pupil samples ``u`` x ``u``; P = 4 with OCL, else 1."""
    yy, xx = np.meshgrid(u, u, indexing="ij")
    rho, theta = np.hypot(xx, yy), np.arctan2(yy, xx)
    base = wavefront_waves(design.zernike_dict, rho, theta)
    if not design.ocl.enabled:
        return base[None].astype(np.float32)
    return np.stack([base + wavefront_waves(off, rho, theta) for off in ocl_phase_zernike(design.ocl)]).astype(
        np.float32
    )


def wavefront_rms_waves(design: DesignPoint, pupil_samples: int = DEFAULT_PUPIL_SAMPLES) -> float:
    """RMS wavefront error over the working (F#-truncated) pupil, piston removed, waves at 550 nm."""
    u = pupil_coordinates(pupil_samples, design.pupil_fraction)
    yy, xx = np.meshgrid(u, u, indexing="ij")
    inside = np.hypot(xx, yy) <= design.pupil_fraction
    w = wavefront_waves(design.zernike_dict, np.hypot(xx, yy), np.arctan2(yy, xx))[inside]
    return float(np.std(w))


ZERNIKE_SLIDER_LIMITS_WAVES = {4: 1.0, 5: 0.5, 6: 0.5, 7: 0.5, 8: 0.5, 9: 0.5, 10: 0.5, 11: 0.5, 12: 0.5, 13: 0.5,
                               22: 0.5}
"""Noll term -> half-range of the app's Zernike sliders, waves at 550 nm (within
``engine.design.ZERNIKE_MAX_WAVES``): the terms and amplitudes the universal Neural ISP is trained
over (``engine.isp.neural.universal``)."""
WAVEFRONT_MAP_SAMPLES = 128
"""Pupil samples across the reference pupil of :func:`wavefront_map` (a figure's resolution)."""


@dataclass(frozen=True)
class WavefrontMap:
    """The wavefront of one OCL phase over the working pupil.

    u: (M,) pupil sample positions, normalised to the reference pupil radius (both axes).
    waves: (M, M) wavefront in waves at 550 nm, rows along y, piston (its mean over the working
    pupil) removed, NaN outside the working pupil. rms_waves: its RMS over the working pupil, waves.
    """

    u: np.ndarray
    waves: np.ndarray
    rms_waves: float


def wavefront_map(design: DesignPoint, phase: int = 0, samples: int = WAVEFRONT_MAP_SAMPLES) -> WavefrontMap:
    """Wavefront of OCL phase ``phase`` (its tilt and coma offsets included; phase 0 when OCL is
    off) on a ``samples`` x ``samples`` grid over the reference pupil, piston removed; waves at 550 nm.
    Unlike :func:`wavefront_rms_waves` (the lens alone), the RMS includes the phase's OCL offsets."""
    u = pupil_coordinates(samples, 1.0)
    waves = phase_wavefronts(design, u)
    w = waves[phase if waves.shape[0] > 1 else 0].astype(float)
    yy, xx = np.meshgrid(u, u, indexing="ij")
    inside = np.hypot(xx, yy) <= design.pupil_fraction
    w = np.where(inside, w - w[inside].mean(), np.nan)
    return WavefrontMap(u, w, float(np.nanstd(w)))


TWO_PI_HI = np.float32(6.28125)  # 2 pi split in two float32 parts for exact range reduction
TWO_PI_LO = np.float32(2 * math.pi - 6.28125)
INV_TWO_PI = np.float32(1 / (2 * math.pi))


@numba.njit(fastmath=True, inline="always")
def _cis(angle):
    """(cos, sin) of a float32 angle in radians, branch-free (vectorisable), max error ~5e-7."""
    k = np.float32(np.rint(angle * INV_TWO_PI))
    h = np.float32(0.5) * ((angle - k * TWO_PI_HI) - k * TWO_PI_LO)  # half angle in [-pi/2, pi/2]
    h2 = h * h
    s = h * (1 + h2 * (np.float32(-1 / 6) + h2 * (np.float32(1 / 120) + h2 * (np.float32(-1 / 5040)
             + h2 * (np.float32(1 / 362880) + h2 * np.float32(-1 / 39916800))))))
    c = 1 + h2 * (np.float32(-0.5) + h2 * (np.float32(1 / 24) + h2 * (np.float32(-1 / 720)
             + h2 * (np.float32(1 / 40320) + h2 * (np.float32(-1 / 3628800) + h2 * np.float32(1 / 479001600))))))
    return c * c - s * s, np.float32(2) * s * c


# The numba kernels below are single-threaded on purpose: BLAS owns both cores during the MFT, and
# interleaving numba's and OpenBLAS's thread pools per wavelength was 5-10x slower (spin-waits).
@numba.njit(fastmath=True, cache=True)
def _pupil_fields_into(out, wavefronts, inside, rad_per_wave):
    """out (P, M, 2M) float32 <- interleaved complex exp(i rad_per_wave * W) on the disk, 0 outside."""
    n_phase, m, _ = wavefronts.shape
    for p in range(n_phase):
        for i in range(m):
            for j in range(m):
                c, s = _cis(rad_per_wave * wavefronts[p, i, j])
                out[p, i, 2 * j] = c * inside[i, j]
                out[p, i, 2 * j + 1] = s * inside[i, j]


@numba.njit(fastmath=True, cache=True)
def _mft_kernel_into(out, x_um, u, rad_per_um):
    """out (S, 2M) float32 <- interleaved complex exp(-i rad_per_um * x u)."""
    for i in range(x_um.shape[0]):
        for k in range(u.shape[0]):
            c, s = _cis(-rad_per_um * x_um[i] * u[k])
            out[i, 2 * k] = c
            out[i, 2 * k + 1] = s


@numba.njit(fastmath=True, cache=True)
def _accumulate_channels(channel, fields, weights):
    """channel (P, 3, S, S) += weights[c] * |E_p|^2 / sum |E_p|^2 for the fields E (P, S, S)."""
    n_phase, size, _ = fields.shape
    for p in range(n_phase):
        total = 0.0
        for i in range(size):
            for j in range(size):
                v = fields[p, i, j]
                total += v.real * v.real + v.imag * v.imag
        for c in range(weights.shape[0]):
            gain = np.float32(weights[c] / total)
            for i in range(size):
                for j in range(size):
                    v = fields[p, i, j]
                    channel[p, c, i, j] += gain * (v.real * v.real + v.imag * v.imag)


def pixel_aperture(psf: np.ndarray, dx_um: float, width_um: float) -> np.ndarray:
    """PSF(s) (..., S, S) convolved with a square pixel aperture of side ``width_um``.

    Exact for Nyquist-sampled PSFs: the OTF is multiplied by sinc(f w) sinc(g w) on the FFT grid.
    """
    size = psf.shape[-1]
    fy = np.fft.fftfreq(size, dx_um)
    fx = np.fft.rfftfreq(size, dx_um)
    box = np.outer(np.sinc(fy * width_um), np.sinc(fx * width_um)).astype(np.float32)
    return np.fft.irfft2(np.fft.rfft2(psf) * box, s=psf.shape[-2:]).astype(np.float32)


def compute_psfs(
    design: DesignPoint,
    *,
    size: int | None = None,
    pupil_samples: int | None = None,
    mono_nm: float | None = None,
) -> PSFSet:
    """The (4 OCL phases x 3 channels) PSFs of ``design`` on an S x S grid at ``design.dx_um``
    (S = ``size``, default :func:`psf_size`).

    pupil_samples: across the reference aperture (default :func:`pupil_samples_for` the window).
    mono_nm: one wavelength (nm) for all channels instead of the 51-wavelength spectrum.
    """
    t0 = time.perf_counter()
    size = psf_size(design) if size is None else size
    wavelengths = np.array([mono_nm], dtype=float) if mono_nm is not None else WAVELENGTHS_NM
    pupil_samples = pupil_samples_for(design, size, wavelengths) if pupil_samples is None else pupil_samples
    weights = np.ones((3, 1)) if mono_nm is not None else channel_weights(wavelengths)
    _check_sampling(design, size, pupil_samples, wavelengths)
    x_um = ((np.arange(size) - size // 2) * design.dx_um).astype(np.float32)
    u = pupil_coordinates(pupil_samples, design.pupil_fraction).astype(np.float32)
    yy, xx = np.meshgrid(u, u, indexing="ij")
    inside = (np.hypot(xx, yy) <= design.pupil_fraction).astype(np.float32)
    wavefronts = phase_wavefronts(design, u)
    n_phase, m = wavefronts.shape[0], u.size
    pupil = np.empty((n_phase, m, 2 * m), dtype=np.float32)  # reused per wavelength: stays in cache
    kernel = np.empty((size, 2 * m), dtype=np.float32)
    channel = np.zeros((n_phase, 3, size, size), dtype=np.float32)
    t1 = time.perf_counter()
    for w, lam_nm in enumerate(wavelengths):
        _pupil_fields_into(pupil, wavefronts, inside, np.float32(2 * np.pi * REFERENCE_WAVELENGTH_NM / lam_nm))
        _mft_kernel_into(kernel, x_um, u, np.float32(np.pi / (lam_nm * 1e-3 * design.f_number_ref)))
        a = kernel.view(np.complex64)
        fields = (a @ pupil.view(np.complex64)) @ a.T
        _accumulate_channels(channel, fields, weights[:, w].astype(np.float32))
    psf_optical = np.broadcast_to(channel, (N_PHASES, 3, size, size)).copy()
    t2 = time.perf_counter()
    psf_pixel = pixel_aperture(psf_optical, design.dx_um, design.pitch_um * design.fill_factor)
    t3 = time.perf_counter()
    timings = {"setup": t1 - t0, "mft": t2 - t1, "pixel_aperture": t3 - t2, "total": t3 - t0}
    return PSFSet(psf_optical, psf_pixel, design.dx_um, wavelengths, weights, timings)


def _check_sampling(design: DesignPoint, size: int, pupil_samples: int, wavelengths_nm: np.ndarray) -> None:
    if not 16 <= size <= 2048 or size % 2:
        raise ValueError(f"PSF size must be an even number of samples in [16, 2048], got {size}")
    if not 32 <= pupil_samples <= 4096:
        raise ValueError(f"pupil_samples must be in [32, 4096], got {pupil_samples}")
    lam_min_um = float(np.min(wavelengths_nm)) * 1e-3
    window_um = size * design.dx_um
    period_um = lam_min_um * design.f_number_ref * pupil_samples
    if window_um > period_um:
        raise ValueError(
            f"PSF window {window_um:.1f} um exceeds the {period_um:.1f} um period of a {pupil_samples}-sample pupil;"
            f" raise pupil_samples to >= {math.ceil(window_um / (lam_min_um * design.f_number_ref))} or lower size"
        )
    nyquist_dx = nyquist_dx_um(design.f_number, wavelengths_nm)
    if design.dx_um > nyquist_dx:
        raise ValueError(
            f"oversample {design.oversample} gives dx {design.dx_um:.3f} um, coarser than the optical Nyquist"
            f" {nyquist_dx:.3f} um at F/{design.f_number:g}; use oversample >="
            f" {min_oversample(design.pitch_um, design.f_number, wavelengths_nm)}"
        )


def mtf_along_axes(psf: np.ndarray, dx_um: float, freq_cyc_per_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(MTF_H, MTF_V) of one S x S PSF at the given frequencies (cycles/mm), by direct DFT of its
    line spread functions; H is the frequency along x (columns), V along y (rows)."""
    size = psf.shape[-1]
    x_mm = (np.arange(size) - size // 2) * dx_um * 1e-3
    kernel = np.exp(-2j * np.pi * np.multiply.outer(freq_cyc_per_mm, x_mm))
    lsf_x, lsf_y = psf.sum(axis=0), psf.sum(axis=1)
    return np.abs(kernel @ lsf_x) / lsf_x.sum(), np.abs(kernel @ lsf_y) / lsf_y.sum()


def radial_mtf(psf: np.ndarray, dx_um: float, n_bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthally averaged MTF of one PSF: (frequency cycles/mm up to the grid Nyquist, MTF)."""
    size = psf.shape[-1]
    otf = np.abs(np.fft.fft2(psf)) / psf.sum()
    f = np.fft.fftfreq(size, dx_um * 1e-3)
    radius = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    edges = np.linspace(0.0, f.max(), n_bins + 1)
    which = np.digitize(radius.ravel(), edges) - 1
    valid = (which >= 0) & (which < n_bins)
    sums = np.bincount(which[valid], otf.ravel()[valid], minlength=n_bins)
    counts = np.bincount(which[valid], minlength=n_bins)
    return 0.5 * (edges[1:] + edges[:-1]), sums / np.maximum(counts, 1)


def diffraction_mtf(freq_cyc_per_mm: np.ndarray, wavelength_nm: float, f_number: float) -> np.ndarray:
    """Closed-form MTF of an aberration-free circular pupil (incoherent), cutoff 1/(lambda F#)."""
    nu = np.clip(np.asarray(freq_cyc_per_mm) * wavelength_nm * 1e-6 * f_number, 0.0, 1.0)
    return (2 / np.pi) * (np.arccos(nu) - nu * np.sqrt(1 - nu**2))


def polychromatic_diffraction_mtf(
    freq_cyc_per_mm: np.ndarray, weights: np.ndarray, wavelengths_nm: np.ndarray, f_number: float
) -> np.ndarray:
    """Diffraction-limited MTF of one channel: spectral-weighted sum of the monochromatic closed forms."""
    return sum(w * diffraction_mtf(freq_cyc_per_mm, lam, f_number) for w, lam in zip(weights, wavelengths_nm))


def fwhm_um(psf: np.ndarray, dx_um: float) -> float:
    """Full width at half maximum of one PSF, mean of the x and y cuts through its peak, micrometres."""
    row, col = np.unravel_index(np.argmax(psf), psf.shape)
    return 0.5 * (_cut_fwhm(psf[row, :]) + _cut_fwhm(psf[:, col])) * dx_um


def _cut_fwhm(cut: np.ndarray) -> float:
    peak = int(np.argmax(cut))
    half = cut[peak] / 2
    left = peak
    while left > 0 and cut[left - 1] > half:
        left -= 1
    right = peak
    while right < cut.size - 1 and cut[right + 1] > half:
        right += 1
    x_left = left - (cut[left] - half) / (cut[left] - cut[left - 1]) if left > 0 else 0.0
    x_right = right + (cut[right] - half) / (cut[right] - cut[right + 1]) if right < cut.size - 1 else cut.size - 1.0
    return float(x_right - x_left)


def diffraction_limited(design: DesignPoint) -> DesignPoint:
    """The same design with an aberration-free lens and no OCL offsets."""
    return design.replace(zernike=(), ocl=OCLOffsets(enabled=False))


def strehl_ratios(psfs: PSFSet, reference: PSFSet) -> np.ndarray:
    """(4, 3) peak of each PSF over the peak of the diffraction-limited PSF of its channel (same grid)."""
    return psfs.psf_optical.max(axis=(-1, -2)) / reference.psf_optical.max(axis=(-1, -2))

"""Sensor: CFA layouts with OCL phases, exact Fourier-domain image formation, noise, bursts -> RAW.

Modules: :mod:`~engine.sensor.cfa` (CFA block table, colour and OCL phase maps),
:mod:`~engine.sensor.formation` (OTFs, Fourier-domain sampling, ground truth, prepared scenes),
:mod:`~engine.sensor.noise` (flux, noise sigma, noisy signals), :mod:`~engine.sensor.capture`
(RAW and clean captures, bursts). Everything public is importable from ``engine.sensor``.

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

from engine.sensor.capture import (
    MAX_ROTATION_DEG,
    MAX_SHIFT_PX,
    CleanCapture,
    RawCapture,
    add_capture_noise,
    render_clean,
    simulate_raw,
)
from engine.sensor.cfa import CFA_BLOCK_PX, CFA_PERIOD_PX, N_PHASES, cfa_pattern, ocl_phase_map
from engine.sensor.formation import (
    CHANNELS,
    PSF_SUM_TOLERANCE,
    PreparedScene,
    SensorOTF,
    make_sensor_otf,
    prepare_scene,
    render_ground_truth,
)
from engine.sensor.noise import (
    FLUX_REFERENCE_F_NUMBER,
    FLUX_REFERENCE_PITCH_UM,
    NOISE_MODELS,
    REFERENCE_SIGNAL,
    add_noise,
    effective_snr_db,
    electrons_per_signal,
    light_per_pixel,
    noise_sigma_at_white,
    noise_sigma_map,
    shot_noise_snr_db,
)

__all__ = [
    "CFA_BLOCK_PX",
    "CFA_PERIOD_PX",
    "CHANNELS",
    "CleanCapture",
    "FLUX_REFERENCE_F_NUMBER",
    "FLUX_REFERENCE_PITCH_UM",
    "MAX_ROTATION_DEG",
    "MAX_SHIFT_PX",
    "NOISE_MODELS",
    "N_PHASES",
    "PSF_SUM_TOLERANCE",
    "PreparedScene",
    "REFERENCE_SIGNAL",
    "RawCapture",
    "SensorOTF",
    "add_capture_noise",
    "add_noise",
    "cfa_pattern",
    "effective_snr_db",
    "electrons_per_signal",
    "light_per_pixel",
    "make_sensor_otf",
    "noise_sigma_at_white",
    "noise_sigma_map",
    "ocl_phase_map",
    "prepare_scene",
    "render_clean",
    "render_ground_truth",
    "shot_noise_snr_db",
    "simulate_raw",
]

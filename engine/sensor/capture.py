"""RAW captures: one frame or a burst through a design's sensor, clean frames and their noise.

Bursts: frame 0 is the reference (no motion). Frames 1.. are translated by uniform random shifts in
``[-max_shift_px, max_shift_px]`` pixels per axis (applied exactly as a phase ramp on the scene
spectrum) and optionally rotated by uniform random angles in ``[-max_rotation_deg, max_rotation_deg]``
(cubic spline, ``scipy.ndimage.rotate``, about the scene centre, before the shift). A shift
``(dy, dx)`` moves the content toward +row, +column: ``frame_f(y, x) = frame_0(y - dy, x - dx)``.
Noise is independent per frame (:func:`engine.sensor.noise.add_noise`). The ground truth is that of
frame 0. Signals in scene units (linear camera RGB).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.ndimage

from engine.design import BURST_RANGE, DesignPoint
from engine.sensor.cfa import cfa_pattern, ocl_phase_map
from engine.sensor.formation import (
    SensorOTF,
    _resolve_otf,
    _resolve_scene,
    _sample_mosaic,
    _scene_spectrum,
    _translation_ramp,
)
from engine.sensor.noise import NOISE_MODELS, add_noise, effective_snr_db
from engine.validation import (
    MismatchError,
    check_choice,
    check_instance,
    check_int_range,
    check_nonnegative,
    check_range,
    coerce_rng,
)

__all__ = ["CleanCapture", "RawCapture", "add_capture_noise", "render_clean", "simulate_raw"]

MAX_SHIFT_PX = 16.0
MAX_ROTATION_DEG = 10.0


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
    engine.validation.InputError (a ValueError) naming the parameter, its allowed range or shape and
    the value given.
    """
    check_choice("noise", noise, NOISE_MODELS)
    check_nonnegative("read_noise_e", read_noise_e, "electrons")
    rng = coerce_rng(rng)
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
    check_instance("design", design, DesignPoint)
    frames = design.burst if frames is None else frames
    check_int_range("frames", frames, *BURST_RANGE)
    check_range("max_shift_px", max_shift_px, 0.0, MAX_SHIFT_PX, "pixels")
    check_range("max_rotation_deg", max_rotation_deg, 0.0, MAX_ROTATION_DEG, "degrees")
    rng = coerce_rng(rng)
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
    check_instance("design", design, DesignPoint)
    if design.replace(snr_db=clean.design.snr_db, flux=clean.design.flux) != clean.design:
        raise MismatchError("design", "the clean capture's design except snr_db and flux", design)
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


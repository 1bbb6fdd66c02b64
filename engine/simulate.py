"""The staged capture, owned here: scene -> prepared scene -> PSFs -> sensor OTF -> clean frames ->
noisy RAW -> crop, as pure functions, and the one table of which design fields each stage reads.

Every caller (CLI, study, instruments, training data, the app's caches) builds captures from these
functions and keys its caches with :func:`stage_design` / :func:`stage_key`, so the dependency of a
stage on the design is written once.

The sensor model is periodic at the scene edges, so the scene is rendered with a margin of
``margin_px`` pixels on every side (half the PSF window, rounded up to whole CFA periods so the
mosaic stays aligned) and the capture is cropped back to ``size_px``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from functools import lru_cache

import numpy as np

from engine import optics, scenes, sensor
from engine.design import NOISE_FIELDS, NUMERICAL_FIELDS, OVERSAMPLE_RANGE, DesignPoint
from engine.sensor.cfa import CFA_PERIOD_PX  # margins are whole periods of the largest CFA (8 px, hex)

DESIGN_FIELDS = tuple(f.name for f in dataclasses.fields(DesignPoint))
OPTICS_FIELDS = tuple(name for name in DESIGN_FIELDS if name not in ("cfa",) + NOISE_FIELDS)
"""What the PSFs depend on: lens, F#, pitch, pixel aperture, OCL, sampling (not CFA, not noise)."""

STAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "psf": OPTICS_FIELDS,
    "prepared_scene": ("oversample", "fill_factor"),  # the scene's spectrum and its ground truth
    "ground_truth": ("oversample", "fill_factor"),
    "sensor_otf": OPTICS_FIELDS + ("cfa",),
    "clean": tuple(name for name in DESIGN_FIELDS if name not in ("snr_db", "flux")),  # burst: frames
    "raw": DESIGN_FIELDS,
    "neural_weights": tuple(name for name in DESIGN_FIELDS if name not in NOISE_FIELDS + NUMERICAL_FIELDS),
}
"""The design fields each stage reads (beyond the scene request and the view size, which key every
stage that renders the scene). ``neural_weights`` is what a per-design Neural ISP is trained for
(:meth:`DesignPoint.imaging_hash`)."""


def stage_fields(stage: str, design: DesignPoint) -> dict:
    """The fields of ``design`` that ``stage`` reads, as in :meth:`DesignPoint.to_dict`: two designs
    give the same stage output (for the same request) exactly when these are equal."""
    return {name: value for name, value in design.to_dict().items() if name in STAGE_FIELDS[stage]}


def stage_design(stage: str, design: DesignPoint) -> DesignPoint:
    """``design`` with every field ``stage`` does not read at DesignPoint's default, for the stages
    that read every required field (psf, sensor_otf, clean, raw, neural_weights)."""
    return DesignPoint.from_dict(stage_fields(stage, design))


def stage_key(stage: str, design: DesignPoint, **request) -> str:
    """Canonical JSON of :func:`stage_fields` plus the request (scene spec, margin...): a cache key."""
    return json.dumps({"design": stage_fields(stage, design), **request}, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=16)
def psfs_for(design: DesignPoint, size: int | None = None) -> optics.PSFSet:
    """PSFs of a design (S x S samples, default :func:`engine.optics.psf_size`), cached per process
    by the optics fields only."""
    if design != stage_design("psf", design):
        return psfs_for(stage_design("psf", design), size)
    return optics.compute_psfs(design, size=size)


def margin_px(design: DesignPoint, psf_size: int) -> int:
    """Pixels rendered beyond the view on each side: half the PSF window, whole CFA periods."""
    half_psf_px = psf_size / (2 * design.oversample)
    return int(math.ceil(half_psf_px / CFA_PERIOD_PX) * CFA_PERIOD_PX)


def max_oversample(design: DesignPoint, size_px: int) -> int:
    """Largest oversample (samples per pixel) a ``size_px`` view of ``design`` can use: the scene
    grid, (view + 2 PSF margins) x oversample samples per side, is capped at
    ``engine.scenes.SHAPE_RANGE`` (the PSF sampling bounds it from below: ``optics.min_oversample``).
    0 if none fits."""
    for oversample in range(OVERSAMPLE_RANGE[1], OVERSAMPLE_RANGE[0] - 1, -1):
        trial = design.replace(oversample=oversample)
        if (size_px + 2 * margin_px(trial, optics.psf_size(trial))) * oversample <= scenes.SHAPE_RANGE[1]:
            return oversample
    return 0


def check_size_px(size_px) -> int:
    """The view size in pixels: a multiple of CFA_PERIOD_PX in [16, 2048]."""
    if not isinstance(size_px, int) or not 16 <= size_px <= 2048 or size_px % CFA_PERIOD_PX:
        raise ValueError(f"size must be a multiple of {CFA_PERIOD_PX} pixels in [16, 2048], got {size_px}")
    return size_px


def scene_samples(design: DesignPoint, size_px: int, margin: int) -> tuple[int, int]:
    """Scene grid (samples per side, twice) of a ``size_px`` view with ``margin`` pixels around it."""
    return ((size_px + 2 * margin) * design.oversample,) * 2


def crop_capture(capture: sensor.RawCapture, margin: int) -> sensor.RawCapture:
    """The capture without ``margin`` pixels on each side (all per-pixel arrays)."""
    if margin == 0:
        return capture
    inner = (..., slice(margin, -margin), slice(margin, -margin))
    return dataclasses.replace(
        capture,
        raw=capture.raw[inner],
        noise_sigma=capture.noise_sigma[inner],
        cfa=capture.cfa[margin:-margin, margin:-margin],
        phase=capture.phase[margin:-margin, margin:-margin],
        ground_truth=crop_ground_truth(capture.ground_truth, margin),
    )


def crop_ground_truth(ground_truth: np.ndarray, margin: int) -> np.ndarray:
    """(H, W, 3) ground truth without ``margin`` pixels on each side."""
    return ground_truth if margin == 0 else ground_truth[margin:-margin, margin:-margin]


def noisy_capture(clean: sensor.CleanCapture, design: DesignPoint, margin: int, **noise) -> sensor.RawCapture:
    """Noise at ``design``'s SNR and flux on the clean frames (the draw :func:`sensor.simulate_raw`
    makes), cropped by ``margin`` pixels."""
    return crop_capture(sensor.add_capture_noise(clean, design, **noise), margin)


class SceneCapturer:
    """Captures of ``size_px`` x ``size_px`` pixel views through one design's sensor: the margin,
    the scene grid and the sensor OTF are computed once and shared by every capture."""

    def __init__(self, design: DesignPoint, size_px: int, psf_pixel: np.ndarray | None = None):
        """psf_pixel: (4, 3, S, S) pixel PSFs (default: the design's, :func:`psfs_for`)."""
        self.design = design
        self.size_px = check_size_px(size_px)
        psf_pixel = psfs_for(design).psf_pixel if psf_pixel is None else psf_pixel
        self.margin = margin_px(design, psf_pixel.shape[-1])
        self.shape = scene_samples(design, size_px, self.margin)
        self.otf = sensor.make_sensor_otf(psf_pixel, design, self.shape)

    def render(self, scene: str, seed: int, **scene_params) -> np.ndarray:
        """The scene (a name in ``scenes.SCENE_NAMES`` or an image path) on this view's grid."""
        return scenes.render_scene(scene, self.design.dx_um, self.shape, rng=seed, **scene_params)

    def capture(self, image: np.ndarray, seed: int, **raw_options) -> sensor.RawCapture:
        """RAW capture of a rendered scene (motion and noise seeded by ``seed``), margins cropped;
        ``raw_options`` go to :func:`engine.sensor.simulate_raw` (frames, noise...)."""
        clean = sensor.render_clean(image, self.otf, self.design, rng=np.random.default_rng(seed),
                                    **{k: v for k, v in raw_options.items() if k in _MOTION_OPTIONS})
        return noisy_capture(clean, self.design, self.margin,
                             **{k: v for k, v in raw_options.items() if k not in _MOTION_OPTIONS})


_MOTION_OPTIONS = ("frames", "max_shift_px", "max_rotation_deg")


def capture_scene(
    design: DesignPoint,
    scene: str,
    size_px: int,
    *,
    seed: int = 0,
    psfs: optics.PSFSet | None = None,
    **scene_params,
) -> sensor.RawCapture:
    """RAW capture (``size_px`` x ``size_px`` pixels, ``design.burst`` frames) of ``scene``.

    scene: a name in ``scenes.SCENE_NAMES`` or an image path; ``scene_params`` go to the scene.
    seed: seeds the scene (dead leaves), the burst motion and the noise. psfs: reuse a PSF set.
    """
    capturer = SceneCapturer(design, check_size_px(size_px), None if psfs is None else psfs.psf_pixel)
    return capturer.capture(capturer.render(scene, seed, **scene_params), seed)

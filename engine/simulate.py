"""End-to-end capture: a named scene (or image path) through a design's optics and sensor -> RAW.

The sensor model is periodic at the scene edges, so the scene is rendered with a margin of
``margin_px`` pixels on every side (half the PSF window, rounded up to whole CFA periods so the
mosaic stays aligned) and the capture is cropped back to ``size_px``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from engine import optics, scenes, sensor
from engine.design import DesignPoint

CFA_PERIOD_PX = 8
"""Largest CFA period (hex); margins are multiples of it so crops keep every layout aligned."""


def margin_px(design: DesignPoint, psf_size: int) -> int:
    """Pixels rendered beyond the view on each side: half the PSF window, whole CFA periods."""
    half_psf_px = psf_size / (2 * design.oversample)
    return int(math.ceil(half_psf_px / CFA_PERIOD_PX) * CFA_PERIOD_PX)


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
        ground_truth=capture.ground_truth[margin:-margin, margin:-margin],
    )


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
    if not isinstance(size_px, int) or not 16 <= size_px <= 2048 or size_px % CFA_PERIOD_PX:
        raise ValueError(f"size must be a multiple of {CFA_PERIOD_PX} pixels in [16, 2048], got {size_px}")
    psfs = psfs or optics.compute_psfs(design)
    margin = margin_px(design, psfs.psf_pixel.shape[-1])
    shape = ((size_px + 2 * margin) * design.oversample,) * 2
    image = scenes.render_scene(scene, design.dx_um, shape, rng=seed, **scene_params)
    capture = sensor.simulate_raw(image, psfs.psf_pixel, design, rng=np.random.default_rng(seed))
    return crop_capture(capture, margin)

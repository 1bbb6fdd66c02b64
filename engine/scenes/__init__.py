"""Scenes: test charts and photographs, rendered in sensor-plane micrometres as linear camera RGB.

A scene is a fixed physical object on the sensor plane. ``render_scene(name, dx_um, shape)`` samples
it on a grid of ``shape = (H, W)`` samples spaced ``dx_um`` micrometres, centred on the scene origin:
sample ``(i, j)`` sits at ``x = (j - (W - 1) / 2) * dx_um``, ``y = (i - (H - 1) / 2) * dx_um`` (x to
the right, y down). So the same scene at ``dx`` and ``dx / 2`` over twice the samples is the same
object, and a larger shape shows more of it around the same centre.

Output: float32 (H, W, 3) linear camera RGB (``engine.spectra``: a perfect white diffuser has green
= 1) under D65. Grey levels are reflectances of a spectrally flat surface, so a grey chart of "mean
0.5" has reflectance 0.5 and green 0.5; colours come from reflectance spectra (colour checker) or
from linear sRGB through ``spectra.linear_srgb_to_camera`` (photos, colour dead leaves).

Sampling: each sample is the mean of the scene over its dx_um x dx_um square: exact for the
slanted edge and the colour checker; the local plane wave's exact mean for the Siemens star; per-disk
coverage for dead leaves; the exact overlap with the source pixels (each a uniform square) for
photos and the text chart. The sinusoidal gratings are the exception: point samples, since a
sinusoid below the Nyquist frequency is exactly represented by its samples, whereas a box mean
would scale its contrast by sinc(f dx).

Modules: ``grid`` (the grid, its checks, :class:`SceneError`), ``charts`` (gratings, slanted edge,
Siemens star, colour checker), ``leaves`` (dead leaves), ``text`` (the Latin + CJK text chart),
``photos`` (image files, photo placement, photo sets), ``resample`` (area-mean resampling). This
module names the scenes and dispatches a request to one (:func:`render_scene`).
"""

from __future__ import annotations

import inspect
from functools import partial
from pathlib import Path

import numpy as np

from engine.scenes.charts import (
    ISO_EDGE_ANGLE_DEG,
    ISO_EDGE_CONTRAST,
    colour_checker,
    grating,
    siemens_star,
    slanted_edge,
    slanted_edge_drift,
)
from engine.scenes.grid import DX_UM_RANGE, ILLUMINANT, SHAPE_RANGE, SceneError
from engine.scenes.leaves import MAX_DEAD_LEAVES_DISKS, dead_leaves
from engine.scenes.photos import (
    ASSETS,
    BUNDLED_PHOTOS,
    COVER_SLACK,
    DEFAULT_SOURCE_PIXEL_UM,
    IMAGES_DIR,
    MAX_IMAGE_FILE_MB,
    MAX_IMAGE_MEGAPIXELS,
    PHOTO_SETS_JSON,
    PHOTO_SPLITS,
    PhotoSetMissing,
    covering_pixel_um,
    covering_source_pixel_um,
    load_linear_srgb,
    missing_photo_packages,
    photo,
    photo_extent_um,
    photo_set,
)
from engine.scenes.text import CJK_FONT_CANDIDATES, TEXT_LINES, TEXT_ROW_SCALE, TEXT_TILE_EMS, cjk_font_path, text_chart

__all__ = [
    "ASSETS", "BUNDLED_PHOTOS", "ISO_EDGE_ANGLE_DEG", "ISO_EDGE_CONTRAST", "CHARTS", "COVER_SLACK", "CJK_FONT_CANDIDATES", "DEFAULT_SOURCE_PIXEL_UM", "DX_UM_RANGE", "ILLUMINANT",
    "IMAGES_DIR", "MAX_DEAD_LEAVES_DISKS", "MAX_IMAGE_FILE_MB", "MAX_IMAGE_MEGAPIXELS", "PHOTO_SETS_JSON",
    "PHOTO_SPLITS", "SCENE_NAMES", "SHAPE_RANGE", "TEXT_LINES", "TEXT_ROW_SCALE", "TEXT_TILE_EMS",
    "PhotoSetMissing", "SceneError", "cjk_font_path", "colour_checker", "covering_pixel_um", "covering_source_pixel_um",
    "dead_leaves",
    "grating", "load_linear_srgb", "missing_photo_packages", "photo", "photo_extent_um", "photo_set",
    "render_scene", "siemens_star", "slanted_edge", "slanted_edge_drift", "text_chart",
]

CHARTS = {
    "grating_h": partial(grating, orientation="h"),
    "grating_v": partial(grating, orientation="v"),
    "slanted_edge": slanted_edge,
    "siemens_star": siemens_star,
    "dead_leaves": dead_leaves,
    "text": text_chart,
    "colour_checker": colour_checker,
}
SCENE_NAMES = tuple(CHARTS) + tuple(BUNDLED_PHOTOS)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def render_scene(name_or_path: str | Path, dx_um: float, shape: tuple[int, int], *,
                 rng: np.random.Generator | int = 0, **params) -> np.ndarray:
    """Render a scene by name (SCENE_NAMES) or image path as float32 (H, W, 3) linear camera RGB.

    ``dx_um``: sample spacing on the sensor in micrometres; ``shape = (H, W)`` in samples. ``rng``
    seeds the random charts (dead_leaves); ``params`` go to the chart function (``grating``,
    ``slanted_edge``, ...) or to :func:`photo` (``source_pixel_um``, ``offset_um``). A string with a
    path separator or an image suffix is a path.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or text.lower().endswith(_IMAGE_SUFFIXES):
        renderer = partial(photo, Path(text))
    elif text in CHARTS:
        renderer = CHARTS[text]
    elif text in BUNDLED_PHOTOS:
        renderer = partial(photo, BUNDLED_PHOTOS[text])
    else:
        raise SceneError("scene", "one of " + ", ".join(SCENE_NAMES) + " or an image path", text)
    signature = inspect.signature(renderer).parameters
    keywords = [p for p, v in signature.items() if v.kind is inspect.Parameter.KEYWORD_ONLY]
    allowed = [p for p in keywords if p != "rng"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise SceneError(f"scene {text!r} parameters", "among " + ", ".join(allowed), unknown,
                         got=", ".join(unknown))
    if "rng" in keywords:
        params["rng"] = rng
    return renderer(dx_um, shape, **params)

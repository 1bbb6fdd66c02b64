"""The sampling grid every scene shares, its checks, and the scenes' error kind.

A render samples the scene on ``shape = (H, W)`` samples spaced ``dx_um`` micrometres, centred on
the scene origin (see the package docstring); neutral surfaces are converted to camera RGB under
:data:`ILLUMINANT`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from engine import spectra
from engine.validation import InputError, check_range, check_shape_2d

ILLUMINANT = "D65"
SHAPE_RANGE = (8, 4096)
"""Allowed samples per axis (both H and W) of a render."""
DX_UM_RANGE = (0.005, 50.0)
"""Allowed sample spacing in micrometres."""


class SceneError(InputError):
    """A scene request that cannot be rendered; names the parameter, the allowed range and the value
    given (``field_name``, ``allowed``, ``value``; see :class:`engine.validation.InputError`)."""


def check_grid(dx_um, shape) -> tuple[float, int, int]:
    """``(dx_um, H, W)`` as float, int, int after checking them against DX_UM_RANGE and SHAPE_RANGE."""
    dx_um = check_range("dx_um", dx_um, *DX_UM_RANGE, "um", error=SceneError)
    h, w = check_shape_2d("shape", shape, "samples", lo=SHAPE_RANGE[0], hi=SHAPE_RANGE[1], error=SceneError)
    return dx_um, h, w


def axes_um(dx_um: float, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample centres (y (H,), x (W,)) in micrometres, centred on the scene origin."""
    return (np.arange(h) - (h - 1) / 2) * dx_um, (np.arange(w) - (w - 1) / 2) * dx_um


@lru_cache(maxsize=1)
def white_rgb() -> np.ndarray:
    """(3,) camera RGB of the perfect white diffuser (green = 1)."""
    return spectra.camera_rgb_from_reflectance(np.ones(spectra.WAVELENGTHS_NM.size), ILLUMINANT)


def neutral(reflectance: np.ndarray) -> np.ndarray:
    """(H, W) reflectance of a spectrally flat surface -> (H, W, 3) float32 camera RGB."""
    return (reflectance[..., None] * white_rgb()).astype(np.float32)

"""The shared colour chain of every pipeline: camera RGB -> display sRGB, and its inverse.

Stages, each callable on its own (arrays (..., 3), float32):

1. ``white_balance``: divide by the camera RGB of a perfect white under the illuminant.
2. ``apply_ccm``: 3x3 colour-correction matrix, white-balanced camera RGB -> linear sRGB, fitted by
   least squares on the 24 ColorChecker patches (colour-science reflectances) under the illuminant.
3. ``tone_curve``: a global, gentle S-curve on [0, 1] (``(1-a) x + a (3x^2 - 2x^3)``, a = 0.25),
   continued linearly outside [0, 1] so it stays invertible.
4. ``srgb_encode``: the IEC 61966-2-1 transfer function (colour-science).

``camera_to_display`` runs 1-4 (and clips to [0, 1] for display when asked); ``display_to_camera``
inverts it exactly (for unclipped values), which the MTF instrument uses to linearise outputs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from engine import spectra

warnings.filterwarnings("ignore", message='"Matplotlib" related API features are not available')
import colour  # noqa: E402

TONE_STRENGTH = 0.25
LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
"""Rec. 709 luminance weights of linear sRGB."""


@dataclass(frozen=True)
class ColorChain:
    """Parameters of the colour chain for one illuminant.

    wb_gains: (3,) multipliers mapping the illuminant's white to (1, 1, 1).
    ccm: (3, 3) white-balanced camera RGB -> linear sRGB. mean_delta_e2000: fit residual on the
    ColorChecker. tone_strength: S-curve blend a (0 = identity).
    """

    wb_gains: np.ndarray
    ccm: np.ndarray
    mean_delta_e2000: float
    tone_strength: float = TONE_STRENGTH


@lru_cache(maxsize=4)
def color_chain(illuminant: str = "D65") -> ColorChain:
    """Colour chain fitted for ``illuminant`` (white balance + ColorChecker CCM)."""
    white = spectra.camera_rgb_from_reflectance(np.ones(spectra.WAVELENGTHS_NM.size), illuminant)
    gains = (1.0 / white).astype(np.float32)
    camera = spectra.camera_rgb_from_reflectance(spectra.colorchecker_reflectances(), illuminant) * gains
    target = spectra.colorchecker_linear_srgb(illuminant)
    solution, *_ = np.linalg.lstsq(camera, target, rcond=None)
    ccm = solution.T.astype(np.float32)
    return ColorChain(gains, ccm, _mean_delta_e2000(camera @ ccm.T, target))


def _mean_delta_e2000(srgb_a: np.ndarray, srgb_b: np.ndarray) -> float:
    space = colour.RGB_COLOURSPACES["sRGB"]

    def lab(rgb):
        xyz = rgb @ space.matrix_RGB_to_XYZ.T
        return colour.XYZ_to_Lab(xyz, space.whitepoint)

    return float(np.mean(colour.delta_E(lab(srgb_a), lab(srgb_b), method="CIE 2000")))


def white_balance(rgb: np.ndarray, chain: ColorChain) -> np.ndarray:
    return (np.asarray(rgb, dtype=np.float32) * chain.wb_gains).astype(np.float32)


def apply_ccm(rgb: np.ndarray, chain: ColorChain) -> np.ndarray:
    return (np.asarray(rgb, dtype=np.float32) @ chain.ccm.T).astype(np.float32)


def tone_curve(x: np.ndarray, strength: float = TONE_STRENGTH) -> np.ndarray:
    """Global S-curve on [0, 1]; slope 1 - a outside, monotone for 0 <= a < 1."""
    x = np.asarray(x, dtype=np.float32)
    inside = np.clip(x, 0.0, 1.0)
    curve = (1 - strength) * inside + strength * inside * inside * (3 - 2 * inside)
    return (curve + (1 - strength) * (x - inside)).astype(np.float32)


def inverse_tone_curve(y: np.ndarray, strength: float = TONE_STRENGTH) -> np.ndarray:
    """Inverse of :func:`tone_curve` (Newton on [0, 1], exact linear continuation outside)."""
    y = np.asarray(y, dtype=np.float64)
    inside = np.clip(y, 0.0, 1.0)
    x = inside.copy()
    for _ in range(30):
        f = (1 - strength) * x + strength * x * x * (3 - 2 * x) - inside
        slope = (1 - strength) + strength * 6 * x * (1 - x)
        x = np.clip(x - f / slope, 0.0, 1.0)
    return (x + (y - inside) / (1 - strength)).astype(np.float32)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear sRGB -> sRGB-encoded values (IEC 61966-2-1 inverse EOTF, float32; values at or below
    0.0031308, negatives included, take the linear segment, as colour-science's ``cctf_encoding``).
    Written out in float32: colour's float64 path cost a third of a 512 px panel's colour chain;
    tests/test_color.py holds it to colour's to 1e-6."""
    x = np.asarray(linear, dtype=np.float32)
    curved = np.power(np.abs(x), np.float32(1 / 2.4))
    curved *= np.float32(1.055)
    curved -= np.float32(0.055)
    return np.where(x <= np.float32(0.0031308), x * np.float32(12.92), curved).astype(np.float32, copy=False)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    return np.asarray(colour.cctf_decoding(np.asarray(encoded, dtype=np.float64), "sRGB"), dtype=np.float32)


def camera_to_linear_srgb(camera_rgb: np.ndarray, chain: ColorChain | None = None) -> np.ndarray:
    """Linear camera RGB (..., 3) -> linear sRGB (..., 3): white balance, then the CCM (no tone, no clip)."""
    chain = chain or color_chain()
    return apply_ccm(white_balance(camera_rgb, chain), chain)


def camera_to_display(camera_rgb: np.ndarray, chain: ColorChain | None = None, *, clip: bool = True) -> np.ndarray:
    """Linear camera RGB (..., 3) -> sRGB-encoded display RGB (..., 3), clipped to [0, 1] by default."""
    chain = chain or color_chain()
    linear = camera_to_linear_srgb(camera_rgb, chain)
    toned = tone_curve(linear, chain.tone_strength)
    encoded = srgb_encode(np.clip(toned, 0.0, 1.0) if clip else toned)
    return np.clip(encoded, 0.0, 1.0) if clip else encoded


def display_to_linear_srgb(display_rgb: np.ndarray, chain: ColorChain | None = None) -> np.ndarray:
    """sRGB-encoded display RGB -> linear sRGB (undoes encoding and tone curve)."""
    chain = chain or color_chain()
    return inverse_tone_curve(srgb_decode(display_rgb), chain.tone_strength)


def display_to_camera(display_rgb: np.ndarray, chain: ColorChain | None = None) -> np.ndarray:
    """Exact inverse of ``camera_to_display(..., clip=False)``."""
    chain = chain or color_chain()
    linear = display_to_linear_srgb(display_rgb, chain)
    camera_wb = linear @ np.linalg.inv(chain.ccm).T.astype(np.float32)
    return (camera_wb / chain.wb_gains).astype(np.float32)


def linear_luminance(linear_srgb: np.ndarray) -> np.ndarray:
    """Relative luminance Y (...,) of linear sRGB (..., 3)."""
    return np.asarray(linear_srgb, dtype=np.float32) @ LUMA_WEIGHTS

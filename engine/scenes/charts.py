"""Test charts with exact area sampling: sinusoidal gratings, the ISO 12233 slanted edge, the
sinusoidal Siemens star and the ColorChecker; each is (H, W, 3) float32 linear camera RGB (see the
package docstring for the grid and the units)."""

from __future__ import annotations

import math

import numba
import numpy as np

from engine import spectra
from engine.scenes.grid import ILLUMINANT, SceneError, axes_um, check_grid, neutral, white_rgb
from engine.validation import check_int_range, check_range

_COLOUR_CHECKER_FRAME = 0.03
ISO_EDGE_ANGLE_DEG, ISO_EDGE_CONTRAST = 5.0, 4.0
"""The ISO 12233:2017 low-contrast slanted edge: degrees off vertical, and contrast ratio (the e-SFR
instrument's defaults, engine.instruments)."""


def grating(dx_um: float, shape: tuple[int, int], *, orientation: str, freq_cyc_per_mm: float = 100.0,
            mean: float = 0.5, contrast: float = 0.8) -> np.ndarray:
    """Neutral sinusoidal grating: reflectance ``mean * (1 + contrast * cos(2 pi f u))``, point-sampled.

    ``orientation`` "h": frequency along x (u = x; the value varies from column to column), "v": along
    y. ``freq_cyc_per_mm`` in cycles/mm on the sensor, below the sampling Nyquist 1000 / (2 dx_um);
    ``contrast`` is Michelson contrast; the crest is at the scene origin.
    """
    dx_um, h, w = check_grid(dx_um, shape)
    if orientation not in ("h", "v"):
        raise SceneError("orientation", "'h' (frequency along x) or 'v' (along y)", orientation)
    nyquist = 1000.0 / (2.0 * dx_um)
    freq = check_range("freq_cyc_per_mm", freq_cyc_per_mm, 0.0, nyquist, f"cycles/mm (Nyquist of dx_um={dx_um:g})",
                       error=SceneError)
    mean = check_range("mean", mean, 0.0, 1.0, "(reflectance)", error=SceneError)
    contrast = check_range("contrast", contrast, 0.0, 1.0, "(Michelson)", error=SceneError)
    y, x = axes_um(dx_um, h, w)
    u = x[None, :] if orientation == "h" else y[:, None]
    profile = mean * (1.0 + contrast * np.cos(2.0 * np.pi * freq / 1000.0 * u))
    return neutral(np.broadcast_to(profile, (h, w)))


@numba.njit(cache=True)
def square_halfplane_coverage(t, a, b):
    """Area fraction of a square on the inner side of a straight edge whose signed distance from the
    square's centre is ``t`` (t > 0: centre inside). ``a, b`` = side * |n_x|, side * |n_y| for the
    edge normal n (both > 0): the CDF of U(-a/2, a/2) + U(-b/2, b/2), a piecewise quadratic.
    Works on scalars and arrays (same units as t)."""
    s = 0.5 * (a + b)
    d = 0.5 * np.abs(a - b)
    q = np.maximum(t + s, 0.0) ** 2 - np.maximum(t + d, 0.0) ** 2
    q = q - np.maximum(t - d, 0.0) ** 2 + np.maximum(t - s, 0.0) ** 2
    return q / (2.0 * a * b)


def slanted_edge(dx_um: float, shape: tuple[int, int], *, angle_deg: float = ISO_EDGE_ANGLE_DEG,
                 contrast_ratio: float = ISO_EDGE_CONTRAST,
                 high: float = 0.8) -> np.ndarray:
    """ISO 12233-style edge through the scene origin, with exact area anti-aliasing.

    The edge is turned ``angle_deg`` clockwise (as displayed, y down) from vertical: 5 deg gives the
    near-vertical edge of the horizontal SFR, 95 deg a near-horizontal edge for the vertical SFR.
    Neutral reflectance ``high`` on the right, ``high / contrast_ratio`` on the left (4:1 per ISO).
    """
    dx_um, h, w = check_grid(dx_um, shape)
    angle = math.radians(check_range("angle_deg", angle_deg, -180.0, 180.0, "degrees", error=SceneError))
    ratio = check_range("contrast_ratio", contrast_ratio, 1.0, 1000.0, error=SceneError)
    high = check_range("high", high, 0.0, 1.0, "(reflectance)", error=SceneError)
    y, x = axes_um(dx_um, h, w)
    signed_distance = math.cos(angle) * x[None, :] + math.sin(angle) * y[:, None]
    a = max(dx_um * abs(math.cos(angle)), 1e-6 * dx_um)
    b = max(dx_um * abs(math.sin(angle)), 1e-6 * dx_um)
    bright = square_halfplane_coverage(signed_distance, a, b)
    low = high / ratio
    return neutral(low + (high - low) * bright)


def slanted_edge_drift(angle_deg: float) -> float:
    """Columns the edge of :func:`slanted_edge` (turned ``angle_deg``) moves right per row down, in
    pixels per pixel: ``-tan(angle)``, e.g. -0.0875 at 5 deg. A near-horizontal edge measured
    transposed drifts by the reciprocal."""
    return -math.tan(math.radians(angle_deg))


def siemens_star(dx_um: float, shape: tuple[int, int], *, n_cycles: int = 72, radius_um: float = 80.0,
                 mean: float = 0.5, contrast: float = 0.8) -> np.ndarray:
    """Sinusoidal Siemens star (ISO 12233 s-SFR style) centred on the scene origin.

    Inside ``radius_um`` the neutral reflectance is ``mean * (1 + contrast * cos(n_cycles * theta))``,
    outside it is ``mean``. At radius r the star is locally a plane wave of n_cycles / (2 pi r)
    cycles/um, so each sample takes that wave's exact box mean (a sinc factor per axis; the wave's
    curvature over one sample is neglected) and the rim's exact area coverage.
    """
    dx_um, h, w = check_grid(dx_um, shape)
    n_cycles = check_int_range("n_cycles", n_cycles, 4, 1024, error=SceneError)
    radius = check_range("radius_um", radius_um, 1.0, 1e5, "um", error=SceneError)
    mean = check_range("mean", mean, 0.0, 1.0, "(reflectance)", error=SceneError)
    contrast = check_range("contrast", contrast, 0.0, 1.0, "(Michelson)", error=SceneError)
    y, x = axes_um(dx_um, h, w)
    xx, yy = x[None, :], y[:, None]
    r = np.maximum(np.hypot(xx, yy), 1e-9 * dx_um)
    cos_t, sin_t = xx / r, yy / r
    cycles_per_sample = n_cycles * dx_um / (2.0 * np.pi * r)  # local wave, along the tangent (-sin, cos)
    box_mean = np.sinc(cycles_per_sample * sin_t) * np.sinc(cycles_per_sample * cos_t)
    a, b = np.maximum(dx_um * np.abs(cos_t), 1e-6 * dx_um), np.maximum(dx_um * np.abs(sin_t), 1e-6 * dx_um)
    inside = square_halfplane_coverage(radius - r, a, b)
    theta = np.arctan2(yy, xx)
    return neutral(mean * (1.0 + contrast * inside * box_mean * np.cos(n_cycles * theta)))


def _interval_coverage(centres: np.ndarray, dx_um: float, lo: float, hi: float) -> np.ndarray:
    """Fraction of each sample interval [c - dx/2, c + dx/2] inside [lo, hi]."""
    overlap = np.minimum(centres + dx_um / 2, hi) - np.maximum(centres - dx_um / 2, lo)
    return np.clip(overlap / dx_um, 0.0, 1.0)


def colour_checker(dx_um: float, shape: tuple[int, int], *, patch_um: float = 24.0,
                   gap_um: float = 4.0) -> np.ndarray:
    """The 24 ColorChecker patches (spectra.colorchecker_reflectances under D65), 6 columns x 4 rows
    in the standard order (dark skin first, the grey row last), centred on the scene origin.

    Square patches of side ``patch_um`` spaced by ``gap_um`` micrometres, on a black frame
    (reflectance 0.03) that continues beyond the chart; exact area anti-aliasing.
    """
    dx_um, h, w = check_grid(dx_um, shape)
    patch = check_range("patch_um", patch_um, 0.1, 1e4, "um", error=SceneError)
    gap = check_range("gap_um", gap_um, 0.0, 1e4, "um", error=SceneError)
    frame = _COLOUR_CHECKER_FRAME * white_rgb()
    patches = spectra.camera_rgb_from_reflectance(spectra.colorchecker_reflectances(), ILLUMINANT)
    y, x = axes_um(dx_um, h, w)
    pitch = patch + gap
    cov_x = np.stack([_interval_coverage(x, dx_um, c - patch / 2, c + patch / 2) for c in (np.arange(6) - 2.5) * pitch])
    cov_y = np.stack([_interval_coverage(y, dx_um, c - patch / 2, c + patch / 2) for c in (np.arange(4) - 1.5) * pitch])
    image = np.einsum("rh,cw,rck->hwk", cov_y, cov_x, (patches - frame).reshape(4, 6, 3), optimize=True)
    return (image + frame).astype(np.float32)

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
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import numbers
from functools import lru_cache, partial
from pathlib import Path

import numba
import numpy as np
import scipy.sparse
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from engine import spectra
from engine.isp.color import srgb_decode

ASSETS = Path(__file__).resolve().parents[1] / "assets"
IMAGES_DIR = ASSETS / "images"
PHOTO_SETS_JSON = ASSETS / "photo_sets.json"
ILLUMINANT = "D65"

SHAPE_RANGE = (8, 4096)
"""Allowed samples per axis (both H and W) of a render."""
DX_UM_RANGE = (0.005, 50.0)
"""Allowed sample spacing in micrometres."""
MAX_IMAGE_FILE_MB = 200
MAX_IMAGE_MEGAPIXELS = 50
DEFAULT_SOURCE_PIXEL_UM = 0.35
"""Sensor-plane size of one photo pixel: the finest Table 1 pitch, so no Table 1 design sees a photo
pixel coarser than its own pixels (a 1600 x 1200 photo then covers 560 x 420 um)."""
MAX_DEAD_LEAVES_DISKS = 4_000_000

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei (.ci/system-deps)
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
)
TEXT_LINES = (
    "The quick brown fox jumps over the lazy dog. 0123456789",
    "光学像差与小像素传感器：神经网络图像信号处理。",
    "Sharpness 锐度 解像力 MTF50 ひらがな カタカナ 漢字 ISO 12233",
    "小さな画素で細かい文字を読む。解像度とノイズ。",
    "Pack my box with five dozen liquor jugs! (0.35 µm)",
    "新しいレンズ 设计 한국어 텍스트 RAW → RGB",
)
"""One row each, repeated to fill the tile width; row k is drawn at TEXT_ROW_SCALE**k of the first."""
TEXT_ROW_SCALE = 0.8
TEXT_TILE_EMS = 36.0
"""Width of the periodic text tile, in ems of the first (largest) row."""

_DEAD_LEAVES_DEPTH = 16.0
"""Mean number of disks over each point: the chance a point stays uncovered is exp(-16)."""
_DEAD_LEAVES_BACKGROUND = 0.18
_COLOUR_CHECKER_FRAME = 0.03


class SceneError(ValueError):
    """A scene request that cannot be rendered; the message names the parameter, the allowed range
    and the value given."""


def _bad(name: str, allowed: str, value) -> SceneError:
    return SceneError(f"{name} must be {allowed}, got {value!r}")


def _check_real(name: str, value, lo: float, hi: float, unit: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not lo <= value <= hi:
        raise _bad(name, f"a number in [{lo:g}, {hi:g}]{' ' + unit if unit else ''}", value)
    return float(value)


def _check_grid(dx_um, shape) -> tuple[float, int, int]:
    dx_um = _check_real("dx_um", dx_um, *DX_UM_RANGE, "um")
    lo, hi = SHAPE_RANGE
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and lo <= n <= hi for n in shape)
    ):
        raise _bad("shape", f"(H, W) with {lo} <= H, W <= {hi} samples (the cap is {hi} x {hi})", shape)
    return dx_um, int(shape[0]), int(shape[1])


def _axes_um(dx_um: float, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample centres (y (H,), x (W,)) in micrometres, centred on the scene origin."""
    return (np.arange(h) - (h - 1) / 2) * dx_um, (np.arange(w) - (w - 1) / 2) * dx_um


@lru_cache(maxsize=1)
def _white_rgb() -> np.ndarray:
    """(3,) camera RGB of the perfect white diffuser (green = 1)."""
    return spectra.camera_rgb_from_reflectance(np.ones(spectra.WAVELENGTHS_NM.size), ILLUMINANT)


def _neutral(reflectance: np.ndarray) -> np.ndarray:
    """(H, W) reflectance of a spectrally flat surface -> (H, W, 3) float32 camera RGB."""
    return (reflectance[..., None] * _white_rgb()).astype(np.float32)


# --- charts ---------------------------------------------------------------------------------------


def grating(dx_um: float, shape: tuple[int, int], *, orientation: str, freq_cyc_per_mm: float = 100.0,
            mean: float = 0.5, contrast: float = 0.8) -> np.ndarray:
    """Neutral sinusoidal grating: reflectance ``mean * (1 + contrast * cos(2 pi f u))``, point-sampled.

    ``orientation`` "h": frequency along x (u = x; the value varies from column to column), "v": along
    y. ``freq_cyc_per_mm`` in cycles/mm on the sensor, below the sampling Nyquist 1000 / (2 dx_um);
    ``contrast`` is Michelson contrast; the crest is at the scene origin.
    """
    dx_um, h, w = _check_grid(dx_um, shape)
    if orientation not in ("h", "v"):
        raise _bad("orientation", "'h' (frequency along x) or 'v' (along y)", orientation)
    nyquist = 1000.0 / (2.0 * dx_um)
    freq = _check_real("freq_cyc_per_mm", freq_cyc_per_mm, 0.0, nyquist, f"cycles/mm (Nyquist of dx_um={dx_um:g})")
    mean = _check_real("mean", mean, 0.0, 1.0, "(reflectance)")
    contrast = _check_real("contrast", contrast, 0.0, 1.0, "(Michelson)")
    y, x = _axes_um(dx_um, h, w)
    u = x[None, :] if orientation == "h" else y[:, None]
    profile = mean * (1.0 + contrast * np.cos(2.0 * np.pi * freq / 1000.0 * u))
    return _neutral(np.broadcast_to(profile, (h, w)))


@numba.njit(cache=True)
def _square_halfplane_coverage(t, a, b):
    """Area fraction of a square on the inner side of a straight edge whose signed distance from the
    square's centre is ``t`` (t > 0: centre inside). ``a, b`` = side * |n_x|, side * |n_y| for the
    edge normal n (both > 0): the CDF of U(-a/2, a/2) + U(-b/2, b/2), a piecewise quadratic.
    Works on scalars and arrays (same units as t)."""
    s = 0.5 * (a + b)
    d = 0.5 * np.abs(a - b)
    q = np.maximum(t + s, 0.0) ** 2 - np.maximum(t + d, 0.0) ** 2
    q = q - np.maximum(t - d, 0.0) ** 2 + np.maximum(t - s, 0.0) ** 2
    return q / (2.0 * a * b)


def slanted_edge(dx_um: float, shape: tuple[int, int], *, angle_deg: float = 5.0, contrast_ratio: float = 4.0,
                 high: float = 0.8) -> np.ndarray:
    """ISO 12233-style edge through the scene origin, with exact area anti-aliasing.

    The edge is turned ``angle_deg`` clockwise (as displayed, y down) from vertical: 5 deg gives the
    near-vertical edge of the horizontal SFR, 95 deg a near-horizontal edge for the vertical SFR.
    Neutral reflectance ``high`` on the right, ``high / contrast_ratio`` on the left (4:1 per ISO).
    """
    dx_um, h, w = _check_grid(dx_um, shape)
    angle = math.radians(_check_real("angle_deg", angle_deg, -180.0, 180.0, "degrees"))
    ratio = _check_real("contrast_ratio", contrast_ratio, 1.0, 1000.0)
    high = _check_real("high", high, 0.0, 1.0, "(reflectance)")
    y, x = _axes_um(dx_um, h, w)
    signed_distance = math.cos(angle) * x[None, :] + math.sin(angle) * y[:, None]
    a = max(dx_um * abs(math.cos(angle)), 1e-6 * dx_um)
    b = max(dx_um * abs(math.sin(angle)), 1e-6 * dx_um)
    bright = _square_halfplane_coverage(signed_distance, a, b)
    low = high / ratio
    return _neutral(low + (high - low) * bright)


def siemens_star(dx_um: float, shape: tuple[int, int], *, n_cycles: int = 72, radius_um: float = 80.0,
                 mean: float = 0.5, contrast: float = 0.8) -> np.ndarray:
    """Sinusoidal Siemens star (ISO 12233 s-SFR style) centred on the scene origin.

    Inside ``radius_um`` the neutral reflectance is ``mean * (1 + contrast * cos(n_cycles * theta))``,
    outside it is ``mean``. At radius r the star is locally a plane wave of n_cycles / (2 pi r)
    cycles/um, so each sample takes that wave's exact box mean (a sinc factor per axis; the wave's
    curvature over one sample is neglected) and the rim's exact area coverage.
    """
    dx_um, h, w = _check_grid(dx_um, shape)
    if isinstance(n_cycles, bool) or not isinstance(n_cycles, numbers.Integral) or not 4 <= n_cycles <= 1024:
        raise _bad("n_cycles", "an integer in [4, 1024]", n_cycles)
    radius = _check_real("radius_um", radius_um, 1.0, 1e5, "um")
    mean = _check_real("mean", mean, 0.0, 1.0, "(reflectance)")
    contrast = _check_real("contrast", contrast, 0.0, 1.0, "(Michelson)")
    y, x = _axes_um(dx_um, h, w)
    xx, yy = x[None, :], y[:, None]
    r = np.maximum(np.hypot(xx, yy), 1e-9 * dx_um)
    cos_t, sin_t = xx / r, yy / r
    cycles_per_sample = n_cycles * dx_um / (2.0 * np.pi * r)  # local wave, along the tangent (-sin, cos)
    box_mean = np.sinc(cycles_per_sample * sin_t) * np.sinc(cycles_per_sample * cos_t)
    a, b = np.maximum(dx_um * np.abs(cos_t), 1e-6 * dx_um), np.maximum(dx_um * np.abs(sin_t), 1e-6 * dx_um)
    inside = _square_halfplane_coverage(radius - r, a, b)
    theta = np.arctan2(yy, xx)
    return _neutral(mean * (1.0 + contrast * inside * box_mean * np.cos(n_cycles * theta)))


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
    dx_um, h, w = _check_grid(dx_um, shape)
    patch = _check_real("patch_um", patch_um, 0.1, 1e4, "um")
    gap = _check_real("gap_um", gap_um, 0.0, 1e4, "um")
    frame = _COLOUR_CHECKER_FRAME * _white_rgb()
    patches = spectra.camera_rgb_from_reflectance(spectra.colorchecker_reflectances(), ILLUMINANT)
    y, x = _axes_um(dx_um, h, w)
    pitch = patch + gap
    cov_x = np.stack([_interval_coverage(x, dx_um, c - patch / 2, c + patch / 2) for c in (np.arange(6) - 2.5) * pitch])
    cov_y = np.stack([_interval_coverage(y, dx_um, c - patch / 2, c + patch / 2) for c in (np.arange(4) - 1.5) * pitch])
    image = np.einsum("rh,cw,rck->hwk", cov_y, cov_x, (patches - frame).reshape(4, 6, 3), optimize=True)
    return (image + frame).astype(np.float32)


# --- dead leaves ----------------------------------------------------------------------------------


def _seed_of(rng: np.random.Generator | int) -> int:
    """A non-negative int seed: ``rng`` itself if an int, else one draw from the Generator."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63))
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return int(rng)
    raise _bad("rng", "a numpy.random.Generator or a non-negative int seed", rng)


def _dead_leaves_disks(seed: int, bounds_um: tuple[float, float, float, float], rmin_um: float,
                       rmax_um: float) -> tuple[np.ndarray, ...]:
    """Disks of the dead-leaves plane that can reach ``bounds_um = (x_lo, x_hi, y_lo, y_hi)``, nearest first.

    The plane is a Poisson process of disks in (x, y, depth), drawn cell by cell on a fixed grid of
    rmax_um cells, each cell seeded by (seed, cell index): the disks over any region do not depend
    on the region asked for. Returns (cx_um, cy_um, radius_um, values (N, 3) uniform in [0, 1)).
    """
    cell = rmax_um
    mean_r2 = math.log(rmax_um / rmin_um) / (0.5 * (rmin_um**-2 - rmax_um**-2))  # E[r^2] for p(r) ~ r^-3
    per_cell = _DEAD_LEAVES_DEPTH / (math.pi * mean_r2) * cell**2
    x_lo, x_hi, y_lo, y_hi = bounds_um
    cols = range(math.floor((x_lo - rmax_um) / cell), math.floor((x_hi + rmax_um) / cell) + 1)
    rows = range(math.floor((y_lo - rmax_um) / cell), math.floor((y_hi + rmax_um) / cell) + 1)
    expected = per_cell * len(cols) * len(rows)
    if expected > MAX_DEAD_LEAVES_DISKS:
        raise SceneError(
            f"dead_leaves over {x_hi - x_lo:.0f} x {y_hi - y_lo:.0f} um with rmin_um={rmin_um:g} needs about "
            f"{expected:,.0f} disks; the cap is {MAX_DEAD_LEAVES_DISKS:,}: raise rmin_um or render fewer samples"
        )
    parts = []
    for cx in cols:
        for cy in rows:
            cell_rng = np.random.default_rng([seed, cx + 2**31, cy + 2**31])
            n = cell_rng.poisson(per_cell)
            u = cell_rng.random((n, 7))
            radius = (rmin_um**-2 - u[:, 2] * (rmin_um**-2 - rmax_um**-2)) ** -0.5
            parts.append(np.column_stack([(cx + u[:, 0]) * cell, (cy + u[:, 1]) * cell, radius, u[:, 3:]]))
    disks = np.concatenate(parts)
    cx, cy, reach = disks[:, 0], disks[:, 1], disks[:, 2]
    disks = disks[(cx + reach > x_lo) & (cx - reach < x_hi) & (cy + reach > y_lo) & (cy - reach < y_hi)]
    disks = disks[np.argsort(disks[:, 3], kind="stable")]
    return disks[:, 0], disks[:, 1], disks[:, 2], disks[:, 4:7]


@numba.njit(cache=True)
def _disk_coverage(ddx, ddy, radius, dx):
    """Area fraction of the dx-square at offset (ddx, ddy) from a disk's centre that the disk covers
    (straight-edge approximation of the rim, exact for radius >> dx)."""
    dist = math.sqrt(ddx * ddx + ddy * ddy)
    t = radius - dist
    if t >= 0.7072 * dx:
        return 1.0
    if t <= -0.7072 * dx:
        return 0.0
    nx = abs(ddx) / dist if dist > 0.0 else 1.0
    ny = abs(ddy) / dist if dist > 0.0 else 0.0
    return _square_halfplane_coverage(t, max(dx * nx, 1e-6 * dx), max(dx * ny, 1e-6 * dx))


_TILE = 16


@numba.njit(cache=True)
def _paint_disk(ti, tj, i0, i1, j0, j1, x0, y0, dx, cx, cy, r, scale, rgb, out, alpha, tile_open):
    """Composite one disk into the samples [i0, i1] x [j0, j1] of tile (ti, tj)."""
    for i in range(max(i0, ti * _TILE), min(i1 + 1, (ti + 1) * _TILE)):
        for j in range(max(j0, tj * _TILE), min(j1 + 1, (tj + 1) * _TILE)):
            if alpha[i, j] <= 1e-6:
                continue
            cover = min(_disk_coverage(x0 + j * dx - cx, y0 + i * dx - cy, r, dx) * scale, 1.0)
            weight = alpha[i, j] * cover
            for c in range(3):
                out[i, j, c] += weight * rgb[c]
            alpha[i, j] -= weight
            if alpha[i, j] <= 1e-6:
                tile_open[ti, tj] -= 1


@numba.njit(cache=True)
def _paint_front_to_back(cx, cy, radius, colour, x0, y0, dx, out, alpha):
    """Composite disks (nearest first) into ``out`` (H, W, 3); ``alpha`` (H, W) is the visibility
    left per sample (1 = nothing painted yet). A disk smaller than a sample has its coverage scaled
    to its true area. Tiles of _TILE x _TILE samples that are fully covered are skipped."""
    h, w = alpha.shape
    tile_open = np.zeros(((h + _TILE - 1) // _TILE, (w + _TILE - 1) // _TILE), dtype=np.int64)
    for i in range(h):
        for j in range(w):
            tile_open[i // _TILE, j // _TILE] += 1
    reach = 0.7072 * dx
    for n in range(cx.size):
        r = radius[n]
        i0 = max(math.ceil((cy[n] - r - reach - y0) / dx), 0)
        i1 = min(math.floor((cy[n] + r + reach - y0) / dx), h - 1)
        j0 = max(math.ceil((cx[n] - r - reach - x0) / dx), 0)
        j1 = min(math.floor((cx[n] + r + reach - x0) / dx), w - 1)
        scale = 1.0
        if r < dx:
            total = 0.0
            for i in range(i0, i1 + 1):
                for j in range(j0, j1 + 1):
                    total += _disk_coverage(x0 + j * dx - cx[n], y0 + i * dx - cy[n], r, dx)
            scale = math.pi * r * r / (dx * dx) / total if total > 0.0 else 0.0
        for ti in range(i0 // _TILE, i1 // _TILE + 1):
            for tj in range(j0 // _TILE, j1 // _TILE + 1):
                if tile_open[ti, tj] > 0:
                    _paint_disk(ti, tj, i0, i1, j0, j1, x0, y0, dx, cx[n], cy[n], r, scale, colour[n],
                                out, alpha, tile_open)


def dead_leaves(dx_um: float, shape: tuple[int, int], *, rng: np.random.Generator | int = 0,
                rmin_um: float = 0.5, rmax_um: float = 50.0, colour: bool = False) -> np.ndarray:
    """Dead-leaves texture chart: opaque disks with radii ~ 1/r^3 in [rmin_um, rmax_um] micrometres,
    stacked at random depths until every point is covered.

    Leaf values: sRGB-encoded levels uniform in [0.05, 0.95], decoded to linear; grey leaves
    (``colour=False``) are neutral reflectances, colour leaves draw one level per channel and go
    through ``spectra.linear_srgb_to_camera``. The texture is one fixed object on the whole plane for a
    given (seed, rmin_um, rmax_um): any view of it, at any dx_um, shows the same disks. ``rng`` is an
    int seed or a Generator (one draw from it becomes the seed). A sample on a rim takes the disk's
    area fraction there and composites front to back (exact except where rims cross inside one
    sample); the rare points no disk covers (chance exp(-16)) are reflectance 0.18.
    """
    dx_um, h, w = _check_grid(dx_um, shape)
    rmin = _check_real("rmin_um", rmin_um, 0.01, 1e4, "um")
    rmax = _check_real("rmax_um", rmax_um, rmin * 1.01, 1e5, f"um (more than rmin_um={rmin:g})")
    y, x = _axes_um(dx_um, h, w)
    bounds = (x[0] - dx_um / 2, x[-1] + dx_um / 2, y[0] - dx_um / 2, y[-1] + dx_um / 2)
    cx, cy, radius, values = _dead_leaves_disks(_seed_of(rng), bounds, rmin, rmax)
    linear = srgb_decode(0.05 + 0.9 * values)
    if colour:
        leaf_rgb = spectra.linear_srgb_to_camera(linear, ILLUMINANT).astype(np.float64)
    else:
        leaf_rgb = linear[:, :1] * _white_rgb()
    out = np.zeros((h, w, 3))
    alpha = np.ones((h, w))
    _paint_front_to_back(cx, cy, radius, np.ascontiguousarray(leaf_rgb), x[0], y[0], dx_um, out, alpha)
    out += alpha[..., None] * (_DEAD_LEAVES_BACKGROUND * _white_rgb())
    return out.astype(np.float32)


# --- resampling (photos, text) --------------------------------------------------------------------


def _tent_integral(t: np.ndarray) -> np.ndarray:
    """Integral of the unit tent max(0, 1 - |u|) from -inf to t."""
    t = np.clip(t, -1.0, 1.0)
    return np.where(t < 0, 0.5 * (t + 1.0) ** 2, 1.0 - 0.5 * (1.0 - t) ** 2)


def _area_weights(centres: np.ndarray, half_width: float, n_src: int, *, periodic: bool, cell: str = "box"):
    """Sparse (len(centres), n_src) weights: output m = mean over [c_m - hw, c_m + hw] of the source
    (all in source-sample units) reconstructed from its samples as a continuous function, either
    ``cell="box"`` (sample k a uniform cell [k - 1/2, k + 1/2]: exact area means of the pixels) or
    ``"tent"`` (linear interpolation between sample centres: the tent of half-width 1 at k).
    Both reconstructions sum to one everywhere, so means are preserved. Edges: clamped or periodic."""
    if cell not in ("box", "tent"):
        raise ValueError(f"cell must be 'box' or 'tent', got {cell!r}")
    reach = 0.5 if cell == "box" else 1.0
    taps = math.ceil(2.0 * half_width + 2.0 * reach) + 1
    k = np.floor(centres - half_width - reach).astype(np.int64)[:, None] + np.arange(taps + 1)
    lo, hi = centres[:, None] - half_width - k, centres[:, None] + half_width - k
    if cell == "box":
        overlap = np.clip(np.minimum(hi, 0.5) - np.maximum(lo, -0.5), 0.0, None)
    else:
        overlap = _tent_integral(hi) - _tent_integral(lo)
    k = np.mod(k, n_src) if periodic else np.clip(k, 0, n_src - 1)
    rows = np.repeat(np.arange(centres.size), taps + 1)
    weights = (overlap / (2.0 * half_width)).ravel().astype(np.float32)
    return scipy.sparse.csr_matrix((weights, (rows, k.ravel())), shape=(centres.size, n_src))


def _resample(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, half_width: float, *,
              periodic: bool = False, cell: str = "box") -> np.ndarray:
    """Area means of ``image`` (Hs, Ws, C) over squares of half-width ``half_width`` source pixels
    centred at the given (fractional) rows and columns, the source reconstructed with ``cell``
    (see _area_weights)."""
    hs, ws, c = image.shape
    ay = _area_weights(rows, half_width, hs, periodic=periodic, cell=cell)
    ax = _area_weights(cols, half_width, ws, periodic=periodic, cell=cell)
    tmp = (ay @ image.reshape(hs, ws * c)).reshape(rows.size, ws, c)
    out = ax @ tmp.transpose(1, 0, 2).reshape(ws, rows.size * c)
    return out.reshape(cols.size, rows.size, c).transpose(1, 0, 2)


# --- text chart -----------------------------------------------------------------------------------


def cjk_font_path() -> Path:
    """The first installed font of CJK_FONT_CANDIDATES (Latin + CJK glyphs)."""
    for candidate in CJK_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise SceneError(
        "the text chart needs a CJK font and none is installed (looked for "
        + ", ".join(CJK_FONT_CANDIDATES)
        + "); install it with `apt-get install fonts-wqy-microhei` or `bash .ci/system-deps`"
    )


def _fill_line(text: str, font: ImageFont.FreeTypeFont, width_px: float) -> str:
    """``text`` repeated, cut to the longest prefix that fits ``width_px``."""
    repeated = (text + "  ") * (1 + int(width_px // max(font.getlength(text + "  "), 1.0)))
    lo, hi = 0, len(repeated)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if font.getlength(repeated[:mid]) <= width_px else (lo, mid - 1)
    return repeated[:lo]


@lru_cache(maxsize=1)
def _text_tile() -> tuple[np.ndarray, float]:
    """Ink coverage (Ht, Wt) in [0, 1] of the periodic text tile, and its first row's em in pixels.
    Drawn once, finely (the smallest row's em is 24 px), and resampled to any dx_um."""
    em_first = round(24 / TEXT_ROW_SCALE ** (len(TEXT_LINES) - 1))
    width = round(TEXT_TILE_EMS * em_first)
    ems = [round(em_first * TEXT_ROW_SCALE**k) for k in range(len(TEXT_LINES))]
    height = round(sum(1.4 * em for em in ems))
    tile = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(tile)
    top = 0.0
    for line, em in zip(TEXT_LINES, ems):
        font = ImageFont.truetype(str(cjk_font_path()), em)
        margin = 0.5 * em
        draw.text((margin, top + 0.2 * em), _fill_line(line, font, width - 2 * margin), font=font, fill=255)
        top += 1.4 * em
    return np.asarray(tile, dtype=np.float32) / 255.0, float(em_first)


def text_chart(dx_um: float, shape: tuple[int, int], *, text_height_um: float = 6.0, ink: float = 0.04,
               paper: float = 0.85) -> np.ndarray:
    """Text chart mixing Latin and CJK (Chinese, Japanese, Korean) rows, in a font from
    CJK_FONT_CANDIDATES, dark neutral ``ink`` on ``paper`` (reflectances).

    The first row's em (font size) is ``text_height_um`` micrometres on the sensor; each next row is
    0.8 x the previous (6 rows, down to 0.33 x). The tile (TEXT_TILE_EMS ems wide) repeats
    periodically over the plane, centred on the scene origin.
    """
    dx_um, h, w = _check_grid(dx_um, shape)
    text_height = _check_real("text_height_um", text_height_um, dx_um, 1e4, f"um (at least dx_um={dx_um:g})")
    ink = _check_real("ink", ink, 0.0, 1.0, "(reflectance)")
    paper = _check_real("paper", paper, 0.0, 1.0, "(reflectance)")
    coverage, em_px = _text_tile()
    px_um = text_height / em_px
    y, x = _axes_um(dx_um, h, w)
    rows = y / px_um + (coverage.shape[0] - 1) / 2
    cols = x / px_um + (coverage.shape[1] - 1) / 2
    ink_cover = _resample(coverage[..., None], rows, cols, dx_um / (2 * px_um), periodic=True)[..., 0]
    return _neutral(paper + (ink - paper) * ink_cover)


# --- photos ---------------------------------------------------------------------------------------

_GREY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_RGB_MODES = ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "YCbCr")


def _open_checked(path: Path) -> Image.Image:
    """Open ``path`` with PIL after the file checks; raises FileNotFoundError or SceneError."""
    if not path.exists():
        raise FileNotFoundError(f"scene image not found: {path}")
    if not path.is_file():
        raise SceneError(f"scene image {path} is not a file")
    size_mb = path.stat().st_size / 2**20
    if size_mb > MAX_IMAGE_FILE_MB:
        raise SceneError(f"scene image {path} is {size_mb:.0f} MB; the cap is {MAX_IMAGE_FILE_MB} MB")
    try:
        image = Image.open(path)
    except Image.DecompressionBombError:
        raise SceneError(f"scene image {path} has more than the cap of {MAX_IMAGE_MEGAPIXELS} megapixels") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise SceneError(f"scene image {path} is not a readable image (PNG, JPEG or TIFF): {exc}") from None
    megapixels = image.width * image.height / 1e6
    if megapixels > MAX_IMAGE_MEGAPIXELS:
        raise SceneError(
            f"scene image {path} is {image.width} x {image.height} ({megapixels:.0f} megapixels); "
            f"the cap is {MAX_IMAGE_MEGAPIXELS} megapixels"
        )
    if image.mode not in _GREY16_MODES + _RGB_MODES:
        raise SceneError(
            f"scene image {path} has colour mode {image.mode!r}; supported: RGB(A), greyscale (8 or 16 bit), "
            "palette; convert CMYK and other modes to sRGB first"
        )
    return image


def _srgb_codes(image: Image.Image) -> tuple[np.ndarray, int]:
    """(H, W, 3) integer sRGB codes after the EXIF orientation, alpha dropped, grey expanded; and the
    full-scale code (255 or 65535)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in _GREY16_MODES:
        grey = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        return np.repeat(grey[..., None], 3, axis=2), 65535
    return np.asarray(image.convert("RGB")), 255


@lru_cache(maxsize=2)
def _linear_srgb_cached(path: str, mtime_ns: int) -> np.ndarray:
    image = _open_checked(Path(path))
    try:
        with image:
            codes, full_scale = _srgb_codes(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise SceneError(f"scene image {path} is not a readable image (PNG, JPEG or TIFF): {exc}") from None
    lut = srgb_decode(np.arange(full_scale + 1) / full_scale).astype(np.float32)
    return lut[codes]


def load_linear_srgb(path: str | Path) -> np.ndarray:
    """Decode an sRGB image file (PNG, JPEG or TIFF; 8 or 16 bit; EXIF orientation applied; alpha
    dropped; greyscale expanded to 3 channels) to linear sRGB, float32 (H, W, 3) in [0, 1].

    The pixel values are taken as sRGB-encoded (embedded ICC profiles are ignored). Pillow reads
    16-bit colour (RGB) files at 8-bit precision; 16-bit greyscale keeps full precision. Caps: file
    size MAX_IMAGE_FILE_MB, MAX_IMAGE_MEGAPIXELS. The last two decoded files are cached.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"scene image not found: {path}")
    return _linear_srgb_cached(str(path.resolve()), path.stat().st_mtime_ns)


def photo_extent_um(path: str | Path, source_pixel_um: float = DEFAULT_SOURCE_PIXEL_UM) -> tuple[float, float]:
    """(height_um, width_um) that the photo covers on the sensor at ``source_pixel_um`` per pixel."""
    source_pixel = _check_real("source_pixel_um", source_pixel_um, 0.001, 1e3, "um")
    h, w = load_linear_srgb(path).shape[:2]
    return h * source_pixel, w * source_pixel


def covering_source_pixel_um(path: str | Path, view_um: float,
                             source_pixel_um: float = DEFAULT_SOURCE_PIXEL_UM) -> float:
    """The photo pixel on the sensor, micrometres: ``source_pixel_um``, or larger (with 2 % to spare)
    where the photo would not cover a square view ``view_um`` wide."""
    height_px, width_px = photo_extent_um(path, 1.0)
    return max(source_pixel_um, 1.02 * view_um / min(height_px, width_px))


def photo(path: str | Path, dx_um: float, shape: tuple[int, int], *,
          source_pixel_um: float = DEFAULT_SOURCE_PIXEL_UM, offset_um: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """A photograph as a scene: each source pixel is a ``source_pixel_um`` square on the sensor, the
    photo's centre at the scene origin; the view is centred ``offset_um = (x, y)`` micrometres from it
    (x right, y down) and must lie inside the photo.

    Decoded by :func:`load_linear_srgb`; the scene between pixel centres is the linear interpolation
    of the pixels, and each sample is its exact area mean (so a photo magnified beyond its pixels is
    smooth, not a mosaic of squares, and any dx_um renders the same object), then converted with
    ``spectra.linear_srgb_to_camera``.
    """
    dx_um, h, w = _check_grid(dx_um, shape)
    source_pixel = _check_real("source_pixel_um", source_pixel_um, 0.001, 1e3, "um")
    if not isinstance(offset_um, (tuple, list)) or len(offset_um) != 2:
        raise _bad("offset_um", "a pair (x_um, y_um)", offset_um)
    ox = _check_real("offset_um[0]", offset_um[0], -1e6, 1e6, "um")
    oy = _check_real("offset_um[1]", offset_um[1], -1e6, 1e6, "um")
    linear = load_linear_srgb(path)
    hs, ws = linear.shape[:2]
    view_w, view_h, photo_w, photo_h = w * dx_um, h * dx_um, ws * source_pixel, hs * source_pixel
    tol = 1e-9 * max(photo_w, photo_h)
    if abs(ox) + view_w / 2 > photo_w / 2 + tol or abs(oy) + view_h / 2 > photo_h / 2 + tol:
        raise SceneError(
            f"the view of {view_w:.1f} x {view_h:.1f} um (W x H: shape {(h, w)} at dx_um={dx_um:g}) centred at "
            f"offset_um=({ox:g}, {oy:g}) reaches beyond {Path(path).name}, which covers "
            f"{photo_w:.1f} x {photo_h:.1f} um "
            f"({ws} x {hs} px at source_pixel_um={source_pixel:g}); use fewer samples, a smaller dx_um, "
            "a larger source_pixel_um or a smaller offset"
        )
    y, x = _axes_um(dx_um, h, w)
    rows = (y + oy) / source_pixel + (hs - 1) / 2
    cols = (x + ox) / source_pixel + (ws - 1) / 2
    resampled = _resample(linear, rows, cols, dx_um / (2 * source_pixel), cell="tent")
    return spectra.linear_srgb_to_camera(resampled, ILLUMINANT)


# --- dispatcher -----------------------------------------------------------------------------------

CHARTS = {
    "grating_h": partial(grating, orientation="h"),
    "grating_v": partial(grating, orientation="v"),
    "slanted_edge": slanted_edge,
    "siemens_star": siemens_star,
    "dead_leaves": dead_leaves,
    "text": text_chart,
    "colour_checker": colour_checker,
}
BUNDLED_PHOTOS = {f"photo_{p.stem}": p for p in sorted(IMAGES_DIR.glob("*.jpg"))}
"""The photographs in assets/images/ (licences in assets/images/LICENSES.md), by scene name."""
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
        raise _bad("scene", "one of " + ", ".join(SCENE_NAMES) + " or an image path", text)
    signature = inspect.signature(renderer).parameters
    keywords = [p for p, v in signature.items() if v.kind is inspect.Parameter.KEYWORD_ONLY]
    allowed = [p for p in keywords if p != "rng"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise SceneError(f"scene {text!r} takes parameters {', '.join(allowed)}; got unknown {', '.join(unknown)}")
    if "rng" in keywords:
        params["rng"] = rng
    return renderer(dx_um, shape, **params)


# --- photo sets for training and testing -----------------------------------------------------------

PHOTO_SPLITS = ("train", "validation", "test")


class PhotoSetMissing(FileNotFoundError):
    """Some package that a photo split reads from is not installed; the message names it and how to
    install it."""


@lru_cache(maxsize=1)
def _photo_sets() -> dict:
    return json.loads(PHOTO_SETS_JSON.read_text(encoding="utf-8"))


def _package_root(package: str) -> Path | None:
    """Folder that the package's listed files are relative to, or None if not installed."""
    entry = _photo_sets()["packages"][package]
    if entry["installer"] == "pip":
        spec = importlib.util.find_spec(entry["module"])
        return Path(spec.submodule_search_locations[0]) / entry["root"] if spec else None
    return Path(entry["root"])


def _split_files(split: str) -> list[tuple[str, Path | None]]:
    if split not in PHOTO_SPLITS:
        raise _bad("split", "one of " + ", ".join(PHOTO_SPLITS), split)
    files = []
    for item in _photo_sets()["splits"][split]:
        root = _package_root(item["package"])
        files.append((item["package"], root / item["file"] if root else None))
    return files


def missing_photo_packages(split: str) -> list[str]:
    """Packages of ``split`` with at least one listed file absent, each with its install command."""
    packages = _photo_sets()["packages"]
    missing = sorted({pkg for pkg, path in _split_files(split) if path is None or not path.is_file()})
    return [f"{pkg} ({packages[pkg]['install']})" for pkg in missing]


def photo_set(split: str, *, allow_missing: bool = False) -> list[Path]:
    """Photographs of ``split`` ("train", "validation" or "test"), as curated in assets/photo_sets.json,
    read from installed Debian and pip packages (nothing is downloaded).

    Raises PhotoSetMissing naming the packages to install, unless ``allow_missing``: then returns the
    files present.
    """
    files = _split_files(split)
    if not allow_missing:
        missing = missing_photo_packages(split)
        if missing:
            raise PhotoSetMissing(f"photo set {split!r} needs {'; '.join(missing)} (or run `bash .ci/system-deps`)")
    return [path for _, path in files if path is not None and path.is_file()]

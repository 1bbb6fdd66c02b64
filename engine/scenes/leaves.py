"""The dead-leaves texture chart: a fixed plane of random opaque disks, painted front to back by
Numba kernels with per-disk area coverage (see :func:`dead_leaves`)."""

from __future__ import annotations

import math

import numba
import numpy as np

from engine import spectra
from engine.isp.color import srgb_decode
from engine.scenes.charts import square_halfplane_coverage
from engine.scenes.grid import ILLUMINANT, SceneError, axes_um, check_grid, white_rgb
from engine.validation import check_range, seed_of

MAX_DEAD_LEAVES_DISKS = 4_000_000
_DEAD_LEAVES_DEPTH = 16.0
"""Mean number of disks over each point: the chance a point stays uncovered is exp(-16)."""
_DEAD_LEAVES_BACKGROUND = 0.18
_TILE = 16


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
            "rmin_um",
            f"large enough for at most {MAX_DEAD_LEAVES_DISKS:,} dead_leaves disks over "
            f"{x_hi - x_lo:.0f} x {y_hi - y_lo:.0f} um (raise rmin_um or render fewer samples)",
            rmin_um, got=f"{rmin_um:g}, which needs about {expected:,.0f} disks",
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
    return square_halfplane_coverage(t, max(dx * nx, 1e-6 * dx), max(dx * ny, 1e-6 * dx))


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
    dx_um, h, w = check_grid(dx_um, shape)
    rmin = check_range("rmin_um", rmin_um, 0.01, 1e4, "um", error=SceneError)
    rmax = check_range("rmax_um", rmax_um, rmin * 1.01, 1e5, f"um (more than rmin_um={rmin:g})", error=SceneError)
    y, x = axes_um(dx_um, h, w)
    bounds = (x[0] - dx_um / 2, x[-1] + dx_um / 2, y[0] - dx_um / 2, y[-1] + dx_um / 2)
    cx, cy, radius, values = _dead_leaves_disks(seed_of(rng, error=SceneError), bounds, rmin, rmax)
    linear = srgb_decode(0.05 + 0.9 * values)
    if colour:
        leaf_rgb = spectra.linear_srgb_to_camera(linear, ILLUMINANT).astype(np.float64)
    else:
        leaf_rgb = linear[:, :1] * white_rgb()
    out = np.zeros((h, w, 3))
    alpha = np.ones((h, w))
    _paint_front_to_back(cx, cy, radius, np.ascontiguousarray(leaf_rgb), x[0], y[0], dx_um, out, alpha)
    out += alpha[..., None] * (_DEAD_LEAVES_BACKGROUND * white_rgb())
    return out.astype(np.float32)

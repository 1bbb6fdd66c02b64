"""Exact area-mean resampling of a pixel grid (photos, the text tile) onto a scene's samples, as
sparse separable weights; positions and widths are in source pixels."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse

from engine.scenes.grid import SceneError
from engine.validation import check_choice


def _tent_integral(t: np.ndarray) -> np.ndarray:
    """Integral of the unit tent max(0, 1 - |u|) from -inf to t."""
    t = np.clip(t, -1.0, 1.0)
    return np.where(t < 0, 0.5 * (t + 1.0) ** 2, 1.0 - 0.5 * (1.0 - t) ** 2)


def area_weights(centres: np.ndarray, half_width: float, n_src: int, *, periodic: bool, cell: str = "box"):
    """Sparse (len(centres), n_src) weights: output m = mean over [c_m - hw, c_m + hw] of the source
    (all in source-sample units) reconstructed from its samples as a continuous function, either
    ``cell="box"`` (sample k a uniform cell [k - 1/2, k + 1/2]: exact area means of the pixels) or
    ``"tent"`` (linear interpolation between sample centres: the tent of half-width 1 at k).
    Both reconstructions sum to one everywhere, so means are preserved. Edges: clamped or periodic."""
    check_choice("cell", cell, ("box", "tent"), error=SceneError)
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


def resample(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, half_width: float, *,
             periodic: bool = False, cell: str = "box") -> np.ndarray:
    """Area means of ``image`` (Hs, Ws, C) over squares of half-width ``half_width`` source pixels
    centred at the given (fractional) rows and columns, the source reconstructed with ``cell``
    (see :func:`area_weights`)."""
    hs, ws, c = image.shape
    ay = area_weights(rows, half_width, hs, periodic=periodic, cell=cell)
    ax = area_weights(cols, half_width, ws, periodic=periodic, cell=cell)
    tmp = (ay @ image.reshape(hs, ws * c)).reshape(rows.size, ws, c)
    out = ax @ tmp.transpose(1, 0, 2).reshape(ws, rows.size * c)
    return out.reshape(cols.size, rows.size, c).transpose(1, 0, 2)

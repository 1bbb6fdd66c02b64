"""CFA and OCL layouts: the one table of CFA block sizes, the colour and phase maps of a mosaic.

Colour index 0 = R, 1 = G, 2 = B. ``hex`` = 16-cell, 4x4 same-colour blocks in Bayer order (R G / G B
at block level), period 8 px; ``quad`` = 2x2 blocks, period 4 px; ``bayer`` = period 2 px, R at
(0, 0). OCL phase ``p = 2 * (row % 2) + (col % 2)``. The demosaicers (``engine.isp.traditional``,
``engine.isp.neural.model``) read the block sizes from here.
"""

from __future__ import annotations

import numpy as np

from engine.validation import check_choice, check_shape_2d

__all__ = ["CFA_BLOCK_PX", "CFA_PERIOD_PX", "N_PHASES", "cfa_pattern", "ocl_phase_map"]

CFA_BLOCK_PX = {"hex": 4, "quad": 2, "bayer": 1}
"""Side of the same-colour block of each CFA layout, pixels (blocks in Bayer order R G / G B)."""
CFA_PERIOD_PX = 2 * max(CFA_BLOCK_PX.values())
"""Pixels after which every layout repeats (8, hex); crops that start on it keep the mosaic's phase."""
N_PHASES = 4
"""OCL phases: the 2x2 on-chip-lens positions."""


def cfa_pattern(layout: str, shape: tuple[int, int]) -> np.ndarray:
    """Colour index (0 = R, 1 = G, 2 = B) of every pixel, (H, W) uint8.

    layout: ``hex`` (4x4 same-colour blocks, period 8 px), ``quad`` (2x2 blocks, period 4 px) or
    ``bayer`` (period 2 px); blocks in Bayer order R G / G B, R block at (0, 0).
    shape: (H, W) pixels.
    """
    check_choice("cfa layout", layout, tuple(CFA_BLOCK_PX))
    rows, cols = check_shape_2d("shape", shape, "pixels")
    block = CFA_BLOCK_PX[layout]
    by = (np.arange(rows) // block) % 2
    bx = (np.arange(cols) // block) % 2
    return (by[:, None] + bx[None, :]).astype(np.uint8)


def ocl_phase_map(shape: tuple[int, int]) -> np.ndarray:
    """OCL phase ``2 * (row % 2) + (col % 2)`` of every pixel, (H, W) uint8 in 0..3."""
    rows, cols = check_shape_2d("shape", shape, "pixels")
    return (2 * (np.arange(rows) % 2)[:, None] + (np.arange(cols) % 2)[None, :]).astype(np.uint8)


def _phase_channel_pairs(layout: str) -> tuple[tuple[int, int], ...]:
    """The (OCL phase, colour) combinations that occur in ``layout``: 12 for hex/quad, 4 for bayer."""
    period = 2 * CFA_BLOCK_PX[layout] * 2
    cfa = cfa_pattern(layout, (period, period))
    phase = ocl_phase_map((period, period))
    return tuple(sorted({(int(p), int(c)) for p, c in zip(phase.ravel(), cfa.ravel())}))

"""Tiled Neural ISP inference for any image size, fp32 on CPU.

Images up to ``MAX_WHOLE_PX`` per side run in one piece. Larger ones are split into tiles whose
cores are ``tile`` pixels and which overlap by ``overlap`` pixels on each side (both multiples of the
CFA period 8, so every tile starts on the CFA and OCL pattern of the whole image); each output pixel
comes from the core of exactly one tile. With ``overlap`` >= half the receptive field
(:func:`engine.isp.neural.model.receptive_field_px`, 89 px -> the default 96) the tiled result equals
the whole-image result except within ``overlap`` of the image border (where a tile's padding and the
image's padding coincide anyway). Sizes that are not multiples of 8 are padded by reflection to the
next multiple of 8 (keeping the mosaic pattern, since the reflection is done per whole CFA period)
and cropped back.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.isp.neural.model import CFA_PERIOD, MultiFrameISP, NeuralISP

MAX_WHOLE_PX = 768
MIN_SIDE_PX = 2 * CFA_PERIOD  # the front end's demosaic pads by reflection, up to 8 px (hex CFA)
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 96


def _pad_to_period(a: np.ndarray) -> np.ndarray:
    """Pad (H, W, ...) at the bottom/right to multiples of 8 by repeating whole CFA periods mirrored in
    period steps (period-aligned: the copied pixels keep their CFA colour)."""
    h, w = a.shape[:2]
    ph, pw = (-h) % CFA_PERIOD, (-w) % CFA_PERIOD
    if not ph and not pw:
        return a
    out = np.empty((h + ph, w + pw) + a.shape[2:], dtype=a.dtype)
    out[:h, :w] = a
    if ph:  # rows h..h+ph copy rows h-8.. (same CFA row phase)
        out[h:, :w] = a[h - CFA_PERIOD:h - CFA_PERIOD + ph] if h >= CFA_PERIOD else a[:ph]
    if pw:
        out[:, w:] = out[:, w - CFA_PERIOD:w - CFA_PERIOD + pw] if w >= CFA_PERIOD else out[:, :pw]
    return out


@torch.inference_mode()
def _forward(net: NeuralISP, raw: np.ndarray, sigma: np.ndarray, cond: np.ndarray | None, layout: str | None,
             precision: str) -> np.ndarray:
    r = torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32))[None, None]
    s = torch.from_numpy(np.ascontiguousarray(sigma, dtype=np.float32))[None, None]
    c = None if cond is None else torch.from_numpy(np.ascontiguousarray(cond, dtype=np.float32)).permute(2, 0, 1)[None]
    out = net(r, s, c, layout, precision)
    return out[0].permute(1, 2, 0).numpy()


def _checked_inputs(raw, sigma, shape: str, tile: int | None, overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """raw and sigma as float32 arrays of ``shape`` ("(H, W)" or "(K, H, W)"), checked with the
    tiling options; ValueError naming what is wrong."""
    raw = np.asarray(raw, dtype=np.float32)
    sigma = np.asarray(sigma, dtype=np.float32)
    if raw.ndim != shape.count(",") + 1 or raw.shape != sigma.shape:
        raise ValueError(f"raw and sigma must be {shape} of one shape, got {raw.shape} and {sigma.shape}")
    if min(raw.shape[-2:]) < MIN_SIDE_PX:
        raise ValueError(f"raw must be at least {MIN_SIDE_PX} pixels per side for the Neural ISP, got {raw.shape[-2:]}")
    if not (np.isfinite(raw).all() and np.isfinite(sigma).all()):
        raise ValueError("raw and sigma must be finite: they contain NaN or infinite values")
    if tile is not None and (tile % CFA_PERIOD or tile <= 0):
        raise ValueError(f"tile must be a positive multiple of {CFA_PERIOD}, got {tile}")
    if overlap % CFA_PERIOD or overlap < 0:
        raise ValueError(f"overlap must be a non-negative multiple of {CFA_PERIOD}, got {overlap}")
    return raw, sigma


def _starts(n: int, tile: int) -> list[int]:
    return list(range(0, n, tile))


@torch.inference_mode()
def run_model(net: NeuralISP, raw: np.ndarray, sigma: np.ndarray, *, cond: np.ndarray | None = None,
              layout: str | None = None, tile: int | None = None, overlap: int = DEFAULT_OVERLAP,
              precision: str = "fp32") -> np.ndarray:
    """(H, W) raw mosaic + (H, W) noise sigma -> (H, W, 3) float32 linear camera RGB.

    cond: (H, W, C) conditioning planes of a conditioned net (engine.isp.neural.universal), else
    None. layout: the mosaic's CFA layout (default: the net's).
    The mosaic must start on the CFA period (as every capture does). tile: core size of the tiles
    (multiple of 8); default: whole image up to MAX_WHOLE_PX per side, else DEFAULT_TILE.
    overlap: context on each side of a tile (multiple of 8). precision: the body's arithmetic
    (engine.isp.pipelines.NEURAL_PRECISIONS).
    """
    raw, sigma = _checked_inputs(raw, sigma, "(H, W)", tile, overlap)
    h, w = raw.shape
    net.eval()
    if cond is not None and cond.shape[:2] != raw.shape:
        raise ValueError(f"cond must be (H, W, C) with H, W of the raw {raw.shape}, got {cond.shape}")
    rawp, sigp = _pad_to_period(raw), _pad_to_period(sigma)
    condp = None if cond is None else _pad_to_period(np.asarray(cond, dtype=np.float32))

    def forward(window):
        return _forward(net, rawp[window], sigp[window], None if condp is None else condp[window], layout, precision)

    return _tiled(forward, rawp.shape, tile, overlap)[:h, :w]


def _tiled(forward, shape_hw: tuple, tile: int | None, overlap: int) -> np.ndarray:
    """(H, W, 3) output of ``forward(window)`` (a (rows, cols) slice pair of the padded input) over
    the whole image, in one piece or in tiles with ``overlap`` context (see the module docstring)."""
    hp, wp = shape_hw[:2]
    if tile is None:
        tile = hp if max(hp, wp) <= MAX_WHOLE_PX else DEFAULT_TILE
    if hp <= tile and wp <= tile:
        return forward((slice(None), slice(None)))
    out = np.empty((hp, wp, 3), dtype=np.float32)
    for y0 in _starts(hp, tile):
        for x0 in _starts(wp, tile):
            y1, x1 = min(y0 + tile, hp), min(x0 + tile, wp)
            ya, xa = max(y0 - overlap, 0), max(x0 - overlap, 0)
            yb, xb = min(y1 + overlap, hp), min(x1 + overlap, wp)
            res = forward((slice(ya, yb), slice(xa, xb)))
            out[y0:y1, x0:x1] = res[y0 - ya:y1 - ya, x0 - xa:x1 - xa]
    return out


@torch.inference_mode()
def run_burst(net: MultiFrameISP, raw: np.ndarray, sigma: np.ndarray, *, shift_px: np.ndarray | None = None,
              layout: str | None = None, tile: int | None = None, overlap: int = DEFAULT_OVERLAP,
              precision: str = "fp32") -> np.ndarray:
    """(K, H, W) raw frames + their (K, H, W) noise sigma -> (H, W, 3) float32 linear camera RGB of
    frame 0 through a multi-frame net. shift_px: (K, 2) pixels moving each frame onto frame 0
    (default: estimated by the burst aligner, engine.isp.traditional.mosaic_burst_shifts, on the frames'
    bilinear demosaics). layout, tile, overlap, precision: as for :func:`run_model`."""
    raw, sigma = _checked_inputs(raw, sigma, "(K, H, W)", tile, overlap)
    layout = layout or net.config.cfa
    if shift_px is None:
        from engine.isp.traditional import mosaic_burst_shifts
        from engine.sensor import cfa_pattern

        shift_px = mosaic_burst_shifts(raw, cfa_pattern(layout, raw.shape[1:]), layout)
    shifts = torch.as_tensor(np.asarray(shift_px, dtype=np.float32))[None]
    h, w = raw.shape[1:]
    net.eval()
    rawp, sigp = (_pad_to_period(a.transpose(1, 2, 0)).transpose(2, 0, 1) for a in (raw, sigma))

    def forward(window):
        r = torch.from_numpy(np.ascontiguousarray(rawp[(slice(None), *window)]))[None]
        s = torch.from_numpy(np.ascontiguousarray(sigp[(slice(None), *window)]))[None]
        return net(r, s, shifts, layout, precision)[0].permute(1, 2, 0).numpy()

    return _tiled(forward, rawp.shape[1:], tile, overlap)[:h, :w]


def process_capture(capture, net: NeuralISP | MultiFrameISP | None = None, *, choice: str = "auto",
                    precision: str = "fp32") -> np.ndarray:
    """A RawCapture -> (H, W, 3) linear camera RGB through a Neural ISP: ``net`` when given, else the
    one the registry selects for the design under ``choice`` (engine.isp.NEURAL_CHOICES), its body in
    ``precision`` (engine.isp.pipelines.NEURAL_PRECISIONS). A
    multi-frame net takes every frame (shifts estimated by the burst aligner); a single-frame net a
    burst's reference frame 0. Raises engine.isp.PipelineUnavailable when no weights serve the design."""
    if net is None:
        from engine.isp.neural import registry

        net, _ = registry.load_selected(capture.design, choice)
    if net.config.multiframe:
        frames = capture.raw if capture.raw.ndim == 3 else capture.raw[None]
        sigmas = capture.noise_sigma if capture.noise_sigma.ndim == 3 else capture.noise_sigma[None]
        return run_burst(net, frames, sigmas, layout=capture.design.cfa, precision=precision)
    raw = capture.raw if capture.raw.ndim == 2 else capture.raw[0]
    sigma = capture.noise_sigma if capture.noise_sigma.ndim == 2 else capture.noise_sigma[0]
    cond = None
    if net.config.cond_features:
        from engine.isp import deconv
        from engine.isp.neural import universal

        cond = universal.conditioning_planes(deconv.deconv_capture(capture), deconv.design_kernels(capture.design))
    return run_model(net, raw, sigma, cond=cond, layout=capture.design.cfa, precision=precision)

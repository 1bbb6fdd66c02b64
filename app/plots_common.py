"""What every figure of the app shares: conventions, colours, labels, layout and PNG encoding.

Conventions: image-plane and sensor coordinates in micrometres (um) or pixels (px), spatial
frequency in cycles/mm on the sensor, wavefront in waves at 550 nm, pupil coordinates normalised
to the radius of the lens's reference pupil (F/``f_number_ref``). Figures are pure functions of
engine data (no Streamlit), one module per view (app/plots.py lists them); every physics number
they show comes from the engine.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import plotly.graph_objects as go

TEMPLATE = "plotly_white"
"""Applied on export only (app.export): in the app, Streamlit's own chart theme styles the figures,
and setting a plotly template deep-copies it on every figure (~50-250 ms per rerun measured)."""
CHANNEL_COLOURS = ("#d62728", "#2ca02c", "#1f77b4")
CHANNELS = ("R", "G", "B")
PHASE_LABELS = ("(0,0) top-left", "(0,1) top-right", "(1,0) bottom-left", "(1,1) bottom-right")
PIPELINE_LABELS = {"demosaic": "Demosaic only", "traditional": "Traditional ISP", "deconv": "Known-PSF deconv",
                   "neural": "Neural ISP",
                   "ground_truth": "Ground truth", "neural_frame0": "Neural ISP, frame 0 only"}


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W, 3) float in [0, 1] (or uint8) -> PNG bytes (8-bit sRGB, lossless).

    Every row is "Up"-filtered and deflated with zlib's run-length strategy: a 512 x 512 photo crop
    encodes in ~9 ms (Pillow, which filters adaptively, ~38 ms at its fastest level) into a slightly
    smaller file; the Images view encodes five such panels per slider change."""
    array = image if image.dtype == np.uint8 else np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    if array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise ValueError(f"image must be (H, W, 3) with H, W >= 1, got shape {array.shape}")
    h, w, _ = array.shape
    flat = array.reshape(h, 3 * w)
    rows = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    rows[:, 0] = 2  # filter type Up: each byte minus the byte above (mod 256)
    rows[0, 1:] = flat[0]
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])
    deflate = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    return (PNG_SIGNATURE + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", deflate.compress(rows.tobytes()) + deflate.flush()) + _png_chunk(b"IEND", b""))


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01}, height=height,
                      margin={"l": 60, "r": 20, "t": 60, "b": 50})
    return fig

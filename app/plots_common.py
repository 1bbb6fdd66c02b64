"""What every figure of the app shares: conventions, colours, labels, layout and PNG encoding.

Conventions: image-plane and sensor coordinates in micrometres (um) or pixels (px), spatial
frequency in cycles/mm on the sensor, wavefront in waves at 550 nm, pupil coordinates normalised
to the radius of the lens's reference pupil (F/``f_number_ref``). Figures are pure functions of
engine data (no Streamlit), one module per view (app/plots.py lists them); every physics number
they show comes from the engine.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

TEMPLATE = "plotly_white"
"""Applied on export only (app.export): in the app, Streamlit's own chart theme styles the figures,
and setting a plotly template deep-copies it on every figure (~50-250 ms per rerun measured)."""
CHANNEL_COLOURS = ("#d62728", "#2ca02c", "#1f77b4")
CHANNELS = ("R", "G", "B")
PHASE_LABELS = ("(0,0) top-left", "(0,1) top-right", "(1,0) bottom-left", "(1,1) bottom-right")
PIPELINE_LABELS = {"demosaic": "Demosaic only", "traditional": "Traditional ISP", "deconv": "Known-PSF deconv",
                   "neural": "Neural ISP",
                   "ground_truth": "Ground truth", "neural_frame0": "Neural ISP, frame 0 only"}


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W, 3) float in [0, 1] (or uint8) -> PNG bytes (8-bit sRGB)."""
    array = image if image.dtype == np.uint8 else np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01}, height=height,
                      margin={"l": 60, "r": 20, "t": 60, "b": 50})
    return fig

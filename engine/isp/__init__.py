"""Image signal processors: RAW capture -> display sRGB, by name.

``demosaic`` (bilinear demosaic + colour chain: the paper's "demosaiced" column), ``traditional``
(the paper's traditional ISP) and ``neural`` (the per-design Neural ISP, where weights exist).
"""

from __future__ import annotations

import numpy as np

from engine.isp import color, traditional

PIPELINES = ("demosaic", "traditional", "neural")


class PipelineUnavailable(ValueError):
    """A pipeline that cannot run for this design (e.g. no trained Neural ISP weights)."""


def run_pipeline(name: str, capture, chain: color.ColorChain | None = None) -> np.ndarray:
    """Process a :class:`engine.sensor.RawCapture` with pipeline ``name`` -> (H, W, 3) sRGB in [0, 1]."""
    chain = chain or color.color_chain()
    layout = capture.design.cfa
    if name == "demosaic":
        return traditional.demosaic_pipeline(capture.raw, capture.cfa, layout, chain)
    if name == "traditional":
        return traditional.traditional_pipeline(capture.raw, capture.cfa, layout, capture.noise_sigma, chain)
    if name == "neural":
        from engine.isp.neural import infer  # raises PipelineUnavailable (design, nearest preset) without weights

        return color.camera_to_display(infer.process_capture(capture), chain)
    raise ValueError(f"pipeline must be one of {', '.join(PIPELINES)}, got {name!r}")

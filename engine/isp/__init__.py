"""Image signal processors: RAW capture -> display sRGB, by name.

``demosaic`` (bilinear demosaic + colour chain: the paper's "demosaiced" column), ``traditional``
(the paper's traditional ISP), ``deconv`` (bilinear demosaic + per-channel Wiener deconvolution with
the design's own system PSF: the classical known-PSF baseline) and ``neural`` (a Neural ISP: the
per-design net where one was trained for the design, else the PSF-conditioned universal net; see
``NEURAL_CHOICES``). The names, choices, colours and :class:`PipelineUnavailable` live in
:mod:`engine.isp.pipelines` (plain data the Neural ISP imports without importing this package back)
and are re-exported here.
"""

from __future__ import annotations

import numpy as np

from engine.isp import color, traditional
from engine.isp.pipelines import (NEURAL_CHOICES, NEURAL_PRECISIONS, PIPELINE_COLOURS, PIPELINES, PipelineUnavailable,
                                  check_precision)

__all__ = ["NEURAL_CHOICES", "NEURAL_PRECISIONS", "PIPELINE_COLOURS", "PIPELINES", "PipelineUnavailable", "run_pipeline"]


def run_pipeline(name: str, capture, chain: color.ColorChain | None = None, *, neural: str = "auto",
                 precision: str = "fp32") -> np.ndarray:
    """Process a :class:`engine.sensor.RawCapture` with pipeline ``name`` -> (H, W, 3) sRGB in [0, 1].

    neural: which Neural ISP runs for ``name == "neural"`` (one of ``NEURAL_CHOICES``); precision: the
    arithmetic of its body (NEURAL_PRECISIONS: "fp32", the reference every table and CLI number uses,
    or "bf16", the app's fast preview).
    """
    check_precision(precision)
    chain = chain or color.color_chain()
    layout = capture.design.cfa
    if name == "demosaic":
        return traditional.demosaic_pipeline(capture.raw, capture.cfa, layout, chain)
    if name == "traditional":
        return traditional.traditional_pipeline(capture.raw, capture.cfa, layout, capture.noise_sigma, chain)
    if name == "deconv":
        from engine.isp import deconv

        return color.camera_to_display(deconv.deconv_capture(capture), chain)
    if name == "neural":
        from engine.isp.neural import infer  # raises PipelineUnavailable (design, nearest preset) without weights

        return color.camera_to_display(infer.process_capture(capture, choice=neural, precision=precision), chain)
    raise ValueError(f"pipeline must be one of {', '.join(PIPELINES)}, got {name!r}")

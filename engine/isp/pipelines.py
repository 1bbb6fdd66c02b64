"""What the ISP offers, as plain data: the pipeline names, the Neural ISP choices and arithmetic, the
colour each pipeline is drawn in, and the error for a pipeline that cannot run.

A leaf module (no engine imports), so the Neural ISP's registry can raise
:class:`PipelineUnavailable` without importing :mod:`engine.isp`, which re-exports everything here.
"""

from __future__ import annotations

PIPELINES = ("demosaic", "traditional", "deconv", "neural")
NEURAL_CHOICES = ("auto", "design", "burst", "universal")
"""Which Neural ISP runs: ``auto`` the design's multi-frame net for a burst (or for a single frame
noisier than its per-design net was trained for) when its imaging hash has one, else its per-design
net, else the universal net; ``design`` only a per-design (single-frame) net; ``burst`` only a
multi-frame net; ``universal`` always the universal net."""

NEURAL_PRECISIONS = ("fp32", "bf16")
"""Arithmetic of the Neural ISP body's residual blocks at inference: ``fp32`` (the reference: every
table, study and CLI number), or ``bf16`` (their convolutions and gates in bfloat16, the residual
stream, head and tail in float32; about 2x faster on CPUs with native bfloat16 and within 0.0005 LPIPS
of fp32: docs/design.md, "Inference arithmetic"; the app's fast preview). Training is fp32."""


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`NEURAL_PRECISIONS`, else ValueError naming it."""
    if precision not in NEURAL_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(NEURAL_PRECISIONS)}, got {precision!r}")
    return precision

PIPELINE_COLOURS = {"demosaic": "#8c8c8c", "traditional": "#1f77b4", "deconv": "#9467bd", "neural": "#d62728",
                    "paper": "#2ca02c"}
"""Plot colour of each pipeline (and of the paper's published values), shared by every figure."""


class PipelineUnavailable(ValueError):
    """A pipeline that cannot run for this design (e.g. no trained Neural ISP weights)."""

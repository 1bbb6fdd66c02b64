"""What the ISP offers, as plain data: the pipeline names, the Neural ISP choices, the colour each
pipeline is drawn in, and the error for a pipeline that cannot run.

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

PIPELINE_COLOURS = {"demosaic": "#8c8c8c", "traditional": "#1f77b4", "deconv": "#9467bd", "neural": "#d62728",
                    "paper": "#2ca02c"}
"""Plot colour of each pipeline (and of the paper's published values), shared by every figure."""


class PipelineUnavailable(ValueError):
    """A pipeline that cannot run for this design (e.g. no trained Neural ISP weights)."""

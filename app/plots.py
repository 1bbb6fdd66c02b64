"""Plotly figures of the app, one module per view, gathered under one name for the callers that use
figures of several views (the Export view, app/export.py, tests).

=====================  ===========================================================================
``plots_common``       conventions (units), colours, labels, layout, PNG encoding
``plots_lens``         wavefront, PSFs per channel and per OCL phase, lens MTF (Lens view)
``plots_sensor``       CFA, RAW mosaic, noise sigma, SNR vs signal (Sensor view)
``plots_images``       the pipelines side by side with one linked view (Images, Compare views)
``plots_mtf``          system MTF through each pipeline and instrument (MTF view)
``plots_sweep``        MTF50 vs pixel pitch (Sweep view)
``plots_devices``      the Table 6 phones against year, the F# vs pitch plane (Devices view)
=====================  ===========================================================================

Every figure is a pure function of engine data (no Streamlit), every axis has its unit, and every
physics number comes from the engine (tests/test_app_physics.py).
"""

from __future__ import annotations

from app.plots_common import CHANNELS, PHASE_LABELS, PIPELINE_LABELS, TEMPLATE, _layout, png_bytes
from app.plots_devices import design_plane_figure, devices_timeline_figure
from app.plots_images import images_figure
from app.plots_lens import lens_mtf_figure, psf_channels_figure, psf_phases_figure, wavefront_figure
from app.plots_mtf import mtf_rows, pipeline_mtf_figure
from app.plots_sensor import cfa_figure, noise_curve_figure, noise_figure, raw_false_colour, raw_figure
from app.plots_sweep import sweep_figure

__all__ = [
    "CHANNELS", "PHASE_LABELS", "PIPELINE_LABELS", "TEMPLATE", "_layout", "cfa_figure", "design_plane_figure",
    "devices_timeline_figure", "images_figure", "lens_mtf_figure", "mtf_rows", "noise_curve_figure",
    "noise_figure", "pipeline_mtf_figure", "png_bytes", "psf_channels_figure", "psf_phases_figure",
    "raw_false_colour", "raw_figure", "sweep_figure", "wavefront_figure",
]

"""MTF figure: system MTF through each pipeline by each instrument, with MTF50 markers, the pixel
Nyquist and the paper's Table 2; and the curves as CSV rows.

Pure functions of engine data (no Streamlit); frequencies in cycles/mm on the sensor.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.plots_common import PIPELINE_LABELS, _layout
from engine import optics
from engine.design import DesignPoint
from engine.isp import PIPELINE_COLOURS

INSTRUMENT_STYLES = {"grating": ("solid", "diamond", "gratings"), "sfr": ("dash", "square", "e-SFR"),
                     "dead_leaves": ("dot", "circle", "dead leaves")}
"""Per MTF instrument (engine.instruments.INSTRUMENTS): line dash, MTF50 marker symbol, short label."""


def pipeline_mtf_figure(results: dict, design: DesignPoint, paper_row: dict | None = None) -> go.Figure:
    """H and V system MTF (cycles/mm) per pipeline (colour) and instrument (dash: gratings solid, e-SFR
    dashed, dead leaves dotted) of ``results = {pipeline: {instrument: MTFResult}}``, MTF50 markers,
    the pixel Nyquist, and the paper's Table 2 grating MTF50 (x markers) when ``paper_row`` is given
    (only for designs under the paper's conditions)."""
    nyquist = optics.nyquist_cyc_per_mm(design.pitch_um)
    fig = make_subplots(1, 2, subplot_titles=("H (frequency along x)", "V (frequency along y)"), shared_yaxes=True,
                        horizontal_spacing=0.05)
    paper_names = {"demosaic": "demosaiced", "traditional": "traditional", "neural": "neural"}
    for col, axis in ((1, "h"), (2, "v")):
        for pipeline, by_instrument in results.items():
            colour = PIPELINE_COLOURS.get(pipeline)
            label = PIPELINE_LABELS.get(pipeline, pipeline)
            for instrument, result in by_instrument.items():
                dash, symbol, short = INSTRUMENT_STYLES[instrument]
                name = f"{label}, {short}"
                fig.add_scatter(x=result.freq_cyc_per_mm, y=result.mtf_h if axis == "h" else result.mtf_v,
                                mode="lines+markers" if instrument == "grating" else "lines", name=name,
                                legendgroup=name, showlegend=col == 1, line={"color": colour, "dash": dash},
                                marker={"size": 5}, row=1, col=col)
                mtf50 = result.crossing(0.5, axis)
                if np.isfinite(mtf50):
                    fig.add_scatter(x=[mtf50], y=[0.5], mode="markers", legendgroup=name, showlegend=False,
                                    name=f"{name} MTF50", marker={"symbol": symbol, "size": 10, "color": colour},
                                    hovertemplate=f"{name} MTF50 {axis.upper()}: %{{x:.1f}} cycles/mm<extra></extra>",
                                    row=1, col=col)
            paper = (paper_row or {}).get(f"{axis}_{paper_names.get(pipeline, '')}")
            if paper:
                fig.add_scatter(x=[paper], y=[0.5], mode="markers", legendgroup=pipeline, showlegend=False,
                                name=f"paper {label}", marker={"symbol": "x", "size": 11, "color": colour},
                                hovertemplate=f"paper Table 2 {label} MTF50 {axis.upper()} (gratings): "
                                              f"%{{x}} cycles/mm<extra></extra>", row=1, col=col)
        fig.add_vline(x=nyquist, line_dash="dash", line_color="black", row=1, col=col,
                      annotation_text="Nyquist", annotation_position="top left")
        fig.add_hline(y=0.5, line_dash="dot", line_color="grey", row=1, col=col)
        fig.update_xaxes(title_text="spatial frequency (cycles/mm on the sensor)", row=1, col=col)
    fig.update_yaxes(title_text="system MTF (output / input modulation)", row=1, col=1)
    note = "; x: paper Table 2 MTF50" if paper_row else ""
    return _layout(fig, f"MTF through each pipeline at {design.pitch_um:g} um, F/{design.f_number:g}: gratings solid, "
                        f"e-SFR dashed, dead leaves dotted (markers: MTF50{note})", 480)


def mtf_rows(results: dict) -> list[dict]:
    """CSV rows of the pipeline MTF curves ``{pipeline: {instrument: MTFResult}}``: one per (pipeline,
    instrument, frequency in cycles/mm)."""
    rows = []
    for pipeline, by_instrument in results.items():
        for instrument, result in by_instrument.items():
            for f, h, v in zip(result.freq_cyc_per_mm, result.mtf_h, result.mtf_v):
                rows.append({"pipeline": pipeline, "instrument": instrument, "freq_cyc_per_mm": round(float(f), 3),
                             "mtf_h": round(float(h), 5), "mtf_v": round(float(v), 5)})
    return rows

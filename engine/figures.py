"""Plotly figures of the study (``python -m engine study``). Every axis carries its unit.

Figures are built here (no Streamlit); ``save_figure`` writes PNG and SVG through kaleido, which
drives the system chromium (Debian package, installed by .ci/system-deps). Plotly belongs to the
report layer (tests/test_layering.py): the study modules import this module, the simulation below
them never does; the pipeline colours are plain data in :mod:`engine.isp.pipelines`, re-exported here.
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from engine.isp.pipelines import PIPELINE_COLOURS

__all__ = ["PIPELINE_COLOURS", "mtf50_vs_pitch_figure", "mtf_curves_figure", "perceptual_figure", "save_figure"]


def mtf_curves_figure(curves: dict, pitches_um: dict[str, float]) -> go.Figure:
    """MTF (H solid, V dotted) per design and pipeline vs frequency in cycles/mm."""
    fig = go.Figure()
    for name, by_pipeline in curves.items():
        for pipeline, result in by_pipeline.items():
            colour = PIPELINE_COLOURS.get(pipeline)
            label = f"{pitches_um[name]} um {pipeline}"
            fig.add_scatter(x=result.freq_cyc_per_mm, y=result.mtf_h, name=f"{label} H", line={"color": colour},
                            legendgroup=label)
            fig.add_scatter(x=result.freq_cyc_per_mm, y=result.mtf_v, name=f"{label} V",
                            line={"color": colour, "dash": "dot"}, legendgroup=label)
    fig.add_hline(y=0.5, line_dash="dash", line_color="black", annotation_text="MTF50")
    fig.update_layout(xaxis_title="spatial frequency (cycles/mm on the sensor)", yaxis_title="system MTF",
                      title="MTF through the pipeline (H solid, V dotted)", template="plotly_white")
    return fig


def mtf50_vs_pitch_figure(rows: list[dict], pipelines: tuple[str, ...]) -> go.Figure:
    """MTF50 (cycles/mm) vs pixel pitch: ours per pipeline (H, V) and the paper's Table 2."""
    fig = go.Figure()
    pitch = [r["pitch_um"] for r in rows]
    for pipeline in pipelines:
        colour = PIPELINE_COLOURS.get(pipeline)
        for axis, dash in (("h", "solid"), ("v", "dot")):
            fig.add_scatter(x=pitch, y=[r[f"{axis}_{pipeline}"] for r in rows], mode="lines+markers",
                            name=f"ours {pipeline} {axis.upper()}", line={"color": colour, "dash": dash})
            paper = [r.get(f"{axis}_{pipeline}_paper") for r in rows]
            if any(v is not None for v in paper):
                fig.add_scatter(x=pitch, y=paper, mode="markers", name=f"paper {pipeline} {axis.upper()}",
                                marker={"color": colour, "symbol": "x" if axis == "h" else "cross", "size": 9})
    fig.update_layout(xaxis_title="pixel pitch (um)", yaxis_title="MTF50 (cycles/mm)", template="plotly_white",
                      title="MTF50 vs pixel pitch (F# scaled with pitch, Table 1)")
    fig.update_xaxes(autorange="reversed")
    return fig


def perceptual_figure(rows: list[dict], pipelines: tuple[str, ...]) -> go.Figure:
    """MS-SSIM and LPIPS vs pixel pitch, ours and the paper's Table 3."""
    from plotly.subplots import make_subplots

    fig = make_subplots(1, 2, subplot_titles=("MS-SSIM (higher is better)", "LPIPS (lower is better)"))
    pitch = [r["pitch_um"] for r in rows]
    for col, metric in enumerate(("msssim", "lpips"), start=1):
        for pipeline in pipelines:
            colour = PIPELINE_COLOURS.get(pipeline)
            fig.add_scatter(x=pitch, y=[r[f"{metric}_{pipeline}"] for r in rows], mode="lines+markers",
                            name=f"ours {pipeline}", line={"color": colour}, showlegend=col == 1, row=1, col=col)
            paper = [r.get(f"{metric}_{pipeline}_paper") for r in rows]
            if any(v is not None for v in paper):
                fig.add_scatter(x=pitch, y=paper, mode="markers", name=f"paper {pipeline}", showlegend=col == 1,
                                marker={"color": colour, "symbol": "x", "size": 9}, row=1, col=col)
        fig.update_xaxes(title_text="pixel pitch (um)", autorange="reversed", row=1, col=col)
    fig.update_yaxes(title_text="MS-SSIM", row=1, col=1)
    fig.update_yaxes(title_text="LPIPS (AlexNet)", row=1, col=2)
    fig.update_layout(template="plotly_white")
    return fig


def save_figure(fig: go.Figure, stem: Path) -> list[Path]:
    """Write ``stem``.png and ``stem``.svg; returns the paths written."""
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for path in paths:
        fig.write_image(path, width=1000, height=560, scale=2 if path.suffix == ".png" else 1)
    return paths

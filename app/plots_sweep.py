"""Sweep figure: MTF50 vs pixel pitch over the Table 1 designs, beside the paper's Table 2.

Pure functions (no Streamlit); pitch in micrometres, MTF50 in cycles/mm on the sensor.
"""

from __future__ import annotations

import plotly.graph_objects as go

from app.plots_common import PIPELINE_LABELS, _layout
from engine.isp import PIPELINE_COLOURS

def sweep_figure(rows: list[dict], pipelines: tuple[str, ...], current: dict | None, devices,
                 phones: list[dict] | None = None) -> go.Figure:
    """MTF50 vs pitch: ours per pipeline (H solid, V dotted), the paper's Table 2 (x / +) where the
    rows carry it (designs under the paper's conditions, ``study.table2``), the current design (star),
    the Table 6 phones' pitches as ticks along the bottom, and, where measured (``phones``: the phone
    rows of ``engine.study_devices.table6``), each phone's own MTF50 per pipeline (diamonds: H filled,
    V open; hover: phone, year, pitch, F#, MTF50 per pipeline, the net that ran)."""
    fig = go.Figure()
    pitch = [r["pitch_um"] for r in rows]
    top = 0.0
    for pipeline in pipelines:
        colour = PIPELINE_COLOURS.get(pipeline)
        label = PIPELINE_LABELS.get(pipeline, pipeline)
        for axis, dash, symbol in (("h", "solid", "x"), ("v", "dot", "cross")):
            ours = [r.get(f"{axis}_{pipeline}") for r in rows]
            top = max([top] + [v for v in ours if v is not None])
            fig.add_scatter(x=pitch, y=ours, mode="lines+markers", name=f"ours {label} {axis.upper()}",
                            line={"color": colour, "dash": dash})
            paper = [r.get(f"{axis}_{pipeline}_paper") for r in rows]
            if any(v is not None for v in paper):
                top = max([top] + [v for v in paper if v is not None])
                fig.add_scatter(x=pitch, y=paper, mode="markers", name=f"paper {label} {axis.upper()}",
                                marker={"color": colour, "symbol": symbol, "size": 9})
    if current:
        for pipeline in pipelines:
            for axis in ("h", "v"):
                value = current.get(f"{axis}_{pipeline}")
                if value is not None:
                    fig.add_scatter(x=[current["pitch_um"]], y=[value], mode="markers", showlegend=False,
                                    marker={"symbol": "star", "size": 15, "color": PIPELINE_COLOURS.get(pipeline),
                                            "line": {"color": "black", "width": 1}},
                                    hovertemplate=f"current design {pipeline} {axis.upper()}: %{{y:.1f}} cycles/mm"
                                                  f" at %{{x}} um, F/{current['f_number']:g}<extra></extra>")
        fig.add_vline(x=current["pitch_um"], line={"color": "gold", "width": 2},
                      annotation_text="current design", annotation_position="top")
    for pipeline in pipelines if phones else ():
        measured = [r for r in phones if r.get(f"h_{pipeline}") is not None]
        hover = ["<br>".join([f"<b>{r['name']}</b> ({r['year']})", f"{r['pitch_um']:g} um, F/{r['f_number']:g}"]
                             + [f"{p}: MTF50 H {r[f'h_{p}']:.0f} / V {r[f'v_{p}']:.0f} cycles/mm"
                                for p in pipelines if r.get(f"h_{p}") is not None]
                             + [f"neural net: {r.get('neural_net', '-')}"]) for r in measured]
        for axis, symbol in (("h", "diamond"), ("v", "diamond-open")):
            values = [r[f"{axis}_{pipeline}"] for r in measured]
            top = max([top] + values)
            fig.add_scatter(x=[r["pitch_um"] for r in measured], y=values, mode="markers",
                            name=f"phones {PIPELINE_LABELS.get(pipeline, pipeline)} {axis.upper()}",
                            marker={"color": PIPELINE_COLOURS.get(pipeline), "symbol": symbol, "size": 9},
                            hovertext=hover, hoverinfo="text")
    if devices:
        fig.add_scatter(x=[d.pitch_um for d in devices], y=[0.02 * top] * len(devices), mode="markers",
                        name="Table 6 phones' pitch", marker={"symbol": "line-ns-open", "size": 18, "color": "#555"},
                        hovertext=[d.hover() for d in devices], hoverinfo="text")
    fig.update_xaxes(title_text="pixel pitch (um)", autorange="reversed")
    fig.update_yaxes(title_text="MTF50 (cycles/mm on the sensor)", rangemode="tozero")
    shown = any(r.get(f"{a}_{p}_paper") is not None for r in rows for p in pipelines for a in ("h", "v"))
    paper = "ours vs the paper's Table 2" if shown else "the paper's Table 2 hidden (not the paper's conditions)"
    return _layout(fig, f"MTF50 vs pixel pitch (gratings), F# scaled with pitch (Table 1); {paper}", 500)

"""Devices figures: the paper's Table 6 telephotos against year, and the F# vs pitch design plane.

Pure functions (no Streamlit). Phone names are placed by :func:`place_labels`, which picks for each
label the first of a few positions around its marker whose box (estimated from the font size and
the plot's size in pixels) overlaps no other label, no marker and stays inside the axes; phones at
the same point share one label, one name per line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.plots_common import _layout
from engine.design import DesignPoint
from engine.sensor import FLUX_REFERENCE_F_NUMBER, FLUX_REFERENCE_PITCH_UM

LABEL_FONT_PX = 9
CHAR_PX = 0.6 * LABEL_FONT_PX  # mean advance of a proportional font
LINE_PX = 1.3 * LABEL_FONT_PX
MARKER_PX = 12
TIMELINE_PLOT_PX = (470, 330)  # one subplot of the timeline in the app's wide layout, (width, height)
PLANE_PLOT_PX = (1000, 330)
PLANE_X_RANGE = (0.25, 1.3)
PLANE_Y_RANGE = (0.8, 4.2)


@dataclass(frozen=True)
class Box:
    """A rectangle in data units."""

    x0: float
    x1: float
    y0: float
    y1: float

    def overlaps(self, other: "Box") -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, x_range, y_range) -> bool:
        return x_range[0] <= self.x0 and self.x1 <= x_range[1] and y_range[0] <= self.y0 and self.y1 <= y_range[1]


@dataclass(frozen=True)
class Labels:
    """Per point: its label text (empty where another point at the same place carries it), the
    plotly ``textposition`` and the label's box (None without a label)."""

    text: list[str]
    position: list[str]
    boxes: list[Box | None]


def _label_box(x: float, y: float, lines: list[str], position: str, ux: float, uy: float) -> Box:
    """The box of a label at ``position`` around the marker at (x, y); ux, uy: data units per pixel."""
    w = max(len(line) for line in lines) * CHAR_PX * ux
    h = len(lines) * LINE_PX * uy
    gap_x, gap_y = MARKER_PX / 2 * ux, MARKER_PX / 2 * uy
    vertical, horizontal = position.split()
    x0 = {"center": x - w / 2, "right": x + gap_x, "left": x - gap_x - w}[horizontal]
    y0 = {"middle": y - h / 2, "top": y + gap_y, "bottom": y - gap_y - h}[vertical]
    return Box(x0, x0 + w, y0, y0 + h)


def place_labels(xs, ys, names, x_range, y_range, plot_px: tuple[int, int], positions: tuple[str, ...],
                 obstacles=()) -> Labels:
    """Labels for the points (xs, ys) that do not collide: each takes the first of ``positions``
    (plotly textposition values) whose box is inside the axes and clear of every marker, every
    ``obstacles`` point and every label placed before it; failing that, the one with the fewest
    collisions. Coincident points share one label, a name per line."""
    ux = (x_range[1] - x_range[0]) / plot_px[0]
    uy = (y_range[1] - y_range[0]) / plot_px[1]
    half_x, half_y = MARKER_PX / 2 * ux, MARKER_PX / 2 * uy
    markers = [Box(x - half_x, x + half_x, y - half_y, y + half_y) for x, y in list(zip(xs, ys)) + list(obstacles)]
    groups: dict = {}
    for i, key in enumerate(zip(xs, ys)):
        groups.setdefault(key, []).append(i)
    text, position, boxes = [""] * len(names), ["top center"] * len(names), [None] * len(names)
    placed: list[Box] = []
    for (x, y), indices in sorted(groups.items()):
        lines = [names[i] for i in indices]

        def clashes(box: Box) -> int:
            return sum(box.overlaps(other) for other in markers + placed) + (not box.inside(x_range, y_range))

        candidates = [(clashes(box), k, pos, box) for k, pos in enumerate(positions)
                      for box in [_label_box(x, y, lines, pos, ux, uy)]]
        _, _, pos, box = min(candidates, key=lambda c: c[:2])
        first = indices[0]
        text[first], position[first], boxes[first] = "<br>".join(lines), pos, box
        placed.append(box)
    return Labels(text, position, boxes)


def devices_timeline_figure(devices) -> go.Figure:
    """Figure 1 data: telephoto pixel pitch and F# against release year, hover with the specs."""
    fig = make_subplots(1, 2, subplot_titles=("Pixel pitch", "F-number"), horizontal_spacing=0.1)
    years = [d.release_year for d in devices]
    hover = [d.hover() for d in devices]
    x_range = (min(years) - 0.9, max(years) + 0.9)  # room for the outermost labels
    for col, values, unit in ((1, [d.pitch_um for d in devices], "pixel pitch (um)"),
                              (2, [d.f_number for d in devices], "F-number")):
        span = max(values) - min(values)
        y_range = (min(values) - 0.2 * span, max(values) + 0.2 * span)
        labels = place_labels(years, values, [d.device for d in devices], x_range, y_range, TIMELINE_PLOT_PX,
                              ("top center", "bottom center", "middle right", "middle left"))
        fig.add_scatter(x=years, y=values, mode="markers+text", text=labels.text, textposition=labels.position,
                        textfont={"size": LABEL_FONT_PX}, hovertext=hover, hoverinfo="text", cliponaxis=False,
                        marker={"size": 10, "color": years, "colorscale": "Viridis"}, showlegend=False, row=1, col=col)
        fig.update_xaxes(title_text="release year", dtick=1, range=x_range, row=1, col=col)
        fig.update_yaxes(title_text=unit, range=y_range, row=1, col=col)
    return _layout(fig, "Smartphone telephotos (paper Table 6): pixels shrink, apertures open", 460)


def design_plane_figure(devices, presets: dict, current: DesignPoint | None, f_number_ref: float) -> go.Figure:
    """F# vs pitch: the phones, the five Table 1 designs, the constant-light-per-pixel line
    F# = (FLUX_REFERENCE_F_NUMBER / FLUX_REFERENCE_PITCH_UM) * pitch (engine.sensor), the region the lens cannot reach (F# < f_number_ref) and the
    current design."""
    fig = go.Figure()
    pitches = np.linspace(0.25, 1.3, 50)
    fig.add_scatter(x=pitches, y=FLUX_REFERENCE_F_NUMBER / FLUX_REFERENCE_PITCH_UM * pitches, mode="lines",
                    name="constant light per pixel (F# ~ pitch)", line={"color": "#888", "dash": "dash"},
                    hovertemplate="F/%{y:.2f} at %{x:.2f} um: same light per pixel as "
                                  f"{FLUX_REFERENCE_PITCH_UM:g} um F/{FLUX_REFERENCE_F_NUMBER:g}<extra></extra>")
    fig.add_shape(type="rect", x0=0.25, x1=1.3, y0=0.8, y1=f_number_ref, fillcolor="rgba(214,39,40,0.08)",
                  line={"width": 0}, layer="below")
    fig.add_annotation(x=1.25, y=(0.8 + f_number_ref) / 2, text=f"faster than the lens's F/{f_number_ref:g}",
                       showarrow=False, font={"size": 10, "color": "#d62728"}, xanchor="right")
    xs, ys = [d.pitch_um for d in devices], [d.f_number for d in devices]
    labels = place_labels(xs, ys, [d.device for d in devices], PLANE_X_RANGE, PLANE_Y_RANGE, PLANE_PLOT_PX,
                          ("middle right", "middle left", "top center", "bottom center"),
                          obstacles=[(p.pitch_um, p.f_number) for p in presets.values()])
    fig.add_scatter(x=xs, y=ys, mode="markers+text", cliponaxis=False,
                    name="phones (Table 6)", text=labels.text, textposition=labels.position,
                    textfont={"size": LABEL_FONT_PX}, hovertext=[d.hover() for d in devices], hoverinfo="text",
                    marker={"size": 10, "color": [d.release_year for d in devices], "colorscale": "Viridis",
                            "showscale": True, "colorbar": {"title": {"text": "year"}, "x": 1.02}})
    fig.add_scatter(x=[p.pitch_um for p in presets.values()], y=[p.f_number for p in presets.values()],
                    mode="markers+lines", name="our five designs (Table 1)",
                    marker={"symbol": "diamond", "size": 12, "color": "#d62728"}, line={"color": "#d62728", "width": 1},
                    hovertemplate="Table 1: %{x} um, F/%{y}<extra></extra>")
    if current is not None:
        fig.add_scatter(x=[current.pitch_um], y=[current.f_number], mode="markers", name="current design",
                        marker={"symbol": "star", "size": 18, "color": "gold", "line": {"color": "black", "width": 1}},
                        hovertemplate="current: %{x} um, F/%{y}<extra></extra>")
    fig.update_xaxes(title_text="pixel pitch (um)", range=list(PLANE_X_RANGE))
    fig.update_yaxes(title_text="F-number", range=list(PLANE_Y_RANGE))
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    return _layout(fig, "Design plane: F-number vs pixel pitch", 520)

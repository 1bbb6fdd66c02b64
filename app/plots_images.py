"""Images figure: the pipelines' outputs side by side with one linked (pan / zoom) view.

Pure functions (no Streamlit); axes in pixels (app/plots_common.py conventions).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import plotly.graph_objects as go

from app.plots_common import PIPELINE_LABELS, data_uri

def images_figure(images: dict[str, np.ndarray | None], messages: dict[str, str], zoom: int, zoom_x: float,
                  zoom_y: float, pitch_um: float, grid: bool = False, rows: int = 0) -> go.Figure:
    """Side-by-side panels with matched axes: zooming or panning one zooms all (the linked view).
    ``zoom`` / ``zoom_x`` / ``zoom_y`` set the magnifier (factor, centre as 0..1 of the crop).
    A None image shows its message instead. grid: two rows of panels instead of one; rows: that many
    rows instead (the A/B comparison's 2 x 4).

    Built as one plain dict (validated once by go.Figure): incremental make_subplots / update_*
    calls cost ~0.1 s per rerun, a tenth of the slider budget."""
    names = list(images)
    rows = rows or (2 if grid else 1)
    cols = -(-len(names) // rows)
    h, w = next((im.shape[:2] for im in images.values() if im is not None), (1, 1))
    half_w, half_h = w / (2 * zoom), h / (2 * zoom)
    cx = min(max(zoom_x * w, half_w), w - half_w)
    cy = min(max(zoom_y * h, half_h), h - half_h)
    x_range = [cx - half_w - 0.5, cx + half_w - 0.5]
    y_range = [cy + half_h - 0.5, cy - half_h - 0.5]
    gap_x, gap_y = 0.012, 0.08
    width, height = (1 - gap_x * (cols - 1)) / cols, (1 - gap_y * (rows - 1)) / rows
    layout: dict = {
        "height": 780 if rows == 2 else 370, "margin": {"l": 60, "r": 10, "t": 30, "b": 40}, "showlegend": False,
        "uirevision": f"{zoom}-{zoom_x}-{zoom_y}-{w}-{rows}", "dragmode": "pan", "annotations": [],
    }
    data = []
    blank = None
    with ThreadPoolExecutor(max_workers=len(names)) as pool:  # zlib releases the GIL: encode in parallel
        uris = dict(zip(names, pool.map(lambda im: None if im is None else data_uri(im), images.values())))
    for i, name in enumerate(names):
        r, c = divmod(i, cols)
        suffix = "" if i == 0 else str(i + 1)
        left, top = c * (width + gap_x), 1 - r * (height + gap_y)
        bottom_row, first_col = r == rows - 1, c == 0
        layout[f"xaxis{suffix}"] = {
            "domain": [round(max(left, 0.0), 6), round(min(left + width, 1.0), 6)], "anchor": f"y{suffix}", "range": x_range, "showgrid": False,
            "showticklabels": bottom_row, "title": {"text": "x (px)" if bottom_row else ""},
            **({"matches": "x"} if i else {}),
        }
        layout[f"yaxis{suffix}"] = {
            "domain": [round(max(top - height, 0.0), 6), round(min(top, 1.0), 6)], "anchor": f"x{suffix}", "range": y_range, "showgrid": False,
            "scaleanchor": "x", "showticklabels": first_col,
            "title": {"text": (f"y (px; pitch {pitch_um:g} um)" if r == 0 else "y (px)") if first_col else ""},
            **({"matches": "y"} if i else {}),
        }
        layout["annotations"].append({
            "text": PIPELINE_LABELS.get(name, name), "x": left + width / 2, "y": top, "xref": "paper",
            "yref": "paper", "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 14}})
        image = images[name]
        trace = {"type": "image", "x0": 0, "y0": 0, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
        if image is None:
            blank = blank or data_uri(np.full((h, w, 3), 245, dtype=np.uint8))
            data.append({**trace, "source": blank, "dx": 1, "dy": 1, "hoverinfo": "skip"})
            text = messages.get(name) or "not available"
            layout["annotations"].append({
                "text": _wrap(text, 24), "x": left + width / 2, "y": top - height / 2, "xref": "paper", "yref": "paper",
                "xanchor": "center", "yanchor": "middle", "showarrow": False, "font": {"size": 13, "color": "#555"}})
        else:
            data.append({**trace, "source": uris[name], "dx": 1, "dy": 1, "hoverinfo": "x+y"})
    return go.Figure({"data": data, "layout": layout})


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join(lines + [line])

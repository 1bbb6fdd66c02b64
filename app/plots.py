"""Plotly figures of the app. Pure functions of engine data (no Streamlit); every axis has its unit.

Conventions: image-plane and sensor coordinates in micrometres (um) or pixels (px), spatial
frequency in cycles/mm on the sensor, wavefront in waves at 550 nm, pupil coordinates normalised
to the radius of the lens's reference pupil (F/``f_number_ref``).
"""

from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from engine import optics
from engine.design import DesignPoint
from engine.figures import PIPELINE_COLOURS
from engine.isp import color
from engine.sensor import effective_snr_db

TEMPLATE = "plotly_white"
"""Applied on export only (app.export): in the app, Streamlit's own chart theme styles the figures,
and setting a plotly template deep-copies it on every figure (~50-250 ms per rerun measured)."""
CHANNEL_COLOURS = ("#d62728", "#2ca02c", "#1f77b4")
CHANNELS = ("R", "G", "B")
PHASE_LABELS = ("(0,0) top-left", "(0,1) top-right", "(1,0) bottom-left", "(1,1) bottom-right")
PIPELINE_LABELS = {"demosaic": "Demosaic only", "traditional": "Traditional ISP", "deconv": "Known-PSF deconv",
                   "neural": "Neural ISP",
                   "ground_truth": "Ground truth"}


def nyquist_cyc_per_mm(pitch_um: float) -> float:
    return 1e3 / (2.0 * pitch_um)


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W, 3) float in [0, 1] (or uint8) -> PNG bytes (8-bit sRGB)."""
    array = image if image.dtype == np.uint8 else np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01}, height=height,
                      margin={"l": 60, "r": 20, "t": 60, "b": 50})
    return fig


# --- lens ---------------------------------------------------------------------------------------


def lens_mtf_figure(psfs: optics.PSFSet, design: DesignPoint, phase: int) -> tuple[go.Figure, list[dict]]:
    """Lens MTF (H solid, V dotted) per channel vs the diffraction limit, up to past the cutoff,
    with the pixel Nyquist; and the curves as CSV rows."""
    nyquist = nyquist_cyc_per_mm(design.pitch_um)
    cutoff = 1e6 / (float(psfs.wavelengths_nm.min()) * design.f_number)
    freqs = np.linspace(0, 1.05 * max(cutoff, nyquist), 240)
    fig = go.Figure()
    rows = [{"freq_cyc_per_mm": round(float(f), 3)} for f in freqs]
    for c in range(3):
        mtf_h, mtf_v = optics.mtf_along_axes(psfs.psf_optical[phase, c], psfs.dx_um, freqs)
        limit = optics.polychromatic_diffraction_mtf(freqs, psfs.channel_weights[c], psfs.wavelengths_nm,
                                                     design.f_number)
        name, colour = CHANNELS[c], CHANNEL_COLOURS[c]
        fig.add_scatter(x=freqs, y=mtf_h, name=f"{name} H", line={"color": colour}, legendgroup=name)
        fig.add_scatter(x=freqs, y=mtf_v, name=f"{name} V", line={"color": colour, "dash": "dot"}, legendgroup=name)
        fig.add_scatter(x=freqs, y=limit, name=f"{name} diffraction limit", legendgroup=name,
                        line={"color": colour, "width": 1, "dash": "dash"})
        for row, h, v, d in zip(rows, mtf_h, mtf_v, limit):
            row.update({f"{name}_h": round(float(h), 5), f"{name}_v": round(float(v), 5),
                        f"{name}_diffraction": round(float(d), 5)})
    fig.add_vline(x=nyquist, line_dash="dash", line_color="black",
                  annotation_text=f"pixel Nyquist {nyquist:.0f} cyc/mm", annotation_position="top right")
    fig.update_xaxes(title_text="spatial frequency (cycles/mm on the sensor)")
    fig.update_yaxes(title_text="lens MTF (before the pixel aperture)", range=[0, 1.02])
    return _layout(fig, f"Lens MTF vs diffraction limit at F/{design.f_number:g} (H solid, V dotted)", 430), rows


# --- sensor -------------------------------------------------------------------------------------

_CFA_RGB = np.array([[0.85, 0.2, 0.2], [0.25, 0.7, 0.3], [0.25, 0.4, 0.9]])


def cfa_figure(cfa: np.ndarray, phase: np.ndarray, pitch_um: float, layout: str, pixels: int = 16) -> go.Figure:
    """The top-left ``pixels`` x ``pixels`` of the CFA (colour) with each pixel's OCL phase (text)."""
    tile_cfa, tile_phase = cfa[:pixels, :pixels], phase[:pixels, :pixels]
    rgb = (_CFA_RGB[tile_cfa] * 255).astype(np.uint8)
    axis = (np.arange(pixels) + 0.5) * pitch_um
    fig = go.Figure(go.Image(z=rgb, x0=axis[0], dx=pitch_um, y0=axis[0], dy=pitch_um, hoverinfo="skip"))
    text = [[f"{p}" for p in row] for row in tile_phase]
    names = np.array(CHANNELS)[tile_cfa]
    fig.add_trace(go.Heatmap(
        x=axis, y=axis, z=tile_phase, text=text, texttemplate="%{text}", showscale=False, opacity=0,
        customdata=names, textfont={"color": "white", "size": 10},
        hovertemplate="x %{x:.2f} um, y %{y:.2f} um<br>colour %{customdata}, OCL phase %{z}<extra></extra>"))
    fig.update_xaxes(title_text="x (um on the sensor)", showgrid=False)
    fig.update_yaxes(title_text="y (um)", autorange="reversed", scaleanchor="x", showgrid=False)
    names = {"hex": "Hex (16-cell, period 8 px)", "quad": "Quad (period 4 px)", "bayer": "Bayer (period 2 px)"}
    return _layout(fig, f"CFA {names[layout]}; numbers: OCL phase 2*(row%2)+(col%2)", 460)


def raw_false_colour(capture) -> np.ndarray:
    """RAW frame 0 shown in its filters' colours: white-balanced, tone-free sRGB encoding, (H, W, 3)."""
    raw = capture.raw if capture.raw.ndim == 2 else capture.raw[0]
    chain = color.color_chain()
    balanced = raw * chain.wb_gains[capture.cfa]
    image = np.zeros(raw.shape + (3,), dtype=np.float32)
    rows, cols = np.indices(raw.shape)
    image[rows, cols, capture.cfa] = balanced
    return color.srgb_encode(np.clip(image, 0.0, 1.0))


def raw_figure(capture, pitch_um: float, view_px: int = 64) -> go.Figure:
    """False-colour RAW mosaic (frame 0); opens on the central ``view_px`` pixels (double-click: all)."""
    image = raw_false_colour(capture)
    h, w = image.shape[:2]
    fig = go.Figure(go.Image(source=data_uri(image), x0=0, dx=1, y0=0, dy=1, hoverinfo="x+y"))
    half = min(view_px, w) / 2
    fig.update_xaxes(title_text=f"x (px; pitch {pitch_um:g} um)", range=[w / 2 - half, w / 2 + half], showgrid=False)
    fig.update_yaxes(title_text="y (px)", range=[h / 2 + half, h / 2 - half], scaleanchor="x", showgrid=False)
    frames = f", frame 1 of {capture.raw.shape[0]}" if capture.raw.ndim == 3 else ""
    return _layout(fig, f"RAW mosaic in false colour (white-balanced, sRGB-encoded{frames})", 460)


def noise_figure(capture, pitch_um: float) -> go.Figure:
    """Per-pixel noise sigma of frame 0 (signal units: 1 = a perfect white diffuser's green)."""
    sigma = capture.noise_sigma if capture.noise_sigma.ndim == 2 else capture.noise_sigma[0]
    fig = go.Figure(go.Heatmap(
        z=sigma, colorscale="Viridis", colorbar={"title": {"text": "sigma<br>(x white)"}},
        hovertemplate="x %{x} px, y %{y} px<br>sigma %{z:.4f}<extra></extra>"))
    fig.update_xaxes(title_text=f"x (px; pitch {pitch_um:g} um)", showgrid=False)
    fig.update_yaxes(title_text="y (px)", autorange="reversed", scaleanchor="x", showgrid=False)
    return _layout(fig, f"Noise sigma per pixel (shot noise at {capture.snr_db:.1f} dB SNR at white)", 460)


def noise_curve_figure(design: DesignPoint) -> go.Figure:
    """Shot-noise SNR vs signal level for the held and the physical flux modes (dB, log signal)."""
    levels = np.logspace(-3, 0, 61)
    fig = go.Figure()
    for flux in ("hold", "physical"):
        snr = effective_snr_db(design.replace(flux=flux))
        fig.add_scatter(x=levels, y=snr + 10 * np.log10(levels), name=f"flux {flux}: {snr:.1f} dB at white",
                        line={"dash": "solid" if flux == design.flux else "dot"})
    fig.update_xaxes(title_text="signal (fraction of white, linear)", type="log")
    fig.update_yaxes(title_text="per-pixel SNR (dB)")
    return _layout(fig, "Shot-noise SNR vs signal (current mode solid)", 360)


# --- images -------------------------------------------------------------------------------------


def images_figure(images: dict[str, np.ndarray | None], messages: dict[str, str], zoom: int, zoom_x: float,
                  zoom_y: float, pitch_um: float, grid: bool = False, rows: int = 0) -> go.Figure:
    """Side-by-side panels with matched axes: zooming or panning one zooms all (the linked view).
    ``zoom`` / ``zoom_x`` / ``zoom_y`` set the magnifier (factor, centre as 0..1 of the crop).
    A None image shows its message instead. grid: 2 x 2 panels instead of one row; rows: that many
    rows instead (the A/B comparison's 2 x 4).

    Built as one plain dict (validated once by go.Figure): incremental make_subplots / update_*
    calls cost ~0.1 s per rerun, a tenth of the slider budget."""
    names = list(images)
    rows = rows or (2 if grid and len(names) == 4 else 1)
    cols = len(names) // rows
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


# --- MTF through the pipelines -------------------------------------------------------------------


INSTRUMENT_STYLES = {"grating": ("solid", "diamond", "gratings"), "sfr": ("dash", "square", "e-SFR"),
                     "dead_leaves": ("dot", "circle", "dead leaves")}
"""Per MTF instrument (engine.instruments.INSTRUMENTS): line dash, MTF50 marker symbol, short label."""


def pipeline_mtf_figure(results: dict, design: DesignPoint, paper_row: dict | None = None) -> go.Figure:
    """H and V system MTF (cycles/mm) per pipeline (colour) and instrument (dash: gratings solid, e-SFR
    dashed, dead leaves dotted) of ``results = {pipeline: {instrument: MTFResult}}``, MTF50 markers,
    the pixel Nyquist, and the paper's Table 2 grating MTF50 (x markers) when ``paper_row`` is given
    (only for designs under the paper's conditions)."""
    nyquist = nyquist_cyc_per_mm(design.pitch_um)
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


# --- sweep --------------------------------------------------------------------------------------


def sweep_figure(rows: list[dict], pipelines: tuple[str, ...], current: dict | None, devices) -> go.Figure:
    """MTF50 vs pitch: ours per pipeline (H solid, V dotted), the paper's Table 2 (x / +) where the
    rows carry it (designs under the paper's conditions, ``study.table2``), the current design (star),
    and the Table 6 phones' pitches as ticks along the bottom."""
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
    if devices:
        fig.add_scatter(x=[d.pitch_um for d in devices], y=[0.02 * top] * len(devices), mode="markers",
                        name="Table 6 phones' pitch", marker={"symbol": "line-ns-open", "size": 18, "color": "#555"},
                        hovertext=[d.hover() for d in devices], hoverinfo="text")
    fig.update_xaxes(title_text="pixel pitch (um)", autorange="reversed")
    fig.update_yaxes(title_text="MTF50 (cycles/mm on the sensor)", rangemode="tozero")
    shown = any(r.get(f"{a}_{p}_paper") is not None for r in rows for p in pipelines for a in ("h", "v"))
    paper = "ours vs the paper's Table 2" if shown else "the paper's Table 2 hidden (not the paper's conditions)"
    return _layout(fig, f"MTF50 vs pixel pitch (gratings), F# scaled with pitch (Table 1); {paper}", 500)

"""Sensor figures: CFA and OCL layout, RAW mosaic in false colour, noise sigma, SNR vs signal.

Pure functions of engine data (no Streamlit); every axis has its unit (app/plots_common.py conventions).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.plots_common import CHANNELS, _layout, data_uri
from engine.design import DesignPoint
from engine.isp import color
from engine.sensor import effective_snr_db, shot_noise_snr_db

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
        fig.add_scatter(x=levels, y=shot_noise_snr_db(levels, snr), name=f"flux {flux}: {snr:.1f} dB at white",
                        line={"dash": "solid" if flux == design.flux else "dot"})
    fig.update_xaxes(title_text="signal (fraction of white, linear)", type="log")
    fig.update_yaxes(title_text="per-pixel SNR (dB)")
    return _layout(fig, "Shot-noise SNR vs signal (current mode solid)", 360)

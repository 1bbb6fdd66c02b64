"""Lens figures: wavefront over the pupil, log-scale PSFs and the lens MTF.

Pure functions of engine data (no Streamlit); every axis has its unit (app/plots_common.py conventions).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.plots_common import CHANNEL_COLOURS, CHANNELS, PHASE_LABELS, _layout
from engine import optics
from engine.design import DesignPoint
from engine.spectra import REFERENCE_WAVELENGTH_NM

LOG_FLOOR = 1e-5


def wavefront_figure(design: DesignPoint, phase: int = 0) -> go.Figure:
    """Wavefront (waves at 550 nm, piston removed) over the working pupil of ``design``, for one
    OCL phase (the phase's tilt and coma offsets added), on the reference pupil's coordinates
    (``engine.optics.wavefront_map``)."""
    wavefront = optics.wavefront_map(design, phase)
    u, w, rms = wavefront.u, wavefront.waves, wavefront.rms_waves
    limit = float(np.nanmax(np.abs(w))) or 1e-3
    fig = go.Figure(go.Heatmap(
        x=u, y=u, z=w, colorscale="RdBu_r", zmin=-limit, zmax=limit, zmid=0,
        colorbar={"title": {"text": f"waves<br>({REFERENCE_WAVELENGTH_NM:g} nm)"}},
        hovertemplate="x %{x:.3f}, y %{y:.3f} (of R_ref)<br>W %{z:.4f} waves<extra></extra>",
    ))
    theta = np.linspace(0, 2 * np.pi, 181)
    for radius, name, dash in ((1.0, f"reference pupil F/{design.f_number_ref:g}", "dot"),
                               (design.pupil_fraction, f"working pupil F/{design.f_number:g}", "solid")):
        fig.add_scatter(x=radius * np.cos(theta), y=radius * np.sin(theta), mode="lines", name=name,
                        line={"color": "black", "dash": dash, "width": 1}, hoverinfo="skip")
    fig.update_xaxes(title_text="pupil x / R_ref (reference pupil radius)", range=[-1.05, 1.05],
                     constrain="domain")
    fig.update_yaxes(title_text="pupil y / R_ref", range=[1.05, -1.05], scaleanchor="x", scaleratio=1)
    fig.update_layout(legend={"orientation": "h", "y": -0.18})
    ocl = f"OCL phase {phase}, offsets included" if design.ocl.enabled else "OCL off"
    # two short lines: the view's column is narrow, and one long title was cut off there
    fig = _layout(fig, f"Wavefront over the F/{design.f_number:g} pupil<br><sup>RMS {rms:.3f} waves; {ocl}</sup>", 490)
    return fig.update_layout(margin={"t": 80})


def _psf_axis(psfs: optics.PSFSet, half_width_px: float, pitch_um: float) -> tuple[slice, np.ndarray]:
    size = psfs.psf_optical.shape[-1]
    half = min(size // 2, max(2, int(round(half_width_px * pitch_um / psfs.dx_um))))
    window = slice(size // 2 - half, size // 2 + half + 1)
    return window, (np.arange(size)[window] - size // 2) * psfs.dx_um


def psf_channels_figure(psfs: optics.PSFSet, design: DesignPoint, phase: int, half_width_px: float = 4) -> go.Figure:
    """log10 PSF (before the pixel aperture) of R, G, B for one OCL phase, normalised to the
    brightest channel's peak, micrometre axes, ``half_width_px`` pixels either side."""
    window, axis = _psf_axis(psfs, half_width_px, design.pitch_um)
    stack = psfs.psf_optical[phase, :, window, window].astype(float)
    logs = np.log10(np.maximum(stack / stack.max(), LOG_FLOOR))
    fig = make_subplots(1, 3, subplot_titles=[f"{c} channel" for c in CHANNELS], shared_yaxes=True,
                        horizontal_spacing=0.03)
    for c in range(3):
        fig.add_trace(go.Heatmap(
            x=axis, y=axis, z=logs[c], coloraxis="coloraxis",
            hovertemplate="x %{x:.3f} um, y %{y:.3f} um<br>log10 PSF %{z:.2f}<extra></extra>"), 1, c + 1)
        fig.update_xaxes(title_text="x (um)", scaleanchor=f"y{'' if c == 0 else c + 1}", row=1, col=c + 1)
        fig.update_yaxes(autorange="reversed", constrain="domain", row=1, col=c + 1)
    fig.update_yaxes(title_text="y (um)", row=1, col=1)
    fig.update_layout(coloraxis={"colorscale": "Inferno", "cmin": math.log10(LOG_FLOOR), "cmax": 0,
                                 "colorbar": {"title": {"text": "log10 PSF<br>(rel. peak)"}}})
    _pixel_grid(fig, axis, design.pitch_um, cols=3)
    label = f"OCL phase {PHASE_LABELS[phase]}" if design.ocl.enabled else "no OCL"
    return _layout(fig, f"PSF per channel, {label} (log scale; grey lines: pixel boundaries)", 400)


def _pixel_grid(fig: go.Figure, axis: np.ndarray, pitch_um: float, cols: int, rows: int = 1) -> None:
    """Pixel boundaries as one line trace per subplot (add_vline / add_hline per line cost ~0.7 s)."""
    lo, hi = float(axis[0]), float(axis[-1])
    edges = np.arange(math.floor(lo / pitch_um - 0.5), math.ceil(hi / pitch_um + 0.5) + 1) * pitch_um + pitch_um / 2
    edges = edges[(edges > lo) & (edges < hi)]
    xs, ys = [], []
    for e in edges:
        xs += [e, e, None, lo, hi, None]
        ys += [lo, hi, None, e, e, None]
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": "rgba(200,200,200,0.45)", "width": 1},
                            hoverinfo="skip", showlegend=False, row=r, col=c)


def psf_phases_figure(psfs: optics.PSFSet, design: DesignPoint, channel: int = 1, half_width_px: float = 3) -> go.Figure:
    """The four OCL phases' PSFs (one channel) in their 2 x 2 arrangement, log scale, um axes."""
    window, axis = _psf_axis(psfs, half_width_px, design.pitch_um)
    stack = psfs.psf_optical[:, channel, window, window].astype(float)
    logs = np.log10(np.maximum(stack / stack.max(), LOG_FLOOR))
    fig = make_subplots(2, 2, subplot_titles=[f"phase {p}" for p in PHASE_LABELS], shared_xaxes=True,
                        shared_yaxes=True, horizontal_spacing=0.04, vertical_spacing=0.1)
    for p in range(4):
        fig.add_trace(go.Heatmap(
            x=axis, y=axis, z=logs[p], coloraxis="coloraxis",
            hovertemplate="x %{x:.3f} um, y %{y:.3f} um<br>log10 PSF %{z:.2f}<extra></extra>"), p // 2 + 1, p % 2 + 1)
    fig.update_yaxes(autorange="reversed", constrain="domain")
    for r in (1, 2):
        fig.update_yaxes(title_text="y (um)", row=r, col=1)
        fig.update_xaxes(title_text="x (um)", row=2, col=r)
    fig.update_layout(coloraxis={"colorscale": "Inferno", "cmin": math.log10(LOG_FLOOR), "cmax": 0,
                                 "colorbar": {"title": {"text": "log10 PSF"}}})
    for p in range(4):  # a cross at the pixel centre shows the OCL shift
        fig.add_scatter(x=[0], y=[0], mode="markers", marker={"symbol": "cross-thin", "size": 10,
                        "line": {"color": "cyan", "width": 1}}, showlegend=False, hoverinfo="skip",
                        row=p // 2 + 1, col=p % 2 + 1)
    state = "OCL on" if design.ocl.enabled else "OCL off: all phases equal"
    return _layout(fig, f"{CHANNELS[channel]} PSF of the four 2x2 OCL phases ({state}; cyan: pixel centre)", 520)


def lens_mtf_figure(psfs: optics.PSFSet, design: DesignPoint, phase: int) -> tuple[go.Figure, list[dict]]:
    """Lens MTF (H solid, V dotted) per channel vs the diffraction limit, up to past the cutoff,
    with the pixel Nyquist; and the curves as CSV rows."""
    nyquist = optics.nyquist_cyc_per_mm(design.pitch_um)
    cutoff = optics.cutoff_cyc_per_mm(design.f_number, float(psfs.wavelengths_nm.min()))
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

"""Sensor view: CFA and OCL layout, RAW mosaic in false colour, noise sigma."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import plots
from app.compute import Run
from engine.sensor import noise_sigma_at_white, noise_sigma_map

GREY = 0.18
"""Signal level of the grey readout, fraction of white (a mid-grey card)."""


def render(run: Run) -> None:
    design = run.design
    capture = run.capture()
    snr = capture.snr_db
    sigma = capture.noise_sigma if capture.noise_sigma.ndim == 2 else capture.noise_sigma[0]
    cols = st.columns(5)
    cols[0].metric("SNR at white", f"{snr:.1f} dB", help="After the flux mode (physical: follows pitch / F#).")
    cols[1].metric("sigma at white", f"{noise_sigma_at_white(snr):.4f}",
                   help="Noise sigma of a white pixel, signal units.")
    cols[2].metric(f"sigma at {GREY * 100:g} % grey", f"{float(noise_sigma_map(np.array(GREY), snr)):.4f}")
    cols[3].metric("median sigma in crop", f"{float(np.median(sigma)):.4f}")
    cols[4].metric("Frames", f"{capture.frames}")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(plots.cfa_figure(capture.cfa, capture.phase, design.pitch_um, design.cfa), key="fig_cfa")
    with right:
        st.plotly_chart(plots.raw_figure(capture, design.pitch_um), key="fig_raw", config={"scrollZoom": True})
    left, right = st.columns(2)
    with left:
        st.plotly_chart(plots.noise_figure(capture, design.pitch_um), key="fig_noise")
    with right:
        st.plotly_chart(plots.noise_curve_figure(design), key="fig_noise_curve")
    if capture.frames > 1:
        st.caption("Burst shifts (dy, dx) in pixels: " + ", ".join(
            f"({dy:+.2f}, {dx:+.2f})" for dy, dx in capture.shifts_px))

"""Lens view: wavefront over the truncated pupil, PSFs per channel and OCL phase, lens MTF."""

from __future__ import annotations

import streamlit as st

from app import plots
from app.compute import Run
from engine import optics
from engine.spectra import REFERENCE_WAVELENGTH_NM


def render(run: Run) -> None:
    design = run.design
    psfs, reference = run.psfs(), run.reference_psfs()
    strehl = optics.strehl_ratios(psfs, reference)
    rms = optics.wavefront_rms_waves(design)
    phase = int(st.session_state.phase) if design.ocl.enabled else 0
    fwhm = optics.fwhm_um(psfs.psf_optical[phase, 1], psfs.dx_um)
    fwhm_ref = optics.fwhm_um(reference.psf_optical[0, 1], reference.dx_um)
    airy_um = optics.airy_radius_um(design.f_number, REFERENCE_WAVELENGTH_NM)
    cols = st.columns(5)
    cols[0].metric("Wavefront RMS", f"{rms:.3f} waves",
                   help=f"Over the working pupil, piston removed, {REFERENCE_WAVELENGTH_NM:g} nm.")
    cols[1].metric("Strehl (G)", f"{strehl[phase, 1]:.3f}",
                   help="Peak of the G PSF over the diffraction-limited G PSF at the same F#.")
    cols[2].metric("FWHM (G)", f"{fwhm:.3f} um", delta=f"{fwhm - fwhm_ref:+.3f} um vs diffraction",
                   delta_color="inverse")
    cols[3].metric(f"Airy radius at {REFERENCE_WAVELENGTH_NM:g} nm", f"{airy_um:.2f} um",
                   delta=f"{airy_um / design.pitch_um:.2f} pixels", delta_color="off")
    cols[4].metric("Pixel Nyquist", f"{optics.nyquist_cyc_per_mm(design.pitch_um):.0f} cyc/mm")

    if design.ocl.enabled:
        st.radio("OCL phase (row % 2, col % 2)", [0, 1, 2, 3], key="phase", horizontal=True,
                 format_func=lambda p: plots.PHASE_LABELS[p], persist_state="page")
    else:
        st.caption("OCL off: every pixel sees the same PSF.")
    left, right = st.columns([1, 1.5])
    with left:
        st.plotly_chart(plots.wavefront_figure(design, phase), key="fig_wavefront")
    with right:
        half = st.select_slider("PSF window (pixels either side)", [2, 3, 4, 6, 8, 12, 16], value=6,
                                key="psf_window")
        st.plotly_chart(plots.psf_channels_figure(psfs, design, phase, half), key="fig_psf_channels")
    left, right = st.columns([1, 1])
    with left:
        st.plotly_chart(plots.psf_phases_figure(psfs, design, 1, min(half, 4)), key="fig_psf_phases")
    with right:
        fig, _ = plots.lens_mtf_figure(psfs, design, phase)
        st.plotly_chart(fig, key="fig_lens_mtf")
    st.markdown("**Strehl ratio per OCL phase and channel** (vs the diffraction-limited PSF at the same F#)")
    st.dataframe(
        [{"OCL phase": plots.PHASE_LABELS[p], **{c: round(float(strehl[p, i]), 4) for i, c in enumerate(plots.CHANNELS)}}
         for p in range(4)],
        hide_index=True,
    )
    st.caption(f"PSFs: {psfs.wavelengths_nm.size} wavelengths x {psfs.psf_optical.shape[0]} OCL phases on a "
               f"{psfs.psf_optical.shape[-1]}-sample grid at {psfs.dx_um:.4f} um, computed in "
               f"{psfs.timings_s.get('total', float('nan')):.2f} s.")

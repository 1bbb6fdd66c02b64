"""smallpix app entry point: ``streamlit run app/main.py``.

Until the full explorer lands (issue 6), this page shows the lens of one design: its PSF per
channel (log scale, micrometre axes) and lens MTF against the diffraction limit.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from engine import optics
from engine.design import DEFAULT_PRESET, DesignError, DesignPoint, presets


@st.cache_data(show_spinner="Computing 51-wavelength OCL PSFs ...")
def cached_psfs(design_json: dict) -> optics.PSFSet:
    return optics.compute_psfs(DesignPoint.from_dict(design_json))


def psf_figure(psfs: optics.PSFSet, phase: int) -> go.Figure:
    size = psfs.psf_pixel.shape[-1]
    axis_um = (np.arange(size) - size // 2) * psfs.dx_um
    fig = make_subplots(1, 3, subplot_titles=[f"{c} channel" for c in ("R", "G", "B")], shared_yaxes=True)
    for c in range(3):
        log_psf = np.log10(np.maximum(psfs.psf_optical[phase, c], 1e-7))
        fig.add_trace(go.Heatmap(z=log_psf, x=axis_um, y=axis_um, coloraxis="coloraxis"), 1, c + 1)
        fig.update_xaxes(title_text="x (um)", row=1, col=c + 1)
    fig.update_yaxes(title_text="y (um)", row=1, col=1, autorange="reversed")
    fig.update_layout(coloraxis={"colorscale": "Inferno", "colorbar": {"title": "log10 PSF"}}, height=360)
    return fig


def mtf_figure(psfs: optics.PSFSet, design: DesignPoint, phase: int) -> go.Figure:
    nyquist = 1e3 / (2 * design.pitch_um)
    freqs = np.linspace(0, 2 * nyquist, 200)
    fig = go.Figure()
    for c, colour in zip(range(3), ("crimson", "seagreen", "royalblue")):
        mtf_h, mtf_v = optics.mtf_along_axes(psfs.psf_optical[phase, c], psfs.dx_um, freqs)
        limit = optics.polychromatic_diffraction_mtf(freqs, psfs.channel_weights[c], psfs.wavelengths_nm, design.f_number)
        name = "RGB"[c]
        fig.add_scatter(x=freqs, y=mtf_h, name=f"{name} H", line={"color": colour})
        fig.add_scatter(x=freqs, y=mtf_v, name=f"{name} V", line={"color": colour, "dash": "dot"})
        fig.add_scatter(x=freqs, y=limit, name=f"{name} diffraction", line={"color": colour, "width": 1, "dash": "dash"})
    fig.add_vline(x=nyquist, line_dash="dash", annotation_text="pixel Nyquist")
    fig.update_layout(xaxis_title="spatial frequency (cycles/mm)", yaxis_title="lens MTF", height=380)
    return fig


def main() -> None:
    st.set_page_config(page_title="smallpix", layout="wide")
    st.title("smallpix: small-pixel lens explorer")
    names = list(presets())
    name = st.sidebar.selectbox("Table 1 preset (pitch um)", names, index=names.index(DEFAULT_PRESET))
    base = presets()[name]
    f_number = st.sidebar.slider("F-number", base.f_number_ref, 8.0, float(base.f_number), 0.01)
    phase = st.sidebar.radio("OCL phase (row mod 2, col mod 2)", [0, 1, 2, 3], horizontal=True)
    try:
        design = base.replace(f_number=f_number)
        psfs = cached_psfs(design.to_dict())
    except (DesignError, ValueError) as err:
        st.error(str(err))
        return
    col1, col2, col3 = st.columns(3)
    col1.metric("Pixel pitch", f"{design.pitch_um} um")
    col2.metric("Wavefront RMS", f"{optics.wavefront_rms_waves(design):.3f} waves")
    col3.metric("PSF compute", f"{psfs.timings_s['total']:.2f} s")
    st.subheader("PSF per channel (before pixel aperture)")
    st.plotly_chart(psf_figure(psfs, phase), use_container_width=True)
    st.subheader("Lens MTF (H solid, V dotted) vs diffraction limit")
    st.plotly_chart(mtf_figure(psfs, design, phase), use_container_width=True)


main()

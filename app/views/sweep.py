"""Sweep view: MTF50 vs pitch over the five Table 1 (pitch, F#) pairs, with the current lens and
sensor settings, beside the paper's Table 2; the current design and the phones' pitches marked.
Below it, any result store of ``python -m engine sweep`` (app/views/sweep_store.py)."""

from __future__ import annotations

import time

import streamlit as st

from app import plots
from app.compute import Run
from engine.devices import load_devices
from app.views import devices as devices_view
from app.views import sweep_store
from app.views.mtf import SETTINGS, _remember, _store, neural_choice, result_key, stored
from engine import study
from engine.isp import PipelineUnavailable
from engine.design import DesignPoint, presets


def sweep_designs(design: DesignPoint) -> dict[str, DesignPoint]:
    """The current lens and sensor at each Table 1 (pitch, F#)."""
    return {name: design.replace(pitch_um=p.pitch_um, f_number=p.f_number) for name, p in presets().items()}


store_figures = sweep_store.store_figures


def stored_sweep(run: Run) -> tuple | None:
    """This session's sweep for the current design."""
    return stored(run, "sweep_results")


def render(run: Run) -> None:
    design = run.design
    pipelines = run.measurable_pipelines()
    setting = st.radio("Instrument", list(SETTINGS), format_func=lambda s: SETTINGS[s]["label"], key="sweep_setting",
                       horizontal=True, index=1, persist_state="page")
    size_px, count = SETTINGS[setting]["size_px"], SETTINGS[setting]["count"]
    designs = sweep_designs(design)
    on_line = any(d == design for d in designs.values())
    st.caption(f"Your lens, OCL, CFA, SNR, flux and burst at the five Table 1 pitches / F#s"
               f"{'' if on_line else ', plus the current design'}: "
               f"{len(designs) + (0 if on_line else 1)} MTF measurements, about "
               f"{(len(designs) + 1) * (3 if setting == 'quick' else 8)} s on 2 cores.")
    neural = neural_choice(run)
    if "neural" in pipelines:
        st.caption(f"Neural ISP net: {neural} (the Images view's 'Neural ISP net'). With auto each Table 1 point "
                   "uses that design's own net where one is installed and the universal net elsewhere, so the "
                   "points may come from different nets; choose universal to sweep one net.")
    key = result_key(run, setting)
    if st.button("Run sweep", key="run_sweep", type="primary"):
        bar = st.progress(0.0, text="sweeping ...")
        start = time.perf_counter()
        per_design = 2 * len(study.grating_frequencies(design, size_px, count))
        total = per_design * (len(designs) + (0 if on_line else 1))

        def progress(done: int, _total: int, offset: int = 0) -> None:
            bar.progress(min((offset + done) / total, 1.0),
                         text=f"capture {offset + done} of {total} ({time.perf_counter() - start:.0f} s)")

        try:
            rows, _ = study.table2(designs, pipelines, size_px=size_px, count=count, neural=neural, progress=progress)
        except PipelineUnavailable as err:
            bar.empty()
            st.warning(f"{str(err).rstrip('.')}. The sweep needs the chosen net ({neural}) at every Table 1 pitch: choose auto or "
                       "universal under 'Neural ISP net' in the Images view.")
            return
        current = next((r for r, d in zip(rows, designs.values()) if d == design), None)
        if current is None:
            offset = per_design * len(designs)
            results = study.measure_mtf(design, pipelines, size_px=size_px, count=count, neural=neural,
                                        progress=lambda d, t: progress(d, t, offset))
            current = {"pitch_um": design.pitch_um, "f_number": design.f_number}
            for pipeline, result in results.items():
                current[f"h_{pipeline}"] = round(result.mtf50_h_cyc_per_mm, 1)
                current[f"v_{pipeline}"] = round(result.mtf50_v_cyc_per_mm, 1)
        bar.progress(1.0, text=f"done in {time.perf_counter() - start:.0f} s")
        _remember("sweep_results", key, (rows, current))
    found = _store("sweep_results").get(key)
    if found:
        rows, current = found
        if not st.session_state.get("table6_on") and st.button("Add each phone's own MTF50 (about a minute)",
                                                               key="sweep_phones"):
            st.session_state.table6_on = True
        phones = devices_view.measured_phones(run)
        st.plotly_chart(plots.sweep_figure(rows, pipelines, current, load_devices(), phones), key="fig_sweep")
        if phones:
            st.caption("Diamonds: each Table 6 phone at its own pitch and F# (proxy lens, hex CFA, 35 dB, quick "
                       "instrument; the Devices view has the table and CSV).")
        st.dataframe(rows, hide_index=True)
    else:
        st.info("Press **Run sweep** to measure (results stay for this session).")
    sweep_store.render()

"""Devices view: the paper's Table 6 telephotos (Figure 1 data), the F# vs pitch design plane, and on
demand each phone's own MTF50 (Table 6 as a study: engine.study_devices)."""

from __future__ import annotations

import dataclasses

import streamlit as st

from app import plots
from app.compute import Run
from app.state import FLUX_REFERENCE
from engine.design import presets
from engine.devices import load_devices
from engine.study import STUDY_SETTINGS


def render(run: Run) -> None:
    devices = load_devices()
    st.plotly_chart(plots.devices_timeline_figure(devices), key="fig_devices_timeline")
    st.plotly_chart(plots.design_plane_figure(devices, presets(), run.design, run.design.f_number_ref),
                    key="fig_design_plane")
    st.caption("Source: the paper's Table 6 (telephoto specs from GSMArena), assets/devices.csv. The dashed line "
               f"keeps light per pixel constant (F# proportional to pitch through {FLUX_REFERENCE}), as Table 1 does.")
    st.dataframe([dataclasses.asdict(d) for d in devices], hide_index=True)
    phone_mtf50(run)


@st.cache_data(max_entries=4, show_spinner=False)
def table6_rows(neural_version: str, _progress=None) -> list[dict]:
    """Table 6 as a study at the quick instrument settings (cached per set of Neural ISP weights)."""
    from engine import study_devices

    settings = STUDY_SETTINGS["quick"]
    return study_devices.table6(size_px=settings["size_px"], count=settings["count"], progress=_progress)


def measured_rows(run: Run) -> list[dict] | None:
    """Every Table 6 row (phones and Table 1 designs) once this session asked for them (Devices or
    Sweep view), else None; the first call measures them behind a progress bar, later calls hit the cache."""
    if not st.session_state.get("table6_on"):
        return None
    bar = st.progress(0.0, text="Measuring the phones")
    rows = table6_rows(run.neural_version, _progress=lambda done, total: bar.progress(
        done / total, text=f"Measuring the phones: {done}/{total} captures"))
    bar.empty()
    return rows


def measured_phones(run: Run) -> list[dict] | None:
    """The phone rows of :func:`measured_rows` (each phone's own MTF50), else None."""
    rows = measured_rows(run)
    return None if rows is None else [r for r in rows if r["kind"] == "phone"]


def phone_mtf50(run: Run) -> None:
    """Each phone at its own pitch and F# (proxy lens, hex CFA, 35 dB): MTF50 per pipeline, on demand."""
    import csv
    import io

    from engine import study_devices

    st.subheader("Each phone at its own design: MTF50 per pipeline")
    if not st.session_state.get("table6_on") and not st.button("Measure every phone (about a minute)", key="table6_run"):
        st.caption("Gratings through demosaic, traditional and the Neural ISP (the universal net: no phone sits on a "
                   "trained design) at each phone's pitch and F#, with the preset lens, the hex CFA and 35 dB.")
        return
    st.session_state.table6_on = True
    rows = measured_rows(run)
    st.plotly_chart(study_devices.table6_figure(rows), key="fig_table6")
    quick = STUDY_SETTINGS["quick"]
    st.caption(f"Quick instrument ({quick['size_px']} px, {quick['count']} grating frequencies); "
               "`python -m engine study --table 6` runs the full one. "
               "Hover a phone for its MTF50 per pipeline and the net that ran.")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    st.download_button("Table 6 as CSV", buffer.getvalue(), file_name="table6.csv", mime="text/csv", key="table6_csv")

"""Devices view: the paper's Table 6 telephotos (Figure 1 data) and the F# vs pitch design plane."""

from __future__ import annotations

import dataclasses

import streamlit as st

from app import plots_devices
from app.compute import Run
from engine.devices import load_devices
from engine.design import presets


def render(run: Run) -> None:
    devices = load_devices()
    st.plotly_chart(plots_devices.devices_timeline_figure(devices), key="fig_devices_timeline")
    st.plotly_chart(plots_devices.design_plane_figure(devices, presets(), run.design, run.design.f_number_ref),
                    key="fig_design_plane")
    st.caption("Source: the paper's Table 6 (telephoto specs from GSMArena), assets/devices.csv. The dashed line "
               "keeps light per pixel constant (F# proportional to pitch through 0.75 um at F/3.55), as Table 1 does.")
    st.dataframe([dataclasses.asdict(d) for d in devices], hide_index=True)

"""MTF view: system MTF through each pipeline, measured on demand with a progress bar.

Results are kept in this browser session only (``st.session_state``), keyed by the design, the
pipelines and the instrument settings, so returning to a design shows its curves again.
"""

from __future__ import annotations

import time

import streamlit as st

from app import cache, plots
from app.compute import Run
from engine import study
from engine.design import DesignPoint

SETTINGS = {  # the study CLI's instrument settings, full and quick
    name: {"label": label.format(**study.STUDY_SETTINGS[mode]),
           "size_px": study.STUDY_SETTINGS[mode]["size_px"], "count": study.STUDY_SETTINGS[mode]["count"]}
    for name, mode, label in (("table2", "full", "Table 2 settings ({size_px} px window, {count} frequencies)"),
                              ("quick", "quick", "quick ({size_px} px window, {count} frequencies)"))
}
MAX_STORED = 12


def _store(name: str) -> dict:
    if name not in st.session_state:
        st.session_state[name] = {}
    return st.session_state[name]


def _remember(name: str, key, value) -> None:
    store = _store(name)
    store[key] = value
    while len(store) > MAX_STORED:
        store.pop(next(iter(store)))


def result_key(design: DesignPoint, pipelines: tuple[str, ...], setting: str) -> tuple:
    return (cache.design_key(design), pipelines, setting)


def stored(run: Run, store_name: str):
    """This session's stored result for the current design and pipelines (Table 2 setting preferred)."""
    store = _store(store_name)
    for setting in ("table2", "quick"):
        found = store.get(result_key(run.design, run.measurable_pipelines(), setting))
        if found:
            return found
    return None


def stored_results(run: Run) -> dict | None:
    """This session's MTF results for the current design."""
    return stored(run, "mtf_results")


def paper_row(design: DesignPoint) -> dict | None:
    """The paper's Table 2 row (MTF50 per pipeline) when the design has a Table 1 pitch and F#."""
    row = study.paper_rows("table2_mtf50").get(design.pitch_um)
    return row if row is not None and abs(row["f_number"] - design.f_number) < 1e-9 else None


def render(run: Run) -> None:
    design = run.design
    pipelines = run.measurable_pipelines()
    setting = st.radio("Instrument", list(SETTINGS), format_func=lambda s: SETTINGS[s]["label"], key="mtf_setting",
                       horizontal=True, persist_state="page")
    size_px, count = SETTINGS[setting]["size_px"], SETTINGS[setting]["count"]
    st.caption(f"Neutral sinusoid gratings (mean 0.4, contrast 0.5) at {count} frequencies up to the pixel "
               f"Nyquist, H and V, through optics + sensor + noise + each pipeline; contrast by lock-in on "
               f"linearised luminance. {2 * count} captures: several seconds.")
    message = run.neural_message()
    if message:
        st.info(f"Neural ISP not trained for this design, so it is not measured. {message}")
    key = result_key(design, pipelines, setting)
    if st.button("Measure MTF", key="measure_mtf", type="primary"):
        bar = st.progress(0.0, text="measuring ...")
        start = time.perf_counter()

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"grating {done} of {total} ({time.perf_counter() - start:.1f} s)")

        results = study.measure_mtf(design, pipelines, size_px=size_px, count=count, progress=progress)
        bar.progress(1.0, text=f"done in {time.perf_counter() - start:.1f} s")
        _remember("mtf_results", key, results)
    results = _store("mtf_results").get(key)
    if not results:
        st.info("Press **Measure MTF** to measure this design (results stay for this session).")
        return
    paper = paper_row(design)
    st.plotly_chart(plots.pipeline_mtf_figure(results, design, paper), key="fig_pipeline_mtf")
    rows = []
    for pipeline, result in results.items():
        row = {"pipeline": plots.PIPELINE_LABELS[pipeline], "MTF50 H (cyc/mm)": round(result.mtf50_h_cyc_per_mm, 1),
               "MTF50 V (cyc/mm)": round(result.mtf50_v_cyc_per_mm, 1)}
        if paper:
            name = study.PAPER_PIPELINE_NAMES[pipeline]
            row["paper H"] = paper.get(f"h_{name}")
            row["paper V"] = paper.get(f"v_{name}")
        rows.append(row)
    st.dataframe(rows, hide_index=True)

"""MTF view: system MTF through each pipeline by three instruments (sinusoid gratings, ISO 12233
e-SFR, dead-leaves texture), measured on demand with a progress bar.

Results are kept in this browser session only (``st.session_state``), keyed by the design, the
pipelines, the Neural ISP net chosen in the Images view and the instrument settings, so returning
to a design shows its curves again. The paper's
Table 2 numbers are shown only for a design under the paper's conditions (``study.paper_mismatch``).
"""

from __future__ import annotations

import time

import streamlit as st

from app import cache, plots
from app.compute import Run
from app.views.images import neural_selection
from engine import instruments, study
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


def neural_choice(run: Run) -> str:
    """The Neural ISP net chosen in the Images view ('Neural ISP net'): the MTF and sweep measure with it."""
    return cache.neural_options(run.neural_version)["neural"]


def result_key(run: Run, setting: str) -> tuple:
    """What a stored measurement of ``run``'s design depends on, besides instrument settings."""
    return (cache.design_key(run.design), run.measurable_pipelines(), neural_choice(run), setting)


def stored(run: Run, store_name: str, extra: tuple = ()):
    """This session's stored result for the current design and pipelines (Table 2 setting preferred);
    ``extra``: further settings the result was keyed by."""
    store = _store(store_name)
    for setting in ("table2", "quick"):
        found = store.get(result_key(run, setting) + extra)
        if found:
            return found
    return None


def stored_results(run: Run) -> dict | None:
    """This session's MTF results for the current design: {pipeline: {instrument: MTFResult}}."""
    found = stored(run, "mtf_results", _edge_settings())
    return found[0] if found else None


def _edge_settings() -> tuple[float, float]:
    """The e-SFR edge angle (degrees) and contrast of this session's MTF view (its widgets' values)."""
    return (float(st.session_state.get("edge_angle", instruments.EDGE_ANGLE_DEG)),
            float(st.session_state.get("edge_contrast", instruments.EDGE_CONTRAST)))


def paper_row(design: DesignPoint) -> dict | None:
    """The paper's Table 2 row (MTF50 per pipeline) when the design is under the paper's conditions
    (``study.paper_mismatch``), else None."""
    return None if study.paper_mismatch(design) else study.paper_rows("table2_mtf50").get(design.pitch_um)


def _table(results: dict, paper: dict | None) -> list[dict]:
    """One row per (pipeline, instrument): MTF10/30/50 H and V (cycles/mm), the paper's grating MTF50."""
    rows = []
    for pipeline, by_instrument in results.items():
        for name, result in by_instrument.items():
            row = {"pipeline": plots.PIPELINE_LABELS.get(pipeline, pipeline), "instrument": instruments.INSTRUMENTS[name]}
            for axis in ("h", "v"):
                for level in (50, 30, 10):
                    label = f"MTF{level} {axis.upper()}" + (" (cyc/mm)" if level == 50 else "")
                    row[label] = instruments.rounded(result.crossing(level / 100, axis), 1)
            if paper and name == "grating":
                paper_name = study.PAPER_PIPELINE_NAMES.get(pipeline, "")
                row["paper H"], row["paper V"] = paper.get(f"h_{paper_name}"), paper.get(f"v_{paper_name}")
            rows.append(row)
    return rows


def render(run: Run) -> None:
    design = run.design
    pipelines = run.measurable_pipelines()
    setting = st.radio("Measurement settings", list(SETTINGS), format_func=lambda s: SETTINGS[s]["label"], key="mtf_setting",
                       horizontal=True, persist_state="page")
    size_px, count = SETTINGS[setting]["size_px"], SETTINGS[setting]["count"]
    angle_col, contrast_col = st.columns(2)
    angle = angle_col.number_input("e-SFR edge angle (degrees off vertical / horizontal)", *instruments.EDGE_ANGLE_RANGE_DEG,
                                   value=instruments.EDGE_ANGLE_DEG, step=1.0, key="edge_angle")
    contrast = contrast_col.number_input("e-SFR edge contrast (bright : dark)", *instruments.EDGE_CONTRAST_RANGE,
                                         value=instruments.EDGE_CONTRAST, step=0.5, key="edge_contrast")
    st.caption(f"Three instruments through optics + sensor + noise + each pipeline, on linearised luminance: neutral "
               f"sinusoid gratings (mean {instruments.GRATING_MEAN:g}, contrast {instruments.GRATING_CONTRAST:g}) at "
               f"{count} frequencies up to the pixel Nyquist, contrast by lock-in; the ISO 12233 e-SFR of a {angle:g} "
               f"deg, {contrast:g}:1 slanted edge; the dead-leaves texture MTF (output over ground-truth power "
               "spectrum, the noise power of a flat patch removed). "
               f"{2 * count + 5} captures: several seconds.")
    message = run.neural_message()
    if message:
        st.info(f"Neural ISP not trained for this design, so it is not measured. {message}")
    else:
        st.caption(f"Neural ISP: the {neural_selection(design)['label']} (the Images view's 'Neural ISP net'), "
                   "in float32.")
    key = result_key(run, setting) + _edge_settings()
    if st.button("Measure MTF", key="measure_mtf", type="primary"):
        bar = st.progress(0.0, text="measuring ...")
        start = time.perf_counter()

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"capture {done} of {total} ({time.perf_counter() - start:.1f} s)")

        found = instruments.measure_instruments(design, pipelines, size_px=size_px, count=count, edge_angle_deg=angle,
                                                edge_contrast=contrast, neural=neural_choice(run), progress=progress)
        bar.progress(1.0, text=f"done in {time.perf_counter() - start:.1f} s")
        _remember("mtf_results", key, found)
    found = _store("mtf_results").get(key)
    if not found:
        st.info("Press **Measure MTF** to measure this design (results stay for this session).")
        return
    results, skipped = found
    for pipeline, why in skipped.items():
        st.info(f"{plots.PIPELINE_LABELS.get(pipeline, pipeline)} not measured: {why}")
    paper = paper_row(design)
    st.plotly_chart(plots.pipeline_mtf_figure(results, design, paper), key="fig_pipeline_mtf")
    st.dataframe(_table(results, paper), hide_index=True)
    st.caption(instruments.WHY_THEY_DIFFER)
    mismatch = study.paper_mismatch(design)
    if mismatch:
        st.caption(f"The paper's Table 2 (gratings) was measured under {study.PAPER_CONDITIONS}; it is not shown "
                   f"beside this design ({', '.join(mismatch)}).")

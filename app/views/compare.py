"""Compare view: the pinned design A beside the current design B through the same scene: images of
every pipeline (one linked zoom), PSNR / MS-SSIM / LPIPS with B's change from A, MTF50 on demand,
and the comparison as PNG / CSV."""

from __future__ import annotations

import time

import streamlit as st

from app import cache, compare, export, plots, state
from app.compute import Run
from app.views.images import PRECISION_NOTE, neural_selection, panel_messages
from engine.isp import PIPELINES
from engine.study import STUDY_SETTINGS, measure_mtf

NOTHING_PINNED = ("Nothing pinned yet. Press **Pin this design as A** in the sidebar (A/B what-if), change any "
                  "setting, and come back: A and B are shown side by side through the same scene.")
MTF_SETTING = STUDY_SETTINGS["quick"]


def runs(run: Run) -> dict[str, Run] | None:
    """{"A": the pinned design's run (same scene and view), "B": ``run``}, or None when nothing is pinned."""
    if not run.view.pinned:
        return None
    pinned = state.pinned_design(run.view.pinned)
    a = compare.fit_oversample(pinned, state.max_oversample(pinned, run.view.size_px))
    return {"A": Run(a, run.view, run.upload_path, run.neural_version), "B": run}


def figure(pair: dict[str, Run]):
    """A (top row) and B (bottom row): ground truth and every pipeline, one linked zoom."""
    images, messages = {}, {}
    for side, run in pair.items():
        outputs = run.outputs()
        names = {p: f"{side}: {plots.PIPELINE_LABELS.get(p, p)}" for p in ("ground_truth",) + PIPELINES}
        images[names["ground_truth"]] = run.reference_image()
        for pipeline, stage in outputs.items():
            images[names[pipeline]] = stage.value
        messages.update({names[p]: text for p, text in panel_messages(outputs).items()})
    view = pair["B"].view
    return plots.images_figure(images, messages, view.zoom, view.zoom_x, view.zoom_y, pair["B"].design.pitch_um,
                               rows=2)


def metrics(pair: dict[str, Run]) -> dict[str, dict]:
    """{"A"|"B": {pipeline: PSNR / MS-SSIM / LPIPS, or None without an output}}."""
    return {side: {p: run.metrics(p) if run.output(p).value is not None else None for p in PIPELINES}
            for side, run in pair.items()}


def mtf_key(pair: dict[str, Run]) -> tuple:
    return tuple(cache.design_key(run.design) for run in pair.values())


def stored_mtf50(pair: dict[str, Run]) -> dict | None:
    """This session's MTF50 of A and B (measured on demand), or None."""
    return st.session_state.get("ab_mtf50", {}).get(mtf_key(pair))


def rows(pair: dict[str, Run]) -> list[dict]:
    """The comparison table (metrics, and MTF50 once measured), as in the CSV."""
    return compare.comparison_rows(metrics(pair), stored_mtf50(pair))


def measure(pair: dict[str, Run]) -> None:
    """MTF50 H / V of every pipeline of A and B (quick grating settings), with a progress bar."""
    bar = st.progress(0.0, text="measuring A ...")
    start = time.perf_counter()
    found = {}
    for i, (side, run) in enumerate(pair.items()):
        def progress(done: int, total: int, i=i, side=side) -> None:
            bar.progress((i + done / total) / 2, text=f"{side}: grating {done} of {total} "
                                                      f"({time.perf_counter() - start:.1f} s)")

        results = measure_mtf(run.design, run.measurable_pipelines(), size_px=MTF_SETTING["size_px"],
                              count=MTF_SETTING["count"], progress=progress)
        found[side] = {p: (r.mtf50_h_cyc_per_mm, r.mtf50_v_cyc_per_mm) for p, r in results.items()}
    bar.progress(1.0, text=f"done in {time.perf_counter() - start:.1f} s")
    store = st.session_state.setdefault("ab_mtf50", {})
    store[mtf_key(pair)] = found
    while len(store) > 8:
        store.pop(next(iter(store)))


def _format(value, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f} dB" if unit == "dB" else f"{value:.1f} {unit}" if unit else f"{value:.3f}"


def render(run: Run) -> None:
    pair = runs(run)
    if pair is None:
        st.info(NOTHING_PINNED)
        return
    a, b = pair["A"].design, pair["B"].design
    changes = compare.design_changes(a, b)
    st.markdown(f"**A** (pinned): {a.pitch_um:g} um, F/{a.f_number:g} &nbsp; vs &nbsp; **B** (the sliders): "
                f"{b.pitch_um:g} um, F/{b.f_number:g}")
    if changes:
        st.dataframe(changes, hide_index=True)
    else:
        st.caption("B equals A: change a setting in the sidebar to compare.")
    st.plotly_chart(figure(pair), key="fig_compare", config={"scrollZoom": True, "displaylogo": False})
    size = run.view.size_px
    if a.pitch_um != b.pitch_um:
        st.caption(f"Both are {size} x {size} px crops of the same scene, so at different pitches they cover "
                   f"different areas: A {size * a.pitch_um:.0f} um, B {size * b.pitch_um:.0f} um across.")

    table = rows(pair)
    cols = st.columns(len(PIPELINES))
    for col, pipeline in zip(cols, PIPELINES):
        with col:
            st.markdown(f"**{plots.PIPELINE_LABELS.get(pipeline, pipeline)}**, B vs A")
            for row in (r for r in table if r["pipeline"] == pipeline):
                higher = compare.HIGHER_IS_BETTER[row["metric"]]
                delta = None if row["B - A"] is None else f"{row['B - A']:+.3f} {row['unit']}".rstrip()
                st.metric(f"{row['metric']} B", _format(row["B"], row["unit"]), delta=delta,
                          delta_color="normal" if higher else "inverse",
                          help=f"A: {_format(row['A'], row['unit'])}")
    selections = [neural_selection(pair[k].design) for k in ("A", "B")]
    net_note = compare.neural_net_note(*(None if s is None else s["kind"] for s in selections))
    if net_note:
        st.warning(net_note)
    precision_note = PRECISION_NOTE[cache.neural_options(run.neural_version)["precision"]]
    if precision_note:
        st.caption(f"{precision_note} (Set by 'Neural ISP arithmetic' in the Images view.)")
    if st.button("Measure MTF50 of A and B", key="measure_ab", help=f"Quick gratings ({MTF_SETTING['size_px']} px "
                 f"window, {MTF_SETTING['count']} frequencies), H and V, both designs: several seconds."):
        measure(pair)
        table = rows(pair)
    if stored_mtf50(pair) is None:
        st.caption("MTF50 of A and B: press **Measure MTF50 of A and B** (results stay for this session).")
    st.dataframe(table, hide_index=True)

    stem = f"smallpix_AB_{a.pitch_um:g}um_F{a.f_number:g}_vs_{b.pitch_um:g}um_F{b.f_number:g}"
    stamp = f"A: {export.stamp(a)}<br>B: {export.stamp(b)}"
    png, csv = st.columns(2)
    png.download_button("Comparison figure (PNG)", data=lambda: export.figure_bytes(figure(pair), "png", stamp),
                        file_name=f"{stem}.png", mime="image/png", key="dl_ab_png", on_click="ignore")
    csv.download_button("Comparison table (CSV)", data=export.csv_bytes(table), file_name=f"{stem}.csv",
                        mime="text/csv", key="dl_ab_csv", on_click="ignore")

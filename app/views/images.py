"""Images view: ground truth and every pipeline side by side, linked zoom, metrics under each; the
Neural panel names the net that made it and can start a fine-tune for the design."""

from __future__ import annotations

import streamlit as st

from app import cache, plots
from app.compute import FAILED, Run
from app.state import ZOOMS
from engine.isp import PIPELINES

PANELS = ("ground_truth",) + PIPELINES
SINGLE_FRAME_PANEL = "neural_frame0"
"""The extra image panel of a burst the multi-frame net processes: the single-frame net on frame 0."""
LAYOUT_LABELS = {"1 x 4": "one row", "2 x 2": "two rows"}
"""The layout values (kept for links: ``app_layout=1x4|2x2``) and what the radio shows."""


def panel_messages(outputs: dict) -> dict[str, str]:
    """Short text for the panel of a pipeline that produced no image."""
    return {p: ("Neural ISP failed" if s.token == FAILED else "Not trained for this design") if s.value is None
            else "" for p, s in outputs.items()}


NEURAL_CHOICE_LABELS = {"auto": "auto (multi-frame net for bursts, else per-design net, else universal)",
                        "design": "per-design net only (single frame)", "burst": "multi-frame net only",
                        "universal": "universal net"}
NEURAL_PRECISION_LABELS = {"bf16": "bfloat16 body (fast preview)", "fp32": "float32 (reference)"}
PRECISION_NOTE = {"bf16": "The Neural ISP's residual blocks ran in bfloat16 (about 2x faster; measured within 0.0005 LPIPS and "
                          "0.004 dB PSNR of float32). The MTF view, the CLI and the tables use float32.",
                  "fp32": ""}


def frames_used(pipeline: str, frames: int, selection: dict | None) -> str:
    """Which frames of a ``frames``-frame burst a panel's pipeline used ('' for a single frame)."""
    if frames == 1:
        return ""
    if pipeline == "traditional" or (pipeline == "neural" and selection and selection["kind"] == "burst"):
        return f"all {frames} frames, aligned to frame 0 and fused"
    return "frame 0 only (single-frame)"


def neural_selection(design) -> dict | None:
    """The Neural ISP that serves ``design`` under the chosen net (engine registry), or None."""
    from engine.isp import PipelineUnavailable
    from engine.isp.neural import registry

    try:
        return registry.select(design, st.session_state.get("neural", "auto"))
    except PipelineUnavailable:
        return None


@st.fragment(run_every=2.0)
def finetune_panel(design) -> None:
    """'Train a Neural ISP for this design': a background job (engine.isp.neural.finetune, its own
    process) with step, loss and ETA, a cancel button; when it finishes, the app reruns and the
    registry serves the new per-design net."""
    from engine.isp.neural import finetune

    status = finetune.read_status(design)
    state = status["state"] if status else None
    if state == "running":
        st.progress(min(status["step"] / max(status["total"], 1), 1.0),
                    text=f"Fine-tuning: step {status['step']} / {status['total']}"
                         + (f", loss {status['loss']:.4f}" if status.get("loss") else "")
                         + (f", about {status['eta_s']:.0f} s left" if status.get("eta_s") else f" ({status['message']})"))
        st.button("Cancel fine-tuning", key="finetune_cancel", on_click=finetune.request_cancel, args=(design,))
        return
    if state == "done" and st.session_state.get("finetune_seen") != status["updated"]:
        st.session_state.finetune_seen = status["updated"]
        st.rerun(scope="app")
    label = "Resume fine-tuning" if state == "cancelled" else "Train a Neural ISP for this design"
    if st.button(label, key="finetune_start", help="Fine-tunes the universal net on this design for about "
                 f"{finetune.DEFAULT_STEPS} steps (a few minutes on 2 cores) in a background process; the weights go to "
                 f"{finetune.user_weights_dir()}, never into the repository."):
        finetune.start_job(design)
        st.rerun(scope="fragment")
    if state in ("cancelled", "failed"):
        st.caption(status["message"])


def render(run: Run) -> None:
    reference = run.reference_image()
    outputs = run.outputs()
    selection = neural_selection(run.design)
    images = {"ground_truth": reference, **{p: s.value for p, s in outputs.items()}}
    single_frame = run.single_frame_neural(selection)
    if single_frame is not None:
        images[SINGLE_FRAME_PANEL] = single_frame
    messages = panel_messages(outputs)
    zoom_col, x_col, y_col, layout_col, note_col = st.columns([1.1, 1, 1, 0.9, 1.8])
    zoom_col.select_slider("Magnifier", options=list(ZOOMS), key="zoom", format_func=lambda z: f"{z}x",
                           persist_state="page")
    x_col.slider("centre x", 0.0, 1.0, step=0.01, key="zx", persist_state="page")
    y_col.slider("centre y", 0.0, 1.0, step=0.01, key="zy", persist_state="page")
    layout_col.radio("Layout", list(LAYOUT_LABELS), key="layout", format_func=LAYOUT_LABELS.get, persist_state="page")
    note_col.caption("All panels share one view: drag to pan, scroll to zoom, double-click to reset; "
                     "the magnifier sets that shared view.")
    net_col, arithmetic_col = st.columns([2, 1])
    net_col.selectbox("Neural ISP net", list(NEURAL_CHOICE_LABELS), key="neural", format_func=NEURAL_CHOICE_LABELS.get,
                      persist_state="page",
                      help="auto: for a burst (or a frame noisier than the per-design net was trained for), the "
                           "multi-frame net trained for this exact lens, pitch and CFA where one exists; else the "
                           "single-frame net trained for this design; else the PSF-conditioned universal net.")
    arithmetic_col.selectbox("Neural ISP arithmetic", list(NEURAL_PRECISION_LABELS), key="neural_precision",
                             format_func=NEURAL_PRECISION_LABELS.get, persist_state="page",
                             help="bfloat16 runs the network's residual blocks in bfloat16 (float32 stream, head and "
                                  "tail): about 2x faster on CPUs with native bfloat16, within 0.0005 LPIPS of float32 "
                                  "(docs/design.md, 'Inference arithmetic'). Default: bfloat16 where this CPU has it "
                                  "natively, else float32.")
    view = run.view
    fig = plots.images_figure(images, messages, view.zoom, view.zoom_x, view.zoom_y, run.design.pitch_um,
                              grid=st.session_state.layout == "2 x 2")
    st.plotly_chart(fig, key="fig_images", config={"scrollZoom": True, "displaylogo": False})
    st.session_state.images_shown_seconds = cache.rerun_seconds()  # the crops are on the page; metrics follow
    cols = st.columns(len(PANELS))
    with cols[0]:
        st.markdown("**Ground truth**")
        st.caption("Aberration-free, noise-free: the scene box-filtered by each pixel, through the same "
                   "colour chain.")
    baseline = None
    for col, pipeline in zip(cols[1:], PIPELINES):
        with col:
            st.markdown(f"**{plots.PIPELINE_LABELS[pipeline]}**")
            if run.design.burst > 1:
                st.caption(f"Burst: {frames_used(pipeline, run.design.burst, selection)}.")
            stage = outputs[pipeline]
            if stage.value is None:
                if stage.token == FAILED:
                    st.warning(stage.message)
                else:
                    st.info(f"**Not trained for this design.** {stage.message}")
                continue
            metrics = run.metrics(pipeline)
            delta = None if baseline is None else f"{metrics['psnr_db'] - baseline:+.2f} dB vs demosaic"
            st.metric("PSNR", f"{metrics['psnr_db']:.2f} dB", delta=delta)
            baseline = metrics["psnr_db"] if baseline is None else baseline
            a, b = st.columns(2)
            a.metric("MS-SSIM", "n/a" if metrics["msssim"] is None else f"{metrics['msssim']:.3f}",
                     help="Needs at least 161 px per side." if metrics["msssim"] is None else "Higher is closer.")
            b.metric("LPIPS", f"{metrics['lpips']:.3f}", help="AlexNet LPIPS v0.1; lower is closer.")
            if pipeline == "neural":
                if selection is not None:
                    parts = (f"Made by the {selection['label']}.",
                             "One net serves every design, so it resolves less than a net trained for this one "
                             "(README, 'Universal Neural ISP'); training one below narrows the gap."
                             if selection["kind"] == "universal" else "",
                             PRECISION_NOTE[cache.neural_options(run.neural_version)["precision"]],
                             f"The last image panel, '{plots.PIPELINE_LABELS[SINGLE_FRAME_PANEL]}', is the single-frame "
                             "per-design net on the reference frame alone." if single_frame is not None else "")
                    st.caption(" ".join(p for p in parts if p))
                    if selection["warning"]:
                        st.warning(selection["warning"])
                    if selection["kind"] == "universal":
                        finetune_panel(run.design)
    placement = run.placement()
    size = run.view.size_px
    extent = size * run.design.pitch_um
    text = f"{size} x {size} px crop = {extent:.0f} x {extent:.0f} um on the sensor."
    if placement is not None:
        text += (f" Photo at {placement.source_pixel_um:.3f} um per source pixel "
                 f"({placement.photo_um[0]:.0f} x {placement.photo_um[1]:.0f} um)")
        text += ", enlarged to cover the view." if placement.enlarged else "."
    st.caption(text + " Metrics compare display sRGB against the ground truth.")

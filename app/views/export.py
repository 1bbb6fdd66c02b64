"""Export view: download any figure (PNG, SVG), the image crops (PNG), curves (CSV), or one ZIP.

Downloads are built when clicked (deferred callables), so opening this tab stays fast; figures go
through kaleido and the system chromium (a few seconds each, one batch for the ZIP).
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from app import export, plots, state
from app.compute import Run
from engine.devices import load_devices
from app.views import compare as compare_view
from app.views import devices as devices_view
from app.views import images as images_view
from app.views import mtf as mtf_view
from app.views import sweep as sweep_view
from engine import dng
from engine.design import presets


def collect(run: Run) -> tuple[dict, dict, dict]:
    """(figures, images, tables) for the current state; MTF and sweep only where measured."""
    design = run.design
    psfs = run.psfs()
    phase = int(st.session_state.phase) if design.ocl.enabled else 0
    lens_mtf, lens_rows = plots.lens_mtf_figure(psfs, design, phase)
    capture = run.capture()
    devices = load_devices()
    figures = {
        "lens_wavefront": plots.wavefront_figure(design, phase),
        "lens_psf_channels": plots.psf_channels_figure(psfs, design, phase),
        "lens_psf_ocl_phases": plots.psf_phases_figure(psfs, design),
        "lens_mtf": lens_mtf,
        "sensor_cfa": plots.cfa_figure(capture.cfa, capture.phase, design.pitch_um, design.cfa),
        "sensor_raw": plots.raw_figure(capture, design.pitch_um),
        "sensor_noise_sigma": plots.noise_figure(capture, design.pitch_um),
        "devices_timeline": plots.devices_timeline_figure(devices),
        "devices_design_plane": plots.design_plane_figure(devices, presets(), design, design.f_number_ref),
    }
    outputs = run.outputs()
    images = {"ground_truth": run.reference_image(), **{p: s.value for p, s in outputs.items()},
              "raw_false_colour": plots.raw_false_colour(capture)}
    figures["images_side_by_side"] = plots.images_figure(
        {"ground_truth": images["ground_truth"], **{p: s.value for p, s in outputs.items()}},
        images_view.panel_messages(outputs), 1, 0.5, 0.5, design.pitch_um)
    selection = images_view.neural_selection(design)
    metrics_rows = export.image_metrics_rows(outputs, run.metrics, selection and selection["label"])
    tables = {"lens_mtf": lens_rows, "image_metrics": metrics_rows,
              "devices": [dataclasses.asdict(d) for d in devices]}
    results = mtf_view.stored_results(run)
    if results:
        figures["pipeline_mtf"] = plots.pipeline_mtf_figure(results, design, mtf_view.paper_row(design))
        tables["pipeline_mtf"] = plots.mtf_rows(results)
    sweep = sweep_view.stored_sweep(run)
    if sweep:
        rows, current = sweep
        figures["mtf50_sweep"] = plots.sweep_figure(rows, run.measurable_pipelines(), current, devices,
                                                    devices_view.measured_phones(run))
        tables["mtf50_sweep"] = rows + ([{**current, "note": "current design"}] if current else [])
    table6 = devices_view.measured_rows(run)
    if table6:
        from engine import study_devices

        figures["table6_phones_mtf50"] = study_devices.table6_figure(table6)
        tables["table6_phones_mtf50"] = [r for r in table6 if r["kind"] == "phone"]
    figures.update(sweep_view.store_figures())
    pair = compare_view.runs(run)
    if pair is not None:
        figures["ab_compare"] = compare_view.figure(pair)
        tables["ab_compare"] = compare_view.rows(pair)
    return figures, images, tables


def render(run: Run) -> None:
    figures, images, tables = collect(run)
    query = state.query_from_state(run.design, run.view)
    link = state.link(st.context.url or "http://localhost:8501/", query)
    stem = f"smallpix_{run.design.pitch_um:g}um_F{run.design.f_number:g}"
    stamp = export.stamp(run.design)

    st.markdown("#### Everything in one ZIP")
    st.download_button(
        "Download ZIP (figures PNG + SVG, images, CSV, design.json)",
        data=lambda: export.zip_bytes(design=run.design.to_dict(), link=link, view=dataclasses.asdict(run.view),
                                      figures=figures, images=images, tables=tables,
                                      stamp_text=stamp),
        file_name=f"{stem}.zip", mime="application/zip", key="dl_zip", on_click="ignore", type="primary")
    st.caption(f"{len(figures)} figures, {sum(v is not None for v in images.values())} images, "
               f"{sum(bool(v) for v in tables.values())} tables. MTF and sweep are included once measured, the A/B "
               f"comparison once A is pinned. Each figure is stamped: {stamp}")

    st.markdown("#### Figures")
    for name, fig in figures.items():
        label, png, svg = st.columns([3, 1, 1])
        label.write(name.replace("_", " "))
        png.download_button("PNG", data=lambda fig=fig: export.figure_bytes(fig, "png", stamp), file_name=f"{stem}_{name}.png",
                            mime="image/png", key=f"dl_png_{name}", on_click="ignore")
        svg.download_button("SVG", data=lambda fig=fig: export.figure_bytes(fig, "svg", stamp), file_name=f"{stem}_{name}.svg",
                            mime="image/svg+xml", key=f"dl_svg_{name}", on_click="ignore")

    st.markdown("#### Image crops (8-bit sRGB PNG, full crop)")
    cols = st.columns(len(images))
    for col, (name, image) in zip(cols, images.items()):
        if image is None:
            col.caption(f"{name}: not available")
            continue
        col.download_button(name.replace("_", " "), data=lambda image=image: plots.png_bytes(image),
                            file_name=f"{stem}_{name}.png", mime="image/png", key=f"dl_img_{name}", on_click="ignore")

    st.markdown("#### RAW")
    st.download_button("RAW mosaic (DNG: 16-bit CFA, opens in RAW tools)", data=lambda: dng.dng_bytes(run.capture()),
                       file_name=f"{stem}.dng", mime="image/x-adobe-dng", key="dl_dng", on_click="ignore")

    st.markdown("#### Curves and tables (CSV)")
    cols = st.columns(max(len(tables), 1))
    for col, (name, rows) in zip(cols, tables.items()):
        col.download_button(name.replace("_", " "), data=lambda rows=rows: export.csv_bytes(rows),
                            file_name=f"{stem}_{name}.csv", mime="text/csv", key=f"dl_csv_{name}",
                            on_click="ignore", disabled=not rows)
    st.markdown("#### Design")
    st.download_button("design.json", data=lambda: export.design_json_bytes(run.design.to_dict(), link),
                       file_name=f"{stem}_design.json", mime="application/json", key="dl_design", on_click="ignore")
    st.json(run.design.to_dict(), expanded=False)

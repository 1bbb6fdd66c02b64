"""The Streamlit explorer (streamlit.testing AppTest) and its pure helpers.

Every AppTest runs on a 128 x 128 px crop (``app_size=128`` in the URL) to stay fast; the
stage tokens the app keeps in ``st.session_state.stage_tokens`` (a fresh token each time a
cached stage is computed, the same one on a cache hit) tell what a control change recomputed.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from app import cache, compute, export, plots, plots_devices, plots_lens, state
from engine.devices import load_devices
from app.upload import UploadError, prepare_upload
from engine import scenes, simulate
from engine.design import DEFAULT_PRESET, DesignPoint, OCLOffsets, preset, presets, to_query

APP = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
SMALL = {"app_size": "128"}


TIMEOUT_S = 600
"""Per script run: a few seconds idle, but a 2-core machine shared with training runs has been
measured 30-50x slower (docs/app.md, Several sessions)."""


def start(query: dict | None = None, tab: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    for key, value in {**SMALL, **(query or {})}.items():
        app.query_params[key] = value
    if tab:
        app.query_params["app_tab"] = tab
    app.run()
    assert_clean(app)
    return app


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def tokens(app: AppTest) -> dict[str, str]:
    return dict(app.session_state["stage_tokens"])


def qp(app: AppTest, key: str) -> str:
    """A URL query value as the app left it (AppTest may hold a list for repeated keys)."""
    value = app.query_params[key]
    return value if isinstance(value, str) else value[-1]


def metric(app: AppTest, label: str) -> list[str]:
    return [m.value for m in app.metric if m.label == label]


# --- the app ---------------------------------------------------------------------------------


def test_starts_on_the_default_preset_with_images_and_neural_message():
    app = start()
    assert app.sidebar.selectbox(key="preset").value == DEFAULT_PRESET
    assert app.sidebar.slider(key="pitch").value == pytest.approx(0.35)
    assert app.sidebar.slider(key="fnum").value == pytest.approx(1.66)
    assert [t.label for t in app.tabs] == list(state.TABS)
    assert app.session_state["tab"] == "Images"
    psnr = metric(app, "PSNR")
    assert len(psnr) == 4  # demosaic, traditional, deconv, neural (the preset's own net)
    assert all(value.endswith(" dB") for value in psnr)
    assert any("Made by the per-design net 0.35" in c.value for c in app.caption)
    assert metric(app, "MS-SSIM")[0] == "n/a"  # 128 px < 161 px
    assert qp(app, "pitch") == "0.35" and qp(app, "app_tab") == "Images"
    assert {"PSF", "scene", "sensor OTF", "RAW", "demosaic", "traditional"} <= set(tokens(app))


def test_a_low_light_burst_gets_the_multi_frame_net_and_each_panel_says_which_frames_it_used():
    burst = preset(DEFAULT_PRESET).replace(snr_db=15.0, burst=4)
    app = start(to_query(burst))
    assert len(metric(app, "PSNR")) == 4
    made_by = next(c.value for c in app.caption if c.value.startswith("Made by the multi-frame net 0.35"))
    assert "4 frames" in made_by and "Neural ISP, frame 0 only" in made_by  # the single-frame crop beside it
    figure = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert [a["text"] for a in figure["layout"]["annotations"]][-1] == "Neural ISP, frame 0 only"
    assert len(figure["data"]) == 6
    notes = [c.value for c in app.caption if c.value.startswith("Burst:")]
    assert notes.count("Burst: all 4 frames, aligned to frame 0 and fused.") == 2  # traditional, neural
    assert notes.count("Burst: frame 0 only (single-frame).") == 2  # demosaic, deconv
    assert not app.warning


def test_off_preset_design_gets_the_universal_net_with_its_label():
    """Any slider position shows a Neural crop: off the trained designs the universal net makes it, and
    the panel says so (and warns, naming the parameter, outside its training range)."""
    off = preset(DEFAULT_PRESET).replace(pitch_um=0.41, f_number=2.3, cfa="quad")
    app = start(to_query(off))
    assert len(metric(app, "PSNR")) == 4
    assert any("Made by the universal net" in c.value and "0.3-1.3 um" in c.value for c in app.caption)
    assert not app.warning
    far = off.replace(pitch_um=1.6, f_number=4.0)
    app = start(to_query(far))
    assert any("pitch_um 1.6 um (trained 0.3-1.3 um)" in w.value for w in app.warning)
    app.selectbox(key="neural").set_value("design").run()
    assert any("not trained for this design" in i.value.lower() for i in app.info)


def test_neural_arithmetic_is_a_choice_the_neural_panel_names():
    """The Images view's Neural ISP arithmetic starts at the machine's fast one, is named in the Neural
    panel, survives a visit to another view, and switching it recomputes the Neural crop only, within
    the measured bf16 tolerance."""
    app = start()
    assert app.session_state["neural_precision"] == cache.fast_precision()
    app.selectbox(key="neural_precision").set_value("bf16").run()
    assert_clean(app)
    bf16_tokens, bf16_lpips = tokens(app), [float(v) for v in metric(app, "LPIPS")]
    assert any("residual blocks ran in bfloat16" in c.value for c in app.caption)
    app.selectbox(key="neural_precision").set_value("fp32").run()
    assert_clean(app)
    assert not any("residual blocks ran in bfloat16" in c.value for c in app.caption)
    changed = {name for name, token in tokens(app).items() if bf16_tokens.get(name) != token}
    assert changed == {"neural", "metrics"}, changed
    fp32_lpips = [float(v) for v in metric(app, "LPIPS")]
    assert fp32_lpips[:3] == bf16_lpips[:3]  # demosaic, traditional, deconv: untouched
    assert abs(fp32_lpips[3] - bf16_lpips[3]) <= 0.002
    app.session_state["tab"] = "Lens"
    app.run()
    app.session_state["tab"] = "Images"
    app.run()
    assert_clean(app)
    assert app.session_state["neural_precision"] == "fp32"  # kept while the Images view was closed


@pytest.mark.parametrize("tab", [t for t in state.TABS if t != "Images"])
def test_each_tab_renders(tab):
    app = start(tab=tab)
    charts = app.get("plotly_chart")
    if tab == "Lens":
        assert len(charts) == 4 and metric(app, "Wavefront RMS")
    elif tab == "Sensor":
        assert len(charts) == 4 and metric(app, "SNR at white") == ["35.0 dB"]
    elif tab in ("MTF", "Sweep"):
        assert app.button(key="measure_mtf" if tab == "MTF" else "run_sweep")
    elif tab == "Devices":
        assert len(charts) == 2
    elif tab == "Export":
        buttons = app.get("download_button")
        assert len(buttons) > 10


def test_snr_redraws_the_noise_but_not_psf_scene_otf_or_clean_raw():
    app = start()
    before, psnr_before = tokens(app), metric(app, "PSNR")
    app.sidebar.slider(key="snr").set_value(20.0).run()
    assert_clean(app)
    after = tokens(app)
    for name in ("PSF", "scene", "sensor OTF", "clean RAW", "ground truth"):
        assert after[name] == before[name], name
    for name in ("RAW", "demosaic", "traditional"):
        assert after[name] != before[name], name
    assert metric(app, "PSNR") != psnr_before
    assert qp(app, "snr") == "20"


def test_zernike_recomputes_optics_but_not_the_scene_and_changes_the_lens_readouts():
    app = start(tab="Lens")
    rms, lens_tokens = metric(app, "Wavefront RMS"), tokens(app)
    app.sidebar.slider(key="z11").set_value(0.2).run()
    assert_clean(app)
    assert metric(app, "Wavefront RMS") != rms
    assert tokens(app)["PSF"] != lens_tokens["PSF"]
    assert tokens(app)["diffraction PSF"] == lens_tokens["diffraction PSF"]  # keyed without the lens
    app.session_state["tab"] = "Images"
    app.run()
    before = tokens(app)
    app.sidebar.slider(key="z11").set_value(0.1).run()
    assert_clean(app)
    after = tokens(app)
    assert after["scene"] == before["scene"] and after["scene spectrum"] == before["scene spectrum"]
    assert after["PSF"] != before["PSF"] and after["sensor OTF"] != before["sensor OTF"] and after["RAW"] != before["RAW"]
    assert after["clean RAW"] != before["clean RAW"]
    assert "Z11=0.1," in qp(app, "z")


def test_f_number_and_pitch_recompute_what_they_should():
    """F# reuses the scene while the PSF window (optics.psf_window_px) stays; a window grown for a
    slower lens renders a wider scene margin; pitch re-renders the scene."""
    app = start()
    base = tokens(app)
    app.sidebar.toggle(key="lock").set_value(False).run()
    app.sidebar.slider(key="fnum").set_value(1.5).run()
    assert_clean(app)
    after_f = tokens(app)
    assert after_f["scene"] == base["scene"] and after_f["PSF"] != base["PSF"]
    app.sidebar.slider(key="fnum").set_value(2.5).run()  # 32 -> 48 px window at 0.35 um
    assert_clean(app)
    assert tokens(app)["scene"] != after_f["scene"]
    app.sidebar.slider(key="fnum").set_value(1.5).run()
    app.sidebar.toggle(key="lock").set_value(True).run()
    app.sidebar.slider(key="pitch").set_value(0.5).run()
    assert_clean(app)
    after_p = tokens(app)
    # the lock keeps F# / pitch (1.5 / 0.35) and the scene is re-rendered at the new pitch
    assert app.sidebar.slider(key="fnum").value == pytest.approx(round(1.5 / 0.35 * 0.5, 3), abs=1e-3)
    assert after_p["scene"] != after_f["scene"] and after_p["PSF"] != after_f["PSF"]


def test_a_fast_lens_on_big_pixels_gets_a_finer_psf_sampling_and_says_so():
    app = start(tab="Lens")
    app.sidebar.toggle(key="lock").set_value(False).run()
    app.sidebar.slider(key="pitch").set_value(1.0).run()
    app.sidebar.slider(key="fnum").set_value(1.5).run()
    assert_clean(app)
    assert any("PSF sampling raised to 4 samples per pixel" in c.value for c in app.sidebar.caption)
    assert qp(app, "os") == "4" and app.sidebar.number_input(key="os").value == 2


def test_url_state_round_trips():
    design = preset("0.55").replace(zernike=((4, 0.05), (11, -0.1), (14, 0.02)), cfa="bayer", snr_db=20.0, burst=2)
    view = state.ViewState(preset="0.55", lock=False, scene="siemens_star", size_px=128, tab="Sensor")
    query = state.query_from_state(design, view)
    app = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert_clean(app)
    sidebar = app.sidebar
    assert sidebar.slider(key="pitch").value == pytest.approx(0.55)
    assert sidebar.slider(key="z4").value == pytest.approx(0.05)
    assert sidebar.slider(key="z11").value == pytest.approx(-0.1)
    assert sidebar.text_input(key="z_extra").value == "Z14=0.02"
    assert sidebar.radio(key="cfa").value == "bayer"
    assert sidebar.selectbox(key="scene").value == "siemens_star"
    assert app.session_state["tab"] == "Sensor"
    assert metric(app, "Frames") == ["2"]
    assert {k: qp(app, k) for k in app.query_params} == query
    sidebar.radio(key="cfa").set_value("quad").run()
    assert qp(app, "cfa") == "quad"
    code = [c.value for c in app.sidebar.code]
    assert any("cfa=quad" in c and "pitch=0.55" in c for c in code)


def test_preset_sets_the_optics_and_keeps_the_sensor():
    app = start()
    app.sidebar.slider(key="snr").set_value(15.0).run()
    app.sidebar.selectbox(key="preset").set_value("0.75").run()
    assert_clean(app)
    assert app.sidebar.slider(key="pitch").value == pytest.approx(0.75)
    assert app.sidebar.slider(key="fnum").value == pytest.approx(3.55)
    assert app.sidebar.slider(key="snr").value == pytest.approx(15.0)


def test_impossible_f_number_is_explained_not_raised():
    app = start()
    app.sidebar.toggle(key="lock").set_value(False).run()
    app.sidebar.slider(key="fnum").set_value(1.2).run()
    assert not app.exception
    assert any("reference pupil" in e.value for e in app.error)


def test_bad_link_values_warn_and_fall_back():
    app = AppTest.from_file(APP, default_timeout=120)
    for key, value in {"app_size": "999", "pitch": "abc", "app_tab": "Nope"}.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "app_size" in warnings and "pitch_um" in warnings and "app_tab" in warnings


def test_upload_flow_accepts_an_image_and_refuses_a_non_image():
    app = start({"app_scene": "upload"})
    assert any("Upload an image" in i.value for i in app.info)
    uploader = app.sidebar.get("file_uploader")[0]
    uploader.upload("notes.png", b"this is not an image", "image/png").run()
    assert not app.exception
    assert any("not an image" in e.value for e in app.error)
    buffer = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((200, 240, 4)) * 255).astype(np.uint8), "RGBA").save(buffer, "PNG")
    app.sidebar.get("file_uploader")[0].set_value(("rgba.png", buffer.getvalue(), "image/png")).run()
    assert_clean(app)
    assert any("transparency" in i.value for i in app.info)
    assert metric(app, "PSNR")


def test_sessions_do_not_share_state():
    one, two = start(), start()
    one.sidebar.slider(key="snr").set_value(10.0).run()
    two.run()
    assert two.sidebar.slider(key="snr").value == pytest.approx(35.0)
    assert qp(two, "snr") == "35"


def test_mtf_on_demand_with_progress():
    app = start(tab="MTF")
    app.radio(key="mtf_setting").set_value("quick").run()
    app.button(key="measure_mtf").click().run()
    assert_clean(app)
    assert len(app.get("plotly_chart")) == 1
    table = app.dataframe[0].value
    assert {"MTF50 H (cyc/mm)", "MTF50 V (cyc/mm)", "paper H"} <= set(table.columns)
    assert (table["MTF50 H (cyc/mm)"] > 50).all()
    assert any("Neural ISP: the per-design net" in c.value for c in app.caption)


def _neural_grating_mtf50(app: AppTest) -> float:
    table = app.dataframe[0].value
    row = table[(table["pipeline"] == "Neural ISP") & (table["instrument"].str.contains("grating"))]
    return float(row["MTF50 H (cyc/mm)"].iloc[0])


def test_mtf_measures_with_the_net_chosen_in_the_images_view():
    """The MTF view measures the Neural ISP the user chose ('Neural ISP net'), says which, and keeps
    each net's results apart."""
    app = start(tab="MTF")
    app.radio(key="mtf_setting").set_value("quick").run()
    app.button(key="measure_mtf").click().run()
    per_design = _neural_grating_mtf50(app)
    app.session_state["neural"] = "universal"
    app.run()
    assert_clean(app)
    assert any("Neural ISP: the universal net" in c.value for c in app.caption)
    assert any("Press **Measure MTF**" in i.value for i in app.info)  # the per-design net's result is not shown
    app.button(key="measure_mtf").click().run()
    assert_clean(app)
    assert _neural_grating_mtf50(app) != per_design


def test_a_sweep_with_a_net_missing_at_some_pitch_says_so():
    app = start(tab="Sweep")
    app.session_state["neural"] = "burst"  # multi-frame nets exist at the 0.35 um preset only
    app.run()
    app.button(key="run_sweep").click().run()
    assert_clean(app)
    assert any("The sweep needs the chosen net (burst)" in w.value for w in app.warning)


# --- pure helpers ----------------------------------------------------------------------------


def test_query_round_trip_and_zernike_split():
    design = preset("0.45").replace(zernike=((4, 1.5), (5, 0.01), (30, -0.2)), ocl=OCLOffsets(False, 0.0, 0.0))
    view = state.ViewState(scene="text", crop_x=0.25, seed=7, zoom=4, phase=3)
    back_design, back_view, warnings = state.state_from_query(state.query_from_state(design, view))
    assert (back_design, back_view, warnings) == (design, view, [])
    sliders, extra = state.split_zernike(design.zernike)
    assert sliders[4] == 0.0 and dict(extra) == {4: 1.5, 30: -0.2}
    assert state.merge_zernike(sliders, extra) == design.zernike
    assert state.locked_f_number(1.66 / 0.35, 0.35) == 1.66


def test_a_link_key_that_is_no_setting_is_named_not_dropped_silently():
    query = {**state.query_from_state(preset("0.55"), state.ViewState()), "pich": "0.4", "embed": "true"}
    design, _, warnings = state.state_from_query(query)
    assert design == preset("0.55")
    assert warnings == ["link parameter pich is not a smallpix setting, so it was ignored (a typo?)"]


def test_cached_capture_equals_the_engine_capture():
    design = preset("0.55").replace(snr_db=25.0)
    run = compute.Run(design, state.ViewState(scene="siemens_star", size_px=64, seed=3))
    capture = run.capture()
    expected = simulate.capture_scene(design, "siemens_star", 64, seed=3)
    np.testing.assert_allclose(capture.raw, expected.raw, rtol=0, atol=1e-6)
    np.testing.assert_allclose(capture.ground_truth, expected.ground_truth, rtol=0, atol=1e-6)
    assert cache.optics_key(design) == cache.optics_key(design.replace(snr_db=5.0, cfa="bayer", burst=3))
    assert cache.optics_key(design) != cache.optics_key(design.replace(f_number=3.0))


def test_photo_placement_covers_the_view():
    inside = compute.place_photo(1200, 1600, 100.0, 0.0, 1.0)
    assert inside.source_pixel_um == pytest.approx(0.35) and not inside.enlarged
    assert inside.offset_um[0] == pytest.approx(-(1600 * 0.35 - 100) / 2, abs=1e-3)
    big = compute.place_photo(1200, 1600, 700.0, 0.5, 0.5)
    assert big.enlarged and 1200 * big.source_pixel_um >= 700.0 and big.offset_um == (0.0, 0.0)


def _png(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def test_upload_rules(tmp_path):
    rgb = Image.fromarray((np.random.default_rng(1).random((80, 90, 3)) * 255).astype(np.uint8))
    ok = prepare_upload("a.png", _png(rgb), folder=tmp_path)
    assert ok.path.is_file() and (ok.width, ok.height) == (90, 80) and not ok.notes
    cmyk = prepare_upload("c.jpg", _png(rgb.convert("CMYK"), "JPEG"), folder=tmp_path)
    assert any("CMYK" in n for n in cmyk.notes) and Image.open(cmyk.path).mode == "RGB"
    grey16 = Image.fromarray((np.random.default_rng(2).random((70, 70)) * 65535).astype(np.uint16))
    assert Image.open(prepare_upload("g.png", _png(grey16), folder=tmp_path).path).mode.startswith("I;16")
    with pytest.raises(UploadError, match="not an image"):
        prepare_upload("x.png", b"\x89PNG not really", folder=tmp_path)
    with pytest.raises(UploadError, match="cap is 0.001 MB"):
        prepare_upload("a.png", _png(rgb), folder=tmp_path, max_mb=0.001)
    with pytest.raises(UploadError, match="megapixels"):
        prepare_upload("a.png", _png(rgb), folder=tmp_path, max_megapixels=0.001)
    with pytest.raises(UploadError, match="at least 64"):
        prepare_upload("s.png", _png(rgb.resize((40, 30))), folder=tmp_path)
    with pytest.raises(UploadError, match="floating-point"):
        prepare_upload("f.tif", _png(Image.fromarray(np.ones((70, 70), np.float32)), "TIFF"), folder=tmp_path)


def test_device_labels_neither_collide_nor_leave_the_axes():
    devices = load_devices()
    for fig in (plots_devices.devices_timeline_figure(devices),
                plots_devices.design_plane_figure(devices, presets(), preset(DEFAULT_PRESET), 1.4)):
        labelled = [t for t in fig.data if t.text is not None]
        assert labelled and all(t.cliponaxis is False for t in labelled)
        assert "iPhone 7 Plus" in "".join(labelled[0].text)
    xs, ys = [d.pitch_um for d in devices], [d.f_number for d in devices]
    labels = plots_devices.place_labels(xs, ys, [d.device for d in devices], plots_devices.PLANE_X_RANGE,
                                        plots_devices.PLANE_Y_RANGE, plots_devices.PLANE_PLOT_PX,
                                        ("middle right", "middle left", "top center", "bottom center"))
    boxes = [b for b in labels.boxes if b is not None]
    assert len(boxes) == len(set(zip(xs, ys)))  # coincident phones share one label
    assert all(b.inside(plots_devices.PLANE_X_RANGE, plots_devices.PLANE_Y_RANGE) for b in boxes)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert "Xiaomi 15 Ultra<br>Honor Magic8 Pro" in labels.text


def test_wavefront_title_lines_are_short_enough_for_its_column():
    fig = plots_lens.wavefront_figure(preset(DEFAULT_PRESET), 2)
    lines = fig.layout.title.text.replace("<sup>", "").replace("</sup>", "").split("<br>")
    assert len(lines) == 2 and max(len(line) for line in lines) <= 48, lines


def test_fit_to_crop_scales_the_photo_to_just_cover_the_view():
    fitted = compute.place_photo(1200, 1600, 100.0, 0.5, 0.5, fit=True)
    # just covers: the engine's covering rule (scenes.covering_pixel_um), COVER_SLACK beyond the view
    assert 1200 * fitted.source_pixel_um == pytest.approx(100.0 * scenes.COVER_SLACK, rel=2e-3)
    assert fitted.source_pixel_um < 0.35
    assert fitted.offset_um == (0.0, 0.0)


def test_devices_csv_matches_table6():
    devices = load_devices()
    table = json.loads((Path(__file__).resolve().parents[1] / "assets" / "paper_tables.json").read_text())
    rows = table["table6_telephoto_devices"]["rows"]
    assert [d.device for d in devices] == [r[0] for r in rows]
    assert [d.pitch_um for d in devices] == [r[5] for r in rows]


def test_export_zip_has_design_images_csv_and_rendered_figures():
    design = preset(DEFAULT_PRESET)
    figures = {"design_plane": plots_devices.design_plane_figure(load_devices(), presets(), design, 1.4)}
    images = {"ground_truth": np.zeros((16, 16, 3), np.float32), "neural": None}
    link = state.link("http://localhost:8501/", to_query(design))
    stamp = export.stamp(design)
    data = export.zip_bytes(design=design.to_dict(), link=link, view={}, figures=figures, images=images,
                            tables={"t": [{"a": 1, "b": 2}]}, stamp_text=stamp)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"design.json", "figures/design_plane.png", "figures/design_plane.svg", "figures/design_plane.json",
            "images/ground_truth.png", "data/t.csv"} <= names
    svg = zipfile.ZipFile(io.BytesIO(data)).read("figures/design_plane.svg").decode()
    assert stamp.startswith("smallpix") and design.design_hash() in stamp and design.design_hash() in svg
    assert DesignPoint.from_dict(json.loads(zipfile.ZipFile(io.BytesIO(data)).read("design.json"))["design"]) == design


def test_a_failing_neural_isp_leaves_the_other_panels(monkeypatch):
    def broken(capture_json, pipeline, neural_version):
        raise RuntimeError("corrupt weights")

    monkeypatch.setattr(cache, "pipeline_stage", broken)
    run = compute.Run(preset(DEFAULT_PRESET), state.ViewState(size_px=64))
    stage = run.output("neural")
    assert stage.value is None and stage.token == compute.FAILED and "corrupt weights" in stage.message
    with pytest.raises(RuntimeError):
        run.output("traditional")


def test_devices_view_offers_each_phones_mtf50_on_demand():
    app = start(tab="Devices")
    assert any(b.label.startswith("Measure every phone") for b in app.button)
    assert any("no phone sits on a trained design" in c.value for c in app.caption)


def test_sweep_figure_places_each_measured_phone_with_its_hover():
    rows = [{"pitch_um": 0.35, "h_traditional": 240.0, "v_traditional": 230.0},
            {"pitch_um": 0.75, "h_traditional": 150.0, "v_traditional": 145.0}]
    phones = [{"kind": "phone", "name": "Phone A", "year": 2024, "pitch_um": 0.6, "f_number": 2.8,
               "h_traditional": 180.0, "v_traditional": 170.0, "neural_net": "universal"}]
    fig = plots.sweep_figure(rows, ("traditional",), None, [], phones)
    traces = {t.name: t for t in fig.data}
    h, v = traces["phones Traditional ISP H"], traces["phones Traditional ISP V"]
    assert list(h.x) == [0.6] and list(h.y) == [180.0] and list(v.y) == [170.0]
    assert "Phone A" in h.hovertext[0] and "F/2.8" in h.hovertext[0]
    assert not any(name.startswith("phones") for name in (t.name for t in plots.sweep_figure(rows, ("traditional",), None, []).data))


def test_two_row_layout_places_all_five_panels():
    images = {name: np.full((16, 16, 3), 0.5) for name in ("ground_truth", "demosaic", "traditional", "deconv", "neural")}
    one_row = plots.images_figure(images, {}, 1, 0.5, 0.5, 0.35)
    two_rows = plots.images_figure(images, {}, 1, 0.5, 0.5, 0.35, grid=True)
    assert len(one_row.data) == len(two_rows.data) == 5
    tops = {round(two_rows.layout[f"yaxis{'' if i == 0 else i + 1}"].domain[1], 3) for i in range(5)}
    assert len(tops) == 2  # two rows of panels
    assert len({round(one_row.layout[f"yaxis{'' if i == 0 else i + 1}"].domain[1], 3) for i in range(5)}) == 1


def test_png_encoder_is_lossless_for_any_size_and_rounds_floats():
    rng = np.random.default_rng(5)
    for h, w in ((1, 1), (3, 7), (64, 48)):
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        decoded = np.asarray(Image.open(io.BytesIO(plots.png_bytes(image))).convert("RGB"))
        np.testing.assert_array_equal(decoded, image)
    floats = np.array([[[0.0, 0.5 / 255, 1.2], [-0.3, 0.25, 1.0]]], dtype=np.float32)
    decoded = np.asarray(Image.open(io.BytesIO(plots.png_bytes(floats))))
    np.testing.assert_array_equal(decoded, [[[0, 0, 255], [0, 64, 255]]])
    with pytest.raises(ValueError, match="H, W, 3"):
        plots.png_bytes(np.zeros((4, 4), dtype=np.uint8))

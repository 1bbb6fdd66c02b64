"""A session survives any walk through valid and invalid settings (issue #13).

Each walk drives one AppTest session (128 px crops) through impossible designs and back, and after
every step asserts that nothing raised, that the tabs are all there and, on a valid design, that the
open view rendered again. The A/B comparison is walked from a shared link.
"""

from __future__ import annotations

import io
import threading
from urllib.parse import parse_qsl

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime import Runtime
from streamlit.testing.v1 import AppTest, app_test

from app import cache, compare, state
from engine.design import DesignPoint, OVERSAMPLE_RANGE, PITCH_RANGE_UM, SNR_RANGE_DB, preset, presets

from test_app import APP, TIMEOUT_S, metric, qp, start


def step(app: AppTest, error: str | None = None) -> AppTest:
    """Run, then check: no exception, every tab drawn, and either the given error or none."""
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert [t.label for t in app.tabs] == list(state.TABS)
    errors = [e.value for e in app.error]
    if error is None:
        assert not errors, errors
    else:
        assert any(error in e for e in errors), (error, errors)
    return app


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_impossible_f_number_then_back_keeps_the_session():
    app = start()
    app.sidebar.toggle(key="lock").set_value(False)
    step(app)
    app.sidebar.slider(key="fnum").set_value(1.0)
    step(app, "reference pupil")
    assert app.session_state["tab"] == "Images"
    app.sidebar.slider(key="fnum").set_value(1.8)
    step(app)
    assert metric(app, "PSNR") and qp(app, "fnum") == "1.8"
    app.sidebar.slider(key="fnum").set_value(1.2)  # a second impossible value, then a tab switch while impossible
    step(app, "reference pupil")
    app.session_state["tab"] = "Lens"
    step(app, "reference pupil")
    app.sidebar.number_input(key="fnum_typed").set_value(2.5)  # typed F# brings it back
    step(app)
    assert app.session_state["tab"] == "Lens" and metric(app, "Wavefront RMS")
    assert app.sidebar.slider(key="fnum").value == pytest.approx(2.5)


def test_bad_zernike_text_then_cleared_keeps_the_session():
    app = start(tab="Lens")
    for text, error in (("Z4=abc", "zernike"), ("Z99=0.1", "Noll indices in [1, 37]"), ("Z14=5", "zernike Z14"),
                        ("Z14=0.01,Z14=0.02", "zernike")):
        app.sidebar.text_input(key="z_extra").set_value(text)
        step(app, error)
    app.sidebar.text_input(key="z_extra").set_value("")
    step(app)
    assert metric(app, "Wavefront RMS")
    app.sidebar.text_input(key="z_extra").set_value("Z14=0.02")
    step(app)
    assert qp(app, "z").endswith("Z14=0.02") or "Z14=0.02" in qp(app, "z")


def test_oversample_is_capped_at_what_the_engine_accepts():
    app = start(tab="Devices")  # the Devices view computes no images: the walk stays fast
    os_box = app.sidebar.number_input(key="os")
    assert os_box.proto.max == OVERSAMPLE_RANGE[1]  # 128 px: (128 + 32) x 16 = 2560 samples fit
    os_box.set_value(16)
    step(app)
    app.sidebar.select_slider(key="size").set_value(512)
    step(app)
    cap = state.max_oversample(preset("0.35"), 512)
    assert cap == 7 and app.sidebar.number_input(key="os").proto.max == cap
    assert app.sidebar.number_input(key="os").value == cap and qp(app, "os") == str(cap)
    # big pixels behind a fast lens need more samples than a 512 px crop allows: explained, not raised
    app.sidebar.toggle(key="lock").set_value(False)
    step(app)
    app.sidebar.number_input(key="fref").set_value(0.8)
    app.sidebar.slider(key="pitch").set_value(2.0)
    app.sidebar.slider(key="fnum").set_value(1.0)
    step(app, "needs oversample >= 10")
    app.sidebar.select_slider(key="size").set_value(128)
    step(app)
    assert qp(app, "os") == "10"
    app.session_state["tab"] = "Images"
    step(app)
    assert metric(app, "PSNR")


def test_bad_uploads_then_a_good_one_then_a_bundled_photo():
    app = start({"app_scene": "upload"})
    assert any("Upload an image" in i.value for i in app.info)
    for name, data, error in (("notes.png", b"not an image at all", "not an image"),
                              ("tiny.png", png(40, 30), "at least 64"),
                              ("cut.png", png(200, 200)[:300], "")):
        app.sidebar.get("file_uploader")[0].set_value((name, data, "image/png"))
        step(app, error)
    app.sidebar.get("file_uploader")[0].set_value(("ok.png", png(300, 200), "image/png"))
    step(app)
    assert metric(app, "PSNR")
    app.sidebar.toggle(key="fit").set_value(True)
    step(app)
    assert qp(app, "app_fit") == "1" and metric(app, "PSNR")
    app.sidebar.selectbox(key="scene").set_value("photo_dogs")
    step(app)
    assert metric(app, "PSNR")


def test_every_slider_range_is_inside_the_engines():
    app = start({"app_lock": "0"}, tab="Devices")  # locked, 0.2 um pixels would ask for F/0.95 (explained)
    sidebar = app.sidebar
    assert (sidebar.slider(key="pitch").proto.min, sidebar.slider(key="pitch").proto.max) == PITCH_RANGE_UM
    assert (sidebar.slider(key="snr").proto.min, sidebar.slider(key="snr").proto.max) == SNR_RANGE_DB
    for key in ("pitch", "snr"):  # the extremes build valid designs
        for end in (sidebar.slider(key=key).proto.min, sidebar.slider(key=key).proto.max):
            sidebar.number_input(key=f"{key}_typed").set_value(end)
            step(app)
            sidebar = app.sidebar


def test_preset_box_follows_pitch_and_f_number():
    app = start(tab="Devices")
    app.sidebar.toggle(key="lock").set_value(False)
    step(app)
    app.sidebar.slider(key="fnum").set_value(2.0)
    step(app)
    assert app.sidebar.selectbox(key="preset").value == state.CUSTOM_PRESET and qp(app, "app_preset") == "custom"
    app.sidebar.slider(key="fnum").set_value(1.66)
    step(app)
    assert app.sidebar.selectbox(key="preset").value == "0.35"
    app.sidebar.selectbox(key="preset").set_value("0.55")
    step(app)
    assert app.sidebar.slider(key="fnum").value == pytest.approx(presets()["0.55"].f_number)


def test_share_link_holds_the_layout_and_equals_the_address_bar():
    app = start({"app_layout": "2x2"})
    assert app.session_state["layout"] == "2 x 2"
    app.sidebar.slider(key="snr").set_value(30.0)
    step(app)
    link = app.sidebar.code[0].value
    assert dict(parse_qsl(link.split("?", 1)[1])) == {k: qp(app, k) for k in app.query_params}
    assert qp(app, "app_layout") == "2x2"


class _HoldRuntime(type):
    """Metaclass of a Runtime stand-in for AppTest: passes each run's mock runtime on to the real
    ``Runtime`` slot but ignores the reset to None at a run's end."""

    def __setattr__(cls, name, value):
        if not (name == "_instance" and value is None):
            setattr(Runtime, name, value)


@pytest.fixture
def shared_runtime(monkeypatch):
    """AppTest puts a mock Runtime in one process-wide slot for each run and empties it when the run
    ends, so two runs in threads would pull it from under each other (a test-harness race, not the
    app's; the server has one Runtime for all sessions). Keep the slot filled for the whole test."""
    monkeypatch.setattr(Runtime, "_instance", None)
    monkeypatch.setattr(app_test, "Runtime", _HoldRuntime("HeldRuntime", (Runtime,), {}))


def test_concurrent_sessions_on_different_designs_do_not_bleed(shared_runtime):
    """Two sessions rerun at the same time (threads, as the server runs them) on different designs;
    each ends with its own settings and exactly the numbers a fresh session on its URL computes."""
    one = start({"snr": "12"})
    two = start({"app_preset": "0.75", "pitch": "0.75", "fnum": "3.55", "snr": "40"})

    def walk(app: AppTest, key: str, values) -> None:
        for value in values:
            app.sidebar.slider(key=key).set_value(value).run()

    threads = [threading.Thread(target=walk, args=(one, "z11", (0.03, 0.04, 0.05))),
               threading.Thread(target=walk, args=(two, "snr", (41.0, 42.0, 43.0)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for app, own in ((one, {"snr": "12", "pitch": "0.35"}), (two, {"snr": "43", "pitch": "0.75"})):
        assert not app.exception and not app.error
        query = {k: qp(app, k) for k in app.query_params}
        assert {k: query[k] for k in own} == own
        fresh = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
        fresh.query_params.update(query)
        step(fresh)
        assert metric(fresh, "PSNR") == metric(app, "PSNR") and metric(app, "PSNR")
    assert "Z11=0.05" in qp(one, "z") and "Z11=0.05" not in qp(two, "z")


def test_workers_admit_the_oldest_change_first():
    """With the one slot busy, changes queued out of order get it in the order their reruns began,
    and never more than ``slots`` at once."""
    workers = cache.OldestFirst(1)
    order, holding, most = [], [0], [0]
    lock = threading.Lock()

    def work(started: float) -> None:
        with workers.slot(started):
            with lock:
                holding[0] += 1
                most[0] = max(most[0], holding[0])
            order.append(started)
            with lock:
                holding[0] -= 1

    with workers.slot(0.0):
        threads = [threading.Thread(target=work, args=(started,)) for started in (3.0, 1.0, 2.0, 5.0, 4.0)]
        for thread in threads:
            thread.start()
        while workers.waiting < len(threads):
            threading.Event().wait(0.005)
    for thread in threads:
        thread.join()
    assert order == [1.0, 2.0, 3.0, 4.0, 5.0] and most[0] == 1


# --- A/B ---------------------------------------------------------------------------------------


def test_pin_a_change_b_and_compare():
    app = start(tab="Compare")
    assert any("Nothing pinned yet" in i.value for i in app.info)
    app.sidebar.button(key="pin_a").click()
    step(app)
    pinned = qp(app, "a")
    assert state.pinned_design(pinned) == state.pinned_design(state.pin_query(preset("0.35")))
    app.sidebar.slider(key="snr").set_value(20.0)
    step(app)
    assert qp(app, "a") == pinned and qp(app, "snr") == "20"
    assert len(app.get("plotly_chart")) == 1
    assert metric(app, "PSNR B") and all(m.delta for m in app.metric if m.label == "PSNR B")
    changes = app.dataframe[0].value
    assert list(changes["parameter"]) == ["SNR at white (dB)"]
    bf16_noted = any("residual blocks ran in bfloat16" in c.value for c in app.caption)
    assert bf16_noted == (cache.fast_precision() == "bf16")  # the crops' arithmetic is said here too


def test_a_shared_link_with_a_pinned_renders_the_comparison_and_exports():
    a = preset("0.75")
    query = {"app_tab": "Compare", "a": state.pin_query(a), "snr": "25"}
    app = start(query)
    assert [e.value for e in app.warning] == []
    assert metric(app, "PSNR B") and len(app.get("plotly_chart")) == 1
    changes = {r["parameter"] for r in app.dataframe[0].value.to_dict("records")}
    assert {"pixel pitch (um)", "F-number", "SNR at white (dB)"} <= changes
    table = app.dataframe[1].value
    assert {"A", "B", "B - A", "better"} <= set(table.columns) and (table["metric"] == "PSNR").any()
    labels = [b.proto.label for b in app.get("download_button")]
    assert "Comparison table (CSV)" in labels and "Comparison figure (PNG)" in labels
    app.button(key="measure_ab").click()
    step(app)
    table = app.dataframe[1].value
    mtf = table[table["metric"] == "MTF50 H"]
    assert len(mtf) >= 2 and (mtf["A"] > 50).all() and (mtf["B"] > 50).all()
    app.session_state["tab"] = "Export"
    step(app)
    assert any(b.proto.label == "ab compare" for b in app.get("download_button"))


def test_a_bad_pinned_design_in_a_link_warns_and_pins_nothing():
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    app.query_params.update({"app_size": "128", "a": "pitch=9&fnum=2", "app_tab": "Compare"})
    step(app)
    assert any("pinned design A is invalid" in w.value for w in app.warning)
    assert any("Nothing pinned yet" in i.value for i in app.info)


def test_comparison_rows_say_which_design_is_better():
    metrics = {"A": {"demosaic": {"psnr_db": 30.0, "msssim": None, "lpips": 0.3}, "neural": None},
               "B": {"demosaic": {"psnr_db": 31.5, "msssim": None, "lpips": 0.4}, "neural": None}}
    rows = {(r["pipeline"], r["metric"]): r for r in compare.comparison_rows(
        metrics, {"A": {"demosaic": (100.0, 90.0)}, "B": {"demosaic": (120.0, 80.0)}})}
    assert rows["demosaic", "PSNR"]["B - A"] == pytest.approx(1.5) and rows["demosaic", "PSNR"]["better"] == "B"
    assert rows["demosaic", "LPIPS"]["better"] == "A"  # lower is better
    assert rows["demosaic", "MS-SSIM"]["B - A"] is None and rows["neural", "PSNR"]["better"] == ""
    assert rows["demosaic", "MTF50 H"]["better"] == "B" and rows["demosaic", "MTF50 V"]["better"] == "A"
    a, b = preset("0.35"), preset("0.35").replace(snr_db=20.0)
    assert compare.design_changes(a, b) == [{"parameter": "SNR at white (dB)", "A": "35", "B": "20"}]
    assert isinstance(state.pinned_design(state.pin_query(b)), DesignPoint)


def test_a_comparison_across_kinds_of_neural_net_says_so_until_one_net_serves_both():
    """Pinned preset A (its per-design net) against an off-preset B (the universal net): the Compare
    view warns that the Neural ISP change mixes design and network; with the universal net chosen
    for both, the warning goes."""
    app = start(tab="Compare")
    app.sidebar.button(key="pin_a").click()
    step(app)
    app.sidebar.toggle(key="lock").set_value(False)
    step(app)
    app.sidebar.slider(key="fnum").set_value(2.0)
    step(app)
    notes = [w.value for w in app.warning if "change of network" in w.value]
    assert len(notes) == 1 and "its per-design net" in notes[0] and "B's by the universal net" in notes[0]
    app.session_state["neural"] = "universal"
    step(app)
    assert not [w.value for w in app.warning if "change of network" in w.value]
    assert metric(app, "PSNR B")


def test_the_net_note_names_both_kinds_only_when_they_differ():
    assert compare.neural_net_note("design", "design") is None
    assert compare.neural_net_note(None, "universal") is None  # no Neural panel on one side: nothing to mix
    note = compare.neural_net_note("burst", "universal")
    assert "its multi-frame net" in note and "the universal net" in note

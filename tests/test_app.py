"""The app starts on the default preset and reacts to its controls (streamlit AppTest)."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app" / "main.py")


def test_app_starts_on_default_preset_and_shows_psf():
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    assert app.sidebar.selectbox[0].value == "0.35"
    assert len(app.get("plotly_chart")) == 2
    assert app.metric[0].value == "0.35 um"


def test_changing_f_number_changes_the_wavefront_readout():
    app = AppTest.from_file(APP, default_timeout=60).run()
    before = app.metric[1].value
    app.sidebar.slider[0].set_value(4.0).run()
    assert not app.exception
    assert app.metric[1].value != before

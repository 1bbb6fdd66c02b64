"""The three MTF instruments through whole pipelines: agreement on the linear pipelines, pipelines
that cannot run, the edge options, the CLI and study outputs, and where the paper's numbers apply."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from engine import instruments, study, study_instruments
from engine.cli import main
from engine.design import preset, presets
from engine.isp import PipelineUnavailable

LINEAR = ("demosaic", "traditional")


@pytest.mark.parametrize("name", list(presets()))
def test_grating_and_esfr_mtf50_agree_within_10_percent_for_demosaic_and_traditional(name):
    design = preset(name)
    gratings = instruments.measure_mtf(design, LINEAR, size_px=128, count=16)
    edges = instruments.measure_edge(design, LINEAR, size_px=128)
    for pipeline in LINEAR:
        for axis in ("h", "v"):
            grating, edge = gratings[pipeline].crossing(0.5, axis), edges[pipeline].crossing(0.5, axis)
            assert edge == pytest.approx(grating, rel=0.10), (pipeline, axis)


def test_esfr_finds_the_grating_mtf50_at_10_db_snr():
    """At the slider's low-light end the e-SFR still measures (no NaN, no line tilted by noise) and
    agrees with the gratings on the linear demosaic within 15 %."""
    design = dataclasses.replace(preset("0.75"), snr_db=10.0)
    grating = instruments.measure_mtf(design, ("demosaic",), size_px=128, count=16)["demosaic"]
    edge = instruments.measure_edge(design, ("demosaic",), size_px=128)["demosaic"]
    for axis in ("h", "v"):
        assert edge.crossing(0.5, axis) == pytest.approx(grating.crossing(0.5, axis), rel=0.15), axis


def test_instruments_skip_a_pipeline_that_cannot_run_and_say_why(monkeypatch):
    real = instruments.run_pipeline

    def run(name, capture, chain=None, **options):
        if name == "neural":
            raise PipelineUnavailable("no trained weights for this design")
        return real(name, capture, chain, **options)

    monkeypatch.setattr(instruments, "run_pipeline", run)
    results, skipped = instruments.measure_instruments(preset("0.75"), ("demosaic", "neural"), size_px=64, count=4)
    assert list(results) == ["demosaic"] and skipped == {"neural": "no trained weights for this design"}
    assert set(results["demosaic"]) == set(instruments.INSTRUMENTS)
    texture = results["demosaic"]["dead_leaves"]
    assert texture.freq_cyc_per_mm[-1] <= 1e3 / (2 * 0.75) and 0.5 < texture.mtf_h[0] < 1.2


def test_edge_options_are_checked_and_change_the_chart():
    design = preset("0.75")
    with pytest.raises(ValueError, match=r"edge_angle_deg must be in \[2, 20\] degrees, got 30"):
        instruments.measure_edge(design, ("demosaic",), angle_deg=30.0)
    steep = instruments.measure_edge(design, ("demosaic",), size_px=64, angle_deg=10.0, contrast=10.0)["demosaic"]
    assert 100 < steep.mtf50_h_cyc_per_mm < 200 and 100 < steep.mtf50_v_cyc_per_mm < 200


def test_mtf_cli_json_keeps_its_keys_and_adds_the_three_instruments(capsys):
    assert main(["mtf", "--preset", "0.75", "--pipeline", "demosaic", "--size", "64", "--count", "6",
                 "--edge-angle-deg", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"freq_cyc_per_mm", "mtf_h", "mtf_v", "mtf50_h_cyc_per_mm", "mtf50_v_cyc_per_mm", "design"} <= set(out)
    assert set(out["instruments"]) == {"grating", "sfr", "dead_leaves"}
    for result in out["instruments"].values():
        assert len(result["mtf_h"]) == len(result["mtf_v"]) == len(result["freq_cyc_per_mm"])
        for level in (10, 30, 50):
            assert {f"mtf{level}_h_cyc_per_mm", f"mtf{level}_v_cyc_per_mm"} <= set(result)
    assert out["instruments"]["grating"]["mtf50_h_cyc_per_mm"] == out["mtf50_h_cyc_per_mm"]
    assert main(["mtf", "--preset", "0.75", "--edge-contrast", "1"]) == 2
    assert "--edge-contrast must be in [1.5, 100]" in capsys.readouterr().err


@pytest.mark.parametrize("neural, kind", [("auto", "design"), ("universal", "universal")])
def test_mtf_cli_names_the_neural_net_it_measured(capsys, neural, kind):
    assert main(["mtf", "--preset", "0.75", "--pipeline", "neural", "--neural", neural, "--size", "64", "--count", "4",
                 "--json"]) == 0
    net = json.loads(capsys.readouterr().out)["neural_net"]
    assert net["kind"] == kind and net["file"].endswith(".pt") and len(net["sha256"]) == 64
    assert main(["mtf", "--preset", "0.75", "--pipeline", "demosaic", "--size", "64", "--count", "4"]) == 0
    assert "Neural ISP:" not in capsys.readouterr().out


def test_study_instruments_table_sets_the_three_mtf50s_side_by_side():
    designs = {"0.75": preset("0.75")}
    gratings = {"0.75": instruments.measure_mtf(designs["0.75"], ("demosaic",), size_px=64, count=8)}
    rows = study_instruments.instruments_table(designs, ("demosaic",), gratings, size_px=64)
    row = rows[0]
    for name in instruments.INSTRUMENTS:
        assert 80 < row[f"demosaic_{name}_mtf50_h"] < 250
    assert row["demosaic_grating_over_sfr_h"] == pytest.approx(
        row["demosaic_grating_mtf50_h"] / row["demosaic_sfr_mtf50_h"], rel=0.01)
    text = "\n".join(study_instruments.format_instruments(rows, ["demosaic"]))
    assert "grating / e-SFR" in text and instruments.WHY_THEY_DIFFER in text


def test_the_paper_numbers_apply_only_under_the_paper_conditions():
    design = preset("0.35")
    assert study.paper_mismatch(design) == [] and study.paper_mismatch(design.replace(oversample=4)) == []
    assert study.paper_mismatch(design.replace(snr_db=30.0)) == ["SNR 30 dB"]
    assert study.paper_mismatch(design.replace(cfa="quad", burst=4)) == ["quad CFA", "a 4-frame burst"]
    assert "not a Table 1 design" in study.paper_mismatch(design.replace(pitch_um=0.4))[0]
    assert study.paper_mismatch(design.replace(zernike=((4, 0.1),))) == ["a lens, OCL or fill factor other than the preset's"]
    rows, _ = study.table2({"noisy": design.replace(snr_db=30.0)}, ("demosaic",), size_px=32, count=4)
    assert rows[0]["h_demosaic_paper"] is None and rows[0]["h_demosaic_ratio"] is None
    from app import plots

    sweep = plots.sweep_figure(rows, ("demosaic",), None, [])
    assert not [t for t in sweep.data if t.name.startswith("paper")] and "hidden" in sweep.layout.title.text


def test_mtf_view_hides_the_paper_markers_at_30_db():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app" / "main.py"), default_timeout=300)
    for key, value in {"app_size": "128", "app_tab": "MTF", "snr": "30"}.items():
        app.query_params[key] = value
    app.run()
    app.radio(key="mtf_setting").set_value("quick").run()
    app.button(key="measure_mtf").click().run()
    assert not app.exception and not app.error, [e.value for e in [*app.exception, *app.error]]
    figure = json.loads(app.get("plotly_chart")[0].proto.spec)
    names = [trace.get("name", "") for trace in figure["data"]]
    assert names and not [n for n in names if n.startswith("paper")]
    table = app.dataframe[0].value
    assert "paper H" not in table.columns and set(table["instrument"]) == set(instruments.INSTRUMENTS.values())
    assert any("SNR 30 dB" in c.value for c in app.caption)

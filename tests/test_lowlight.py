"""Table 4 (low light, bursts): burst alignment, multi-frame noise averaging, and the study's rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine import scenes, sensor, simulate, study, study_lowlight
from engine.cli import main
from engine.design import preset
from engine.isp.traditional import align_and_average, bilinear_demosaic


def test_burst_alignment_recovers_the_synthetic_shifts():
    design = preset("0.75").replace(burst=6, snr_db=40.0)
    capture = simulate.capture_scene(design, "dead_leaves", 96, seed=3)
    frames = np.stack([bilinear_demosaic(frame, capture.cfa, design.cfa) for frame in capture.raw])
    _, estimated = align_and_average(frames)
    truth = capture.shifts_px
    assert np.abs(truth[1:]).max() > 0.3  # the hand-shake moved the frames
    np.testing.assert_allclose(-estimated, truth, atol=0.1)  # the shift that re-aligns each frame onto frame 0


def test_burst_alignment_of_a_grating_stays_in_the_search_range_and_registers_across_the_bars():
    """A grating's correlation repeats every period and is flat along its bars: unbounded, the peak
    landed 5-13 px away at 15 dB. Bounded to ALIGN_SEARCH_PX, the shift across the bars is found."""
    from engine import instruments
    from engine.isp.traditional import ALIGN_SEARCH_PX, burst_shifts

    design = preset("0.35").replace(burst=10, snr_db=15.0)
    shape = (128 * design.oversample,) * 2
    otf = sensor.make_sensor_otf(simulate.psfs_for(design).psf_pixel, design, shape)
    scene = scenes.grating(design.dx_um, shape, orientation="h", freq_cyc_per_mm=300.0,
                           mean=instruments.GRATING_MEAN, contrast=instruments.GRATING_CONTRAST)
    capture = sensor.simulate_raw(scene, otf, design, rng=3)
    estimated = burst_shifts(np.stack([bilinear_demosaic(frame, capture.cfa, design.cfa) for frame in capture.raw]))
    assert np.abs(estimated).max() <= ALIGN_SEARCH_PX
    across = 1  # an 'h' grating varies along x
    assert np.sqrt(np.mean((estimated[1:, across] + capture.shifts_px[1:, across]) ** 2)) < 0.25


@pytest.mark.parametrize("frames", [4, 10])
def test_averaging_k_flat_frames_raises_snr_by_10_log10_k(frames):
    design = preset("0.75").replace(burst=frames, snr_db=15.0)
    flat = np.full((256 * design.oversample,) * 2 + (3,), 0.5, dtype=np.float32)
    psf = simulate.psfs_for(design).psf_pixel
    raw = sensor.simulate_raw(flat, psf, design, rng=5, max_shift_px=0.0).raw
    green = sensor.cfa_pattern(design.cfa, raw.shape[1:]) == 1
    single = raw[0][green]
    merged = raw.mean(axis=0)[green]
    gain_db = 20 * math.log10(single.std() / merged.std())
    assert gain_db == pytest.approx(10 * math.log10(frames), abs=0.5)


@pytest.fixture(scope="module")
def rows():
    photo = scenes.photo_set("test")[0]
    return study_lowlight.table4([photo], extent_um=40.0, size_px=32, count=4)


def test_table4_rows_stand_beside_the_papers_eight(rows):
    paper = study.paper_tables()[study_lowlight.PAPER_KEY]["rows"]
    ours = [name for name, *_ in study_lowlight.ROWS]
    assert [r["method"] for r in rows][:len(ours)] == ours
    beside = {r[1] for r in study_lowlight.ROWS} - {None}
    assert {r["method"] for r in rows[len(ours):]} | beside == {p[0] for p in paper}
    for row in rows:
        assert (row["lpips_paper"] is None) == (row["method"] == "SF Neural ISP at 35 dB (reference)")
    run = [r for r in rows if r["frames"]]
    assert len(run) == len(ours)
    for row in run:
        assert all(math.isfinite(row[k]) for k in ("psnr_dB", "msssim", "lpips", "mtf50_h", "mtf50_v")), row


def test_the_burst_lifts_both_pipelines_and_each_neural_row_names_its_net(rows):
    by_name = {r["method"]: r for r in rows}
    assert by_name["MF Traditional ISP"]["psnr_dB"] > by_name["SF Traditional ISP"]["psnr_dB"] + 1.0
    assert by_name["MF Neural ISP"]["psnr_dB"] > by_name["SF Neural ISP"]["psnr_dB"]
    assert "multi-frame net" in by_name["MF Neural ISP"]["note"] and "10 frames" in by_name["MF Neural ISP"]["note"]
    assert "multi-frame net" in by_name["SF Neural ISP"]["note"] and "1 frame" in by_name["SF Neural ISP"]["note"]
    bright = by_name["SF Neural ISP (bright-light net)"]["note"]
    assert "per-design net" in bright and "outside" in bright  # 15 dB is below its 28-42 dB training
    assert "per-design net" in by_name["SF Neural ISP at 35 dB (reference)"]["note"]
    mf, sf = by_name["MF Neural ISP"], by_name["SF Neural ISP"]
    assert mf["params_M"] == sf["params_M"] and mf["tmac_per_MP"] > sf["tmac_per_MP"]  # a head per frame


def test_study_table4_cli_writes_its_csv_and_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(study.STUDY_SETTINGS, "quick", {"size_px": 32, "count": 4, "extent_um": 40.0, "max_images": 1})
    assert main(["study", "--table", "4", "--quick", "--json", "--out", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["table"] == 4 and report["settings"]["images"] == 1
    assert (tmp_path / "table4.csv").exists()

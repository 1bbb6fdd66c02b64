"""The study: instruments agree, and the CLI reproduces Table 2 beside the paper."""

import json

import numpy as np
import pytest

from engine.cli import main
from engine.design import preset
from engine.isp import color
from engine.study import grating_frequencies, measure_mtf, measure_sfr_mtf50


def test_slanted_edge_and_sinusoid_mtf50_agree_on_lens_and_demosaic():
    design = preset("0.55")
    sinusoid = measure_mtf(design, ("demosaic",), size_px=128, count=16)["demosaic"].mtf50_h_cyc_per_mm
    edge = measure_sfr_mtf50(design, "demosaic", size_px=128)
    assert edge == pytest.approx(sinusoid, rel=0.10)


def test_captures_do_not_depend_on_the_oversampling():
    """Oversampling is numerical (docs/design.md): with the PSF window fixed in pixels, the grating
    MTF50 through the sensor and demosaic is the same at 2 and 4 samples per pixel, and the lens
    hash a Neural ISP is matched by ignores it."""
    from engine.optics import min_oversample

    design = preset("0.45")
    assert design.oversample == 2 and min_oversample(design.pitch_um, design.f_number) <= 2
    coarse = measure_mtf(design, ("demosaic",), size_px=64, count=6)["demosaic"]
    fine = measure_mtf(design.replace(oversample=4), ("demosaic",), size_px=64, count=6)["demosaic"]
    np.testing.assert_allclose(coarse.mtf_h, fine.mtf_h, atol=2e-3)
    np.testing.assert_allclose(coarse.mtf_v, fine.mtf_v, atol=2e-3)
    assert coarse.mtf50_h_cyc_per_mm == pytest.approx(fine.mtf50_h_cyc_per_mm, rel=2e-3)
    assert design.imaging_hash() == design.replace(oversample=4).imaging_hash()
    assert design.design_hash() != design.replace(oversample=4).design_hash()
    assert min_oversample(1.2, 1.4) == 5  # 420 nm Nyquist at F/1.4: dx <= 0.294 um


def test_grating_frequencies_are_whole_cycles_below_nyquist():
    design = preset("0.35")
    freqs = grating_frequencies(design, 64, 12)
    cycles = freqs * 64 * design.pitch_um / 1e3
    np.testing.assert_allclose(cycles, np.round(cycles), atol=1e-9)
    assert freqs.max() < 1e3 / (2 * design.pitch_um)


def test_mtf_cli_json_contract(capsys):
    assert main(["mtf", "--preset", "0.75", "--pipeline", "demosaic", "--size", "32", "--count", "6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"freq_cyc_per_mm", "mtf_h", "mtf_v", "mtf50_h_cyc_per_mm", "mtf50_v_cyc_per_mm", "design"} <= set(out)
    assert len(out["mtf_h"]) == len(out["freq_cyc_per_mm"]) == 6
    assert out["mtf_h"][0] > out["mtf_h"][-1]


def test_raw_and_isp_cli_write_their_contracts(tmp_path, capsys):
    raw_path, png_path = tmp_path / "r.npz", tmp_path / "img.png"
    assert main(["raw", "--preset", "0.35", "--scene", "dead_leaves", "--size", "64", "--seed", "0",
                 "--out", str(raw_path)]) == 0
    data = np.load(raw_path)
    assert data["raw"].shape == data["noise_sigma"].shape == data["cfa"].shape == data["phase"].shape == (64, 64)
    assert data["raw"].dtype == np.float32 and data["ground_truth"].shape == (64, 64, 3)
    assert set(np.unique(data["cfa"])) == {0, 1, 2} and set(np.unique(data["phase"])) == {0, 1, 2, 3}
    assert main(["isp", "--raw", str(raw_path), "--pipeline", "traditional", "--out", str(png_path)]) == 0
    from PIL import Image

    assert Image.open(png_path).size == (64, 64)


def test_isp_refuses_a_non_raw_npz_and_names_the_neural_net(tmp_path, capsys):
    bogus = tmp_path / "bogus.npz"
    np.savez(bogus, something=np.zeros(3))
    assert main(["isp", "--raw", str(bogus), "--out", str(tmp_path / "x.png")]) == 2
    assert "is not a smallpix RAW npz: missing raw" in capsys.readouterr().err
    raw_path = tmp_path / "r.npz"
    assert main(["raw", "--pitch-um", "0.4", "--f-number", "1.9", "--size", "32", "--out", str(raw_path)]) == 0
    capsys.readouterr()
    assert main(["isp", "--raw", str(raw_path), "--pipeline", "neural", "--neural", "design", "--out",
                 str(tmp_path / "n.png")]) == 2
    assert "no trained weights" in capsys.readouterr().err
    # the default (auto) falls back to the universal net and says which net made the image
    assert main(["isp", "--raw", str(raw_path), "--pipeline", "neural", "--out", str(tmp_path / "n.png")]) == 0
    assert "universal net" in capsys.readouterr().out


def test_raw_cli_bad_scene_exits_2_with_one_line(capsys):
    assert main(["raw", "--scene", "moon", "--size", "32", "--out", "/tmp/never.npz"]) == 2
    err = capsys.readouterr().err
    assert "scene must be one of" in err and err.count("\n") == 1


def test_study_table2_quick_prints_ours_beside_the_paper(tmp_path, capsys):
    assert main(["study", "--table", "2", "--quick", "--json", "--out", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["rows"]
    assert [r["pitch_um"] for r in rows] == [0.75, 0.65, 0.55, 0.45, 0.35]
    for r in rows:
        for key in ("h_demosaic", "v_demosaic", "h_traditional", "v_traditional"):
            assert 50 < r[key] < 1000 and r[f"{key}_paper"] > 0
            assert r[f"{key}_ratio"] == pytest.approx(r[key] / r[f"{key}_paper"], rel=1e-2)
    assert (tmp_path / "table2.csv").exists() and (tmp_path / "mtf50_vs_pitch.svg").exists()


def test_study_table3_quick_on_a_user_folder_writes_per_image_rows(tmp_path, capsys):
    import shutil

    from engine.design import ASSETS

    folder = tmp_path / "mine"
    folder.mkdir()
    for name in ("mountains.jpg", "stream.jpg"):
        shutil.copy(ASSETS / "images" / name, folder / name)
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    assert main(["study", "--table", "3", "--quick", "--images", str(folder), "--json", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["images"] == 2 and "user folder" in report["settings"]["source"]
    for row in report["rows"]:
        assert 0 < row["msssim_demosaic"] < row["msssim_traditional"] <= 1
        assert row["lpips_traditional"] < row["lpips_demosaic"]
        assert row["msssim_traditional_paper"] > 0
    import csv

    per_image = list(csv.DictReader((out / "table3_per_image.csv").open()))
    assert len(per_image) == 5 * len(report["pipelines"]) * 2  # designs x pipelines x images


def test_study_source_pixel_option_magnifies_the_photos(tmp_path, capsys):
    """A coarser photo pixel shows the finest design a magnified, smoother scene: its demosaic-only
    PSNR rises. Bad values and table 2 are refused naming the option."""
    import shutil

    from engine.design import ASSETS

    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(ASSETS / "images" / "mountains.jpg", folder / "mountains.jpg")
    psnr = {}
    for pixel in ("0.35", "0.9"):
        assert main(["study", "--table", "3", "--quick", "--images", str(folder), "--json",
                     "--source-pixel-um", pixel]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["settings"]["source_pixel_um"] == float(pixel)
        psnr[pixel] = {row["pitch_um"]: row["psnr_db_demosaic"] for row in report["rows"]}
    assert psnr["0.9"][0.35] > psnr["0.35"][0.35] + 1.0
    for bad in (["--table", "3", "--source-pixel-um", "5"], ["--table", "2", "--source-pixel-um", "0.5"]):
        assert main(["study", "--quick", *bad]) == 2
        assert "--source-pixel-um" in capsys.readouterr().err


def test_study_refuses_an_empty_image_folder_and_unknown_tables(tmp_path, capsys):
    assert main(["study", "--table", "3", "--images", str(tmp_path)]) == 2
    assert "no PNG/JPEG/TIFF files" in capsys.readouterr().err
    for table in ("1", "7"):
        assert main(["study", "--table", table]) == 2
        assert "--table must be 2, 3, 4, 5 or 6" in capsys.readouterr().err


def test_study_table5_fixes_the_aperture_and_lets_per_pixel_snr_fall_with_pitch(tmp_path, capsys):
    assert main(["study", "--table", "5", "--quick", "--json", "--out", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["pitch_um"]: r for r in report["rows"]}
    assert {r["f_number"] for r in rows.values()} == {2.6}
    assert rows[0.55]["snr_db"] == pytest.approx(35.0, abs=0.05) and rows[0.35]["snr_db"] < 32 < 37 < rows[0.75]["snr_db"]
    assert rows[0.35]["lpips_traditional_paper"] == 0.374  # beside the paper's Table 5, not Table 3
    assert "neural" in report["pipelines"]  # pretrained/ holds a net for each F/2.6 design
    assert all(r["lpips_neural"] < r["lpips_traditional"] for r in rows.values())
    assert (tmp_path / "table5.csv").exists()


def test_common_size_resampling_keeps_the_light_and_compares_one_print_size():
    from engine.study import resample_display

    rng = np.random.default_rng(0)
    image = rng.uniform(0.1, 0.9, (96, 96, 3)).astype(np.float32)
    small = resample_display(image, 48)
    assert small.shape == (48, 48, 3) and small.dtype == np.float32
    linear = color.srgb_decode(image).mean(axis=(0, 1))
    assert np.allclose(color.srgb_decode(small).mean(axis=(0, 1)), linear, atol=0.01)  # light is kept
    flat = np.full((64, 64, 3), 0.5, np.float32)
    assert np.allclose(resample_display(flat, 32), 0.5, atol=1e-4)

"""The CLI contract of design.md 4: outputs users script against, and one-line errors with status 2."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from engine.cli import main


def test_presets_json_lists_table1(capsys):
    assert main(["presets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["pitch_um"] for r in rows] == [0.75, 0.65, 0.55, 0.45, 0.35]
    assert [r["f_number"] for r in rows] == [3.55, 3.07, 2.6, 2.13, 1.66]


def test_psf_writes_the_npz_contract(tmp_path):
    out = tmp_path / "x.npz"
    done = subprocess.run(
        [sys.executable, "-m", "engine", "psf", "--preset", "0.35", "--size", "64", "--out", str(out), "--json"],
        capture_output=True, text=True, check=True,
    )
    summary = json.loads(done.stdout)
    assert set(summary["strehl_per_channel"]) == {"R", "G", "B"} and summary["dx_um"] == pytest.approx(0.175)
    data = np.load(out)
    assert data["psf_optical"].shape == data["psf_pixel"].shape == (4, 3, 64, 64)
    assert data["psf_optical"].dtype == np.float32
    np.testing.assert_allclose(data["psf_pixel"].sum(axis=(-1, -2)), 1.0, atol=1e-5)
    assert float(data["dx_um"]) == pytest.approx(0.35 / 2)  # default oversample 2
    assert data["wavelengths_nm"].shape == (51,) and data["channel_weights"].shape == (3, 51)


def test_oversampling_left_out_is_what_the_psf_needs_and_too_coarse_a_given_one_is_refused(capsys):
    """F/1.4 at 2 um needs 7 samples per pixel: left out, the design gets them (as in the app and the
    sweep); given as 3, the option is named with the least it may be."""
    assert main(["psf", "--pitch-um", "2", "--f-number", "1.4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["design"]["oversample"] == 7
    assert main(["psf", "--pitch-um", "2", "--f-number", "1.4", "--oversample", "3"]) == 2
    assert capsys.readouterr().err.startswith("--oversample: oversample must be at least 7 at pitch 2 um and F/1.4")


def test_mono_no_ocl_no_zernike_gives_identical_channels_and_phases(tmp_path):
    out = tmp_path / "mono.npz"
    argv = ["psf", "--pitch-um", "0.5", "--f-number", "2.0", "--zernike", "none", "--no-ocl", "--mono-nm", "550"]
    assert main(argv + ["--size", "32", "--out", str(out)]) == 0
    psf = np.load(out)["psf_optical"]
    np.testing.assert_array_equal(psf[0, 0], psf[3, 2])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["psf", "--pitch-um", "0.1"], "--pitch-um: pitch_um must be in [0.2, 2] um, got 0.1"),
        (["psf", "--f-number", "20"], "--f-number: f_number must be in [1.4, 16]"),
        (["psf", "--zernike", "Z40=0.1"], "--zernike: zernike must be Noll indices in [1, 37], got 40"),
        (["psf", "--preset", "0.5"], "--preset: preset must be one of 0.75, 0.65, 0.55, 0.45, 0.35, got '0.5'"),
        (["psf", "--mono-nm", "100"], "--mono-nm must be in [350, 1000] nm, got 100"),
        (["psf", "--size", "abc"], "argument --size: invalid int value: 'abc'"),
        (["psf", "--size", "7"], "--size must be a multiple of 2 in [16, 2048] samples, got 7"),
        (["train", "--preset", "0.35", "--photo-magnification", "1", "0.5", "--out", "never.pt"],
         "--photo-magnification needs 0.1 <= LO <= HI <= 10 (pixel pitches), got 1 0.5"),
        (["train", "--universal", "--photo-magnification", "0.5", "1"],
         "--photo-magnification applies to a per-design net"),
        (["train", "--preset", "0.35", "--workers", "2", "--out", "never.pt"],
         "--workers applies to the universal net (--universal) only"),
        (["train", "--universal", "--workers", "5", "--pool-designs", "3", "--out", "never.pt"],
         "--workers (5) must not exceed --pool-designs (3)"),
        (["train", "--universal", "--device", "tpu", "--out", "never.pt"],
         "--device must be auto, cpu, cuda, got 'tpu'"),
        pytest.param(["train", "--universal", "--device", "cuda", "--out", "never.pt"],
                     "--device cuda: this machine has no CUDA device",
                     marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
    ],
)
def test_bad_options_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "error, line",
    [
        (("scene image", "a file", "/tmp"), "--scene: scene image must be a file, got '/tmp'"),
        (("source_pixel_um", "in [0.001, 1000] um", 0.0),
         "--source-pixel-um: source_pixel_um must be in [0.001, 1000] um, got 0.0"),
    ],
)
def test_every_input_error_is_one_line_naming_its_option(error, line, monkeypatch, capsys):
    """Scene and sensor errors (the engine.validation.InputError family) leave main as design errors do."""
    from engine import cli_capture
    from engine.scenes import SceneError

    def refuse(args):
        raise SceneError(*error)

    monkeypatch.setattr(cli_capture, "cmd_presets", refuse)
    assert main(["presets"]) == 2
    assert capsys.readouterr().err == line + "\n"


def test_bench_refuses_unknown_names(capsys):
    assert main(["bench", "--only", "psf,gpu"]) == 2
    assert "--only must list names from psf, raw, neural, app, got gpu" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["study", "--table", "2", "--quick", "--max-images", "3"],
     "study --table 2 measures charts, not photos, so it takes no --max-images (for tables 3, 4, 5 and --designs)"),
    (["study", "--table", "6", "--images", "photos", "--source-pixel-um", "0.5"],
     "study --table 6 measures charts, not photos, so it takes no --images (for tables 3, 4 and 5), "
     "--source-pixel-um (for tables 3 and 5)"),
    (["mtf", "--pipeline", "traditional", "--neural", "design"],
     "mtf: --neural design applies to --pipeline neural, got --pipeline traditional"),
    (["isp", "--raw", "r.npz", "--pipeline", "deconv", "--neural", "universal", "--out", "o.png"],
     "isp: --neural universal applies to --pipeline neural, got --pipeline deconv"),
])
def test_an_option_the_command_would_ignore_is_refused_by_name(argv, message, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err == message + "\n"


def test_allocator_settings_apply_on_glibc():
    import platform

    from engine.parallel import keep_freed_memory_in_heap

    assert keep_freed_memory_in_heap() is (platform.libc_ver()[0] == "glibc")


# --- the error contract (issue #13): atomic outputs, refused paths, weights -----------------------


def _raw(tmp_path, name="r.npz", size="16"):
    out = tmp_path / name
    assert main(["raw", "--size", size, "--out", str(out)]) == 0
    return out


def test_outputs_go_to_exactly_the_path_given(tmp_path, capsys):
    _raw(tmp_path)
    assert main(["psf", "--size", "16", "--out", str(tmp_path / "p.npz")]) == 0
    assert main(["isp", "--raw", str(tmp_path / "r.npz"), "--out", str(tmp_path / "i.jpg")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.jpg", "p.npz", "r.npz"]


def test_a_write_failing_midway_keeps_the_file_it_was_replacing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "r.npz"
    out.write_bytes(b"the good file")

    def disk_full(handle, **arrays):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    assert main(["raw", "--size", "16", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"--out: cannot write {str(out)!r}: No space left on device\n"
    assert out.read_bytes() == b"the good file" and [p.name for p in tmp_path.iterdir()] == ["r.npz"]


@pytest.mark.parametrize(
    "out, message",
    [
        ("", "--out: needs a file path ending in .npz, got '' (standard output is not supported)"),
        ("-", "--out: needs a file path ending in .npz, got '-'"),
        ("{tmp}", "is a folder; give a file path ending in .npz"),
        ("{tmp}/new/", "is a folder; give a file path ending in .npz"),
        ("{tmp}/afile/r.npz", "afile' is a file, not a folder"),
        ("{tmp}/r.png", "--out: needs a file path ending in .npz, got"),
        ("{tmp}/" + "a" * 300 + ".npz", "bytes; the file system allows 255"),
    ],
)
def test_unwritable_outputs_are_refused_before_any_work(out, message, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["psf", "--size", "16", "--out", out.format(tmp=tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]


def test_raw_inputs_are_checked_before_loading(tmp_path, capsys):
    good = dict(np.load(_raw(tmp_path)))
    with open(tmp_path / "big.npz", "wb") as handle:  # declares 16384 x 16384: refused from the header
        np.savez(handle, **{**good, "raw": np.zeros((16384, 1), np.float32)})
    assert main(["isp", "--raw", str(tmp_path / "big.npz"), "--out", str(tmp_path / "o.png")]) == 2
    assert "raw must be (H, W) or (frames, H, W) with H and W in [16, 2048] pixels" in capsys.readouterr().err
    with open(tmp_path / "nan.npz", "wb") as handle:
        np.savez(handle, **{**good, "raw": np.full_like(good["raw"], np.nan)})
    for pipeline in ("traditional", "neural"):
        assert main(["isp", "--raw", str(tmp_path / "nan.npz"), "--pipeline", pipeline, "--out", str(tmp_path / "o.png")]) == 2
        assert "raw holds NaN or infinite values" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_raw_size_names_the_real_cap(capsys):
    assert main(["raw", "--size", "2048", "--out", "never.npz"]) == 2
    assert capsys.readouterr().err == ("--size must be at most 2016 pixels at --oversample 2 (scenes are capped at "
                                       "4096 samples per side), got 2048\n")


def test_help_documents_every_numeric_range(capsys):
    with pytest.raises(SystemExit):
        main(["mtf", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("a multiple of 8 in [32, 1024] pixels", "in [2, 128]", "in [0, 4294967295]", "in [0.2, 2] um"):
        assert shown in text


def test_psf_warns_before_a_very_long_run(monkeypatch, capsys):
    from engine import optics

    def stop(*args, **kwargs):
        raise ValueError("stopped by the test")

    monkeypatch.setattr(optics, "compute_psfs", stop)
    assert main(["psf", "--size", "2048", "--pupil-samples", "4096"]) == 2
    warning, error = capsys.readouterr().err.splitlines()
    assert warning.startswith("psf: warning: --size 2048 with --pupil-samples 4096 is") and "minutes" in warning
    assert error == "psf: stopped by the test"


def test_a_tampered_weight_file_is_one_line(tmp_path, monkeypatch, capsys):
    from engine.isp.neural import registry

    raw = _raw(tmp_path)
    monkeypatch.setattr(registry, "_MODELS", {})
    monkeypatch.setattr(registry, "sha256_of", lambda path: "0" * 64)
    assert main(["isp", "--raw", str(raw), "--pipeline", "neural", "--out", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert "fails its sha256 check" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "manifest, message",
    [
        ("{not json", "is not readable JSON"),
        ('{"weights": {}}', "must be a JSON object with a 'weights' list"),
        ('{"weights": [{"file": "../../etc/passwd", "sha256": "0", "design_hash": "0", "design": {}}]}',
         "file '../../etc/passwd' must be a plain file name in the weights folder"),
        ('{"weights": [{"file": "w.pt", "sha256": "0", "design_hash": "0", "design": {"pitch_um": 9}}]}',
         "'design' is not a valid design"),
    ],
)
def test_bad_manifests_are_clear_errors(manifest, message, tmp_path):
    from engine.isp.neural import registry

    (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(registry.WeightsError, match=message.replace("(", r"\(").replace("[", r"\[")):
        registry.read_manifest(tmp_path)

"""The CLI contract of design.md 4: outputs users script against, and one-line errors with status 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

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
    ],
)
def test_bad_options_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bench_refuses_unknown_names(capsys):
    assert main(["bench", "--only", "psf,gpu"]) == 2
    assert "--only must list names from psf, raw, neural, app, got gpu" in capsys.readouterr().err


def test_allocator_settings_apply_on_glibc():
    import platform

    from engine.parallel import keep_freed_memory_in_heap

    assert keep_freed_memory_in_heap() is (platform.libc_ver()[0] == "glibc")

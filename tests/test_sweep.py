"""Sweeps: grid parsing, a tiny sweep on a two-process LocalCluster equal to the serial result, resume,
failing points, the Zarr/CSV outputs, and the same sweep through a separately started `dask scheduler`
+ `dask worker` (loopback only, processes bounded in time and ended)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import sweep, sweep_grid, sweep_store
from engine.design import preset
from engine.sweep_store import DONE, FAILED, PENDING, SweepStore

xr = pytest.importorskip("xarray")
ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "preset": "0.35", "pipelines": ["demosaic"], "measurements": ["mtf50"], "seeds": [0],
    # F/1.66 is faster than a 1.8 reference pupil: the f_number_ref = 1.8 points fail, the others run
    "axes": {"pitch_um": [0.35, 0.55], "f_number_ref": [1.4, 1.8]},
    "instrument": {"size_px": 32, "count": 6},
}


@pytest.fixture(scope="module")
def grid():
    return sweep_grid.parse_grid(TINY)


@pytest.fixture(scope="module")
def serial(grid):
    """key -> values, measured in this process without Dask."""
    return {t.key: sweep.measure(t, dict(grid.instrument), grid.scene) for t in sweep_grid.tasks(grid) if not t.error}


@pytest.fixture(scope="module")
def local_store(grid, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local.zarr"
    summary = sweep.run_sweep(grid, out, workers=2)
    return out, summary


def _assert_store_matches(path, grid, serial, rtol=1e-6):
    """Every cell of the store at ``path`` holds the serial value (single-threaded workers round BLAS
    and FFT sums in another order than this multi-threaded process: 5e-8 relative was seen), or FAILED."""
    with xr.open_zarr(path) as ds:
        for task in sweep_grid.tasks(grid):
            for index in task.index:
                cell = dict(zip(grid.dims, index))
                status = int(ds["status_gratings"].isel(cell))
                if task.error:
                    assert status == FAILED
                    continue
                assert status == DONE
                for name, value in serial[task.key].items():
                    np.testing.assert_allclose(float(ds[name].isel(cell)), value, rtol=rtol)


def test_axes_take_lists_and_ranges_and_name_bad_entries():
    assert sweep_grid.axis_values("snr_db", {"start": 20, "stop": 40, "step": 5}) == (20.0, 25.0, 30.0, 35.0, 40.0)
    assert sweep_grid.axis_values("f_number", {"start": 2, "stop": 3, "num": 3}) == (2.0, 2.5, 3.0)
    with pytest.raises(sweep_grid.SweepError, match=r"axes.pitch_um: pitch_um must be in \[0.2, 2\] um, got 5"):
        sweep_grid.parse_grid({"axes": {"pitch_um": [0.35, 5]}})
    with pytest.raises(sweep_grid.SweepError, match="axis names must be .* got 'pitch'"):
        sweep_grid.parse_grid({"axes": {"pitch": [0.35]}})
    with pytest.raises(sweep_grid.SweepError, match="measurements must be .* got \\['mtf'\\]"):
        sweep_grid.parse_grid({"axes": {"pitch_um": [0.35]}, "measurements": ["mtf"]})


def test_lens_scale_multiplies_the_lens_and_oversampling_reaches_nyquist():
    grid = sweep_grid.parse_grid({"axes": {"lens_scale": [0.5], "pitch_um": [0.75]}})
    design = sweep_grid.design_at(grid, {"lens_scale": 0.5, "pitch_um": 0.75})
    lens = preset("0.35")
    assert design.zernike == tuple((j, 0.5 * c) for j, c in lens.zernike)
    assert design.oversample == 3  # 0.75 um at F/1.66 needs 3 samples per pixel below 420 nm Nyquist


def test_local_cluster_of_two_processes_equals_serial_and_records_failures(local_store, grid, serial):
    out, summary = local_store
    assert summary["workers"] == 2 and summary["ran"] == 2 and summary["failed_cells"] == 2
    _assert_store_matches(out, grid, serial)
    with xr.open_zarr(out) as ds:
        assert ds["mtf50_h_cyc_per_mm"].dims == ("pitch_um", "f_number_ref", "pipeline", "seed")
        assert json.loads(ds.attrs["instrument_json"])["size_px"] == 32 and ds.attrs["seeds"] == [0]
        assert "f_number must be in [1.8, 16]" in next(iter(json.loads(ds.attrs["errors_json"]).values()))


def test_another_grid_is_refused_in_the_same_store(local_store):
    out, _ = local_store
    with pytest.raises(sweep_grid.SweepError, match="holds another grid"):
        SweepStore(out, sweep_grid.parse_grid({**TINY, "seeds": [1]}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler():
    """A `dask scheduler` and a `dask worker` (one single-threaded process) on 127.0.0.1, ended after the tests."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))  # the `dask` command of this environment
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)]
    try:
        procs.append(subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--host",
                                       "127.0.0.1", "--no-dashboard"], cwd=ROOT, **quiet))
        from dask.distributed import Client

        with Client(address, timeout=240) as client:  # a busy machine starts them slowly
            client.wait_for_workers(1, timeout=240)
        yield address
    finally:
        for proc in procs:  # ours, started above: ended at once, nothing to save
            proc.kill()
            proc.wait(timeout=30)


def test_a_rerun_skips_what_is_stored_and_a_half_done_store_resumes(local_store, grid, serial, scheduler, tmp_path):
    out, _ = local_store
    again = sweep.run_sweep(grid, out, workers=1)
    assert again["ran"] == 0 and again["skipped"] == 2 and again["tasks"] == 4  # invalid points fail again, at once
    half = tmp_path / "half.zarr"
    store = SweepStore(half, grid)
    first = next(t for t in sweep_grid.tasks(grid) if not t.error)
    store.record(first, serial[first.key])
    store.flush()
    resumed = sweep.run_sweep(grid, half, scheduler=scheduler)
    assert resumed["ran"] == 1 and resumed["skipped"] == 1
    _assert_store_matches(half, grid, serial)


def test_cli_on_a_separately_started_scheduler_gives_the_same_numbers(local_store, grid, serial, scheduler, tmp_path):
    grid_file = tmp_path / "grid.json"
    grid_file.write_text(json.dumps(TINY))
    out = tmp_path / "remote.zarr"
    done = subprocess.run([sys.executable, "-m", "engine", "sweep", "--grid", str(grid_file), "--out", str(out),
                           "--scheduler", scheduler, "--csv", str(tmp_path / "remote.csv"), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ran"] == 2 and summary["workers"] == 1
    _assert_store_matches(out, grid, serial)
    with xr.open_zarr(out) as remote, xr.open_zarr(local_store[0]) as local:  # single-threaded workers both: exact
        xr.testing.assert_equal(remote[list(grid.variables)], local[list(grid.variables)])
    assert len((tmp_path / "remote.csv").read_text().splitlines()) == 1 + 4


def test_cli_names_a_bad_grid_and_exits_2(tmp_path, capsys):
    from engine import cli

    grid_file = tmp_path / "bad.toml"
    grid_file.write_text('[axes]\npitch_um = {start = 0.3, stop = 0.5}\n')
    assert cli.main(["sweep", "--grid", str(grid_file), "--out", str(tmp_path / "x.zarr")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("sweep: axes.pitch_um must be a non-empty list or")


def test_statuses_start_pending(grid, tmp_path):
    store = SweepStore(tmp_path / "new.zarr", grid)
    assert all((a == PENDING).all() for n, a in store.arrays.items() if n.startswith("status_"))


def test_store_analysis_and_app_figures(local_store):
    from app.views import sweep_store as view

    with xr.open_zarr(local_store[0]) as ds:
        ds = ds.load()
    table = sweep_store.cell_table(ds, "mtf50_h_cyc_per_mm")
    assert len(table) == 2 and set(table["f_number"]) == {1.66}  # F# from the base design, failed cells left out
    np.testing.assert_allclose(table["light_per_pixel"], (table["pitch_um"] / 0.75) ** 2 * (3.55 / 1.66) ** 2)
    assert list(sweep_store.pareto_mask(np.array([1.0, 2.0, 2.0]), np.array([3.0, 3.0, 1.0]), x_higher_better=True,
                                        y_higher_better=True)) == [False, True, False]
    fig = view.pareto_figure(ds, "mtf50_h_cyc_per_mm", "light_per_pixel")
    assert {s.name for s in fig.data} >= {"Pareto front", "diffraction MTF50 0.35 um"}
    assert len(fig.layout.shapes) == 2  # one Nyquist line per pitch
    fixed = {"pipeline": "demosaic", "seed": 0}
    assert view.heatmap_figure(ds, "mtf50_h_cyc_per_mm", "pitch_um", "f_number_ref", fixed).data[0].z.shape == (2, 2)
    assert len(view.slice_figure(ds, "mtf50_h_cyc_per_mm", "pitch_um", "f_number_ref", fixed).data) == 2

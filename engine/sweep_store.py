"""The sweep result store: an xarray Dataset in Zarr, filled as tasks finish so an interrupted sweep resumes.

Layout (one ``xarray.open_zarr`` reads it): dimensions = the grid axes, then ``pipeline`` and ``seed``;
one float64 variable per measured quantity (NaN until measured, and where the instrument finds
none, e.g. an MTF that never falls to 0.5), with its ``units``; ``status_<instrument>`` int8 per
cell (0 pending, 1 done, 2 failed); attrs: code version, the grid (``grid_json``), base design and
lens, seeds, pipelines, instrument settings, and ``errors_json`` (task key -> error of each failed
task). Only the process that runs the sweep writes: it keeps the variables in memory and writes
them whole every ``FLUSH_S`` seconds and at the end, so a kill loses at most that much work.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np

from engine.sensor import light_per_pixel
from engine.sweep_grid import MEASUREMENTS, SweepError, SweepGrid, Task, design_at

PENDING, DONE, FAILED = 0, 1, 2
FLUSH_S = 5.0
ZARR_FORMAT = 2
"""Zarr v2: consolidated metadata is part of its spec, so any zarr or xarray version opens the store."""
UNITS = {"mtf50_h_cyc_per_mm": "cycles/mm", "mtf50_v_cyc_per_mm": "cycles/mm", "sfr_mtf50_h_cyc_per_mm": "cycles/mm",
         "psnr_db": "dB", "msssim": "1", "lpips": "1"}


def code_version() -> str:
    """smallpix version and git commit of this checkout (``+dirty`` with uncommitted changes)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version("smallpix")
    except PackageNotFoundError:
        text = "unknown"
    repo = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    return f"{text} ({commit})"


def skeleton(grid: SweepGrid):
    """The empty result Dataset of ``grid``: every measurement NaN, every status pending."""
    import xarray as xr

    shape = tuple(len(v) for _, v in grid.axes) + (len(grid.pipelines), len(grid.seeds))
    coords = {name: list(values) for name, values in grid.axes}
    coords.update(pipeline=list(grid.pipelines), seed=list(grid.seeds))
    data = {v: (grid.dims, np.full(shape, np.nan), {"units": UNITS[v]}) for v in grid.variables}
    data.update({f"status_{i}": (grid.dims, np.zeros(shape, np.int8), {"meaning": "0 pending, 1 done, 2 failed"})
                 for i in grid.instruments})
    base = design_at(grid, {})
    attrs = {
        "title": "smallpix sweep", "code_version": code_version(), "grid_json": grid.to_json(),
        "base_design_json": json.dumps(base.to_dict(), sort_keys=True),
        "lens_json": json.dumps({"f_number_ref": base.f_number_ref, "zernike_waves_550nm": dict(base.to_dict()["zernike"]),
                                 "ocl": base.to_dict()["ocl"]}, sort_keys=True),
        "lens_scale": "multiplies every Zernike coefficient of the lens (1 = the preset lens)",
        "oversample": "raised to engine.optics.min_oversample where the PSF would be under-sampled (numerical)",
        "seeds": list(grid.seeds), "pipelines": list(grid.pipelines), "measurements": list(grid.measurements),
        "instrument_json": json.dumps(dict(grid.instrument), sort_keys=True), "scene": grid.scene,
        "errors_json": "{}",
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


class SweepStore:
    """The Zarr store at ``path`` for ``grid``: created when absent, else reopened (same grid only)."""

    def __init__(self, path: str | Path, grid: SweepGrid):
        import zarr

        self.path, self.grid = Path(path), grid
        if not self.path.exists():
            skeleton(grid).to_zarr(self.path, mode="w-", consolidated=True, zarr_format=ZARR_FORMAT)
        try:
            self.group = zarr.open_group(str(self.path), mode="r+")
            stored_grid = self.group.attrs["grid_json"]
        except (KeyError, FileNotFoundError, ValueError):
            raise SweepError(f"--out: {str(self.path)!r} exists and is not a smallpix sweep store") from None
        if stored_grid != grid.to_json():
            raise SweepError(f"--out: {str(self.path)!r} holds another grid; give a new --out or remove it to start over")
        names = list(grid.variables) + [f"status_{i}" for i in grid.instruments]
        self.arrays = {name: self.group[name][...] for name in names}
        self.errors = json.loads(self.group.attrs["errors_json"])
        self._flushed = time.monotonic()

    def is_done(self, task: Task) -> bool:
        status = self.arrays[f"status_{task.instrument}"]
        return all(status[index] == DONE for index in task.index)

    def record(self, task: Task, values: dict[str, float] | None, error: str = "") -> None:
        """Store one task's result (``values``: variable -> number), or its ``error``; flushes when due."""
        instrument_vars = {v for m, (i, names) in MEASUREMENTS.items() if i == task.instrument for v in names}
        for index in task.index:
            self.arrays[f"status_{task.instrument}"][index] = FAILED if error else DONE
            for name in instrument_vars & set(self.arrays):
                self.arrays[name][index] = np.nan if error else values[name]
        if error:
            self.errors[task.key] = error
        else:
            self.errors.pop(task.key, None)
        if time.monotonic() - self._flushed >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Write every variable and the errors to the store."""
        import zarr

        for name, array in self.arrays.items():
            self.group[name][...] = array
        self.group.attrs["errors_json"] = json.dumps(self.errors, sort_keys=True)
        zarr.consolidate_metadata(str(self.path))
        self._flushed = time.monotonic()


def table_csv(path: str | Path) -> str:
    """The store as a flat CSV table: one row per cube cell, a column per axis, measurement and status."""
    import xarray as xr

    with xr.open_zarr(path) as ds:
        return ds.to_dataframe().reset_index().to_csv(index=False)


# --- analysis of a loaded store (the app's Sweep view and the README figure) ---------------------


def cell_table(ds, variable: str):
    """One row per measured cell of ``variable``: every dimension, ``pitch_um`` and ``f_number`` (from the
    axes, else the base design), ``light_per_pixel`` and ``value``; pending, failed and NaN cells left out."""
    base = json.loads(ds.attrs["base_design_json"])
    table = ds[variable].to_dataframe(name="value").reset_index().dropna(subset=["value"])
    for field in ("pitch_um", "f_number"):
        if field not in table:
            table[field] = base[field]
    table["light_per_pixel"] = light_per_pixel(table["pitch_um"], table["f_number"])
    return table


def pareto_mask(x: np.ndarray, y: np.ndarray, *, x_higher_better: bool, y_higher_better: bool) -> np.ndarray:
    """True where no other point is at least as good on both and better on one (the Pareto front)."""
    sx = np.asarray(x, float) * (1 if x_higher_better else -1)
    sy = np.asarray(y, float) * (1 if y_higher_better else -1)
    dominated = (sx[None, :] >= sx[:, None]) & (sy[None, :] >= sy[:, None]) & ((sx[None, :] > sx[:, None]) | (sy[None, :] > sy[:, None]))
    return ~dominated.any(axis=1)


def diffraction_mtf50_cyc_per_mm(f_number: float, wavelength_nm: float = 550.0) -> float:
    """MTF50 of an aberration-free lens at one wavelength (engine.optics.diffraction_mtf), cycles/mm."""
    from engine import metrics, optics

    freqs = np.linspace(0.0, optics.cutoff_cyc_per_mm(f_number, wavelength_nm), 2001)
    return metrics.mtf50(freqs, optics.diffraction_mtf(freqs, wavelength_nm, f_number))

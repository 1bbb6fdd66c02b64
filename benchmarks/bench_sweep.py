"""Sweep throughput: points per second on a LocalCluster of 1 and of 2 worker processes, and their ratio.

Workload: the first ``--points`` cells of benchmarks/sweep_200.toml (traditional ISP, grating MTF50
with the quick instrument), each run into a fresh Zarr store by ``engine.sweep.run_sweep``. Timed:
the whole call (cluster start, every task, store writes), so the start-up cost is inside the rate;
the rate after the first result is printed too (start-up and first-task warm-up excluded).

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--points 40]``
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from engine import sweep, sweep_grid

GRID = Path(__file__).with_name("sweep_200.toml")


def subset(points: int) -> sweep_grid.SweepGrid:
    """The 200-point grid cut to its first ``points`` cells (the SNR axis varies fastest)."""
    grid = sweep_grid.load_grid(GRID)
    axes, left = [], points
    for name, values in reversed(grid.axes):
        take = max(1, min(len(values), left))
        axes.insert(0, (name, values[:take]))
        left = max(1, left // take)
    return sweep_grid.SweepGrid(**{**grid.__dict__, "axes": tuple(axes)})


def timed_run(grid: sweep_grid.SweepGrid, workers: int) -> dict:
    """Seconds for the whole sweep and for its tasks after the first result, on ``workers`` processes."""
    first = []

    def progress(done: int, total: int) -> None:
        if done == 1 and not first:
            first.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        summary = sweep.run_sweep(grid, Path(folder) / "bench.zarr", workers=workers, progress=progress)
        end = time.perf_counter()
    tasks = summary["tasks"]
    return {"workers": workers, "points": tasks, "seconds": end - start, "points_per_s": tasks / (end - start),
            "warm_points_per_s": (tasks - 1) / (end - first[0]) if first and tasks > 1 else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=40, help="cells of the 200-point grid to run (default 40)")
    args = parser.parse_args()
    grid = subset(args.points)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{len(sweep_grid.tasks(grid))} points of {GRID.name}")
    runs = [timed_run(grid, workers) for workers in (1, 2)]
    for run in runs:
        warm = f", {run['warm_points_per_s']:.2f} after the first result" if run["warm_points_per_s"] else ""
        print(f"{run['workers']} worker(s): {run['points']} points in {run['seconds']:.1f} s = "
              f"{run['points_per_s']:.2f} points/s{warm}")
    print(f"ratio 2 / 1 workers: {runs[1]['points_per_s'] / runs[0]['points_per_s']:.2f}x")


if __name__ == "__main__":
    main()

"""Sweeps on Dask: every task of a grid (engine/sweep_grid.py) measured into a Zarr store (engine/sweep_store.py).

The cluster is a ``LocalCluster`` of one single-threaded worker process per core by default, or any
running Dask scheduler (``scheduler="tcp://host:8786"``): the same call goes from a laptop to a
cluster. A task's Dask key is its identity (design hash + instrument + pipeline + seed + settings),
so a key is computed once; tasks already done in the store are not submitted (an interrupted
sweep resumes), and a task that raises records its error while the sweep goes on.

Instruments call the study's protocols: ``gratings`` is ``study.measure_mtf`` (Table 2's MTF50, H
and V), ``slanted_edge`` is ``study.measure_sfr_mtf50``, ``images`` captures each image of the
grid's scene as Table 3 does (every image covering ``extent_um`` on the sensor) and averages
``study.image_metrics`` (PSNR, MS-SSIM, LPIPS against the display ground truth) over them.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import numpy as np

from engine import scenes, study
from engine.design import DesignPoint
from engine.sweep_grid import PHOTO_SET_PREFIX, SweepError, SweepGrid, Task, tasks
from engine.sweep_store import FAILED, SweepStore

LOOPBACK = "127.0.0.1"
"""The local cluster's scheduler, workers and their HTTP servers listen here only (any free port)."""


def scene_images(scene: str, max_images: int) -> list[str]:
    """The images a grid's ``scene`` names: ``photos:SPLIT`` (the first ``max_images``, 0 = all) or one scene."""
    if scene.startswith(PHOTO_SET_PREFIX):
        photos = scenes.photo_set(scene[len(PHOTO_SET_PREFIX):])
        return [str(p) for p in photos[: max_images or None]]
    return [scene]


def image_metrics(design: DesignPoint, pipeline: str, seed: int, scene: str, extent_um: float,
                  max_images: int) -> dict[str, float]:
    """Mean PSNR (dB), MS-SSIM and LPIPS of ``pipeline`` over the scene's images, each covering
    ``extent_um`` on the sensor (photos at the Table 3 photo scale, or coarser where one would not cover it)."""
    from engine.isp import color, run_pipeline
    from engine.simulate import capture_scene, margin_px

    chain, psfs = color.color_chain(), study.psfs_for(design)
    size_px = study.view_size_px(design, extent_um)
    rendered_um = (size_px + 2 * margin_px(design, psfs.psf_pixel.shape[-1])) * design.pitch_um
    rows = []
    for j, image in enumerate(scene_images(scene, max_images)):
        photo = None if image in scenes.CHARTS else scenes.BUNDLED_PHOTOS.get(image, image)
        params = {"source_pixel_um": scenes.covering_source_pixel_um(photo, rendered_um)} if photo else {}
        capture = capture_scene(design, image, size_px, seed=seed + j, psfs=psfs, **params)
        reference = color.camera_to_display(capture.ground_truth, chain)
        rows.append(study.image_metrics(run_pipeline(pipeline, capture, chain), reference))
    return {"psnr_db": float(np.mean([r["psnr_db"] for r in rows])), "msssim": float(np.mean([r["msssim"] for r in rows])),
            "lpips": float(np.mean([r["lpips"] for r in rows]))}


def measure(task: Task, settings: dict, scene: str) -> dict[str, float]:
    """One task's measured values (variable -> number); runs on a Dask worker."""
    design, pipeline, seed = task.design, task.pipeline, task.seed
    if task.instrument == "gratings":
        result = study.measure_mtf(design, (pipeline,), size_px=int(settings["size_px"]), count=int(settings["count"]),
                                   seed=seed)[pipeline]
        return {"mtf50_h_cyc_per_mm": result.mtf50_h_cyc_per_mm, "mtf50_v_cyc_per_mm": result.mtf50_v_cyc_per_mm}
    if task.instrument == "slanted_edge":
        return {"sfr_mtf50_h_cyc_per_mm": study.measure_sfr_mtf50(design, pipeline, size_px=int(settings["size_px"]),
                                                                   seed=seed)}
    return image_metrics(design, pipeline, seed, scene, float(settings["extent_um"]), int(settings["max_images"]))


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, *, processes: bool = True):
    """A Dask client: on ``scheduler`` (an address such as tcp://host:8786), else on a new
    ``LocalCluster`` of ``workers`` single-threaded processes (default: one per core), closed at exit.
    processes=False: worker threads in this process (for callers whose ``__main__`` cannot be
    re-imported by a spawned worker, such as a Streamlit script)."""
    from dask.distributed import Client, LocalCluster

    if scheduler and workers:
        raise SweepError(f"--workers sizes the local cluster and cannot be combined with --scheduler, got {workers}")
    if workers is not None and not 1 <= workers <= 256:
        raise SweepError(f"--workers must be in [1, 256] processes, got {workers}")
    if scheduler:
        try:
            client = Client(scheduler, timeout=30)
        except OSError as err:
            raise SweepError(f"--scheduler: cannot reach a Dask scheduler at {scheduler!r} ({err})") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=processes, host=LOOPBACK,
                      dashboard_address=f"{LOOPBACK}:0", worker_dashboard_address=f"{LOOPBACK}:0") as cluster, \
            Client(cluster) as client:
        yield client


def run_sweep(grid: SweepGrid, out: str | Path, *, scheduler: str | None = None, workers: int | None = None,
              processes: bool = True, progress=None) -> dict:
    """Measure every task of ``grid`` not yet done in the store ``out``; returns a summary
    (tasks, skipped, ran, failed, seconds, points per second, workers).

    progress: optional callable(done, total) in tasks, called as tasks finish (skipped ones count as done).
    processes: local cluster of processes (default) or of threads (see :func:`dask_client`).
    """
    from dask.distributed import as_completed

    every = tasks(grid)
    store = SweepStore(out, grid)
    todo = [t for t in every if not store.is_done(t)]
    runnable = [t for t in todo if not t.error]
    for task in todo:
        if task.error:
            store.record(task, None, task.error)
    done, workers_used, start = len(every) - len(runnable), 0, time.perf_counter()
    if progress:
        progress(done, len(every))
    try:
        if runnable:
            with dask_client(scheduler, workers, processes=processes) as client:
                workers_used = len(client.scheduler_info()["workers"])
                by_key = {t.key: t for t in runnable}
                settings = dict(grid.instrument)
                futures = [client.submit(measure, t, settings, grid.scene, key=t.key, pure=False) for t in runnable]
                for future in as_completed(futures):
                    try:
                        store.record(by_key[future.key], future.result())
                    except Exception as err:  # noqa: BLE001 - any task failure is recorded, the sweep goes on
                        store.record(by_key[future.key], None, f"{type(err).__name__}: {err}")
                    future.release()
                    done += 1
                    if progress:
                        progress(done, len(every))
    finally:
        store.flush()
    seconds = time.perf_counter() - start
    failed = sum(int((store.arrays[f"status_{i}"] == FAILED).sum()) for i in grid.instruments)
    return {"out": str(out), "tasks": len(every), "skipped": len(every) - len(todo), "ran": len(runnable),
            "failed_cells": failed, "workers": workers_used, "seconds": round(seconds, 2),
            "tasks_per_s": round(len(runnable) / seconds, 3) if runnable and seconds > 0 else None,
            "errors": dict(list(store.errors.items())[:5])}


def format_summary(summary: dict) -> str:
    """One line for the CLI: what ran, what was skipped (already in the store), failures, speed."""
    rate = f", {summary['tasks_per_s']} tasks/s on {summary['workers']} workers" if summary["tasks_per_s"] else ""
    line = (f"sweep: {summary['ran']} of {summary['tasks']} tasks run ({summary['skipped']} already in the store), "
            f"{summary['failed_cells']} failed cells, {summary['seconds']} s{rate} -> {summary['out']}")
    if summary["errors"]:
        line += "\nfirst errors: " + "; ".join(f"{k}: {v}" for k, v in summary["errors"].items())
    return line + (f"\nCSV -> {summary['csv']}" if summary.get("csv") else "")

"""The ``mtf``, ``study``, ``sweep`` and ``bench`` commands: measurements of designs (MTF
instruments, the paper's tables, design sweeps) and the benchmark scripts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine import fileio
from engine.cli_options import (
    UsageError,
    check_neural_applies,
    check_scene_fits,
    design_from_args,
    engine_error,
    neural_net,
)

BENCHMARKS = ("psf", "raw", "neural", "app")
CHART_TABLES = (2, 6)
"""Study tables measured on charts only (MTF50): the photo options do not apply."""
PHOTO_OPTIONS = {"--max-images": ("max_images", (3, 4, 5, "designs"), "tables 3, 4, 5 and --designs"),
                 "--images": ("images", (3, 4, 5), "tables 3, 4 and 5"),
                 "--source-pixel-um": ("source_pixel_um", (3, 5), "tables 3 and 5")}
"""``study`` options about photos: {option: (attribute, the studies that take it, the same in words)}."""


def _progress_bar(description: str):
    """A tqdm bar on stderr driven by callable(done, total); returns (callback, bar)."""
    from tqdm import tqdm

    bar = tqdm(total=1, desc=description, unit="step", file=sys.stderr, leave=False, disable=None)  # None: not on a non-TTY

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return update, bar


def cmd_mtf(args: argparse.Namespace) -> None:
    """``mtf``: MTF50 (cycles/mm) of the design through one pipeline by each instrument."""
    from engine import instruments
    from engine.isp import PIPELINES

    if args.pipeline not in PIPELINES:
        raise UsageError(f"mtf: --pipeline must be one of {', '.join(PIPELINES)}, got {args.pipeline!r}")
    check_neural_applies("mtf", args.pipeline, args.neural)
    design = design_from_args(args)
    check_scene_fits(args.size, 0, design)
    update, bar = _progress_bar(f"MTF {args.pipeline}")
    try:
        results, skipped = instruments.measure_instruments(
            design, (args.pipeline,), size_px=args.size, count=args.count, seed=args.seed,
            edge_angle_deg=args.edge_angle_deg, edge_contrast=args.edge_contrast, neural=args.neural, progress=update)
    except ValueError as err:
        raise engine_error("mtf", err, {"size_px": "--size", "count": "--count", "edge_angle_deg": "--edge-angle-deg",
                                         "edge_contrast": "--edge-contrast"}) from None
    finally:
        bar.close()
    if args.pipeline in skipped:
        raise UsageError(f"mtf: {skipped[args.pipeline]}")
    by_instrument = results[args.pipeline]
    out = {**by_instrument["grating"].to_dict(), "pipeline": args.pipeline, "design": design.to_dict(),
           "instruments": {name: result.to_dict() for name, result in by_instrument.items()}}
    if args.pipeline == "neural":
        out["neural_net"] = neural_net(design, args.neural)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for name, label in instruments.INSTRUMENTS.items():
        measured = out["instruments"][name]
        print(f"{label}: MTF50 H {measured['mtf50_h_cyc_per_mm']}, V {measured['mtf50_v_cyc_per_mm']} cycles/mm "
              f"({args.pipeline})")
    if "neural_net" in out:
        print(f"Neural ISP: the {out['neural_net']['summary']}")


def cmd_study(args: argparse.Namespace) -> None:
    """``study``: one of the paper's tables, or ``--designs FILE``, beside the paper's numbers."""
    from engine import study

    if (args.table is None) == (args.designs is None):
        raise UsageError("study: give either --table or --designs FILE")
    if args.designs is None and args.table not in study.STUDY_TABLES + (4,):
        raise UsageError(f"--table must be 2, 3, 4, 5 or 6, got {args.table}")
    _check_photo_options(args)
    if args.out is not None:
        fileio.check_output_folder(args.out, "--out")
    try:
        photo_scale = {} if args.source_pixel_um is None else {"source_pixel_um": args.source_pixel_um}
        if args.designs is not None:
            return _cmd_study_designs(args)
        if args.table == 4:
            from engine import study_lowlight

            report = study_lowlight.run_table4(quick=args.quick, max_images=args.max_images, images_dir=args.images,
                                               out_dir=args.out, neural=args.neural, progress_factory=_progress_bar)
            print(json.dumps(report, indent=2) if args.json else study_lowlight.format_report(report))
            return None
        report = study.run_study(args.table, quick=args.quick, max_images=args.max_images, images_dir=args.images,
                                 out_dir=args.out,
                                 neural=args.neural, progress_factory=_progress_bar, **photo_scale)
    except ValueError as err:
        raise engine_error("study", err, {"source_pixel_um": "--source-pixel-um"}) from None
    print(json.dumps(report, indent=2) if args.json else study.format_report(report))


def _check_photo_options(args: argparse.Namespace) -> None:
    """Refuse the photo options (PHOTO_OPTIONS) a study would ignore, naming where each applies."""
    which = "designs" if args.designs is not None else args.table
    refused = [f"{option} (for {where})" for option, (name, takers, where) in PHOTO_OPTIONS.items()
               if getattr(args, name) is not None and which not in takers]
    if refused:
        study = "--designs" if which == "designs" else f"--table {which}"
        why = " measures charts, not photos, so it" if which in CHART_TABLES else ""
        raise UsageError(f"study {study}{why} takes no {', '.join(refused)}")


def _cmd_study_designs(args: argparse.Namespace) -> None:
    """study --designs FILE: the designs file through traditional, deconv and neural."""
    from engine import study_designs

    file = fileio.check_input_file(args.designs, "--designs", 16)
    try:
        report = study_designs.run(file, quick=args.quick, max_images=args.max_images, out_dir=args.out, neural=args.neural,
                                   progress_factory=_progress_bar)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(json.dumps(report, indent=2) if args.json else study_designs.format_designs_report(report["rows"]))


def cmd_sweep(args: argparse.Namespace) -> None:
    """``sweep``: a grid of designs measured into a resumable Zarr store, optionally also as CSV."""
    from engine import sweep, sweep_grid, sweep_store

    csv_out = fileio.check_output_file(args.csv, "--csv", (".csv",)) if args.csv else None
    update, bar = _progress_bar("sweep tasks")
    try:
        summary = sweep.run_sweep(sweep_grid.load_grid(args.grid), args.out, scheduler=args.scheduler,
                                  workers=args.workers, progress=update)
    except sweep_grid.SweepError as err:
        raise UsageError(f"sweep: {err}") from None
    finally:
        bar.close()
    if csv_out:
        with fileio.atomic_output(csv_out, "--csv") as handle:
            handle.write(sweep_store.table_csv(args.out).encode())
        summary["csv"] = str(csv_out)
    print(json.dumps(summary, indent=2) if args.json else sweep.format_summary(summary))


def cmd_bench(args: argparse.Namespace) -> None:
    """``bench``: the benchmark scripts, one after another."""
    import subprocess

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    names = [n.strip() for n in args.only.split(",")] if args.only is not None else list(BENCHMARKS)
    unknown = [n or "''" for n in names if n not in BENCHMARKS]
    if unknown:  # '' too: an empty --only must not mean every benchmark
        raise UsageError(f"--only must list names from {', '.join(BENCHMARKS)}, got {', '.join(unknown)}")
    if not folder.is_dir():
        raise UsageError(f"bench: the benchmarks/ folder of a source checkout is needed, not found at {folder}")
    for name in names:
        print(f"== benchmarks/bench_{name}.py", flush=True)
        done = subprocess.run([sys.executable, str(folder / f"bench_{name}.py")], check=False)
        if done.returncode:
            raise UsageError(f"bench: benchmarks/bench_{name}.py exited with status {done.returncode}")

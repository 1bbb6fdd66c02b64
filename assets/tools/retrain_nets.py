"""Fine-tune every shipped per-design Neural ISP (Tables 1 and 5) with the current training recipe,
from its shipped weights, into a staging folder with its own manifest (issues #16 and #18: the
2026-11-30 pass on instrument-free scenes, cache version 3, 500 steps; the 2026-12-01 pass on
training photos at 0.5-1x each design's pitch, cache version 4, ``--steps 2000 --lr 3e-4 --seed 21``).

Two designs train side by side, one torch thread each (2 cores); each run checkpoints every 100
steps and resumes when started again. Adopt the results by copying the staging folder's weights and
manifest entries into pretrained/ (``--adopt``), after checking them.

    .venv/bin/python assets/tools/retrain_nets.py [--steps 500] [--perceptual-weight 0] [--seed 18] [--staging out/retrain]
    .venv/bin/python assets/tools/retrain_nets.py --adopt [--staging out/retrain]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.design import presets  # noqa: E402
from engine.isp.neural import registry  # noqa: E402
from engine.study import FIXED_APERTURE_F_NUMBER  # noqa: E402


def jobs() -> list[tuple[str, list[str], str]]:
    """(label, design options, shipped weight file) for every shipped per-design net: Table 1's first."""
    out = []
    for f_table in (None, FIXED_APERTURE_F_NUMBER):
        for name, design in presets().items():
            f_number = f_table or design.f_number
            entry = registry.lookup(design.replace(f_number=f_number))
            if entry is None:
                continue
            options = ["--preset", name] + ([] if f_number == design.f_number else ["--f-number", f"{f_number:g}"])
            if entry["file"] not in [j[2] for j in out]:
                out.append((f"{name}@F{f_number:g}", options, entry["file"]))
    return out


def command(options: list[str], weights: str, staging: Path, args) -> list[str]:
    photos = ["--photo-magnification", *map(str, args.photo_magnification)] if args.photo_magnification else []
    return [sys.executable, "-m", "engine", "train", *options, *photos, "--init", str(registry.PRETRAINED_DIR / weights),
            "--steps", str(args.steps), "--lr", str(args.lr), "--lr-final", f"{args.lr / 10:g}",
            "--perceptual-weight", str(args.perceptual_weight), "--train-snr-min-db", str(args.snr[0]),
            "--train-snr-max-db", str(args.snr[1]), "--seed", str(args.seed), "--resume", "--out", str(staging / weights)]


def adopt(staging: Path) -> None:
    staged = registry.read_manifest(staging)["weights"]

    def replace(manifest: dict) -> None:
        keys = {e["design_hash"] for e in staged}
        manifest["weights"] = [e for e in manifest["weights"] if e["design_hash"] not in keys] + staged

    for entry in staged:
        shutil.copy2(staging / entry["file"], registry.PRETRAINED_DIR / entry["file"])
    registry.update_manifest(replace, registry.PRETRAINED_DIR)
    print(f"adopted {len(staged)} nets from {staging}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--perceptual-weight", type=float, default=0.0)
    parser.add_argument("--snr", type=float, nargs=2, default=(28.0, 42.0))
    parser.add_argument("--photo-magnification", type=float, nargs=2, metavar=("LO", "HI"),
                        help="training photo pixel in pixel pitches (default: train's, 0.5 1)")
    parser.add_argument("--seed", type=int, default=18, help="sampler seed (18: the 2026-11-30 pass)")
    parser.add_argument("--staging", default=str(ROOT / "out" / "retrain"))
    parser.add_argument("--only", help="comma-separated labels (e.g. 0.35@F1.66)")
    parser.add_argument("--adopt", action="store_true")
    args = parser.parse_args()
    staging = Path(args.staging)
    if args.adopt:
        return adopt(staging)
    staging.mkdir(parents=True, exist_ok=True)
    todo = [j for j in jobs() if not args.only or j[0] in args.only.split(",")]
    env = dict(os.environ, SMALLPIX_TORCH_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    running: list[subprocess.Popen] = []
    for label, options, weights in todo:
        while len(running) >= 2:
            running[0].wait()
            running = [p for p in running if p.poll() is None]
        log = open(staging / f"{label}.log", "a")
        print(f"start {label}: {' '.join(command(options, weights, staging, args))}", flush=True)
        running.append(subprocess.Popen(command(options, weights, staging, args), cwd=ROOT, env=env,
                                        stdout=log, stderr=subprocess.STDOUT))
        running = [p for p in running if p.poll() is None]
    for p in running:
        p.wait()
    print(json.dumps([e["file"] for e in registry.read_manifest(staging)["weights"]]))


if __name__ == "__main__":
    main()

"""Rebuild the shipped universal Neural ISP (pretrained/neural_universal.pt, 2026-11-30): two runs
on one pool of 200 random designs (universal_data.build_pool, seed 0; built here if missing).

1. 4,500 steps warm-started from the 0.35 um per-design net, cosine 5e-4 -> 5e-5, sampler seed 11
   (checkpoint out/universal/universal.ckpt; ~77 minutes of one CPU thread);
2. that checkpoint (net, Adam state, sampler RNG) continued under a new cosine schedule to 9,500
   steps in all, 3e-4 -> 3e-5 (checkpoint out/universal2/universal.ckpt; ~75 minutes),

then exported with its validation into pretrained/ (manifest entry "universal"). Both runs resume
from their checkpoints after a stop.

    SMALLPIX_TORCH_THREADS=1 .venv/bin/python assets/tools/rebuild_universal.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.isp.neural import registry, universal_data, universal_train  # noqa: E402
from engine.isp.neural.train import TrainConfig  # noqa: E402

FIRST = TrainConfig(steps=4500, batch=6, crop=112, lr=5e-4, lr_final=5e-5, warmup=100, seed=11,
                    snr_range_db=universal_data.SNR_RANGE_DB)
CONFIG = TrainConfig(steps=9500, batch=6, crop=112, lr=3e-4, lr_final=3e-5, warmup=100, seed=11,
                     snr_range_db=universal_data.SNR_RANGE_DB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", default=str(ROOT / "out/universal/universal.ckpt"), help="run 1's checkpoint")
    parser.add_argument("--ckpt", default=str(ROOT / "out/universal2/universal.ckpt"), help="run 2's checkpoint")
    args = parser.parse_args()
    pool = universal_data.pool_path(200, 160, 0)
    if not pool.exists():
        universal_data.build_pool(pool, designs=200, seed=0)
    ckpt = Path(args.ckpt)
    if not ckpt.exists():
        first = universal_train.train_universal(pool, args.first, FIRST, resume=True, log=print,
                                                init=registry.PRETRAINED_DIR / "neural_0p35_e67523ec57dcc2fb.pt")
        if not first["completed"]:
            return
        state = torch.load(args.first, map_location="cpu", weights_only=True)
        state["meta"]["train_config"] = CONFIG.to_dict()
        state["meta"]["continued_at_step"] = state["step"]
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, ckpt)
    bar = tqdm(total=CONFIG.steps, desc="continue universal", unit="step")

    def progress(step: int, _total: int, loss) -> None:
        bar.update(step - bar.n)
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.4f}")

    summary = universal_train.train_universal(pool, ckpt, CONFIG, resume=True, progress=progress, log=bar.write)
    bar.close()
    if summary["completed"]:
        entry = universal_train.export_trained(ckpt, registry.PRETRAINED_DIR / "neural_universal.pt")
        print(f"exported: {entry['training']['steps']} steps, validation {entry['validation']}")


if __name__ == "__main__":
    main()

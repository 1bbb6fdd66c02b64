"""Rebuild the shipped universal Neural ISP (pretrained/neural_universal.pt, 2026-12-01): three runs
on two pools of 200 random designs each (universal_data.build_pool, seeds 0 and 1; built here if
missing).

1. 4,500 steps warm-started from the 0.35 um per-design net on pool 0, cosine 5e-4 -> 5e-5,
   sampler seed 11 (checkpoint out/universal/universal.ckpt; ~77 minutes of one CPU thread);
2. that checkpoint (net, Adam state, sampler RNG) continued under a new cosine schedule to 9,500
   steps in all, 3e-4 -> 3e-5 (checkpoint out/universal2/universal.ckpt; ~75 minutes), exported
   (out/universal2/neural_universal.pt: the net shipped on 2026-11-30);
3. 4,000 steps warm-started from that export on pool 1 (200 new designs), 2e-4 -> 2e-5, sampler
   seed 12 (checkpoint out/universal3/universal.ckpt; ~40 minutes),

then exported with its validation into pretrained/ (manifest entry "universal", 13,500 steps in
all, the earlier runs' record under ``training.continued_from``). Every run resumes from its
checkpoint after a stop.

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
THIRD = TrainConfig(steps=4000, batch=6, crop=112, lr=2e-4, lr_final=2e-5, warmup=50, seed=12,
                    snr_range_db=universal_data.SNR_RANGE_DB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", default=str(ROOT / "out/universal/universal.ckpt"), help="run 1's checkpoint")
    parser.add_argument("--ckpt", default=str(ROOT / "out/universal2/universal.ckpt"), help="run 2's checkpoint")
    parser.add_argument("--third", default=str(ROOT / "out/universal3/universal.ckpt"), help="run 3's checkpoint")
    args = parser.parse_args()
    second = Path(args.ckpt).parent / "neural_universal.pt"
    if not second.exists():
        if not first_two_runs(Path(args.first), Path(args.ckpt), second):
            return
    pool = universal_data.pool_path(200, 160, 1)
    if not pool.exists():
        universal_data.build_pool(pool, designs=200, seed=1)
    summary = train(pool, Path(args.third), THIRD, "universal run 3", init=second)
    if summary["completed"]:
        previous = registry.universal_entry(second.parent)
        entry = universal_train.export_trained(args.third, registry.PRETRAINED_DIR / "neural_universal.pt",
                                               continued_from=previous)
        print(f"exported: {entry['steps']['total']} steps, validation {entry['validation']}")


def first_two_runs(first: Path, ckpt: Path, out: Path) -> bool:
    """Runs 1 and 2 on pool 0, exported to ``out``; False while unfinished (resume later)."""
    pool = universal_data.pool_path(200, 160, 0)
    if not pool.exists():
        universal_data.build_pool(pool, designs=200, seed=0)
    if not ckpt.exists():
        if not train(pool, first, FIRST, "universal run 1",
                     init=registry.PRETRAINED_DIR / "neural_0p35_e67523ec57dcc2fb.pt")["completed"]:
            return False
        state = torch.load(first, map_location="cpu", weights_only=True)
        state["meta"]["train_config"] = CONFIG.to_dict()
        state["meta"]["continued_at_step"] = state["step"]
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, ckpt)
    if not train(pool, ckpt, CONFIG, "universal run 2")["completed"]:
        return False
    universal_train.export_trained(ckpt, out)
    return True


def train(pool: Path, ckpt: Path, config: TrainConfig, label: str, init: Path | None = None) -> dict:
    """One resumable run with a progress bar."""
    bar = tqdm(total=config.steps, desc=label, unit="step")

    def progress(step: int, _total: int, loss) -> None:
        bar.update(step - bar.n)
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.4f}")

    summary = universal_train.train_universal(pool, ckpt, config, init=init, resume=True, progress=progress,
                                              log=bar.write)
    bar.close()
    return summary


if __name__ == "__main__":
    main()

"""Rebuild the shipped universal Neural ISP (pretrained/neural_universal.pt, 2026-12-01): four runs
on three pools of 200 random designs each (universal_data.build_pool, seeds 0, 1 and 2; built here
if missing).

1. 4,500 steps warm-started from the 0.35 um per-design net on pool 0, cosine 5e-4 -> 5e-5,
   sampler seed 11 (checkpoint out/universal/universal.ckpt; ~77 minutes of one CPU thread);
2. that checkpoint (net, Adam state, sampler RNG) continued under a new cosine schedule to 9,500
   steps in all, 3e-4 -> 3e-5 (checkpoint out/universal2/universal.ckpt; ~75 minutes), exported
   (out/universal2/neural_universal.pt: the net shipped on 2026-11-30);
3. 4,000 steps warm-started from that export on pool 1 (200 new designs), 2e-4 -> 2e-5, sampler
   seed 12 (checkpoint out/universal3/universal.ckpt; ~40 minutes), exported
   (out/universal3/neural_universal.pt: the net shipped in the morning of 2026-12-01);
4. 6,000 steps warm-started from that export on pool 2 (200 new designs), 2e-4 -> 2e-5, sampler
   seed 13 (checkpoint out/universal4/universal.ckpt; ~60 minutes),

then exported with its validation into pretrained/ (manifest entry "universal", 19,500 steps in
all, the earlier runs' record nested under ``training.continued_from``). Every run resumes from its
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
FOURTH = TrainConfig(steps=6000, batch=6, crop=112, lr=2e-4, lr_final=2e-5, warmup=50, seed=13,
                     snr_range_db=universal_data.SNR_RANGE_DB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", default=str(ROOT / "out/universal/universal.ckpt"), help="run 1's checkpoint")
    parser.add_argument("--ckpt", default=str(ROOT / "out/universal2/universal.ckpt"), help="run 2's checkpoint")
    parser.add_argument("--third", default=str(ROOT / "out/universal3/universal.ckpt"), help="run 3's checkpoint")
    parser.add_argument("--fourth", default=str(ROOT / "out/universal4/universal.ckpt"), help="run 4's checkpoint")
    args = parser.parse_args()
    second = Path(args.ckpt).parent / "neural_universal.pt"
    if not second.exists():
        if not first_two_runs(Path(args.first), Path(args.ckpt), second):
            return
    third = Path(args.third).parent / "neural_universal.pt"
    if not third.exists():
        if not continued_run(1, Path(args.third), THIRD, "universal run 3", second, third):
            return
    if continued_run(2, Path(args.fourth), FOURTH, "universal run 4", third, registry.PRETRAINED_DIR / "neural_universal.pt"):
        entry = registry.universal_entry(registry.PRETRAINED_DIR)
        print(f"exported: {entry['steps']['total']} steps, validation {entry['validation']}")


def continued_run(pool_seed: int, ckpt: Path, config: TrainConfig, label: str, init: Path, out: Path) -> bool:
    """A run warm-started from the export ``init`` on the pool of ``pool_seed``, exported to ``out``
    (its manifest entry records ``init``'s under ``training.continued_from``); False while unfinished."""
    pool = universal_data.pool_path(200, 160, pool_seed)
    if not pool.exists():
        universal_data.build_pool(pool, designs=200, seed=pool_seed)
    if not train(pool, ckpt, config, label, init=init)["completed"]:
        return False
    universal_train.export_trained(ckpt, out, continued_from=registry.universal_entry(init.parent))
    return True


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

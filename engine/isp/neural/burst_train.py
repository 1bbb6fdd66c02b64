"""Training of a multi-frame Neural ISP (:class:`engine.isp.neural.model.MultiFrameISP`) for one
design's bursts: a burst cache of that design (engine.isp.neural.data, ``CacheSpec.frames`` = K),
batches from :class:`engine.isp.neural.burst_data.BurstSampler`, the single-frame loop
(:func:`engine.isp.neural.train.fit`: loss, schedule, checkpoints, resume), warm-started from the
design's folded single-frame weights. Export writes folded fp16 weights and a ``bursts`` manifest
entry (engine.isp.neural.registry.export_burst).

    .venv/bin/python -m engine.isp.neural.burst_train --preset 0.35 --out out/burst/neural_0p35_burst.pt
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from engine.design import DesignPoint
from engine.isp.neural import burst_data, data, model as M
from engine.isp.neural.train import (TrainConfig, _load_folded_init, fit, set_threads, start_or_resume,
                                     to_device, validation_metrics)

BURST_FRAMES = 10
BURST_CACHE_SPEC = data.CacheSpec(photo_views=3, dead_leaves=16, text=6, gratings=16, edges=4, stars=4, val_views=1,
                                  frames=BURST_FRAMES)
"""The burst cache: 130 training captures of 10 frames at 256 px (~170 MB), one view per validation photo."""
BURST_TRAIN_CONFIG = TrainConfig(steps=4000, batch=6, crop=112, lr=3e-4, lr_final=3e-5, warmup=50,
                                 snr_range_db=(12.0, 24.0), ckpt_every=100)
"""Fine-tune from the single-frame net: low light (12-24 dB per frame), bursts of 1-10 frames."""


VALIDATION_SNR_DB = 15.0
"""SNR per frame of the validation bursts (the paper's Table 4 low-light setting)."""


def burst_design(design: DesignPoint, frames: int = BURST_FRAMES) -> DesignPoint:
    """The design whose bursts the cache holds: ``frames`` frames, validation noise at
    VALIDATION_SNR_DB per frame (training draws its SNR per batch)."""
    return design.replace(burst=frames, snr_db=VALIDATION_SNR_DB)


def validate_burst(net: M.MultiFrameISP, cache: dict, *, frames: int | None = None) -> dict:
    """Validation metrics on the burst cache's validation bursts (design SNR, fixed noise), shifts
    estimated by the run-time aligner: the net on the first ``frames`` frames (default all) and the
    bilinear demosaic of frame 0."""
    from engine.isp.neural.infer import run_burst

    return validation_metrics(net, cache, lambda raw, sigma: run_burst(net, raw[:frames], sigma[:frames],
                                                                       layout=net.config.cfa))


def train_burst(design: DesignPoint, out: str | Path, cfg: TrainConfig = BURST_TRAIN_CONFIG, *,
                init: str | Path | None = None, resume: bool = False, frames: int = BURST_FRAMES,
                cache_dir: str | Path = data.DEFAULT_CACHE_DIR, cache_spec: data.CacheSpec = BURST_CACHE_SPEC,
                model_config: M.ModelConfig = M.ModelConfig(), export: bool = True, progress=None, log=print) -> dict:
    """Train ``design``'s multi-frame net to ``out`` (.pt; checkpoint ``out`` with suffix .ckpt).
    init: the design's folded single-frame weights (a ``pretrained/*.pt`` file) to start from.
    model_config: the architecture (made multi-frame, for ``design``'s CFA).
    Returns a summary (steps, seconds, validation at 1 frame and at ``frames`` frames, weights)."""
    threads = set_threads()
    out = Path(out)
    ckpt = out.with_suffix(".ckpt")
    out.parent.mkdir(parents=True, exist_ok=True)
    bdesign = burst_design(design, frames)
    cache = data.load_cache(data.ensure_cache(bdesign, cache_dir, replace(cache_spec, frames=frames)))
    torch.manual_seed(cfg.seed)
    net = M.build_model(replace(model_config, cfa=design.cfa, multiframe=True))
    sampler = burst_data.BurstSampler(cache, cfg.crop, cfg.batch, snr_range_db=cfg.snr_range_db, seed=cfg.seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    meta = {"designs": [bdesign.design_hash()], "init": str(init) if init else None, "train_config": cfg.to_dict(),
            "seconds": 0.0}
    warm_start = (lambda n: {"base": _load_folded_init(n.net, Path(init), torch.load(init, map_location="cpu",
                                                                                        weights_only=True))})
    step, history, meta = start_or_resume(ckpt, net, opt, sampler, meta, resume=resume, log=log,
                                          warm_start=warm_start if init else None)
    cpu = torch.device("cpu")
    net = to_device(net, opt, cpu)
    step, history, seconds, skipped = fit(net, opt, sampler, cfg, ckpt, step, history, meta, cpu, progress)
    summary = {"steps": step, "seconds": round(seconds, 1), "threads": threads, "checkpoint": str(ckpt),
               "skipped_steps": skipped, "final_loss": round(float(np.mean(history[-50:])), 5) if history else None}
    if export:
        summary["validation"] = {f"frames_{k}": validate_burst(net, cache, frames=k) for k in (1, frames)}
        summary["weights"] = export_net(net, design, out, cfg, meta, cache, summary, frames)
    return summary


def export_net(net: M.MultiFrameISP, design: DesignPoint, out: Path, cfg: TrainConfig, meta: dict, cache: dict,
           summary: dict, frames: int) -> dict:
    """Fold and save ``net`` with its ``bursts`` manifest entry in ``out``'s folder."""
    from engine.isp.neural import registry

    base = meta.get("base") or {}
    base_steps = base.get("lineage_steps", base.get("steps")) or 0
    low, high = cfg.snr_range_db
    return registry.export_burst(
        net, design, out, frames_range=(1, frames),
        steps={"base": base_steps, "fine_tune": summary["steps"], "total": base_steps + summary["steps"]},
        training={"data": (f"bursts of {frames} frames with the sensor model's hand-shake (+-1 px) through this design "
                           "(the per-design cache's sources: 'train' photo split, text, instrument-free charts); "
                           f"1-{frames} frames per batch, fresh shot noise per frame at {low:g}-{high:g} dB, shifts "
                           f"as the aligner estimates them (error RMS {burst_data.SHIFT_ERROR_PX[0]:g}-"
                           f"{burst_data.SHIFT_ERROR_PX[1]:g} px); no test-split images"),
                  "cache": {k: cache["meta"][k] for k in ("design_hash", "spec", "sources", "kinds", "seconds")},
                  "config": cfg.to_dict(), "seconds": summary["seconds"], "threads": summary["threads"],
                  "base_model": base or None, "final_loss": summary["final_loss"],
                  "skipped_steps": summary["skipped_steps"]},
        validation={"split": "validation photo split, one burst per photo at the design SNR, fixed noise",
                    **summary["validation"]},
        gmac_per_mp_at={k: round(M.macs_per_megapixel(net.config, k) / 1e9, 1) for k in (1, frames)})


def main(argv=None) -> None:
    import argparse

    from tqdm import tqdm

    from engine.design import presets

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="0.35", choices=sorted(presets()))
    p.add_argument("--out", required=True, help="weights file (.pt); its checkpoint is <out>.ckpt")
    p.add_argument("--init", help="folded single-frame weights to start from (default: the preset's shipped net)")
    p.add_argument("--steps", type=int, default=BURST_TRAIN_CONFIG.steps)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-export", action="store_true", help="train and checkpoint only")
    args = p.parse_args(argv)
    from engine.isp.neural import registry

    design = presets()[args.preset]
    init = args.init or registry.PRETRAINED_DIR / registry.lookup(design)["file"]
    cfg = replace(BURST_TRAIN_CONFIG, steps=args.steps)
    bar = tqdm(total=cfg.steps, desc=f"burst net {args.preset}", unit="step", mininterval=5)

    def progress(step, total, loss):
        bar.n = step
        bar.set_postfix(loss=f"{loss:.4f}" if loss is not None and math.isfinite(loss) else "-", refresh=False)
        bar.refresh()

    summary = train_burst(design, args.out, cfg, init=init, resume=args.resume, export=not args.no_export,
                          progress=progress, log=bar.write)
    bar.close()
    print({k: v for k, v in summary.items() if k != "weights"})


if __name__ == "__main__":
    main()

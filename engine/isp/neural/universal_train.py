"""Training of the universal (PSF-conditioned) Neural ISP on a pool of random designs.

Same recipe as the per-design nets (engine.isp.neural.train: Adam, cosine schedule, L1 on linear
and gamma-encoded RGB, spike skipping, checkpoints with the sampler's RNG state, resume), over
``universal_data.UniversalSampler`` batches. ``init`` warm-starts from folded weights of another
net (a per-design net or an earlier universal export): its convolutions are copied, the new
conditioning inputs start at zero, so training begins from that net's behaviour.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from engine.isp.neural import model as M
from engine.isp.neural import universal, universal_data
from engine.isp.neural.train import TrainConfig, loss_fn, lr_at, set_threads

UNIVERSAL_CONFIG = M.ModelConfig(cond_features=universal.COND_FEATURES)


@torch.no_grad()
def warm_start(net: M.NeuralISP, weights: str | Path) -> dict:
    """Load folded weights (a ``pretrained/*.pt`` file) into the unfolded ``net``: each RepConv's 3x3
    kernel takes the folded kernel (less the identity it will add back), its 1x1 branch starts at
    zero; input channels the source net lacks start at zero. Returns {file, design_hash}."""
    state = torch.load(weights, map_location="cpu", weights_only=True)
    folded = {k: v.float() for k, v in state["state_dict"].items()}
    own = net.state_dict()
    for key, value in folded.items():
        target = own[key]
        if target.shape != value.shape:  # the head: more input channels
            target.zero_()
            target[:, : value.shape[1]] = value
        else:
            target.copy_(value)
    for name, module in net.named_modules():
        if isinstance(module, M.RepConv) and not module.folded:
            module.conv1.weight.zero_()
            if module.identity:
                module.conv3.weight[:, :, 1, 1] -= torch.eye(module.cout)
    net.load_state_dict(own)
    return {"file": Path(weights).name, "design_hash": state.get("design_hash")}


def _tensors(batch: dict):
    raw = torch.from_numpy(batch["raw"])[:, None]
    sigma = torch.from_numpy(batch["sigma"])[:, None]
    cond = torch.from_numpy(batch["cond"]).permute(0, 3, 1, 2).contiguous()
    gt = torch.from_numpy(batch["gt"]).permute(0, 3, 1, 2).contiguous()
    return raw, sigma, cond, gt


def train_universal(pool_file: str | Path, ckpt: str | Path, cfg: TrainConfig = TrainConfig(), *,
                    init: str | Path | None = None, resume: bool = True, progress=None, should_stop=None,
                    log=print) -> dict:
    """Train (or resume) the universal net on ``pool_file``; checkpoint (unfolded, fp32, with the
    optimiser and sampler state) at ``ckpt`` every ``cfg.ckpt_every`` steps, and when
    ``should_stop()`` turns true (then return early: a later call resumes). Returns a summary with
    ``completed`` (all ``cfg.steps`` done) and the trained ``net``."""
    threads = set_threads()
    ckpt = Path(ckpt)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    pool = universal_data.load_pool(pool_file)
    torch.manual_seed(cfg.seed)
    net = M.build_model(UNIVERSAL_CONFIG)
    sampler = universal_data.UniversalSampler(pool, cfg.crop, cfg.batch, seed=cfg.seed, snr_range_db=cfg.snr_range_db)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step, history = 0, []
    meta = {"pool": Path(pool_file).name, "pool_designs": len(pool["meta"]["designs"]), "init": None,
            "train_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()},
            "seconds": 0.0}
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sampler.load_state(state["sampler"])
        step, history, meta = state["step"], state["history"], state["meta"]
        log(f"resumed {ckpt} at step {step}")
    elif init:
        meta["init"] = warm_start(net, init)
    net = net.to(memory_format=torch.channels_last)
    net.train()
    t_start = time.time() - meta["seconds"]
    running, skipped, stopped = None, 0, False
    while step < cfg.steps and not stopped:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        batch = sampler.sample()
        raw, sigma, cond, gt = _tensors(batch)
        loss = loss_fn(net(raw, sigma, cond, batch["layout"]), gt, cfg.gamma_weight)
        value = loss.item()
        opt.zero_grad(set_to_none=True)
        if math.isfinite(value) and (running is None or step < 100 or value < 4 * running):
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
            opt.step()
        else:
            skipped += 1
        step += 1
        if math.isfinite(value):
            running = value if running is None else 0.98 * running + 0.02 * min(value, 4 * running)
        history.append(round(value, 6))
        if progress:
            progress(step, cfg.steps, running)
        stopped = bool(should_stop and should_stop())
        if step % cfg.ckpt_every == 0 or step == cfg.steps or stopped:
            meta["seconds"] = time.time() - t_start
            tmp = ckpt.with_name(ckpt.name + ".tmp")
            torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "sampler": sampler.state(), "step": step,
                        "history": history, "meta": meta, "config": net.config.to_dict()}, tmp)
            tmp.replace(ckpt)
    return {"steps": step, "completed": step >= cfg.steps, "net": net, "seconds": round(time.time() - t_start, 1), "threads": threads, "skipped_steps": skipped,
            "final_loss": round(float(np.mean(history[-100:])), 5) if history else None, "checkpoint": str(ckpt),
            "meta": meta}

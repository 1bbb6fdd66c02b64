"""Training loop for the Neural ISP: Adam + cosine schedule on cached pairs with fresh noise,
checkpoints every ``ckpt_every`` steps (full state: model, optimiser, sampler RNG, step), resume,
export of folded fp16 weights into pretrained/ with a manifest entry (engine.isp.neural.registry).

Recipe (defaults): batch 6 crops of 112 x 112 px, L1 on linear camera RGB plus 0.5 x L1 after a
display-like gamma (x^(1/2.2)), optionally + ``perceptual_weight`` x LPIPS of the display-encoded
crops, lr 1e-3 -> 1e-4 cosine, 50 warm-up steps, SNR uniform 30-40 dB, exposure gain 0.6-1.25.
``init`` starts from another run's checkpoint or from folded weights (fine-tuning a shared base
model, or a shipped net). The shipped nets' last run (2026-11-30, assets/tools/retrain_nets.py):
500 steps from their weights, lr 2e-4 -> 2e-5, no perceptual term, SNR 28-42 dB.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.design import DesignPoint
from engine.isp.neural import data, model as M


@dataclass
class TrainConfig:
    steps: int = 3000
    batch: int = 6
    crop: int = 112
    lr: float = 1e-3
    lr_final: float = 1e-4
    warmup: int = 50
    gamma_weight: float = 0.5
    perceptual_weight: float = 0.0  # x LPIPS (AlexNet) of the display-encoded crops
    snr_range_db: tuple = (30.0, 40.0)
    seed: int = 0
    ckpt_every: int = 100
    val_every: int = 0  # 0: only at the end

    def to_dict(self) -> dict:
        """JSON-ready fields (tuples as lists), as checkpoints and manifests record them."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def set_threads() -> int:
    """All CPU cores, unless SMALLPIX_TORCH_THREADS says otherwise (on a machine shared with other
    busy processes, fewer threads than cores avoids OpenMP threads waiting on descheduled peers)."""
    n = int(os.environ.get("SMALLPIX_TORCH_THREADS", 0)) or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


def display_torch(camera_rgb: torch.Tensor) -> torch.Tensor:
    """engine.isp.color.camera_to_display in torch, differentiable: (B, 3, H, W) linear camera RGB
    -> sRGB-encoded display RGB in [0, 1] (white balance, CCM, tone curve, sRGB encoding)."""
    from engine.isp import color

    chain = color.color_chain()
    gains = torch.as_tensor(chain.wb_gains, dtype=camera_rgb.dtype).view(1, 3, 1, 1)
    ccm = torch.as_tensor(chain.ccm, dtype=camera_rgb.dtype)
    linear = torch.einsum("ij,bjhw->bihw", ccm, camera_rgb * gains).clamp(0.0, 1.0)
    a = chain.tone_strength
    toned = (1 - a) * linear + a * linear * linear * (3 - 2 * linear)
    return torch.where(toned <= 0.0031308, 12.92 * toned, 1.055 * toned.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)


def loss_fn(out: torch.Tensor, gt: torch.Tensor, gamma_weight: float, perceptual_weight: float = 0.0) -> torch.Tensor:
    """L1 on linear camera RGB + ``gamma_weight`` x L1 after a display-like gamma + ``perceptual_weight``
    x LPIPS (AlexNet, engine.perceptual's network, frozen) of the display-encoded images."""
    loss = F.l1_loss(out, gt)
    if gamma_weight:
        g = lambda x: (x.clamp(min=0.0) + 1e-2) ** (1 / 2.2)  # noqa: E731
        loss = loss + gamma_weight * F.l1_loss(g(out), g(gt))
    if perceptual_weight:
        from engine import perceptual

        net = perceptual._lpips_model()
        to_unit = lambda x: (display_torch(x) * 2.0 - 1.0)  # noqa: E731
        loss = loss + perceptual_weight * net.distance(net.unit_features(to_unit(out)), net.unit_features(to_unit(gt))).mean()
    return loss


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * min(t, 1.0)))


@torch.no_grad()
def validate(net: M.NeuralISP, cache: dict, *, max_images: int | None = None) -> dict:
    """Validation metrics on the cache's held-out validation captures (design SNR, fixed noise):
    PSNR (dB) of linear camera RGB clipped to [0, 1] for the network and the bilinear skip, and
    MS-SSIM / LPIPS after the shared colour chain."""
    from engine.isp.neural.infer import run_model

    return validation_metrics(net, cache, lambda raw, sigma: run_model(net, raw, sigma), max_images=max_images)


@torch.no_grad()
def validation_metrics(net, cache: dict, process, *, max_images: int | None = None) -> dict:
    """Mean :func:`image_metrics` over the cache's validation captures of ``process(raw, sigma)``
    (float32 arrays as cached: one mosaic or a burst) and of the bilinear demosaic of the (first)
    mosaic, with ``net`` in eval mode."""
    n = cache["val_raw"].shape[0] if max_images is None else min(max_images, cache["val_raw"].shape[0])
    was_training = net.training
    net.eval()
    rows = []
    for i in range(n):
        raw = cache["val_raw"][i].astype(np.float32)
        out = process(raw, cache["val_sigma"][i].astype(np.float32))
        first = raw if raw.ndim == 2 else raw[0]
        m = M.cfa_masks(net.config.cfa, *first.shape)
        base = M.bilinear_demosaic_torch(torch.from_numpy(first)[None, None], m, net.config.cfa)[0].permute(1, 2, 0).numpy()
        rows.append(image_metrics({"neural": out, "bilinear": base}, cache["val_gt"][i].astype(np.float32)))
    net.train(was_training)
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]} | {"images": n}


def image_metrics(images: dict, gt: np.ndarray) -> dict:
    """``psnr_linear_<key>`` (dB, linear camera RGB clipped to [0, 1]), ``msssim_<key>`` and
    ``lpips_<key>`` (after the shared colour chain) of each (H, W, 3) image against ``gt``."""
    from engine import perceptual
    from engine.isp import color

    chain = color.color_chain()
    ref = color.camera_to_display(gt, chain)
    row = {}
    for key, img in images.items():
        mse = float(np.mean((np.clip(img, 0, 1) - np.clip(gt, 0, 1)) ** 2))
        row[f"psnr_linear_{key}"] = 10 * math.log10(1.0 / max(mse, 1e-12))
        disp = color.camera_to_display(img, chain)
        row[f"msssim_{key}"] = float(perceptual.ms_ssim(disp, ref))
        row[f"lpips_{key}"] = float(perceptual.lpips_alex(disp, ref))
    return row


def guarded_step(net, opt, loss: torch.Tensor, running: float | None, step: int) -> tuple[float, bool, float | None]:
    """Backward and a clipped optimiser step, unless the loss is NaN or a spike (4x the running loss
    after the first 100 steps): a spike is skipped, not learned from. Returns (loss value, whether
    the step was taken, the updated running loss)."""
    value = loss.item()
    opt.zero_grad(set_to_none=True)
    taken = math.isfinite(value) and (running is None or step < 100 or value < 4 * running)
    if taken:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
        opt.step()
    if math.isfinite(value):
        running = value if running is None else 0.98 * running + 0.02 * min(value, 4 * running)
    return value, taken, running


def checkpoint_problem(path: str | Path) -> str | None:
    """None if ``path`` holds a training checkpoint (a dict of tensors), else why not, in a few words."""
    import warnings

    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of a foreign file
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 (a probe: torch's weights-only unpickler raises IndexError,
        return type(err).__name__  # KeyError, UnicodeDecodeError... on files that are no checkpoint at all)
    return None if isinstance(state, dict) else f"holds a {type(state).__name__}, not a dict"


def restore_checkpoint(path: Path, net, opt, sampler) -> tuple[int, list, dict]:
    """Load a :func:`save_checkpoint` file into ``net``, ``opt`` and ``sampler``; returns (step, history, meta)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    sampler.load_state(state["sampler"])
    return state["step"], state["history"], state["meta"]


def save_checkpoint(path: Path, net, opt, sampler, step: int, history: list, meta: dict) -> None:
    """Model, optimiser, sampler RNG state, step, loss history and meta, written atomically."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "sampler": sampler.state(), "step": step,
                "history": history, "meta": meta, "config": net.config.to_dict()}, tmp)
    tmp.replace(path)


def _load_init(net: M.NeuralISP, init: str | Path) -> dict:
    """Initialise from a checkpoint (.ckpt, unfolded) of another run, or from folded weights (a
    ``pretrained/*.pt`` file, its lineage read from the manifest beside it); returns what the manifest
    records about it (its steps, its ``lineage_steps``: those plus every earlier run it started
    from, designs, wall time). The optimiser starts afresh (a fine-tune has its own schedule)."""
    state = torch.load(init, map_location="cpu", weights_only=True)
    if "state_dict" in state:
        return _load_folded_init(net, Path(init), state)
    net.load_state_dict(state["model"] if "model" in state else state)
    meta = state.get("meta", {})
    earlier = meta.get("base") or {}
    earlier_steps = earlier.get("lineage_steps", earlier.get("steps")) or 0
    return {"file": Path(init).name, "steps": state.get("step"), "lineage_steps": (state.get("step") or 0) + earlier_steps,
            "designs": meta.get("designs"), "seconds": round(meta.get("seconds", 0.0), 1),
            "train_config": meta.get("train_config")}


def _load_folded_init(net: M.NeuralISP, init: Path, state: dict) -> dict:
    from engine.isp.neural import registry

    registry.warm_start(net, init)
    try:
        entries = registry.read_manifest(init.parent).get("weights", [])
    except (OSError, ValueError, registry.WeightsError):
        entries = []
    entry = next((e for e in entries if e.get("file") == init.name), {})
    steps = (entry.get("steps") or {}).get("total")
    return {"file": init.name, "steps": steps, "lineage_steps": steps or 0, "designs": [state.get("design_hash")],
            "seconds": (entry.get("training") or {}).get("seconds"), "train_config": (entry.get("training") or {}).get("config")}


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """The torch device for ``name`` (DEVICES; auto: CUDA when present, else the CPU); ValueError for
    another name, or for cuda on a machine without it."""
    if name not in DEVICES:
        raise ValueError(f"--device must be {', '.join(DEVICES)}, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: this machine has no CUDA device (torch.cuda.is_available() is false)")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def to_device(net, opt, dev: torch.device):
    """``net`` (channels-last: ~1.5x faster convolutions on CPU with oneDNN) and ``opt``'s state
    (restored from a checkpoint on the CPU) on ``dev``; returns the net."""
    net = net.to(dev, memory_format=torch.channels_last)
    for state in opt.state.values():
        for key, value in state.items():
            if torch.is_tensor(value) and key != "step":
                state[key] = value.to(dev)
    return net


def start_or_resume(ckpt: Path, net, opt, sampler, meta: dict, *, resume: bool, warm_start=None,
                    log=print) -> tuple[int, list, dict]:
    """Where a run begins: (step, history, meta) from the checkpoint ``ckpt`` when ``resume`` and it
    exists, else step 0 with ``meta`` updated by ``warm_start(net)`` (a dict; None: from scratch)."""
    if resume and ckpt.exists():
        step, history, meta = restore_checkpoint(ckpt, net, opt, sampler)
        log(f"resumed {ckpt} at step {step}")
        return step, history, meta
    if warm_start is not None:
        meta.update(warm_start(net))
    return 0, [], meta


def fit(net, opt, sampler, cfg: TrainConfig, ckpt: Path, step: int, history: list, meta: dict, dev, progress=None,
        should_stop=None):
    """The training loop from ``step`` to ``cfg.steps``: ``net(*inputs)`` against ``gt`` for each
    ``(*inputs, gt) = sampler.sample()`` (tensors move to ``dev``, other inputs pass as they are),
    checkpoints every ``cfg.ckpt_every`` steps, at the end, and when ``should_stop()`` turns true
    (then it returns early: a later run resumes). Returns (step, history, seconds in all, skipped steps)."""
    net.train()
    t_start = time.time() - meta["seconds"]
    running, skipped, stopped = None, 0, False
    while step < cfg.steps and not stopped:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        *inputs, gt = (t.to(dev) if torch.is_tensor(t) else t for t in sampler.sample())
        value, taken, running = guarded_step(net, opt, loss_fn(net(*inputs), gt, cfg.gamma_weight, cfg.perceptual_weight),
                                             running, step)
        skipped += not taken
        step += 1
        history.append(round(value, 6))
        if progress:
            progress(step, cfg.steps, running)
        stopped = bool(should_stop and should_stop())
        if step % cfg.ckpt_every == 0 or step == cfg.steps or stopped:
            meta["seconds"] = time.time() - t_start
            save_checkpoint(ckpt, net, opt, sampler, step, history, meta)
    return step, history, time.time() - t_start, skipped


def train(
    designs: list[DesignPoint],
    out: str | Path,
    cfg: TrainConfig = TrainConfig(),
    *,
    model_config: M.ModelConfig = M.ModelConfig(),
    resume: bool = False,
    init: str | Path | None = None,
    cache_dir: str | Path = data.DEFAULT_CACHE_DIR,
    cache_spec: data.CacheSpec = data.CacheSpec(),
    export: bool = True,
    progress=None,
    device: str = "auto",
    log=print,
) -> dict:
    """Train on the caches of ``designs`` (one design: a per-design model; several: a shared base).

    out: weights path (``.pt``, folded fp16, written at the end when ``export`` and one design);
    the checkpoint is ``out`` with suffix ``.ckpt``. resume: continue from that checkpoint.
    init: start from another checkpoint (fine-tuning). progress: callable(step, total, loss).
    Returns a summary dict (steps, seconds, validation metrics, paths).
    """
    threads = set_threads()
    dev = resolve_device(device)
    out = Path(out)
    ckpt = out.with_suffix(".ckpt")
    out.parent.mkdir(parents=True, exist_ok=True)
    caches = []
    for d in designs:
        path = data.ensure_cache(d, cache_dir, cache_spec)
        caches.append(data.load_cache(path))
    torch.manual_seed(cfg.seed)
    net = M.build_model(model_config)
    sampler = data.CropSampler(caches, cfg.crop, cfg.batch, snr_range_db=cfg.snr_range_db, seed=cfg.seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    meta = {"designs": [d.design_hash() for d in designs], "init": str(init) if init else None,
            "train_config": cfg.to_dict(), "seconds": 0.0}
    step, history, meta = start_or_resume(ckpt, net, opt, sampler, meta, resume=resume, log=log,
                                          warm_start=(lambda n: {"base": _load_init(n, init)}) if init else None)
    net = to_device(net, opt, dev)
    step, history, seconds, skipped = fit(net, opt, sampler, cfg, ckpt, step, history, meta, dev, progress)
    summary = {"steps": step, "seconds": round(seconds, 1), "threads": threads, "checkpoint": str(ckpt),
               "skipped_steps": skipped,
               "final_loss": round(float(np.mean(history[-50:])), 5) if history else None}
    if export and len(designs) == 1:
        from engine.isp.neural import registry

        net = net.cpu()
        val = validate(net, caches[0]) if caches[0]["val_raw"].shape[0] else {}
        summary["validation"] = val
        base = meta.get("base") or {}
        base_steps = base.get("lineage_steps", base.get("steps")) or 0
        cache_meta = {k: caches[0]["meta"][k] for k in ("design_hash", "spec", "sources", "kinds", "seconds")}
        entry = registry.export_weights(
            net, designs[0], out,
            steps={"base": base_steps, "fine_tune": step, "total": base_steps + step},
            training={
                "data": ("forward model of this design (PSFs with OCL phases, hex CFA, pixel aperture) on the "
                         "'train' photo split (assets/photo_sets.json) + Latin/CJK text + instrument-free charts "
                         "(training_charts: colour dead leaves, coloured gratings at any angle, slanted edges away "
                         "from the e-SFR angle, Siemens stars); fresh Gaussian shot noise per step "
                         f"at SNR {cfg.snr_range_db[0]:g}-{cfg.snr_range_db[1]:g} dB; no test-split images"),
                "cache": cache_meta, "config": meta["train_config"], "seconds": round(seconds, 1),
                "threads": threads, "device": str(dev), "base_model": base or None,
                "final_loss": summary["final_loss"], "skipped_steps": skipped,
            },
            validation={"split": (f"validation photo split, {caches[0]['meta']['sources']['validation_captures']} "
                                  f"views of {caches[0]['meta']['spec']['size_px']} px at the design SNR, fixed noise"),
                        **val},
        )
        summary["weights"] = entry
    return summary

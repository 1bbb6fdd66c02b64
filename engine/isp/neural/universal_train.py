"""Training of the universal (PSF-conditioned) Neural ISP on a pool of random designs.

Same recipe as the per-design nets (engine.isp.neural.train: Adam, cosine schedule, L1 on linear
and gamma-encoded RGB, spike skipping, checkpoints with the sampler's RNG state, resume), over
``universal_data.UniversalSampler`` batches. ``init`` warm-starts from folded weights of another
net (a per-design net or an earlier universal export): its convolutions are copied, the new
conditioning inputs start at zero, so training begins from that net's behaviour.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from engine.isp.neural import model as M
from engine.isp.neural import registry, universal, universal_data
from engine.isp.neural.train import TrainConfig, fit, resolve_device, set_threads, start_or_resume, to_device

UNIVERSAL_CONFIG = M.ModelConfig(cond_features=universal.COND_FEATURES)


class _TensorBatches:
    """A UniversalSampler's batches as ``train.fit`` takes them: (raw, sigma, cond, layout, gt) tensors
    (the layout a string), the sampler's RNG state passed through for checkpoints."""

    def __init__(self, sampler: universal_data.UniversalSampler):
        self.sampler = sampler

    def sample(self):
        batch = self.sampler.sample()
        return (torch.from_numpy(batch["raw"])[:, None], torch.from_numpy(batch["sigma"])[:, None],
                torch.from_numpy(batch["cond"]).permute(0, 3, 1, 2).contiguous(), batch["layout"],
                torch.from_numpy(batch["gt"]).permute(0, 3, 1, 2).contiguous())

    def state(self) -> str:
        return self.sampler.state()

    def load_state(self, state: str) -> None:
        saved = json.loads(state)
        if "workers" in saved:
            raise ValueError(f"the checkpoint was trained with {saved['workers']} sampler workers: resume it with "
                             "workers (--workers N)")
        self.sampler.load_state(state)


class _WorkerStream(torch.utils.data.IterableDataset):
    """Endless batches of one DataLoader worker: its own sampler over the shared pool, seeded by
    (seed, batches drawn before this stream started, worker id)."""

    def __init__(self, pool: dict, cfg: TrainConfig, drawn: int):
        self.pool, self.cfg, self.drawn = pool, cfg, drawn

    def __iter__(self):
        worker = torch.utils.data.get_worker_info()
        seed = np.random.SeedSequence([self.cfg.seed, self.drawn, worker.id if worker else 0]).generate_state(1)[0]
        batches = _TensorBatches(universal_data.UniversalSampler(self.pool, self.cfg.crop, self.cfg.batch, seed=int(seed),
                                                                 snr_range_db=self.cfg.snr_range_db))
        while True:
            yield batches.sample()


class _ParallelBatches:
    """_TensorBatches drawn by ``workers`` processes (a GPU outruns one sampler). The checkpointed
    state is the count of batches drawn: a resumed run starts new worker streams seeded by it, so it
    is reproducible for a given worker count, though not the same batches as an unbroken run."""

    def __init__(self, pool: dict, cfg: TrainConfig, workers: int):
        self.pool, self.cfg, self.workers, self.drawn, self.stream = pool, cfg, workers, 0, None

    def sample(self):
        if self.stream is None:
            loader = torch.utils.data.DataLoader(_WorkerStream(self.pool, self.cfg, self.drawn), batch_size=None,
                                                 num_workers=self.workers, prefetch_factor=4, persistent_workers=True)
            self.stream = iter(loader)
        self.drawn += 1
        return next(self.stream)

    def state(self) -> str:
        return json.dumps({"workers": self.workers, "drawn": self.drawn})

    def load_state(self, state: str) -> None:
        self.drawn = json.loads(state).get("drawn", 0)  # 0 for a checkpoint drawn in one process


def train_universal(pool_file: str | Path | list[str | Path], ckpt: str | Path, cfg: TrainConfig = TrainConfig(), *,
                    init: str | Path | None = None, resume: bool = True, progress=None, should_stop=None,
                    log=print, device: str = "cpu", workers: int = 0) -> dict:
    """Train (or resume) the universal net on ``pool_file`` (or the union of a list of pools);
    checkpoint (unfolded, fp32, with the optimiser and sampler state) at ``ckpt`` every ``cfg.ckpt_every`` steps, and when
    ``should_stop()`` turns true (then return early: a later call resumes). device: train.DEVICES;
    workers: sampler processes (0: batches drawn in this process, bit-reproducible across resumes).
    Returns a summary with ``completed`` (all ``cfg.steps`` done) and the trained ``net``."""
    dev = resolve_device(device)
    threads = set_threads()
    ckpt = Path(ckpt)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    pool = universal_data.load_pool(pool_file)
    torch.manual_seed(cfg.seed)
    net = M.build_model(UNIVERSAL_CONFIG)
    batches = (_ParallelBatches(pool, cfg, workers) if workers else
               _TensorBatches(universal_data.UniversalSampler(pool, cfg.crop, cfg.batch, seed=cfg.seed,
                                                              snr_range_db=cfg.snr_range_db)))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    meta = {"pool": " + ".join(pool["meta"]["pools"]), "pool_designs": len(pool["meta"]["designs"]), "init": None,
            "train_config": cfg.to_dict(), "seconds": 0.0}
    step, history, meta = start_or_resume(ckpt, net, opt, batches, meta, resume=resume, log=log,
                                          warm_start=(lambda n: {"init": registry.warm_start(n, init)}) if init else None)
    meta |= {"device": str(dev), "workers": workers}  # of the latest sitting (a resume may change them)
    net = to_device(net, opt, dev)
    step, history, seconds, skipped = fit(net, opt, batches, cfg, ckpt, step, history, meta, dev, progress, should_stop)
    return {"steps": step, "completed": step >= cfg.steps, "net": net.cpu(), "seconds": round(seconds, 1),
            "threads": threads, "device": str(dev), "workers": workers, "skipped_steps": skipped,
            "final_loss": round(float(np.mean(history[-100:])), 5) if history else None, "checkpoint": str(ckpt),
            "meta": meta}


VALIDATION_SEED = 777
"""Seed of the validation designs (neither the training pool's nor assets/heldout_designs.json's)."""


@torch.no_grad()
def validate_universal(net: M.NeuralISP, *, designs: int = 4, size_px: int = 96, presets: bool = False) -> dict:
    """Mean PSNR (linear RGB, dB) and LPIPS (display) of ``net`` against the bilinear demosaic on the
    ``validation`` photo split, one view per photo, at ``designs`` random designs (VALIDATION_SEED);
    with ``presets``, also at the five Table 1 designs (35 dB; ``preset_*`` keys, their own means)."""
    net.eval()
    rng = np.random.default_rng(VALIDATION_SEED)
    rows = []
    for _ in range(designs):  # each design, then its captures' seeds: the draws of every earlier export
        design = universal.random_design(rng, snr_db=float(rng.uniform(*universal.TRAINING_RANGE["snr_db"])))
        rows += _validation_rows(net, design, rng, size_px)
    result = _means(rows) | {"captures": len(rows), "designs": designs, "seed": VALIDATION_SEED}
    if presets:
        from engine.design import presets as table1

        preset_rng, preset_designs = np.random.default_rng(VALIDATION_SEED + 1), list(table1().values())
        preset_rows = [row for design in preset_designs for row in _validation_rows(net, design, preset_rng, size_px)]
        result |= {"presets": len(preset_designs)} | {f"preset_{k}": v for k, v in _means(preset_rows).items()}
    return result


def _validation_rows(net: M.NeuralISP, design, rng: np.random.Generator, size_px: int) -> list[dict]:
    """PSNR / LPIPS rows (neural and bilinear) of the validation photos captured through ``design``."""
    from engine import perceptual, scenes
    from engine.isp import color, deconv
    from engine.isp.neural.infer import run_model
    from engine.isp.traditional import bilinear_demosaic
    from engine.simulate import capture_scene

    chain = color.color_chain()
    kernels = deconv.design_kernels(design)
    rows = []
    for path in scenes.photo_set("validation"):
        view_um = (size_px + 64) * design.pitch_um
        sp = scenes.covering_source_pixel_um(path, view_um, design.pitch_um)
        cap = capture_scene(design, str(path), size_px, seed=int(rng.integers(1000)), source_pixel_um=sp)
        cond = universal.conditioning(cap.raw, cap.noise_sigma, cap.cfa, design.cfa, kernels)
        out = run_model(net, cap.raw, cap.noise_sigma, cond=cond, layout=design.cfa)
        base = bilinear_demosaic(cap.raw, cap.cfa, design.cfa)
        ref = color.camera_to_display(cap.ground_truth, chain)
        row = {}
        for key, img in (("neural", out), ("bilinear", base)):
            mse = float(np.mean((np.clip(img, 0, 1) - np.clip(cap.ground_truth, 0, 1)) ** 2))
            row[f"psnr_linear_{key}"] = 10 * math.log10(1.0 / max(mse, 1e-12))
            row[f"lpips_{key}"] = float(perceptual.lpips_alex(color.camera_to_display(img, chain), ref))
        rows.append(row)
    return rows


def _means(rows: list[dict]) -> dict:
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}


def export_trained(ckpt: str | Path, out: str | Path, continued_from: dict | None = None) -> dict:
    """Export the checkpoint ``ckpt`` as the universal net (folded fp16 ``out`` + manifest entry),
    with its validation metrics and the training budget spent. continued_from: the manifest entry of
    the exported net this run warm-started from; its steps and seconds count into the totals and its
    training record is kept under ``training.continued_from``."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    net = M.build_model(M.ModelConfig.from_dict(state["config"]))
    net.load_state_dict(state["model"])
    meta = state["meta"]
    folded = M.build_model(net.config)
    folded.load_state_dict(net.state_dict())
    validation = validate_universal(folded.fold())
    training = {
        "data": ("random designs (engine.isp.neural.universal.random_design; pool "
                 f"{meta['pool']}, {meta['pool_designs']} designs x {len(universal_data.KINDS)} captures): 'train' photo "
                 "split, colour dead leaves, text, instrument-free charts (oriented colour gratings, edges, stars); "
                 f"fresh Gaussian shot noise per step at {universal_data.SNR_RANGE_DB[0]:g}-"
                 f"{universal_data.SNR_RANGE_DB[1]:g} dB; no test or validation photos"),
        "config": meta["train_config"] | {"snr_range_db": list(universal_data.SNR_RANGE_DB)},
        "seconds": round(meta["seconds"], 1), "device": meta.get("device", "cpu"), "sampler_workers": meta.get("workers", 0),
        "init": meta.get("init"), "steps": state["step"],
        "final_loss": round(float(np.mean(state["history"][-100:])), 5),
    }
    total = state["step"]
    if continued_from is not None:
        total += continued_from["steps"]["total"]
        training["continued_from"] = {"file": continued_from["file"], "sha256": continued_from["sha256"],
                                      "steps": continued_from["steps"], "training": continued_from["training"]}
        training["seconds_total"] = round(meta["seconds"] + continued_from["training"].get(
            "seconds_total", continued_from["training"]["seconds"]), 1)
    return registry.export_universal(net, out, steps={"total": total}, training=training,
                                     validation={"split": "validation photo split at random designs", **validation},
                                     training_range={k: list(v) for k, v in universal.TRAINING_RANGE.items()}
                                     | {"zernike_waves": {f"Z{j}": c for j, c in universal.ZERNIKE_SLIDER_LIMITS_WAVES.items()}})

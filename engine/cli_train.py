"""The ``train`` command: a per-design Neural ISP, a fine-tune of the universal net for a design, or
the universal net itself on a pool of random designs."""

from __future__ import annotations

import argparse
import json
import sys

from engine import fileio
from engine.cli_options import RAW_MAX_MB, UsageError, design_from_args
from engine.design import DesignPoint

DEFAULT_STEPS = 3000
"""``train`` steps without ``--steps`` (a per-design net or the universal net; a fine-tune uses the
app's, finetune.DEFAULT_STEPS)."""
DEFAULT_LR = 1e-3
"""``train`` peak learning rate without ``--lr`` (a fine-tune uses the app's, finetune.DEFAULT_LR)."""
TRAIN_DEFAULTS = {"batch": 6, "crop": 112, "lr_final": 1e-4, "perceptual_weight": 0.0, "train_snr_min_db": 30.0,
                  "train_snr_max_db": 40.0, "seed": 0, "out": None, "resume": False, "pool_designs": 200,
                  "device": "auto"}
"""The defaults of the ``train`` options a fine-tune (``--init universal``) does not take: it runs the
app's recipe (engine.isp.neural.finetune) into the user weights folder, so any other value is refused."""


def cmd_train(args: argparse.Namespace) -> None:
    """``train``: a per-design Neural ISP, a fine-tune (``--init universal``) or the universal net."""
    from engine.isp.neural import finetune
    from engine.isp.neural import train as neural_train

    finetuning = args.init == "universal" and not args.universal
    if args.steps is None:
        args.steps = finetune.DEFAULT_STEPS if finetuning else DEFAULT_STEPS
    if args.lr is None:
        args.lr = finetune.DEFAULT_LR if finetuning else DEFAULT_LR
    if args.workers and not args.universal:
        raise UsageError("--workers applies to the universal net (--universal) only")
    if args.photo_magnification is not None and (args.universal or finetuning):
        raise UsageError("--photo-magnification applies to a per-design net trained on its own cache, not to the "
                         "universal net or --init universal")
    if finetuning:
        given = [f"--{name.replace('_', '-')}" for name, default in TRAIN_DEFAULTS.items()
                 if getattr(args, name) != default]
        if given:
            raise UsageError(f"train --init universal runs the app's fine-tune into the user weights folder "
                             f"({finetune.user_weights_dir()}); it takes the design, --steps and --lr, not "
                             f"{', '.join(given)}")
    if args.universal:
        return _cmd_train_universal(args)
    design = _design_json(args.design_json) if args.design_json else design_from_args(args)
    if args.init == "universal":
        return _cmd_finetune(design, args)
    if args.out is None:
        raise UsageError("train: --out is required (a .pt weights file)")
    fileio.check_output_file(args.out, "--out", (".pt",))
    _check_device(args.device)
    if args.init is not None:
        _check_checkpoint(args.init)
    if args.train_snr_min_db > args.train_snr_max_db:
        raise UsageError(f"--train-snr-min-db ({args.train_snr_min_db:g}) must not exceed --train-snr-max-db "
                         f"({args.train_snr_max_db:g})")
    spec = _cache_spec(args.photo_magnification)
    cfg = neural_train.TrainConfig(steps=args.steps, batch=args.batch, crop=args.crop, lr=args.lr, lr_final=args.lr_final,
                                   seed=args.seed, perceptual_weight=args.perceptual_weight,
                                   snr_range_db=(args.train_snr_min_db, args.train_snr_max_db))
    progress, bar = _step_bar(args.steps, f"train {design.design_hash()}")

    try:
        summary = neural_train.train([design], args.out, cfg, resume=args.resume, init=args.init, cache_spec=spec,
                                     progress=progress, device=args.device, log=bar.write)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        val = summary.get("validation", {})
        print(f"trained {summary['steps']} steps in {summary['seconds']:.0f} s on {summary['threads']} threads -> "
              f"{args.out} (validation PSNR {val.get('psnr_linear_neural')} dB vs bilinear "
              f"{val.get('psnr_linear_bilinear')} dB, LPIPS {val.get('lpips_neural')})")


def _check_device(name: str) -> None:
    from engine.isp.neural.train import resolve_device

    try:
        resolve_device(name)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _cache_spec(photo_magnification):
    """The training cache's spec for ``--photo-magnification`` (None: the default range)."""
    from engine.isp.neural import data

    if photo_magnification is None:
        return data.CacheSpec()
    try:
        return data.photo_magnification_spec(*photo_magnification)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _design_json(text: str) -> DesignPoint:
    try:
        return DesignPoint.from_dict(json.loads(text))
    except (json.JSONDecodeError, TypeError, AttributeError, KeyError) as err:
        raise UsageError(f"--design-json: not a design ({type(err).__name__}: {err})") from None


def _cmd_finetune(design: DesignPoint, args: argparse.Namespace) -> None:
    """train --init universal: fine-tune the universal net for ``design`` into the user folder."""
    from engine.isp.neural import finetune

    progress, bar = _step_bar(args.steps, f"fine-tune {design.design_hash()}")
    try:
        result = finetune.run_job(design, steps=args.steps, lr=args.lr, progress=progress)
    finally:
        bar.close()
    result.pop("entry", None)
    print(json.dumps(result) if args.json else f"fine-tune {result['state']} after {result['steps']} steps "
          f"({result['seconds']:.0f} s); weights in {finetune.user_weights_dir()}")


def _cmd_train_universal(args: argparse.Namespace) -> None:
    """train --universal: build (once) the random-design pool, train or resume, export with manifest."""
    from engine.isp.neural import registry, universal_data, universal_train
    from engine.isp.neural.train import TrainConfig

    out = fileio.check_output_file(args.out or str(registry.PRETRAINED_DIR / "neural_universal.pt"), "--out", (".pt",))
    _check_device(args.device)
    if args.workers > args.pool_designs:
        raise UsageError(f"--workers ({args.workers}) must not exceed --pool-designs ({args.pool_designs}): "
                         "each worker builds a part of the pool")
    init = None if args.init is None else fileio.check_input_file(args.init, "--init", RAW_MAX_MB)
    parts = max(args.workers, 1)
    pool = universal_data.pool_path(args.pool_designs, 160, args.seed, parts=parts)
    if not pool.exists():
        total = args.pool_designs * len(universal_data.KINDS) if parts == 1 else parts
        progress, bar = _step_bar(total, "training pool" if parts == 1 else f"training pool ({parts} parts)")
        try:
            if parts == 1:
                universal_data.build_pool(pool, designs=args.pool_designs, seed=args.seed,
                                          progress=lambda d, t: progress(d, t, None))
            else:
                universal_data.build_pool_parallel(pool, designs=args.pool_designs, workers=parts, seed=args.seed,
                                                   progress=lambda d, t: progress(d, t, None))
        finally:
            bar.close()
    cfg = TrainConfig(steps=args.steps, batch=args.batch, crop=args.crop, lr=args.lr, lr_final=args.lr / 10,
                      warmup=100, seed=args.seed, snr_range_db=universal_data.SNR_RANGE_DB)
    progress, bar = _step_bar(args.steps, f"train universal ({args.device})")
    try:
        summary = universal_train.train_universal(pool, out.with_suffix(".ckpt"), cfg, init=init, resume=True,
                                                  progress=progress, log=bar.write, device=args.device,
                                                  workers=args.workers)
    except ValueError as err:  # a checkpoint drawn with workers, resumed without them
        raise UsageError(f"train --universal: {err}") from None
    finally:
        bar.close()
    entry = universal_train.export_trained(out.with_suffix(".ckpt"), out)
    print(f"universal net: {summary['steps']} steps, {entry['training']['seconds']:.0f} s of training -> {out} "
          f"(validation PSNR {entry['validation']['psnr_linear_neural']} dB vs bilinear "
          f"{entry['validation']['psnr_linear_bilinear']} dB)")


def _check_checkpoint(path: str) -> None:
    """Refuse an ``--init`` that is not a readable training checkpoint (a dict of tensors)."""
    from engine.isp.neural.train import checkpoint_problem

    problem = checkpoint_problem(fileio.check_input_file(path, "--init", RAW_MAX_MB))
    if problem:
        raise UsageError(f"--init: {path!r} is not a checkpoint ({problem})")


def _step_bar(total: int, desc: str):
    """A tqdm bar on stderr of ``total`` steps driven by callable(step, total, loss or None), the loss shown
    beside it; returns (callback, bar)."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", file=sys.stderr, dynamic_ncols=True)

    def progress(step: int, _total: int, loss: float | None) -> None:
        bar.update(step - bar.n)
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    return progress, bar

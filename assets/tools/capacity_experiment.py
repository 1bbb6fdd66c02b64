"""Issue #18 diagnosis (a), network capacity: train the per-design Neural ISP from scratch at the
0.75 and 0.35 um presets with the shipped width (40 channels, 58 GMAC/MP) and a wider one (64
channels, 144 GMAC/MP, inside the issue's 0.15 TMAC/MP budget), same recipe and step count, and
export each into a weights folder of its own (a git worktree of the repository, whose manifest
entries for those presets the runs replace), so that the study's own code
(``assets/tools/eval_nets.py`` run from that worktree) scores them on the held-out photos.

    git worktree add /tmp/cap64 HEAD   # one per width
    .venv/bin/python assets/tools/capacity_experiment.py --channels 64 --preset 0.75 --tree /tmp/cap64
    cd /tmp/cap64 && /work/main/.venv/bin/python assets/tools/eval_nets.py --tables 3 --designs 0.75,0.35 ...

With ``--widen`` the wider net starts as the shipped net of that preset instead of from scratch
(registry.warm_start: the extra channels start with no effect on the output) and trains with the
recipe of experiment (a'), the 1,500 extra steps of the shipped 40-channel nets (lr 2e-4 -> 2e-5,
sampler seed 19), so the two differ only in width:

    .venv/bin/python assets/tools/capacity_experiment.py --channels 64 --preset 0.35 --tree /tmp/wide --widen --steps 1500

The training photos sit at ``data.PHOTO_MAGNIFICATION`` (0.5-1x the pitch per photo pixel, cache
version 4), as in issue #18 (c'); the runs of (a) and (a'') used cache version 3, whose photos sat
at 0.3-0.8 um whatever the pitch (at 0.35 um: ``--photo-magnification 0.86 2.3``):

    .venv/bin/python assets/tools/capacity_experiment.py --channels 40 --preset 0.35 --steps 4000 --tree /tmp/native

Each run checkpoints every 100 steps and resumes when started again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from engine.design import presets  # noqa: E402
from engine.isp.neural import data, model, registry, train  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, required=True)
    parser.add_argument("--preset", required=True, choices=sorted(presets()))
    parser.add_argument("--tree", required=True, help="repository worktree whose pretrained/ receives the net")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--widen", action="store_true", help="start from the preset's shipped net, widened")
    parser.add_argument("--photo-magnification", type=float, nargs=2, metavar=("LO", "HI"),
                        help="training photo pixel in pixel pitches (default 0.5 1)")
    args = parser.parse_args(argv)
    spec = data.CacheSpec()
    if args.photo_magnification:
        try:
            spec = data.photo_magnification_spec(*args.photo_magnification)
        except ValueError as err:
            parser.error(str(err))
    design = presets()[args.preset]
    config = model.ModelConfig(channels=args.channels)
    recipe = {"lr": 2e-4, "lr_final": 2e-5, "seed": 19} if args.widen else {}
    cfg = train.TrainConfig(steps=args.steps, snr_range_db=(28.0, 42.0), **recipe)
    init = registry.PRETRAINED_DIR / registry.lookup(design)["file"] if args.widen else None
    kind = "widened" if args.widen else "capacity"
    out = Path(args.tree) / "pretrained" / f"{kind}_{args.channels}ch_{args.preset.replace('.', 'p')}.pt"
    bar = tqdm(total=cfg.steps, desc=f"{args.channels} ch @ {args.preset}", unit="step", mininterval=10)

    def progress(step, total, loss):
        bar.update(step - bar.n)

    summary = train.train([design], out, cfg, model_config=config, resume=True, init=init, cache_spec=spec,
                          progress=progress, log=bar.write)
    bar.close()
    print(f"{args.channels} ch @ {args.preset}: {model.macs_per_megapixel(config) / 1e9:.0f} GMAC/MP, "
          f"{summary['seconds']:.0f} s, validation {summary.get('validation')}")


if __name__ == "__main__":
    main()

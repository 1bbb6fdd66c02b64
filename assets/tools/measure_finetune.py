"""How much of the gap between the universal net and a per-design net a short fine-tune closes.

For a Table 1 design: grating MTF50 H/V (full Table 2 settings) through the per-design net, the
universal net, and the universal net fine-tuned for the design (engine.isp.neural.finetune.run_job,
``--steps`` steps, wall time printed) into a temporary user folder; prints the gap closed.

    .venv/bin/python assets/tools/measure_finetune.py --preset 0.55 --steps 200 [--lr 2e-4 1e-3]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from engine import instruments
from engine.design import preset
from engine.isp.neural import finetune, registry, universal_data


def mtf50(design, neural: str) -> tuple[float, float]:
    result = instruments.measure_mtf(design, ("neural",), size_px=128, count=24, neural=neural)["neural"]
    return result.mtf50_h_cyc_per_mm, result.mtf50_v_cyc_per_mm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="0.55")
    parser.add_argument("--steps", type=int, default=finetune.DEFAULT_STEPS)
    parser.add_argument("--lr", type=float, nargs="+", default=[finetune.DEFAULT_LR],
                        help="peak learning rate(s): one fine-tune each, from the same universal net")
    parser.add_argument("--snr-span-db", type=float, default=finetune.SNR_SPAN_DB,
                        help="train at the design's SNR +- this (dB); 0: the universal net's whole range")
    args = parser.parse_args()
    design = preset(args.preset)
    per_design, universal = mtf50(design, "design"), mtf50(design, "universal")
    print(f"preset {args.preset}: MTF50 H/V per-design {per_design[0]:.0f}/{per_design[1]:.0f}, "
          f"universal {universal[0]:.0f}/{universal[1]:.0f} cycles/mm", flush=True)
    for lr in args.lr:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.time()
            span = args.snr_span_db
            job = finetune.run_job(design, steps=args.steps, directory=Path(tmp), lr=lr,
                                   snr_range_db=finetune.snr_range_for(design, span) if span
                                   else universal_data.SNR_RANGE_DB)
            seconds = time.time() - t0
            tuned = tuned_mtf50(design, Path(tmp))
        print(f"lr {lr:g}: fine-tune {job['steps']} steps in {seconds:.0f} s wall ({job['state']})")
        for axis, k in (("H", 0), ("V", 1)):
            gap = per_design[k] - universal[k]
            closed = (tuned[k] - universal[k]) / gap if gap else float("nan")
            print(f"  MTF50 {axis}: fine-tuned {tuned[k]:.0f} cycles/mm: {100 * closed:.0f} % of the gap closed", flush=True)


def tuned_mtf50(design, folder: Path) -> tuple[float, float]:
    """MTF50 H/V through the net fine-tuned into ``folder`` (the only per-design net counted)."""
    shipped_lookup = registry.lookup
    registry.lookup = lambda d, where=registry.PRETRAINED_DIR, kind="weights": (
        None if Path(where) == registry.PRETRAINED_DIR else shipped_lookup(d, where, kind))
    previous = os.environ.get(finetune.USER_WEIGHTS_ENV)
    try:
        selection = registry.select(design, "design", user_directory=folder)
        assert selection["directory"] == folder, selection
        os.environ[finetune.USER_WEIGHTS_ENV] = str(folder)
        return mtf50(design, "design")
    finally:
        registry.lookup = shipped_lookup
        if previous is None:
            os.environ.pop(finetune.USER_WEIGHTS_ENV, None)
        else:
            os.environ[finetune.USER_WEIGHTS_ENV] = previous


if __name__ == "__main__":
    main()

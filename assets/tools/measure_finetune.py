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

import numpy as np

from engine import instruments
from engine.design import preset
from engine.isp.neural import finetune, registry, universal_data


CURVES = []


def mtf50(design, neural: str) -> tuple[float, float]:
    result = instruments.measure_mtf(design, ("neural",), size_px=128, count=24, neural=neural)["neural"]
    CURVES.append(result)
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
    # MTF50 is the first 0.5 crossing of a curve a nonlinear net can make non-monotone (a dip just
    # under 0.5 moves it by 100+ cycles/mm), so also the gap in mean contrast over the band from
    # half to all of the per-design net's MTF50, which a dip moves only a little
    reference = CURVES[0]
    for axis, mtf_of in (("H", lambda r: r.mtf_h), ("V", lambda r: r.mtf_v)):
        top = reference.crossing(0.5, axis.lower())
        band = (reference.freq_cyc_per_mm >= top / 2) & (reference.freq_cyc_per_mm <= top)
        means = [float(np.mean(mtf_of(r)[band])) for r in CURVES]
        closed = ", ".join(f"{100 * (m - means[1]) / (means[0] - means[1]):.0f} %" for m in means[2:])
        print(f"mean MTF {axis} over {top / 2:.0f}-{top:.0f} cycles/mm: per-design {means[0]:.2f}, universal "
              f"{means[1]:.2f}, fine-tuned {', '.join(f'{m:.2f}' for m in means[2:])}: gap closed {closed}")
    print("MTF (H / V) per frequency, cycles/mm: per-design, universal, then each fine-tune")
    for i, f in enumerate(CURVES[0].freq_cyc_per_mm):
        print(f"  {f:6.0f} " + "  ".join(f"{r.mtf_h[i]:.2f}/{r.mtf_v[i]:.2f}" for r in CURVES))


def tuned_mtf50(design, folder: Path) -> tuple[float, float]:
    """MTF50 H/V through the net fine-tuned into ``folder`` (the only per-design net counted)."""
    shipped_lookup = registry.lookup
    registry.lookup = lambda d, where=registry.PRETRAINED_DIR, kind="weights": (
        None if Path(where) == registry.PRETRAINED_DIR else shipped_lookup(d, where, kind))
    previous = os.environ.get(finetune.USER_WEIGHTS_ENV)
    try:
        selection = registry.select(design, "design", user_directory=folder)
        assert selection["directory"] == folder, selection
        print(f"  measuring {selection['label']}: {selection['entry']['file']} ({selection['entry']['sha256'][:12]})")
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

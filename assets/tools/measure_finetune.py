"""How much of the gap between the universal net and a per-design net a short fine-tune closes.

For a Table 1 design: grating MTF50 H/V (full Table 2 settings) through the per-design net, the
universal net, and the universal net fine-tuned for the design (engine.isp.neural.finetune.run_job,
``--steps`` steps, wall time printed) into a temporary user folder; prints the gap closed.

    .venv/bin/python assets/tools/measure_finetune.py --preset 0.55 --steps 200
"""

import argparse
import tempfile
import time
from pathlib import Path

from engine import instruments
from engine.design import preset
from engine.isp.neural import finetune, registry


def mtf50(design, neural: str) -> tuple[float, float]:
    result = instruments.measure_mtf(design, ("neural",), size_px=128, count=24, neural=neural)["neural"]
    return result.mtf50_h_cyc_per_mm, result.mtf50_v_cyc_per_mm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="0.55")
    parser.add_argument("--steps", type=int, default=finetune.DEFAULT_STEPS)
    args = parser.parse_args()
    design = preset(args.preset)
    per_design, universal = mtf50(design, "design"), mtf50(design, "universal")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        job = finetune.run_job(design, steps=args.steps, directory=Path(tmp))
        seconds = time.time() - t0
        shipped_lookup = registry.lookup
        registry.lookup = lambda d, folder=registry.PRETRAINED_DIR: (  # only the fine-tuned net counts as "design"
            None if Path(folder) == registry.PRETRAINED_DIR else shipped_lookup(d, folder))
        try:
            selection = registry.select(design, "design", user_directory=Path(tmp))
            assert selection["directory"] == Path(tmp), selection
            import os

            os.environ[finetune.USER_WEIGHTS_ENV] = tmp
            tuned = mtf50(design, "design")
        finally:
            registry.lookup = shipped_lookup
    print(f"preset {args.preset}: fine-tune {job['steps']} steps in {seconds:.0f} s wall ({job['state']})")
    for axis, k in (("H", 0), ("V", 1)):
        gap = per_design[k] - universal[k]
        closed = (tuned[k] - universal[k]) / gap if gap else float("nan")
        print(f"MTF50 {axis}: per-design {per_design[k]:.0f}, universal {universal[k]:.0f}, fine-tuned {tuned[k]:.0f} "
              f"cycles/mm: {100 * closed:.0f} % of the gap closed")


if __name__ == "__main__":
    main()

"""Write assets/heldout_designs.json: 20 random designs drawn once, with a fixed seed, from the
universal Neural ISP's training ranges (engine.isp.neural.universal.random_design), SNR uniform in
its 10-45 dB range. The training pool draws its designs from another seed, so none of these was
trained on. Used by ``python -m engine study --designs assets/heldout_designs.json``.

    .venv/bin/python assets/tools/make_heldout_designs.py
"""

import json
from pathlib import Path

import numpy as np

from engine.isp.neural import universal

SEED = 20261130
COUNT = 20


def main() -> None:
    rng = np.random.default_rng(SEED)
    designs = []
    for k in range(COUNT):
        snr_db = round(float(rng.uniform(*universal.TRAINING_RANGE["snr_db"])), 1)
        design = universal.random_design(rng, snr_db=snr_db)
        designs.append({"name": f"heldout_{k:02d}", **design.to_dict()})
    out = Path(__file__).resolve().parents[1] / "heldout_designs.json"
    note = (f"{COUNT} designs drawn with seed {SEED} by assets/tools/make_heldout_designs.py from the universal "
            "net's training ranges; never trained on (the training pool uses another seed)")
    out.write_text(json.dumps({"note": note, "designs": designs}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Score universal nets on the validation photos at the five Table 1 designs (35 dB) and at random
designs (seed 777): the wider validation docs/design.md ("run 4") asks for before choosing between
universal nets. Never reads the test photos or assets/heldout_designs.json.

    .venv/bin/python assets/tools/validate_universal.py pretrained out/universal4 [--designs 12]

Each argument is a folder whose manifest.json has a universal entry.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.isp.neural import registry, universal_train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--designs", type=int, default=12, help="random designs beside the five presets")
    args = parser.parse_args()
    for folder in args.folders:
        entry = registry.universal_entry(folder)
        if entry is None:
            raise SystemExit(f"{folder}: no universal net in its manifest")
        net = registry.load_weights(entry, folder)
        scores = universal_train.validate_universal(net, designs=args.designs, presets=True)
        print(f"{folder} ({entry['steps']['total']} steps): {json.dumps(scores)}", flush=True)


if __name__ == "__main__":
    main()

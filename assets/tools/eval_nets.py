"""Re-measure the shipped per-design nets after a retraining pass (issues #16, #18): the Neural ISP's
rows of Table 2 (gratings) with all three MTF instruments, and of Tables 3 and 5 (held-out photos,
Table 3 protocol). Demosaic, traditional and deconv do not depend on the nets; their numbers stay
those of `python -m engine study`, so only the neural pipeline (and traditional, as the reference
of the ratios) runs here, with the study's own functions and full settings. Tables 3 and 5 are also
scored at one common size (every view resampled to the 0.75 um design's 240 px: study.table3's
``common_px``), the issue #18 protocol experiment.

    .venv/bin/python assets/tools/eval_nets.py --tables 2,3,5 --out out/eval_nets
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import scenes, study  # noqa: E402


def instruments_rows(pipelines: tuple[str, ...]) -> list[dict]:
    """Table 2's gratings, then its instruments table (the study's own functions, full settings)."""
    settings = study.STUDY_SETTINGS["full"]
    designs = study.study_designs(2)
    _, curves = study.table2(designs, pipelines, size_px=settings["size_px"], count=settings["count"])
    rows = [{"design": name, **row} for name, row in
            zip(designs, study.instruments_table(designs, pipelines, curves, size_px=settings["size_px"]))]
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def photo_rows(table: int, pipelines: tuple[str, ...], only: list[str] | None = None) -> list[dict]:
    """Table 3 or 5 on the held-out photos; ``only``: the designs (preset names) to score."""
    settings = study.STUDY_SETTINGS["full"]
    images = scenes.photo_set("test")
    paper_key = "table5_fixed_aperture_F2p6" if table == 5 else "table3_perceptual_35dB"
    designs = study.study_designs(table)
    common_px = min(study.view_size_px(d, settings["extent_um"]) for d in designs.values())  # the 0.75 um grid
    designs = {name: d for name, d in designs.items() if not only or name in only}
    summary, per_image = study.table3(designs, pipelines, images, extent_um=settings["extent_um"],
                                      paper_key=paper_key, common_px=common_px)
    for row in summary:
        print(json.dumps({"table": table, **row}), flush=True)
    return summary + [{"table": table, **r} for r in per_image]


def write_csv(rows: list[dict], path: Path) -> None:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", default="2,3,5")
    parser.add_argument("--pipelines", default="traditional,neural")
    parser.add_argument("--out", default="out/eval_nets")
    parser.add_argument("--designs", help="Tables 3 and 5: only these presets (comma-separated, e.g. 0.75,0.35)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipelines = tuple(args.pipelines.split(","))
    for table in args.tables.split(","):
        t0 = time.time()
        only = args.designs.split(",") if args.designs else None
        rows = instruments_rows(pipelines) if table == "2" else photo_rows(int(table), pipelines, only)
        write_csv(rows, out / f"table{table}.csv")
        print(f"table {table}: {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()

"""Issue #18 diagnosis (g): the Table 3 trend (neural and traditional LPIPS, 0.75 -> 0.35 um) per
photo and grouped by how much the Table 3 protocol enlarges each photo at 0.35 um (the per-image
``magnification``: one photo pixel in sensor pixels; above 1 the photo is smaller than the view at
its native 0.35 um per pixel and is spread over more, a smoother scene than a real one).

    .venv/bin/python assets/tools/trend_by_photo.py            # the 33 held-out test photos, about 1 minute
    .venv/bin/python assets/tools/trend_by_photo.py --table 5  # the same at Table 5's fixed F/2.6
"""

import argparse

import numpy as np

from engine import scenes, study

INTERLACED = ("apple.jpg", "orange.jpg")
"""Test photos with interlace scan lines (docs/design.md, issue #18 (d))."""
NATIVE_MAX = 1.2
"""At most this magnification at 0.35 um counts as native resolution."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=int, choices=(3, 5), default=3, help="Table 3 (F# scaled) or 5 (F/2.6)")
    args = parser.parse_args()
    settings = study.STUDY_SETTINGS["full"]
    designs = {p: study.study_designs(args.table)[p] for p in ("0.75", "0.35")}
    _, per_image = study.table3(designs, ("neural", "traditional"), scenes.photo_set("test"),
                                extent_um=settings["extent_um"])
    lpips: dict = {}
    magnification: dict = {}
    for r in per_image:
        name = r["image"].split("/")[-1]
        lpips[(name, r["pipeline"], r["design"])] = r["lpips"]
        if r["design"] == "0.35":
            magnification[name] = r["magnification"]
    names = sorted(magnification)
    print(f"{'photo':18} {'mag @0.35':>9} {'neural 0.75':>11} {'0.35':>6} {'change':>7} {'trad 0.75':>9} {'0.35':>6}")
    for n in names:
        a, b = lpips[(n, "neural", "0.75")], lpips[(n, "neural", "0.35")]
        print(f"{n:18} {magnification[n]:9.2f} {a:11.3f} {b:6.3f} {100 * (b / a - 1):+6.0f}% "
              f"{lpips[(n, 'traditional', '0.75')]:9.3f} {lpips[(n, 'traditional', '0.35')]:6.3f}")
    groups = {
        "all": names,
        "without the interlaced photos": [n for n in names if n not in INTERLACED],
        f"native at 0.35 um (magnification <= {NATIVE_MAX:g}), not interlaced":
            [n for n in names if magnification[n] <= NATIVE_MAX and n not in INTERLACED],
        f"enlarged {NATIVE_MAX:g}-2x at 0.35 um": [n for n in names if NATIVE_MAX < magnification[n] < 2],
        "enlarged >= 2x at 0.35 um": [n for n in names if magnification[n] >= 2],
    }
    print()
    for label, members in groups.items():
        if not members:
            continue
        cells = []
        for pipeline in ("neural", "traditional"):
            a = np.mean([lpips[(n, pipeline, "0.75")] for n in members])
            b = np.mean([lpips[(n, pipeline, "0.35")] for n in members])
            cells.append(f"{pipeline} {a:.3f} -> {b:.3f} ({100 * (b / a - 1):+.0f} %)")
        print(f"{label} (n = {len(members)}): " + ", ".join(cells))


if __name__ == "__main__":
    main()

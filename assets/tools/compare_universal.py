"""The universal Neural ISP against the per-design nets at the five Table 1 designs: grating MTF50 H/V
(Table 2 instrument, full settings) and Table 3 LPIPS / MS-SSIM / PSNR on the first N held-out photos,
each net on the same captures. Prints one line per design and the ratios (universal / per-design).
With ``--instruments``, instead: MTF50 H/V by the e-SFR and the dead-leaves texture instruments
(default settings), each net, and the ratios.

    .venv/bin/python assets/tools/compare_universal.py --max-images 8
    .venv/bin/python assets/tools/compare_universal.py --instruments
"""

import argparse

from engine import instruments, scenes, study
from engine.design import presets
from engine.study_designs import designs_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-images", type=int, default=8, help="first N held-out test photos (default 8)")
    parser.add_argument("--instruments", action="store_true", help="e-SFR and texture MTF50 instead of the grating/photo table")
    args = parser.parse_args()
    if args.instruments:
        return compare_instruments()
    settings = study.STUDY_SETTINGS["full"]
    images = scenes.photo_set("test")[: args.max_images]
    rows = {}
    for choice in ("design", "universal"):
        rows[choice], _ = designs_table(presets(), images, extent_um=settings["extent_um"], mtf_size_px=settings["size_px"],
                                        mtf_count=settings["count"], pipelines=("neural",), neural=choice)
    print(f"{'pitch':>5} {'F#':>5} | per-design MTF50 H/V  LPIPS  MS-SSIM  PSNR | universal MTF50 H/V  LPIPS  MS-SSIM  PSNR"
          " | ratio MTF50 H/V  LPIPS")
    for d, u in zip(rows["design"], rows["universal"]):
        line = f"{d['pitch_um']:>5} {d['f_number']:>5}"
        for r in (d, u):
            line += (f" | {r['mtf50_h_neural']:>6.0f}/{r['mtf50_v_neural']:<6.0f} {r['lpips_neural']:.4f} "
                     f"{r['msssim_neural']:.4f} {r['psnr_db_neural']:.2f}")
        line += (f" | {u['mtf50_h_neural'] / d['mtf50_h_neural']:.3f}/{u['mtf50_v_neural'] / d['mtf50_v_neural']:.3f} "
                 f"{u['lpips_neural'] / d['lpips_neural']:.3f}")
        print(line)
    print(f"Photos: the first {len(images)} of the held-out test split; MTF50 in cycles/mm (gratings, 35 dB).")


def compare_instruments() -> None:
    """MTF50 H/V (cycles/mm) of both nets by the e-SFR and texture instruments at the five presets."""
    print(f"{'pitch':>5} | per-design e-SFR H/V  texture H/V | universal e-SFR H/V  texture H/V | ratio e-SFR H/V  texture H/V")
    for design in presets().values():
        values = {}
        for choice in ("design", "universal"):
            edge = instruments.measure_edge(design, ("neural",), neural=choice)["neural"]
            texture = instruments.measure_dead_leaves(design, ("neural",), neural=choice)["neural"]
            values[choice] = [curve.crossing(0.5, axis) for curve in (edge, texture) for axis in ("h", "v")]
        ratios = [u / p if u and p else None for u, p in zip(values["universal"], values["design"])]
        cells = [" ".join(f"{x:.0f}" if x else "-" for x in values[c]) for c in ("design", "universal")]
        print(f"{design.pitch_um:>5} | {cells[0]} | {cells[1]} | " + " ".join(f"{r:.2f}" if r else "-" for r in ratios))


if __name__ == "__main__":
    main()

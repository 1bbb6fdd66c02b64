"""The universal Neural ISP against the per-design nets at the five Table 1 designs: grating MTF50 H/V
(Table 2 instrument, full settings) and Table 3 LPIPS / MS-SSIM / PSNR on the first N held-out photos,
each net on the same captures. Prints one line per design and the ratios (universal / per-design).

    .venv/bin/python assets/tools/compare_universal.py --max-images 8
"""

import argparse

from engine import scenes, study
from engine.design import presets
from engine.study_designs import designs_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-images", type=int, default=8, help="first N held-out test photos (default 8)")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()

"""Issue #18 (d): how much of the Table 3 / Table 5 ground truth lies beyond the lens cutoff, and how
well an oracle that restores everything below the cutoff (and nothing above) scores.

For each design of Table 3 (F# scaled with pitch) and Table 5 (F/2.6), on the held-out photos under
the Table 3 protocol (each photo on the same 179.2 um square; photo pixel 0.35 um), prints:
- the fraction of the ground truth's luminance spectral energy above the incoherent cutoff
  1 / (lambda F#) at lambda = 550 nm (no pipeline can restore it: the lens passes nothing there);
- the oracle's PSNR / MS-SSIM / LPIPS against the ground truth: the ground truth ideally low-passed
  at the cutoff, noise-free (optimistic: it also undoes every aberration and the pixel aperture).
No training or tuning uses these numbers; they bound what the protocol lets any pipeline reach.

    .venv/bin/python assets/tools/cutoff_oracle.py [--max-images N] [--csv out/cutoff_oracle.csv]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import metrics, optics, scenes  # noqa: E402
from engine.isp import color  # noqa: E402
from engine.perceptual import image_metrics  # noqa: E402
from engine.simulate import capture_scene, margin_px, psfs_for  # noqa: E402
from engine.study import STUDY_SETTINGS, study_designs, view_size_px  # noqa: E402

WAVELENGTH_NM = 550.0


def oracle_rows(table: int, images: list, extent_um: float) -> list[dict]:
    chain = color.color_chain()
    rows = []
    for name, design in study_designs(table).items():
        psfs = psfs_for(design)
        size_px = view_size_px(design, extent_um)
        cutoff = optics.cutoff_cyc_per_mm(design.f_number, WAVELENGTH_NM)
        per = []
        for j, path in enumerate(images):
            rendered_px = size_px + 2 * margin_px(design, psfs.psf_pixel.shape[-1])
            pixel_um = scenes.covering_source_pixel_um(path, rendered_px * design.pitch_um, scenes.DEFAULT_SOURCE_PIXEL_UM)
            gt = capture_scene(design, str(path), size_px, seed=j, psfs=psfs, source_pixel_um=pixel_um).ground_truth
            reference = color.camera_to_display(gt, chain)
            oracle = color.camera_to_display(metrics.ideal_lowpass(gt, design.pitch_um, cutoff), chain)
            luminance = color.linear_luminance(color.camera_to_linear_srgb(gt, chain))
            per.append({"energy_above_cutoff": metrics.energy_above(luminance, design.pitch_um, cutoff),
                        **image_metrics(oracle, reference)})
        row = {"table": table, "design": name, "pitch_um": design.pitch_um, "f_number": design.f_number,
               "cutoff_cyc_per_mm": round(cutoff, 1), "nyquist_cyc_per_mm": round(optics.nyquist_cyc_per_mm(design.pitch_um), 1),
               "images": len(per)}
        row |= {k: round(float(np.mean([p[k] for p in per])), 4) for k in per[0]}
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--csv", default="out/cutoff_oracle.csv")
    args = parser.parse_args()
    images = scenes.photo_set("test")[: args.max_images]
    extent_um = STUDY_SETTINGS["full"]["extent_um"]
    rows = oracle_rows(3, images, extent_um) + oracle_rows(5, images, extent_um)
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()

"""The Neural ISP's bf16 preview against fp32 (docs/design.md, "Inference arithmetic"): for each
capture, how far apart the two display images are (PSNR, largest pixel difference) and how much the
metrics against the ground truth move (PSNR, MS-SSIM, LPIPS). Per-design nets at 0.35 and 0.75 um,
the universal net at 0.35 um and at three random designs (seed 123, not the held-out file's), on dead
leaves and two bundled photos, 384 px.

    .venv/bin/python assets/tools/compare_precision.py
"""

import numpy as np

from engine import perceptual
from engine.design import preset
from engine.isp import color, run_pipeline
from engine.isp.neural import universal
from engine.simulate import capture_scene

SCENES = ("dead_leaves", "photo_dogs", "photo_mountains")


def main() -> None:
    chain = color.color_chain()
    rng = np.random.default_rng(123)
    designs = [("0.35", preset("0.35"), "auto"), ("0.75", preset("0.75"), "auto"),
               ("0.35", preset("0.35"), "universal")]
    designs += [(f"random {i}", universal.random_design(rng), "universal") for i in range(3)]
    rows = []
    print(f"{'design':<9} {'net':<9} {'scene':<16} {'apart dB':>8} {'max |d|':>8} {'dPSNR dB':>9} {'dMS-SSIM':>9} {'dLPIPS':>7}")
    for name, design, choice in designs:
        for scene in SCENES:
            capture = capture_scene(design, scene, 384, seed=1)
            truth = color.camera_to_display(capture.ground_truth, chain)
            fp32, bf16 = (run_pipeline("neural", capture, chain, neural=choice, precision=p) for p in ("fp32", "bf16"))
            scores = [(perceptual.psnr(x, truth), perceptual.ms_ssim(x, truth), perceptual.lpips_alex(x, truth))
                      for x in (fp32, bf16)]
            row = (perceptual.psnr(bf16, fp32), float(np.abs(bf16 - fp32).max()),
                   *(abs(a - b) for a, b in zip(*scores)))
            rows.append(row)
            print(f"{name:<9} {choice:<9} {scene:<16} {row[0]:8.1f} {row[1]:8.4f} {row[2]:9.4f} {row[3]:9.5f} {row[4]:7.4f}")
    r = np.array(rows)
    print(f"apart {r[:, 0].min():.1f}-{r[:, 0].max():.1f} dB; largest pixel difference {r[:, 1].max():.3f}; metric "
          f"differences at most {r[:, 2].max():.4f} dB PSNR, {r[:, 3].max():.1e} MS-SSIM, {r[:, 4].max():.4f} LPIPS")


if __name__ == "__main__":
    main()

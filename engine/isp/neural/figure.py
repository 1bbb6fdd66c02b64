"""Side-by-side figure of the Latin + CJK text chart: ground truth | traditional ISP | Neural ISP.

``python -m engine.isp.neural.figure [--preset 0.35] [--size 256] [--out docs/text_chart_0p35.png]``
(needs the preset's weights in pretrained/). Every panel is the same capture (seed 0, the design's
SNR) through the shared colour chain, enlarged ``zoom`` x by pixel replication so the pixels show.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.design import preset
from engine.isp import color, run_pipeline
from engine.perceptual import image_metrics
from engine.simulate import capture_scene


def text_chart_figure(preset_name: str = "0.35", size_px: int = 256, out: str | Path = "docs/text_chart_0p35.png",
                      zoom: int = 2, seed: int = 0) -> dict:
    """Write the three-panel figure of ``preset_name`` to ``out``; returns its path, the design hash
    and each pipeline's MS-SSIM / LPIPS / PSNR against the ground truth."""
    design = preset(preset_name)
    capture = capture_scene(design, "text", size_px, seed=seed)
    chain = color.color_chain()
    truth = color.camera_to_display(capture.ground_truth, chain)
    panels = [("ground truth", truth, None)]
    for name in ("traditional", "neural"):
        img = run_pipeline(name, capture, chain)
        panels.append((name, img, image_metrics(img, truth)))
    label_h, gap = 22, 6
    w = size_px * zoom
    canvas = Image.new("RGB", (3 * w + 2 * gap, w + label_h), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for i, (name, img, m) in enumerate(panels):
        tile = Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)).resize((w, w), Image.NEAREST)
        canvas.paste(tile, (i * (w + gap), label_h))
        text = name if m is None else f"{name}: MS-SSIM {m['msssim']:.3f}, LPIPS {m['lpips']:.3f}"
        draw.text((i * (w + gap) + 4, 4), text, fill="black", font=font)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    return {"out": str(out), "design": design.design_hash(), **{p[0]: p[2] for p in panels[1:]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="0.35")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", default="docs/text_chart_0p35.png")
    args = parser.parse_args()
    print(text_chart_figure(args.preset, args.size, args.out))


if __name__ == "__main__":
    main()

"""The paper's study, reproduced: MTF through whole pipelines (Table 2) and perceptual metrics on
held-out photos (Table 3), side by side with the paper's numbers (assets/paper_tables.json).

MTF instrument (design.md 3): neutral sinusoidal gratings (mean 0.4, contrast 0.5) at frequencies
with a whole number of cycles across the simulated window (so the periodic sensor model has no
seam), through optics + sensor (+ noise at the design's SNR) + pipeline; the output is linearised
(inverse colour chain), reduced to luminance, cropped by ``MARGIN_PX`` on each side and its
contrast measured by lock-in at the known frequency, divided by the input contrast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from engine import metrics, optics, scenes, sensor
from engine.design import ASSETS, DesignPoint
from engine.isp import color, run_pipeline

GRATING_MEAN, GRATING_CONTRAST = 0.4, 0.5
MARGIN_PX = 8


@dataclass(frozen=True)
class MTFResult:
    """MTF of one design through one pipeline. Frequencies in cycles/mm on the sensor."""

    freq_cyc_per_mm: np.ndarray
    mtf_h: np.ndarray
    mtf_v: np.ndarray
    mtf50_h_cyc_per_mm: float
    mtf50_v_cyc_per_mm: float

    def to_dict(self) -> dict:
        return {
            "freq_cyc_per_mm": self.freq_cyc_per_mm.round(3).tolist(),
            "mtf_h": self.mtf_h.round(5).tolist(),
            "mtf_v": self.mtf_v.round(5).tolist(),
            "mtf50_h_cyc_per_mm": round(self.mtf50_h_cyc_per_mm, 2),
            "mtf50_v_cyc_per_mm": round(self.mtf50_v_cyc_per_mm, 2),
        }


@lru_cache(maxsize=16)
def psfs_for(design: DesignPoint, size: int = optics.DEFAULT_PSF_SIZE) -> optics.PSFSet:
    """PSFs of a design, cached per process."""
    return optics.compute_psfs(design, size=size)


def grating_frequencies(design: DesignPoint, size_px: int, count: int) -> np.ndarray:
    """``count`` frequencies (cycles/mm) with whole cycles across ``size_px`` pixels, up to just below
    the pixel Nyquist 1000 / (2 pitch_um)."""
    cycles = np.unique(np.round(np.linspace(1, size_px // 2 - 1, count)).astype(int))
    return cycles * 1e3 / (size_px * design.pitch_um)


def measure_mtf(
    design: DesignPoint,
    pipeline: str,
    *,
    size_px: int = 128,
    count: int = 24,
    seed: int = 0,
    progress=None,
) -> MTFResult:
    """H and V MTF of ``design`` through ``pipeline`` at ``count`` grating frequencies.

    size_px: simulated window, pixels per side. progress: optional callable(done, total).
    """
    freqs = grating_frequencies(design, size_px, count)
    shape = (size_px * design.oversample,) * 2
    otf = sensor.make_sensor_otf(psfs_for(design).psf_pixel, design, shape)
    chain = color.color_chain()
    result = {}
    total, done = 2 * freqs.size, 0
    for orientation in ("h", "v"):
        values = []
        for k, f in enumerate(freqs):
            scene = scenes.grating(
                design.dx_um, shape, orientation=orientation, freq_cyc_per_mm=float(f),
                mean=GRATING_MEAN, contrast=GRATING_CONTRAST,
            )
            capture = sensor.simulate_raw(scene, otf, design, rng=seed + k)
            out = run_pipeline(pipeline, capture, chain)
            lum = color.linear_luminance(color.display_to_linear_srgb(out, chain))
            crop = lum[MARGIN_PX:-MARGIN_PX, MARGIN_PX:-MARGIN_PX]
            values.append(metrics.grating_contrast(crop, float(f), design.pitch_um, orientation) / GRATING_CONTRAST)
            done += 1
            if progress:
                progress(done, total)
        result[orientation] = np.array(values)
    return MTFResult(
        freqs, result["h"], result["v"], metrics.mtf50(freqs, result["h"]), metrics.mtf50(freqs, result["v"])
    )


def paper_tables() -> dict:
    """The paper's transcribed tables (assets/paper_tables.json)."""
    return json.loads((ASSETS / "paper_tables.json").read_text())

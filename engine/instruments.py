"""The three MTF instruments, run through whole pipelines: sinusoid gratings (the paper's), the
ISO 12233 e-SFR on a slanted edge, and the dead-leaves texture MTF (IEEE 1858 / CPIQ spectral ratio).

Each captures its chart through optics + sensor (+ noise at the design's SNR) + pipeline, linearises
the output (inverse colour chain) to luminance, crops ``MARGIN_PX`` on each side and measures it with
:mod:`engine.metrics`. Every pipeline sees the same captures. For a linear pipeline the three agree;
a Neural ISP is a nonlinear, content-dependent filter, so its "MTF" depends on the chart (see
docs/design.md, Metrics).

Instrument settings (fixed, the instruments' own):
- gratings: neutral, mean 0.4, contrast 0.5, whole cycles across the window (no seam in the periodic
  sensor model), lock-in fit of the fundamental;
- e-SFR: an edge ``edge_angle_deg`` (default 5) off vertical (H) and off horizontal (V), 4:1 contrast
  (ISO 12233:2017 low contrast) unless ``edge_contrast`` says otherwise, bright side reflectance 0.8;
- dead leaves: the engine's grey dead-leaves chart with disk radii ``DEAD_LEAVES_RMIN_PX`` to
  ``DEAD_LEAVES_RMAX_PX`` pixels (so every design sees the same texture per pixel), ``DEAD_LEAVES_CHARTS``
  realisations on a window of at least ``DEAD_LEAVES_MIN_SIZE_PX`` pixels (a power spectrum needs the
  area: quick runs measure the texture at full size); the reference spectrum is the capture's own ground truth (the chart box-filtered by
  the pixel aperture on the same pixel grid, aperture divided out), the noise spectrum that of a flat
  patch at the chart's mean reflectance captured with the same design and noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine import metrics, scenes, sensor
from engine.design import DesignPoint
from engine.isp import PIPELINES, PipelineUnavailable, color, run_pipeline
from engine.simulate import capture_scene, psfs_for  # noqa: F401 (psfs_for: API)

GRATING_MEAN, GRATING_CONTRAST = 0.4, 0.5
MARGIN_PX = 8
EDGE_ANGLE_DEG, EDGE_CONTRAST = scenes.ISO_EDGE_ANGLE_DEG, scenes.ISO_EDGE_CONTRAST
EDGE_ANGLE_RANGE_DEG, EDGE_CONTRAST_RANGE = (2.0, 20.0), (1.5, 100.0)
DEAD_LEAVES_RMIN_PX, DEAD_LEAVES_RMAX_PX, DEAD_LEAVES_CHARTS, DEAD_LEAVES_MIN_SIZE_PX = 0.5, 64.0, 2, 128
INSTRUMENTS = {"grating": "sinusoid gratings", "sfr": "ISO 12233 e-SFR (slanted edge)",
               "dead_leaves": "dead-leaves texture"}
WHY_THEY_DIFFER = ("Why they differ: a linear pipeline has one MTF, which all three measure (within the texture "
                   "ratio's count of demosaic aliasing); a Neural ISP is a nonlinear, content-dependent filter "
                   "whose gain depends on the chart (sinusoids like those it was trained on, one broadband "
                   "edge, random texture), so its three MTFs differ.")


def rounded(value: float, digits: int) -> float | None:
    """``value`` rounded to ``digits``, or None (JSON null) where it is NaN (e.g. an MTF that never falls
    through a level)."""
    return round(value, digits) if math.isfinite(value) else None


@dataclass(frozen=True)
class MTFResult:
    """H and V MTF of one design through one pipeline by one instrument. Frequencies in cycles/mm on
    the sensor."""

    freq_cyc_per_mm: np.ndarray
    mtf_h: np.ndarray
    mtf_v: np.ndarray

    def crossing(self, level: float, axis: str) -> float:
        """Frequency (cycles/mm) where the ``axis`` ("h"/"v") MTF first falls through ``level``; NaN if never."""
        return metrics.mtf_crossing(self.freq_cyc_per_mm, self.mtf_h if axis == "h" else self.mtf_v, level)

    @property
    def mtf50_h_cyc_per_mm(self) -> float:
        return self.crossing(0.5, "h")

    @property
    def mtf50_v_cyc_per_mm(self) -> float:
        return self.crossing(0.5, "v")

    def crossings(self) -> dict[str, float]:
        """MTF10/30/50, H and V, cycles/mm: keys like ``mtf50_h_cyc_per_mm``."""
        return {f"mtf{round(level * 100)}_{axis}_cyc_per_mm": self.crossing(level, axis)
                for level in metrics.MTF_LEVELS for axis in ("h", "v")}

    def to_dict(self) -> dict:
        """JSON-ready: the curve and the MTF10/30/50 crossings (null where the curve never falls that low)."""
        return {"freq_cyc_per_mm": self.freq_cyc_per_mm.round(3).tolist(), "mtf_h": self.mtf_h.round(5).tolist(),
                "mtf_v": self.mtf_v.round(5).tolist(), **{k: rounded(v, 2) for k, v in self.crossings().items()}}


def _luminance(display: np.ndarray, chain: color.ColorChain) -> np.ndarray:
    """Linear luminance of a display-sRGB pipeline output, cropped by MARGIN_PX on each side."""
    lum = color.linear_luminance(color.display_to_linear_srgb(display, chain))
    return lum[MARGIN_PX:-MARGIN_PX, MARGIN_PX:-MARGIN_PX]


def available_pipelines(design: DesignPoint, pipelines: tuple[str, ...] = PIPELINES, *,
                        neural: str = "auto") -> tuple[tuple[str, ...], dict[str, str]]:
    """(the pipelines that run for ``design``, {pipeline: why not} for those that raise
    :class:`engine.isp.PipelineUnavailable`), probed on a small flat capture."""
    capture = capture_scene(design, "grating_h", 16, psfs=psfs_for(design), contrast=0.0)
    ready, skipped = [], {}
    for pipeline in pipelines:
        try:
            run_pipeline(pipeline, capture, neural=neural)
            ready.append(pipeline)
        except PipelineUnavailable as err:
            skipped[pipeline] = str(err)
    return tuple(ready), skipped


def grating_frequencies(design: DesignPoint, size_px: int, count: int) -> np.ndarray:
    """``count`` frequencies (cycles/mm) with whole cycles across ``size_px`` pixels, up to just below
    the pixel Nyquist 1000 / (2 pitch_um)."""
    cycles = np.unique(np.round(np.linspace(1, size_px // 2 - 1, count)).astype(int))
    return cycles * 1e3 / (size_px * design.pitch_um)


def measure_mtf(
    design: DesignPoint,
    pipelines: tuple[str, ...] = ("demosaic", "traditional"),
    *,
    size_px: int = 128,
    count: int = 24,
    seed: int = 0,
    neural: str = "auto",
    progress=None,
) -> dict[str, MTFResult]:
    """H and V MTF of ``design`` through each of ``pipelines`` at ``count`` grating frequencies.

    Every pipeline sees the same captures. size_px: simulated window, pixels per side.
    progress: optional callable(done, total) called after each capture.
    """
    freqs = grating_frequencies(design, size_px, count)
    shape = (size_px * design.oversample,) * 2
    otf = sensor.make_sensor_otf(psfs_for(design).psf_pixel, design, shape)
    chain = color.color_chain()
    contrast = {(p, o): [] for p in pipelines for o in ("h", "v")}
    total, done = 2 * freqs.size, 0
    for orientation in ("h", "v"):
        for k, f in enumerate(freqs):
            scene = scenes.grating(
                design.dx_um, shape, orientation=orientation, freq_cyc_per_mm=float(f),
                mean=GRATING_MEAN, contrast=GRATING_CONTRAST,
            )
            capture = sensor.simulate_raw(scene, otf, design, rng=seed + k)
            for pipeline in pipelines:
                crop = _luminance(run_pipeline(pipeline, capture, chain, neural=neural), chain)
                measured = metrics.grating_contrast(crop, float(f), design.pitch_um, orientation)
                contrast[pipeline, orientation].append(measured / GRATING_CONTRAST)
            done += 1
            if progress:
                progress(done, total)
    results = {}
    for pipeline in pipelines:
        mtf_h, mtf_v = np.array(contrast[pipeline, "h"]), np.array(contrast[pipeline, "v"])
        results[pipeline] = MTFResult(freqs, mtf_h, mtf_v)
    return results


def mtf50_columns(results: dict[str, MTFResult], key: str = "{axis}_{pipeline}") -> dict[str, float]:
    """``{key: MTF50 cycles/mm rounded to 0.1}`` for every pipeline of ``results`` and axis h, v."""
    return {key.format(axis=axis, pipeline=p): round(r.crossing(0.5, axis), 1) for p, r in results.items() for axis in "hv"}


def _check_edge(angle_deg: float, contrast: float) -> None:
    for name, value, (lo, hi), unit in (("edge_angle_deg", angle_deg, EDGE_ANGLE_RANGE_DEG, " degrees"),
                                        ("edge_contrast", contrast, EDGE_CONTRAST_RANGE, " (bright : dark)")):
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be in [{lo:g}, {hi:g}]{unit}, got {value:g}")


def measure_edge(
    design: DesignPoint, pipelines: tuple[str, ...], *, size_px: int = 128, seed: int = 0,
    angle_deg: float = EDGE_ANGLE_DEG, contrast: float = EDGE_CONTRAST, neural: str = "auto",
) -> dict[str, MTFResult]:
    """ISO 12233 e-SFR, H (an edge ``angle_deg`` off vertical) and V (the same edge turned 90 degrees,
    measured transposed), of each pipeline; ``contrast`` is the edge's bright : dark reflectance.
    The V curve is interpolated onto the H curve's frequencies (cycles/mm, up to the pixel Nyquist)."""
    _check_edge(angle_deg, contrast)
    chain, curves = color.color_chain(), {}
    captures = [capture_scene(design, "slanted_edge", size_px, seed=seed, psfs=psfs_for(design),
                              angle_deg=angle_deg + turn, contrast_ratio=contrast) for turn in (0.0, 90.0)]
    for pipeline in pipelines:
        h_crop, v_crop = (_luminance(run_pipeline(pipeline, c, chain, neural=neural), chain) for c in captures)
        freq, sfr_h = metrics.slanted_edge_sfr(h_crop, design.pitch_um, scenes.slanted_edge_drift(angle_deg))
        freq_v, sfr_v = metrics.slanted_edge_sfr(v_crop.T, design.pitch_um,
                                                 1.0 / scenes.slanted_edge_drift(angle_deg + 90.0))
        curves[pipeline] = MTFResult(freq, sfr_h, np.interp(freq, freq_v, sfr_v))
    return curves


def measure_sfr_mtf50(design: DesignPoint, pipeline: str, *, size_px: int = 128, seed: int = 0) -> float:
    """MTF50 (cycles/mm, H) by the ISO 12233 slanted edge (5 degrees, 4:1) through ``pipeline``."""
    return measure_edge(design, (pipeline,), size_px=size_px, seed=seed)[pipeline].crossing(0.5, "h")


def measure_dead_leaves(
    design: DesignPoint, pipelines: tuple[str, ...], *, size_px: int = 128, seed: int = 0, neural: str = "auto",
) -> dict[str, MTFResult]:
    """Dead-leaves texture MTF (H and V, cycles/mm) of each pipeline: output over reference power
    spectrum, with the power of a flat patch of the same capture conditions removed (module docstring)."""
    chain, psfs = color.color_chain(), psfs_for(design)
    size_px = max(size_px, DEAD_LEAVES_MIN_SIZE_PX)
    charts = [capture_scene(design, "dead_leaves", size_px, seed=seed + k, psfs=psfs,
                            rmin_um=DEAD_LEAVES_RMIN_PX * design.pitch_um, rmax_um=DEAD_LEAVES_RMAX_PX * design.pitch_um)
              for k in range(DEAD_LEAVES_CHARTS)]
    truth = [c.ground_truth[MARGIN_PX:-MARGIN_PX, MARGIN_PX:-MARGIN_PX] for c in charts]
    reference = np.stack([color.linear_luminance(color.camera_to_linear_srgb(t, chain)) for t in truth])
    mean_reflectance = float(np.mean([t[..., 1].mean() for t in truth]))  # neutral: green = reflectance
    flat = capture_scene(design, "grating_h", size_px, seed=seed + DEAD_LEAVES_CHARTS, psfs=psfs,
                         mean=mean_reflectance, contrast=0.0)
    curves = {}
    for pipeline in pipelines:
        output = np.stack([_luminance(run_pipeline(pipeline, c, chain, neural=neural), chain) for c in charts])
        flat_out = _luminance(run_pipeline(pipeline, flat, chain, neural=neural), chain)
        freq, mtf_h, mtf_v = metrics.texture_mtf(output, reference, flat_out,
                                                 design.pitch_um, reference_box_px=design.fill_factor)
        curves[pipeline] = MTFResult(freq, mtf_h, mtf_v)
    return curves


def measure_instruments(
    design: DesignPoint, pipelines: tuple[str, ...] = PIPELINES, *, size_px: int = 128, count: int = 24,
    seed: int = 0, edge_angle_deg: float = EDGE_ANGLE_DEG, edge_contrast: float = EDGE_CONTRAST,
    gratings: dict[str, MTFResult] | None = None, neural: str = "auto", progress=None,
) -> tuple[dict[str, dict[str, MTFResult]], dict[str, str]]:
    """All three instruments (``INSTRUMENTS``) on every pipeline of ``pipelines`` that runs for ``design``.

    Returns ({pipeline: {"grating" | "sfr" | "dead_leaves": MTFResult}}, {pipeline: why it was
    skipped}). gratings: grating results already measured for these pipelines (e.g. by Table 2),
    reused instead of measured again. neural: which Neural ISP (engine.isp.NEURAL_CHOICES).
    progress: optional callable(done, total) per capture.
    """
    _check_edge(edge_angle_deg, edge_contrast)
    ready, skipped = available_pipelines(design, pipelines, neural=neural)
    grating_total = 0 if gratings is not None else 2 * grating_frequencies(design, size_px, count).size
    total = grating_total + 2 + DEAD_LEAVES_CHARTS + 1  # + two edges, the texture charts and the flat patch
    if gratings is None:
        step = (lambda done, _total: progress(done, total)) if progress else None
        gratings = measure_mtf(design, ready, size_px=size_px, count=count, seed=seed, neural=neural, progress=step)
    edges = measure_edge(design, ready, size_px=size_px, seed=seed, angle_deg=edge_angle_deg, contrast=edge_contrast,
                         neural=neural)
    if progress:
        progress(grating_total + 2, total)
    textures = measure_dead_leaves(design, ready, size_px=size_px, seed=seed, neural=neural)
    if progress:
        progress(total, total)
    results = {p: {"grating": gratings[p], "sfr": edges[p], "dead_leaves": textures[p]} for p in ready}
    return results, skipped

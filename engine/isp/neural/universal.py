"""The PSF-conditioned ("universal") Neural ISP: one network for any design in its training range.

How the network is told the optics (decision, docs/design.md "Universal Neural ISP"):

* **Known-PSF pre-deconvolution.** The RAW's bilinear demosaic restored by the design's own
  per-channel Wiener filter (engine.isp.deconv: system PSF = optics x pixel aperture, OCL phases
  averaged, regularised by the noise sigma and a 1/f^2 image prior) enters as three extra planes.
  The PSF's effect on the image is then shown to the network in image form, at every pixel, for any
  lens, F#, pitch, OCL offset or fill factor: nothing about the design has to be decoded from
  scalars, and the net learns what a Wiener filter cannot (noise-aware sharpening, de-aliasing,
  colour). The per-design nets' inputs (masked RAW, CFA masks, sigma map, bilinear demosaic) stay.
* **System-MTF descriptor.** Four constant planes: the channel-averaged, radially averaged system
  MTF at 0.1, 0.2, 0.3 and 0.4 cycles per pixel (deconv.mtf_descriptor), so the network knows how
  much the Wiener planes were amplified and how much detail survives.
* **CFA layout** is passed per batch (hex, quad or Bayer masks and demosaic), one network for all.

``TRAINING_RANGE`` is what the net was trained over; :func:`outside_training_range` names every
parameter of a design outside it.
"""

from __future__ import annotations

import math

import numpy as np

from engine.design import DesignPoint, OCLOffsets, default_lens
from engine.isp import deconv
from engine.optics import ZERNIKE_SLIDER_LIMITS_WAVES  # the app's sliders: what the net is trained over

COND_FEATURES = 3 + len(deconv.MTF_DESCRIPTOR_CYC_PER_PX)
"""Wiener-restored RGB + the system-MTF descriptor planes."""

OTHER_TERM_TOLERANCE_WAVES = 0.02
"""Other Noll terms up to this amplitude count as inside the training range (the preset lens has a
-0.002-wave Z17)."""

TRAINING_RANGE = {
    "pitch_um": (0.3, 1.3),
    "f_number": (1.4, 8.0),
    "snr_db": (10.0, 45.0),
    "cfa": ("hex", "quad", "bayer"),
    "ocl_waves": (-0.5, 0.5),
    "fill_factor": (0.5, 1.0),
    "f_number_ref": (1.4, 1.4),
}
"""Ranges of the random designs the universal net was trained on (Zernike: ZERNIKE_SLIDER_LIMITS_WAVES)."""


def conditioning(raw: np.ndarray, sigma: np.ndarray, cfa: np.ndarray, layout: str, kernels: np.ndarray) -> np.ndarray:
    """(H, W) mosaic, noise sigma map and CFA colour map -> (H, W, COND_FEATURES) float32 planes:
    Wiener-restored bilinear demosaic (linear camera RGB) and the system-MTF descriptor."""
    from engine.isp.traditional import bilinear_demosaic

    return conditioning_planes(deconv.wiener_deconvolve(bilinear_demosaic(raw, cfa, layout), kernels, sigma), kernels)


def conditioning_planes(restored: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """:func:`conditioning` from the Wiener-restored RGB (H, W, 3) already made (engine.isp.deconv)."""
    planes = np.empty(restored.shape[:2] + (COND_FEATURES,), dtype=np.float32)
    planes[..., :3] = restored
    planes[..., 3:] = deconv.mtf_descriptor(kernels)
    return planes


def outside_training_range(design: DesignPoint) -> list[str]:
    """One phrase per parameter of ``design`` outside TRAINING_RANGE (empty when inside)."""
    r = TRAINING_RANGE
    out = []
    for name, unit in (("pitch_um", " um"), ("f_number", ""), ("snr_db", " dB"), ("fill_factor", "")):
        lo, hi = r[name]
        value = getattr(design, name)
        if not lo - 1e-9 <= value <= hi + 1e-9:
            out.append(f"{name} {value:g}{unit} (trained {lo:g}-{hi:g}{unit})")
    if design.f_number_ref != r["f_number_ref"][0]:
        out.append(f"f_number_ref {design.f_number_ref:g} (trained {r['f_number_ref'][0]:g})")
    lo, hi = r["ocl_waves"]
    for name in ("tilt_waves", "coma_waves"):
        value = getattr(design.ocl, name)
        if design.ocl.enabled and not lo <= value <= hi:
            out.append(f"ocl.{name} {value:g} (trained {lo:g} to {hi:g})")
    for j, c in design.zernike:
        limit = ZERNIKE_SLIDER_LIMITS_WAVES.get(j)
        if limit is None and abs(c) > OTHER_TERM_TOLERANCE_WAVES:
            out.append(f"Zernike Z{j} = {c:g} waves (not a trained term; up to +-{OTHER_TERM_TOLERANCE_WAVES:g} allowed)")
        elif limit is not None and abs(c) > limit:
            out.append(f"Zernike Z{j} = {c:g} waves (trained up to +-{limit:g})")
    return out


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _random_zernike(rng: np.random.Generator) -> dict[int, float]:
    """A wavefront around the preset lens and well beyond it, within the slider limits."""
    lens = dict(default_lens().zernike)
    mode = rng.random()
    terms = {j: lens.get(j, 0.0) * rng.uniform(0.0, 2.0) for j in ZERNIKE_SLIDER_LIMITS_WAVES}
    if mode < 0.35:  # the preset lens scaled, lightly perturbed
        spread = 0.02
    elif mode < 0.75:  # a different lens of the same family
        spread = rng.uniform(0.03, 0.15)
    else:  # one to four large terms up to the slider limits
        spread = 0.02
        for j in rng.choice(list(ZERNIKE_SLIDER_LIMITS_WAVES), size=int(rng.integers(1, 5)), replace=False):
            terms[int(j)] += ZERNIKE_SLIDER_LIMITS_WAVES[int(j)] * rng.uniform(-1, 1) * rng.random()
    out = {}
    for j, c in terms.items():
        limit = ZERNIKE_SLIDER_LIMITS_WAVES[j]
        out[j] = round(float(np.clip(c + rng.normal(0.0, spread), -limit, limit)), 4)
    return out


def _random_ocl(rng: np.random.Generator) -> OCLOffsets:
    if rng.random() < 0.1:
        return OCLOffsets(enabled=False)
    lens_ocl = default_lens().ocl
    values = []
    for default in (lens_ocl.tilt_waves, lens_ocl.coma_waves):
        u = rng.random()
        lo, hi = TRAINING_RANGE["ocl_waves"]
        value = default if u < 0.4 else rng.uniform(-0.15, 0.15) if u < 0.9 else rng.uniform(lo, hi)
        values.append(round(float(value), 4))
    return OCLOffsets(True, *values)


def random_design(rng: np.random.Generator, *, snr_db: float = 35.0) -> DesignPoint:
    """One design drawn from TRAINING_RANGE (seeded): pitch and F# log-uniform, CFA hex 1/2, quad
    and Bayer 1/4 each, a random wavefront (:func:`_random_zernike`), OCL offsets, fill factor; the
    oversampling the PSF needs (at least 2)."""
    from engine.optics import nyquist_sampled

    pitch = round(_log_uniform(rng, *TRAINING_RANGE["pitch_um"]), 3)
    f_number = round(_log_uniform(rng, *TRAINING_RANGE["f_number"]), 2)
    cfa = str(rng.choice(TRAINING_RANGE["cfa"], p=(0.5, 0.25, 0.25)))
    fill = 1.0 if rng.random() < 0.7 else round(float(rng.uniform(*TRAINING_RANGE["fill_factor"])), 3)
    return nyquist_sampled(DesignPoint(
        pitch_um=pitch, f_number=f_number, f_number_ref=TRAINING_RANGE["f_number_ref"][0],
        zernike=tuple(_random_zernike(rng).items()), ocl=_random_ocl(rng), cfa=cfa, snr_db=snr_db,
        oversample=2, fill_factor=fill,
    ))

"""Charts for Neural ISP training that never match an MTF instrument at its measurement settings.

One rule for every net (per-design, universal, fine-tune; docs/design.md, "Training scenes and the
MTF instruments"): a network must not be taught the instruments' own charts, or the MTF numbers
measure recall of the test chart instead of restoration.

* gratings: two random colours, any angle, phase, frequency (5-100 % of Nyquist), mean and contrast
  (the grating instrument: neutral, axis-aligned, mean 0.4, contrast 0.5);
* slanted edges: any angle and contrast 1.5-12, redrawn within ``EDGE_EXCLUSION_DEG`` of the e-SFR
  edge angle in either orientation (the instrument: 5 degrees off an axis, 4:1);
* dead leaves: coloured (the instrument's chart is grey), disk radii in pitch units drawn from other
  ranges than the instrument's (0.5-64 px);
* Siemens stars (no instrument uses them).
"""

from __future__ import annotations

import numpy as np

from engine import scenes, spectra

EDGE_ANGLE_RANGE_DEG = (-180.0, 180.0)
EDGE_CONTRAST_RANGE = (1.5, 12.0)
EDGE_EXCLUSION_DEG = 2.0
"""Training edges keep at least this many degrees from the e-SFR instrument's edge (mod 90)."""
DEAD_LEAVES_RMIN_PITCHES = (0.3, 0.8)
DEAD_LEAVES_RMAX_PITCHES = (15.0, 80.0)
DEAD_LEAVES_RMIN_FLOOR_UM = 0.15
STAR_CYCLES = (24, 160)


def random_grating(dx_um: float, shape: tuple[int, int], rng: np.random.Generator, nyquist_cyc_per_mm: float) -> np.ndarray:
    """(H, W, 3) camera RGB: a sinusoid of random angle, phase and frequency (5-100 % of
    ``nyquist_cyc_per_mm``) blending two random colours, random mean and contrast."""
    h, w = shape
    y = (np.arange(h) - h / 2) * dx_um
    x = (np.arange(w) - w / 2) * dx_um
    angle = rng.uniform(0, np.pi)
    freq = rng.uniform(0.05, 1.0) * nyquist_cyc_per_mm / 1000.0
    u = np.cos(angle) * x[None, :] + np.sin(angle) * y[:, None]
    profile = 0.5 * (1 + np.cos(2 * np.pi * freq * u + rng.uniform(0, 2 * np.pi)))
    white = spectra.camera_rgb_from_reflectance(np.ones(spectra.WAVELENGTHS_NM.size), scenes.ILLUMINANT)
    lo, hi = rng.uniform(0.02, 0.5, 3), rng.uniform(0.3, 0.95, 3)
    contrast = rng.uniform(0.1, 1.0)
    a = lo + (1 - contrast) * (hi - lo) / 2
    b = hi - (1 - contrast) * (hi - lo) / 2
    return ((a + (b - a) * profile[..., None]) * white).astype(np.float32)


def near_instrument_edge(angle_deg: float) -> bool:
    """Whether an edge at ``angle_deg`` lies within ``EDGE_EXCLUSION_DEG`` of the e-SFR instrument's
    edge (the ISO edge, ``scenes.ISO_EDGE_ANGLE_DEG`` off either axis: the instrument turns it by 90
    degrees for V)."""
    off_axis = angle_deg % 90.0
    return any(abs(off_axis - a) < EDGE_EXCLUSION_DEG for a in (scenes.ISO_EDGE_ANGLE_DEG, 90.0 - scenes.ISO_EDGE_ANGLE_DEG))


def edge_params(rng: np.random.Generator) -> dict:
    """Scene params of a training slanted edge: random angle (never near the instrument's) and contrast."""
    while True:
        angle = float(rng.uniform(*EDGE_ANGLE_RANGE_DEG))
        contrast = float(rng.uniform(*EDGE_CONTRAST_RANGE))
        if not near_instrument_edge(angle):
            return {"angle_deg": angle, "contrast_ratio": contrast}


def dead_leaves_params(rng: np.random.Generator, pitch_um: float) -> dict:
    """Scene params of a training dead-leaves chart for a sensor of ``pitch_um``: coloured, radii in
    pitch units from ``DEAD_LEAVES_RMIN_PITCHES`` / ``DEAD_LEAVES_RMAX_PITCHES``."""
    rmin = max(rng.uniform(*DEAD_LEAVES_RMIN_PITCHES) * pitch_um, DEAD_LEAVES_RMIN_FLOOR_UM)
    return {"colour": True, "rmin_um": float(rmin), "rmax_um": float(rng.uniform(*DEAD_LEAVES_RMAX_PITCHES) * pitch_um)}


def star_params(rng: np.random.Generator) -> dict:
    """Scene params of a training Siemens star (wider than any crop: a field of converging spokes)."""
    return {"n_cycles": int(rng.integers(*STAR_CYCLES)), "radius_um": 1e4}

"""Pins on colour and the perceptual metric (issue #14), each failing on one deliberate breakage
(``assets/tools/mutants.py``):

* End-to-end colour: the 24 ColorChecker patches through the simulated camera (engine.spectra) and
  ``camera_to_display`` against colour-science's own colorimetry, mean Delta E 2000 (CIE 2000, in
  Lab units) below a bound measured once. A CCM fitted to a wrong target (e.g. R and B swapped)
  fits its own target just as well, so only a reference outside the fit catches it.
* LPIPS: offline golden values on fixed inputs, and the sha256 of the weights asset.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest

from engine import perceptual, spectra
from engine.isp import color

warnings.filterwarnings("ignore", message='"Matplotlib" related API features are not available')
import colour  # noqa: E402

MEAN_DELTA_E_BOUND = 3.05
"""Measured 2.35 mean (max 4.57) on 2026-12: the gentle tone curve and the 3x3 CCM's fit error; the
bound is the measurement + 30 %. R and B swapped gives ~23."""
MAX_DELTA_E_BOUND = 5.95
"""Measured worst patch 4.57 + 30 %."""

LPIPS_SHA256 = "14664ec562fa52366f722f809f85aa59960596699ae397b96beeb1900a7ae443"
"""sha256 of assets/lpips_alex_v0.1.npz (engine.perceptual.LPIPS_WEIGHTS)."""
LPIPS_GOLDEN = {"noisy": 0.04896583780646324, "shifted": 0.019161535426974297, "flat": 0.8929288387298584}
"""lpips_alex(variant, reference) of :func:`_lpips_inputs`, computed with the shipped weights (CPU torch)."""


def _observer_lab(xyz: np.ndarray) -> np.ndarray:
    white = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
    return colour.XYZ_to_Lab(xyz, white)


def _display_to_xyz(display: np.ndarray) -> np.ndarray:
    """sRGB-encoded display values (..., 3) -> CIE XYZ (white Y = 1), by colour-science."""
    linear = colour.cctf_decoding(np.asarray(display, dtype=np.float64), "sRGB")
    return colour.RGB_to_XYZ(linear, colour.RGB_COLOURSPACES["sRGB"], apply_cctf_decoding=False)


def _reference_xyz() -> np.ndarray:
    """(24, 3) XYZ of the ColorChecker N Ohta patches under D65, CIE 1931 2 deg, colour-science's
    own spectral integration (independent of engine.spectra's)."""
    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    light = colour.SDS_ILLUMINANTS["D65"]
    sds = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"].values()
    return np.stack([colour.sd_to_XYZ(sd, cmfs, light) for sd in sds]) / 100.0


def test_colorchecker_through_the_camera_matches_colour_science_within_measured_delta_e():
    camera = spectra.camera_rgb_from_reflectance(spectra.colorchecker_reflectances()).astype(np.float32)
    display = color.camera_to_display(camera)
    delta_e = colour.delta_E(_observer_lab(_display_to_xyz(display)), _observer_lab(_reference_xyz()),
                             method="CIE 2000")
    assert delta_e.shape == (24,)
    print(f"ColorChecker end to end: mean Delta E 2000 {delta_e.mean():.2f}, max {delta_e.max():.2f}")
    assert delta_e.mean() < MEAN_DELTA_E_BOUND
    assert delta_e.max() < MAX_DELTA_E_BOUND


def test_colour_reference_is_sensitive_to_a_red_blue_swap():
    """The bound is meaningful: the same pipeline with R and B swapped on the display is far outside it."""
    camera = spectra.camera_rgb_from_reflectance(spectra.colorchecker_reflectances()).astype(np.float32)
    display = color.camera_to_display(camera)[:, ::-1]
    delta_e = colour.delta_E(_observer_lab(_display_to_xyz(display)), _observer_lab(_reference_xyz()),
                             method="CIE 2000")
    assert delta_e.mean() > 3 * MEAN_DELTA_E_BOUND


def _lpips_inputs() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A 64 x 64 RGB reference in [0, 1] of closed-form waves and three variants (seeded noise, a
    2-px roll, flat grey), float64."""
    yy, xx = np.mgrid[0:64, 0:64] / 64.0
    ref = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * (3 * xx + yy)), 0.5 + 0.4 * np.cos(2 * np.pi * (2 * yy - xx)),
                    0.5 + 0.3 * np.sin(2 * np.pi * 5 * xx * yy)], axis=-1)
    noisy = np.clip(ref + 0.05 * np.random.default_rng(0).standard_normal(ref.shape), 0.0, 1.0)
    return ref, {"noisy": noisy, "shifted": np.roll(ref, 2, axis=1), "flat": np.full_like(ref, 0.5)}


def test_lpips_weights_asset_is_the_pinned_file():
    digest = hashlib.sha256(perceptual.LPIPS_WEIGHTS.read_bytes()).hexdigest()
    assert digest == LPIPS_SHA256


@pytest.mark.parametrize("name", sorted(LPIPS_GOLDEN))
def test_lpips_offline_golden_values(name):
    ref, variants = _lpips_inputs()
    got = float(perceptual.lpips_alex(variants[name], ref))
    assert got == pytest.approx(LPIPS_GOLDEN[name], rel=1e-4, abs=1e-6)

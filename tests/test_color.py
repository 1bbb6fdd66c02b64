"""The shared colour chain: ColorChecker CCM accuracy, exact inverse, stage behaviour."""

import numpy as np
import pytest

from engine import spectra
from engine.isp import color


def test_ccm_maps_colorchecker_with_small_delta_e():
    chain = color.color_chain("D65")
    print(f"ColorChecker mean Delta E 2000 after white balance + CCM: {chain.mean_delta_e2000:.2f}")
    assert chain.mean_delta_e2000 < 5.0


def test_white_balance_maps_the_illuminant_white_to_grey():
    chain = color.color_chain()
    white = spectra.camera_rgb_from_reflectance(np.ones(spectra.WAVELENGTHS_NM.size))
    np.testing.assert_allclose(color.white_balance(white, chain), 1.0, rtol=1e-6)


def test_colour_chain_round_trip():
    rng = np.random.default_rng(3)
    camera = rng.uniform(-0.05, 1.3, (500, 3)).astype(np.float32)
    display = color.camera_to_display(camera, clip=False)
    np.testing.assert_allclose(color.display_to_camera(display), camera, atol=1e-5)


def test_tone_curve_is_monotone_fixes_ends_and_inverts():
    x = np.linspace(-0.5, 1.5, 2001, dtype=np.float32)
    y = color.tone_curve(x)
    assert np.all(np.diff(y) > 0)
    assert color.tone_curve(np.array([0.0, 1.0])) == pytest.approx([0.0, 1.0])
    np.testing.assert_allclose(color.inverse_tone_curve(y), x, atol=1e-5)


def test_display_output_is_clipped_to_unit_range():
    out = color.camera_to_display(np.array([[-1.0, 0.5, 9.0]], dtype=np.float32))
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_srgb_encode_matches_colour_science():
    """The float32 inverse EOTF against colour-science's, across the toe, the curve, negatives and
    values above 1 (the unclipped chain)."""
    import colour

    x = np.concatenate([np.linspace(-0.2, 1.5, 40001), [0.0031308, 0.0031309, 0.0, 1.0]]).astype(np.float32)
    expected = colour.cctf_encoding(x.astype(np.float64), "sRGB")
    np.testing.assert_allclose(color.srgb_encode(x), expected, rtol=0, atol=1e-6)
    assert color.srgb_encode(x).dtype == np.float32

"""Properties over whole input ranges, drawn by Hypothesis (derandomized: every run draws the same
examples): a design survives its URL, JSON and the app's link exactly; any text in a link's keys
leaves the app with a valid design and warnings, never an exception; the e-SFR recovers a Gaussian
blur's closed-form MTF50 at every edge angle the instrument offers; MTF crossings interpolate."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from app import state
from engine import instruments
from engine.design import (
    BURST_RANGE,
    CFA_LAYOUTS,
    F_NUMBER_MAX,
    F_NUMBER_REF_RANGE,
    FILL_FACTOR_RANGE,
    FLUX_MODES,
    OCL_MAX_WAVES,
    OVERSAMPLE_RANGE,
    PITCH_RANGE_UM,
    SNR_RANGE_DB,
    ZERNIKE_MAX_WAVES,
    DesignPoint,
    OCLOffsets,
    from_query,
    to_query,
)
from engine.metrics import mtf_crossing, slanted_edge_sfr
from engine.zernike import NOLL_MAX

PROPERTY = settings(derandomize=True, deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])


def within(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def designs(draw) -> DesignPoint:
    """Any valid design: every field anywhere in its range, up to six Zernike terms of any order."""
    f_number_ref = draw(within(*F_NUMBER_REF_RANGE))
    nolls = draw(st.lists(st.integers(1, NOLL_MAX), unique=True, max_size=6))
    return DesignPoint(
        pitch_um=draw(within(*PITCH_RANGE_UM)), f_number=draw(within(f_number_ref, F_NUMBER_MAX)),
        f_number_ref=f_number_ref,
        zernike=tuple((j, draw(within(-ZERNIKE_MAX_WAVES, ZERNIKE_MAX_WAVES))) for j in nolls),
        ocl=OCLOffsets(draw(st.booleans()), draw(within(-OCL_MAX_WAVES, OCL_MAX_WAVES)),
                       draw(within(-OCL_MAX_WAVES, OCL_MAX_WAVES))),
        cfa=draw(st.sampled_from(CFA_LAYOUTS)), snr_db=draw(within(*SNR_RANGE_DB)),
        flux=draw(st.sampled_from(FLUX_MODES)), oversample=draw(st.integers(*OVERSAMPLE_RANGE)),
        fill_factor=draw(within(*FILL_FACTOR_RANGE)), burst=draw(st.integers(*BURST_RANGE)),
    )


@PROPERTY
@given(designs())
def test_a_design_survives_its_url_its_json_and_the_apps_link_exactly(design):
    assert from_query(to_query(design)) == design
    assert DesignPoint.from_dict(design.to_dict()) == design
    assert DesignPoint.from_dict(design.to_dict()).design_hash() == design.design_hash()
    view = state.ViewState(preset=state.CUSTOM_PRESET)
    assert state.state_from_query(state.query_from_state(design, view)) == (design, view, [])


LINK_KEYS = sorted(state.query_from_state(state.default_design(), state.ViewState(
    pinned=state.pin_query(state.default_design()))))


@PROPERTY
@given(st.dictionaries(st.sampled_from(LINK_KEYS + ["pich"]), st.text(max_size=12) | st.sampled_from(
    ["nan", "inf", "-0", "1e400", "0.35", "2", "none", "Z4=3", "custom", "hex"])))
def test_any_text_in_a_link_gives_a_valid_design_and_warnings_never_an_exception(query):
    design, view, warnings = state.state_from_query(query)
    assert isinstance(design, DesignPoint) and isinstance(view, state.ViewState)
    assert all(isinstance(w, str) and w for w in warnings)


def _blurred_edge(angle_deg: float, sigma_px: float, n: int = 128, super_k: int = 8) -> np.ndarray:
    """A 0.2-0.8 edge ``angle_deg`` off vertical, area-sampled on n x n pixels, Gaussian-blurred."""
    yy, xx = np.mgrid[0 : n * super_k, 0 : n * super_k] / super_k
    bright = (xx - n / 2 > math.tan(math.radians(angle_deg)) * (yy - n / 2)).astype(float)
    return ndimage.gaussian_filter(bright.reshape(n, super_k, n, super_k).mean(axis=(1, 3)) * 0.6 + 0.2, sigma_px)


@settings(PROPERTY, max_examples=25)
@given(within(*instruments.EDGE_ANGLE_RANGE_DEG), within(0.7, 2.5))
def test_esfr_recovers_the_closed_form_mtf50_at_every_angle_it_offers(angle_deg, sigma_px):
    """Across the edge: the Gaussian's MTF times the pixel box seen across the slant, within 3 %."""
    pitch_um = 0.5
    freq, sfr = slanted_edge_sfr(_blurred_edge(angle_deg, sigma_px), pitch_um, math.tan(math.radians(angle_deg)))
    f_px, slant = freq * pitch_um * 1e-3, math.radians(angle_deg)
    truth = np.exp(-2 * (np.pi * sigma_px * f_px) ** 2) * np.abs(np.sinc(f_px * math.cos(slant)) *
                                                                np.sinc(f_px * math.sin(slant)))
    dense = np.linspace(0, freq[-1], 4001)
    expected = mtf_crossing(dense, np.interp(dense, freq, truth), 0.5)
    assert mtf_crossing(freq, sfr, 0.5) == pytest.approx(expected, rel=0.03)


@PROPERTY
@given(st.lists(within(0.0, 1.0), min_size=2, max_size=30, unique=True), within(0.01, 0.99))
def test_an_mtf_crossing_lies_between_the_samples_around_it(values, level):
    mtf = np.array([1.0] + sorted(values, reverse=True))
    freq = np.arange(mtf.size, dtype=float) * 10.0
    crossing = mtf_crossing(freq, mtf, level)
    below = np.nonzero(mtf < level)[0]
    if below.size == 0:
        assert math.isnan(crossing)
    else:
        k = below[0]
        assert freq[k - 1] <= crossing <= freq[k]

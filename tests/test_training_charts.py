"""Neural ISP training never sees an MTF instrument's chart at its measurement settings (issue #16)."""

import numpy as np
import pytest

from engine import instruments
from engine.isp.neural import data, training_charts as charts


def test_training_edges_keep_away_from_the_esfr_edge_in_both_orientations():
    rng = np.random.default_rng(0)
    angles = np.array([charts.edge_params(rng)["angle_deg"] for _ in range(4000)])
    off_axis = angles % 90.0
    for instrument_angle in (instruments.EDGE_ANGLE_DEG, 90.0 - instruments.EDGE_ANGLE_DEG):
        assert np.abs(off_axis - instrument_angle).min() >= charts.EDGE_EXCLUSION_DEG
    assert angles.min() < -170 and angles.max() > 170  # still every other angle


@pytest.mark.parametrize("angle, near", [(5.0, True), (95.0, True), (-85.5, True), (-175.0, True), (85.0, True),
                                         (8.0, False), (45.0, False), (0.0, False)])
def test_near_instrument_edge(angle, near):
    assert charts.near_instrument_edge(angle) is near


def test_training_dead_leaves_are_coloured_unlike_the_grey_instrument_chart():
    params = charts.dead_leaves_params(np.random.default_rng(1), 0.35)
    assert params["colour"] is True
    assert params["rmin_um"] >= charts.DEAD_LEAVES_RMIN_FLOOR_UM


def test_per_design_training_sources_hold_no_instrument_chart():
    spec = data.CacheSpec(photo_views=0, dead_leaves=3, text=1, gratings=4, edges=20, stars=1)
    items = data._source_list(spec, np.random.default_rng(2), [], 0.35)
    names = [n for n, _ in items]
    assert "grating_h" not in names and "grating_v" not in names  # the grating instrument's neutral charts
    assert names.count(data.RANDOM_GRATING) == 4
    assert all(not charts.near_instrument_edge(p["angle_deg"]) for n, p in items if n == "slanted_edge")
    assert all(p["colour"] for n, p in items if n == "dead_leaves")


def test_the_exclusion_follows_the_instruments_own_edge():
    assert (instruments.EDGE_ANGLE_DEG, instruments.EDGE_CONTRAST) == (5.0, 4.0)
    assert charts.near_instrument_edge(instruments.EDGE_ANGLE_DEG)
    assert charts.near_instrument_edge(instruments.EDGE_ANGLE_DEG + 90.0)

"""Table 6 as a study: each phone at its own design, through every pipeline."""

import math

from engine import optics
from engine.devices import load_devices
from engine.study_devices import DEVICE_PIPELINES, device_design, format_table6, table6


def test_device_designs_follow_the_phones():
    for device in load_devices():
        design = device_design(device)
        assert (design.pitch_um, design.f_number, design.cfa) == (device.pitch_um, device.f_number, "hex")
        assert design.oversample >= optics.min_oversample(device.pitch_um, device.f_number)


def test_every_phone_has_finite_mtf50_for_every_pipeline():
    """Tiny gratings (32 px, 4 frequencies): every phone row holds finite MTF50 H and V for demosaic,
    traditional and the Neural ISP (the universal net: no phone sits on a per-design net)."""
    rows = table6(size_px=32, count=4, with_presets=False)
    assert len(rows) == len(load_devices()) == 12
    for row in rows:
        assert row["neural_net"] == "universal"
        for p in DEVICE_PIPELINES:
            assert math.isfinite(row[f"h_{p}"]) and math.isfinite(row[f"v_{p}"]), (row["name"], p)
    assert "Oppo Find X9 Pro" in format_table6(rows)

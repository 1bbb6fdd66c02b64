"""DNG export: round trip through tifffile for the three CFAs, and through LibRaw (rawpy) for Bayer."""

from __future__ import annotations

import numpy as np
import pytest

from engine import dng, sensor
from engine.design import preset
from engine.simulate import capture_scene

REPEAT_PX = {"bayer": 2, "quad": 4, "hex": 8}


@pytest.fixture(scope="module", params=sorted(REPEAT_PX))
def written(request, tmp_path_factory):
    design = preset("0.35").replace(cfa=request.param)
    capture = capture_scene(design, "dead_leaves", 32, seed=1)
    path = tmp_path_factory.mktemp("dng") / f"{request.param}.dng"
    dng.write_dng(capture, path)
    return capture, path


def test_round_trip_gives_mosaic_pattern_levels_and_design_back(written):
    capture, path = written
    back = dng.read_dng(path)
    n = REPEAT_PX[capture.design.cfa]
    np.testing.assert_array_equal(back.mosaic, dng.encode_mosaic(capture.raw))
    assert back.mosaic.dtype == np.uint16
    np.testing.assert_array_equal(back.cfa_pattern, sensor.cfa_pattern(capture.design.cfa, (n, n)))
    np.testing.assert_array_equal(np.tile(back.cfa_pattern, (32 // n, 32 // n)), capture.cfa)
    assert (back.black_level, back.white_level) == (dng.BLACK_LEVEL, dng.WHITE_LEVEL)
    assert back.design == capture.design.to_dict()
    np.testing.assert_allclose(dng.decode_mosaic(back.mosaic), capture.raw, atol=0.5 / dng.SIGNAL_SCALE + 1e-7)


def test_colour_matrices_invert_our_colour_chain(written):
    _, path = written
    back = dng.read_dng(path)
    matrix, neutral = dng.colour_matrices()
    np.testing.assert_allclose(back.color_matrix, matrix, atol=1e-6)
    np.testing.assert_allclose(back.as_shot_neutral, neutral, atol=1e-6)
    assert neutral[1] == pytest.approx(1.0, abs=1e-6)  # camera RGB of white has green 1 (engine.spectra)


def test_libraw_reads_the_bayer_dng(written):
    capture, path = written
    if capture.design.cfa != "bayer":
        pytest.skip("LibRaw's CFA model holds 2-column patterns; Quad and hex are read back with tifffile")
    rawpy = pytest.importorskip("rawpy")
    with rawpy.imread(str(path)) as raw:
        np.testing.assert_array_equal(raw.raw_image, dng.encode_mosaic(capture.raw))
        colours = np.frombuffer(raw.color_desc, np.uint8)[raw.raw_pattern]
        np.testing.assert_array_equal(colours, np.frombuffer(b"RGB", np.uint8)[capture.cfa[:2, :2]])
        assert raw.white_level == dng.WHITE_LEVEL
        assert list(raw.black_level_per_channel) == [dng.BLACK_LEVEL] * 4

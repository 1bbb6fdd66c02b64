"""engine.memo: content-keyed memos give equal, independent results and forget the oldest."""

import numpy as np
import pytest

from engine import memo
from engine.isp import traditional
from engine.sensor import cfa_pattern


def test_content_memo_keys_by_content_and_forgets_the_oldest():
    cache = memo.ContentMemo(kept=2)
    a, b, c = (np.full((4, 4), v, dtype=np.float32) for v in (1, 2, 3))
    for array in (a, b, c):
        cache.put(cache.key((array,), "x"), array * 10)
    assert cache.get(cache.key((a,), "x")) is None  # evicted: kept=2
    got = cache.get(cache.key((b.copy(),), "x"))  # an equal array, another object
    np.testing.assert_array_equal(got, b * 10)
    got[:] = 0  # the caller's copy: the memo keeps its own
    np.testing.assert_array_equal(cache.get(cache.key((b,), "x")), b * 10)
    assert cache.get(cache.key((b,), "y")) is None  # extras are part of the key
    assert cache.key((b,), "x") != cache.key((b.astype(np.float64),), "x")  # dtype too
    memo.clear_all()
    assert cache.get(cache.key((c,), "x")) is None
    with pytest.raises(ValueError, match="kept"):
        memo.ContentMemo(kept=0)


def test_remembered_demosaic_equals_a_fresh_one_and_is_a_copy():
    rng = np.random.default_rng(3)
    cfa = cfa_pattern("hex", (48, 48))
    raw = rng.random((48, 48)).astype(np.float32)
    memo.clear_all()
    first = traditional.bilinear_demosaic(raw, cfa, "hex")
    again = traditional.bilinear_demosaic(raw.copy(), cfa, "hex")
    assert again is not first
    np.testing.assert_array_equal(again, first)
    again[:] = -1
    np.testing.assert_array_equal(traditional.bilinear_demosaic(raw, cfa, "hex"), first)
    other = raw.copy()
    other[10, 10] += 0.5  # one changed pixel is another mosaic
    assert not np.array_equal(traditional.bilinear_demosaic(other, cfa, "hex"), first)


def test_the_traditional_isp_and_the_multi_frame_net_align_a_burst_once(monkeypatch):
    from engine.design import preset
    from engine.simulate import capture_scene

    design = preset("0.75").replace(burst=3, snr_db=20.0)
    capture = capture_scene(design, "dead_leaves", 48, seed=2)
    memo.clear_all()
    calls = []
    real = traditional.burst_shifts
    monkeypatch.setattr(traditional, "burst_shifts", lambda frames: calls.append(1) or real(frames))
    traditional.traditional_pipeline(capture.raw, capture.cfa, design.cfa, capture.noise_sigma)
    shifts = traditional.mosaic_burst_shifts(capture.raw.copy(), capture.cfa, design.cfa)
    assert len(calls) == 1  # the second caller got the first one's alignment
    np.testing.assert_array_equal(shifts, real(np.stack(
        [traditional.bilinear_demosaic(f, capture.cfa, design.cfa) for f in capture.raw])))

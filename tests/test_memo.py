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

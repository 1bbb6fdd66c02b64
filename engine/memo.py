"""A small, thread-safe memo for pure functions of arrays, keyed by the arrays' content.

Streamlit's caches hand every caller its own copy of a stage's value, so one RAW reaches the
demosaic, traditional, deconv and Neural ISP pipelines as four equal arrays, never one object:
an identity cache misses and a content key (blake2b of the bytes, ~2 ms at 512 x 512 px) hits.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict

import numpy as np


class ContentMemo:
    """The last ``kept`` results of one function, keyed by :meth:`key`; values are stored and
    returned as copies, so a caller may modify what it gets."""

    def __init__(self, kept: int):
        if kept < 1:
            raise ValueError(f"kept must be at least 1, got {kept}")
        self.kept = kept
        self._values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        _ALL.add(self)

    @staticmethod
    def key(arrays: tuple[np.ndarray, ...], *extra) -> tuple:
        """Key of ``arrays`` (shapes, dtypes and bytes) plus hashable ``extra`` values."""
        digest = hashlib.blake2b(digest_size=16)
        for a in arrays:
            a = np.ascontiguousarray(a)
            digest.update(f"{a.dtype.str}{a.shape}".encode())
            digest.update(a.tobytes())
        return (digest.hexdigest(), *extra)

    def get(self, key: tuple) -> np.ndarray | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
        return None if value is None else value.copy()

    def put(self, key: tuple, value: np.ndarray) -> None:
        with self._lock:
            self._values[key] = value.copy()
            self._values.move_to_end(key)
            while len(self._values) > self.kept:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_ALL: weakref.WeakSet = weakref.WeakSet()


def clear_all() -> None:
    """Forget every memo's values (benchmarks timing a cold stage call this first)."""
    for memo in list(_ALL):
        memo.clear()

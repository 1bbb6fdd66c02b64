"""Shared timing helper of the benchmark scripts (run them as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import time

import numpy as np


def best_time(fn, repeats: int) -> tuple[float, object]:
    """Best wall time (s) of ``repeats`` calls of ``fn`` and the result of the last call."""
    best, result = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result

"""Steady-state timing helper shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable

import jax


def steady_time(fn: Callable, *args, repeats: int = 5) -> tuple[float, float]:
    """(compile + first run seconds, best steady-state seconds) of `fn(*args)`."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - start)
    return first, best

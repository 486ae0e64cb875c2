"""Steady-state timing helper shared by the benchmarks."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import jax


def steady_time(fn: Callable, *args, repeats: int = 5) -> tuple[float, float]:
    """(compile + first run seconds, best steady-state seconds) of `fn(*args)`."""
    return interleaved_times([(fn, args)], rounds=repeats)[0]


def interleaved_times(calls: list[tuple[Callable, tuple]], rounds: int = 15
                      ) -> list[tuple[float, float]]:
    """(compile + first run seconds, best steady-state seconds) of each call,
    the calls measured in turn, round after round. On a shared machine the
    speed drifts by tens of percent over seconds; interleaving exposes every
    call to the same drift, so their ratios stay meaningful."""
    firsts = []
    for fn, args in calls:
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        firsts.append(time.perf_counter() - start)
    best = [float("inf")] * len(calls)
    for _ in range(rounds):
        for i, (fn, args) in enumerate(calls):
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            best[i] = min(best[i], time.perf_counter() - start)
    return list(zip(firsts, best))


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far, in GB (XLA's buffers are
    invisible to tracemalloc, not to this): Linux's `VmHWM`, the high-water mark
    of this program's own memory. `ru_maxrss` is not used on Linux: it keeps the
    peak of the process that forked a benchmark child across `exec` (a child
    whose own peak was 0.63 GB reported the 1.39 GB of `python -m bench.run`)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2 ** 20  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def run_in_fresh_process(args: list[str], timeout: float = 7200) -> dict:
    """Run `python *args` in a fresh interpreter (own compile cache and peak
    memory; x64 on; this repository importable) and return the JSON object that
    the child prints on its last line of standard output."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, JAX_ENABLE_X64="1", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                            env=env, cwd=root, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child {args[:2]} failed (exit {result.returncode}):\n"
                           f"{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])

"""Benchmark: phase diagrams vs the plain code of NT's phase-diagram notebook,
and modReLU grids vs the same CReLU grid.

The reference ("notebook-style") is NT's own `kernel_fn` on a hand-built NT
`Kernel`, plain Newton for q* (from 1.0) and c* (from 0.1), chi_1 by `grad`,
vmapped over the grid and jitted, timed in the same process. Times are steady
state (best of repeats after the first call); the first call (compile + run) is
reported separately.

modReLU rows: each case runs in a fresh subprocess (`python -m bench.bench_phase
CASE M N [--no-correlation]`), which reports the wall time of one
`phase_diagram` call including compilation and its peak resident memory
(`bench.timing.peak_rss_gb`; XLA's buffers are invisible to tracemalloc). The 250 x 300 rows
(NT's notebook size) run only with `BENCH_PHASE_FULL=1`.
"""

from __future__ import annotations

import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from neural_tangents import stax

from bench.timing import peak_rss_gb, run_in_fresh_process, steady_time
from nt_complex import _nt
from nt_complex import stax as cstax
from nt_complex.phase import phase_diagram

__all__ = ["run"]


def _erf_block(W_std, b_std):
    return stax.serial(stax.Dense(1024, W_std, b_std), stax.Erf())


def _crelu_block(W_std, b_std):
    return cstax.serial(cstax.Dense(1024, W_std, b_std), cstax.CReLU())


def _modrelu_block(W_std, b_std):
    return cstax.serial(cstax.Dense(1024, W_std, b_std), cstax.ModReLU(-0.5))


_BLOCKS = {"modrelu": _modrelu_block, "crelu": _crelu_block}
#: modReLU's c iteration evaluates its kernel at |rho| < 1 (nt_complex.special.modrelu),
#: whose cost under vmap bounds the chunk size (as the CLI does).
_CHUNKS = {"modrelu": 16, "crelu": 8192}


def measure_case(case: str, m: int, n: int, correlation: bool = True) -> dict:
    """Time (incl. compile) and peak RSS of one `phase_diagram` call in this process.

    Example:
      >>> measure_case("crelu", 3, 2)["points"]  # doctest: +SKIP
      6
    """
    W_var, b_var = np.linspace(0.1, 3.0, m), np.linspace(0.0, 0.5, n)
    start = time.perf_counter()
    pd = phase_diagram(_BLOCKS[case], W_var, b_var, correlation=correlation,
                       chunk_size=_CHUNKS[case] if correlation else 8192)
    seconds = time.perf_counter() - start
    counts = {s: int(np.sum(pd.status == s)) for s in np.unique(pd.status)}
    return {"case": case, "points": m * n, "seconds": seconds,
            "peak_gb": peak_rss_gb(),
            "status_counts": {str(k): v for k, v in counts.items()}}


def _subprocess_case(case: str, m: int, n: int, correlation: bool) -> dict:
    args = ["-m", "bench.bench_phase", case, str(m), str(n)]
    return run_in_fresh_process(args if correlation else args + ["--no-correlation"])


def modrelu_rows(sizes, correlation: bool) -> list[str]:
    """Table rows: modReLU vs CReLU on the same grid, one subprocess per case."""
    rows = []
    what = "q*, c*, chi" if correlation else "q*, chi (correlation=False)"
    for m, n in sizes:
        mod = _subprocess_case("modrelu", m, n, correlation)
        crelu = _subprocess_case("crelu", m, n, correlation)
        rows.append(f"| modReLU(-0.5) {what} | {n}x{m} | {mod['seconds']:.1f} "
                    f"| {mod['peak_gb']:.2f} | {crelu['seconds']:.1f} "
                    f"| {mod['seconds'] / crelu['seconds']:.2f} |")
    return rows


def _conv_block(W_std, b_std):
    return stax.serial(stax.Conv(1024, (3, 3), padding="SAME", W_std=W_std, b_std=b_std),
                       stax.Erf())


def _nt_kernel(K):
    return _nt.Kernel(nngp=K, ntk=None, cov1=jnp.diag(K), cov2=None,
                      x1_is_x2=jnp.array(True), is_gaussian=True, is_reversed=False,
                      is_input=True, diagonal_batch=True, diagonal_spatial=False,
                      shape1=(K.shape[0], 1), shape2=(K.shape[0], 1), batch_axis=0,
                      channel_axis=1, mask1=None, mask2=None)


def _plain_newton(f, x0, n_iter=30):
    def g(x):
        return f(x) - x

    def body(x, _):
        return x - g(x) / jax.grad(g)(x), None
    return lax.scan(body, x0, None, length=n_iter)[0]


def _notebook_point(W_var, b_var):
    kernel_fn = _erf_block(jnp.sqrt(W_var), jnp.sqrt(b_var))[2]
    q = _plain_newton(lambda q: kernel_fn(_nt_kernel(jnp.array([[q]]))).nngp[0, 0], 1.0)

    def c_map(c):
        return kernel_fn(_nt_kernel(jnp.array([[q, q * c], [q * c, q]]))).nngp[1, 0] / q
    return _plain_newton(c_map, 0.1), jax.grad(c_map)(1.0)


def _row(name, grid, ours, ref=None) -> str:
    first, best = ours
    if ref is None:
        return f"| {name} | {grid} | {best:.3f} | {first:.1f} | - | - |"
    return (f"| {name} | {grid} | {best:.3f} | {first:.1f} | {ref[1]:.3f} "
            f"| {best / ref[1]:.2f} |")


def run(quick: bool = False) -> str:
    """Markdown table of phase-diagram timings (seconds) and ratios to the notebook code.

    Example:
      >>> print(run(quick=True))  # doctest: +SKIP
    """
    jax.config.update("jax_enable_x64", True)
    W_var = np.arange(0, 3, 0.01)
    b_var = np.arange(0, 0.25, 0.001)
    if quick:
        W_var, b_var = np.linspace(0, 3, 50, endpoint=False), np.linspace(0, 0.25, 50,
                                                                         endpoint=False)
    grid = f"{b_var.size}x{W_var.size}"
    repeats = 2 if quick else 3
    ours = steady_time(lambda: phase_diagram(_erf_block, W_var, b_var).chi_1,
                       repeats=repeats)
    notebook = jax.jit(jax.vmap(jax.vmap(_notebook_point, (0, None)), (None, 0)))
    ref = steady_time(notebook, jnp.asarray(W_var), jnp.asarray(b_var), repeats=repeats)
    crelu = steady_time(lambda: phase_diagram(_crelu_block, W_var, b_var).chi_phase,
                        repeats=repeats)
    n_conv = 10 if quick else 50
    Wc, bc = np.linspace(0.1, 3, n_conv), np.linspace(0, 0.25, n_conv)
    conv = steady_time(lambda: phase_diagram(_conv_block, Wc, bc, input_shape=(8, 8)).chi_1,
                       repeats=1)
    lines = ["| case | grid (b x W) | ours steady (s) | ours first call incl. compile (s) "
             "| notebook code steady (s) | ratio ours/notebook |",
             "|---|---|---|---|---|---|",
             _row("Dense(1024)+Erf", grid, ours, ref),
             f"| notebook code, first call incl. compile | {grid} | - | {ref[0]:.1f} | - | - |",
             _row("complex Dense+CReLU (chi_par, chi_phase)", grid, crelu),
             _row("Conv 3x3 SAME + Erf on 8x8", f"{n_conv}x{n_conv}", conv)]
    sizes = [(24, 16)] + ([(300, 250)] if os.environ.get("BENCH_PHASE_FULL") else [])
    lines += ["", "| modReLU case (fresh process) | grid (b x W) | time incl. compile (s) "
              "| peak RSS (GB) | same CReLU grid (s) | ratio |", "|---|---|---|---|---|---|"]
    lines += modrelu_rows(sizes, correlation=False)
    lines += modrelu_rows(sizes if not quick else [], correlation=True)
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) >= 4:  # one modReLU/CReLU case, see the module docstring
        jax.config.update("jax_enable_x64", True)
        result = measure_case(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                              correlation="--no-correlation" not in sys.argv)
        print(json.dumps(result))
    else:
        print(run(quick=True))

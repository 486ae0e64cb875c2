"""Benchmark: ModReLU(b=-0.5) NNGP + NTK kernel entries per second.

`run(quick=False) -> str` returns a Markdown table. Two input sets on an
`n x n` Gram matrix (n = 512, or 128 with `quick=True`):

* *typical*: iid complex Gaussian inputs (|rho| small: Laguerre series);
* *near-diagonal*: small perturbations of one vector (0.96 < |rho| < 1 after
  the first Dense layer; n = 128);
* *all-quadrature*: smaller perturbations (|rho| > 0.99: essentially every
  entry needs the fixed-node quadrature, the worst case; n = 64).

The full run uses these sizes; `quick=True` uses at most 128 (typical: 128).

Compile time is reported separately; CReLU on the same inputs gives the ratio.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from nt_complex import stax
from nt_complex.stax.activations.phase_equivariant import ModReLU


_SPREAD = {"near-diagonal": 0.1, "all-quadrature": 0.02}
_SIZE = {"typical": 512, "near-diagonal": 128, "all-quadrature": 64}


def _inputs(n: int, kind: str, d: int = 32) -> jnp.ndarray:
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(0), 4)
    x = jax.random.normal(k1, (n, d)) + 1j * jax.random.normal(k2, (n, d))
    if kind == "typical":
        return x
    base = jax.random.normal(k3, (1, d)) + 1j * jax.random.normal(k4, (1, d))
    return base + _SPREAD[kind] * x / np.sqrt(d) * jnp.sqrt(jnp.sum(jnp.abs(base) ** 2))


def _time(kernel_fn, x, repeats: int):
    """(compile seconds, best run seconds) of the jitted NNGP+NTK computation."""
    fn = jax.jit(lambda x: kernel_fn(x, None, ("nngp", "ntk")))
    start = time.perf_counter()
    compiled = fn.lower(x).compile()
    compile_time = time.perf_counter() - start
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(x))
        best = min(best, time.perf_counter() - start)
    return compile_time, best


def _min_abs_rho(x: jnp.ndarray) -> float:
    """Smallest |rho| among input pairs (Dense with small b_std keeps it)."""
    g = x @ jnp.conj(x).T
    d = jnp.sqrt(jnp.real(jnp.diagonal(g)))
    return float(jnp.min(jnp.abs(g) / (d[:, None] * d[None])))


def run(quick: bool = False) -> str:
    """Markdown table of entries/s (NNGP+NTK, b = -0.5, float64).

    Example:
      >>> print(run(quick=True))  # doctest: +SKIP
    """
    jax.config.update("jax_enable_x64", True)
    repeats = 1 if quick else 3
    modrelu = stax.serial(stax.Dense(512, b_std=0.1), ModReLU(-0.5), stax.Dense(1))[2]
    crelu = stax.serial(stax.Dense(512, b_std=0.1), stax.CReLU(), stax.Dense(1))[2]
    rows = ["| inputs | min abs(rho) | n x n | ModReLU entries/s | compile (s) "
            "| CReLU entries/s | ModReLU/CReLU time |",
            "|---|---|---|---|---|---|---|"]
    for kind in ("typical", "near-diagonal", "all-quadrature"):
        n = min(_SIZE[kind], 128) if quick else _SIZE[kind]
        x = _inputs(n, kind)
        compile_m, t_m = _time(modrelu, x, repeats)
        _, t_c = _time(crelu, x, repeats)
        rho = f"{_min_abs_rho(x):.3f}"
        rows.append(f"| {kind} | {rho} | {n}x{n} | {n * n / t_m:,.0f} | {compile_m:.1f} "
                    f"| {n * n / t_c:,.0f} | {t_m / t_c:.0f}x |")
    rows.append("")
    rows.append(f"{os.cpu_count()} CPU cores (shared), float64; accuracy <= 1e-10 relative "
                f"to the diagonal (tests/test_modrelu.py). Times: best of {repeats}.")
    return "\n".join(rows)


if __name__ == "__main__":
    print(run(quick=True))

"""Benchmark: phase diagrams vs the plain code of NT's phase-diagram notebook.

The reference ("notebook-style") is NT's own `kernel_fn` on a hand-built NT
`Kernel`, plain Newton for q* (from 1.0) and c* (from 0.1), chi_1 by `grad`,
vmapped over the grid and jitted, timed in the same process. Times are steady
state (best of repeats after the first call); the first call (compile + run) is
reported separately.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from neural_tangents import stax

from bench.timing import steady_time
from nt_complex import _nt
from nt_complex import stax as cstax
from nt_complex.phase import phase_diagram

__all__ = ["run"]


def _erf_block(W_std, b_std):
    return stax.serial(stax.Dense(1024, W_std, b_std), stax.Erf())


def _crelu_block(W_std, b_std):
    return cstax.serial(cstax.Dense(1024, W_std, b_std), cstax.CReLU())


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
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick=True))

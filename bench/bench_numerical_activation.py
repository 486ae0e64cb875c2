"""Accuracy/time trade-off of `ElementwiseNumerical` vs `deg`, against the
closed-form Exp, CReLU and Cardioid layers (same network, same inputs).

`run(quick=False) -> str` returns a Markdown table: max error of NNGP and NTK
relative to the diagonal, time per `kernel_fn` call (jitted, after warm-up),
kernel entries per second, and the time ratio to the closed-form layer.
"""

from __future__ import annotations

import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from nt_complex import stax
from nt_complex.stax.activations.cardioid import Cardioid, cardioid
from nt_complex.stax.activations.numerical import ElementwiseNumerical

CASES = {
    "exp": (jnp.exp, stax.Exp),
    "CReLU": (lambda z: jax.nn.relu(jnp.real(z)) + 1j * jax.nn.relu(jnp.imag(z)), stax.CReLU),
    "cardioid": (cardioid, Cardioid),
}


def _timed(kernel_fn, x, repeats: int):
    fn = jax.jit(lambda a: kernel_fn(a, None, ("nngp", "ntk")))
    out = jax.block_until_ready(fn(x))
    start = time.perf_counter()
    for _ in range(repeats):
        out = jax.block_until_ready(fn(x))
    return out, (time.perf_counter() - start) / repeats


def run(quick: bool = False) -> str:
    """Markdown table of error and speed of `ElementwiseNumerical` vs `deg`.

    Example:
      >>> table = run(quick=True)   # doctest: +SKIP
    """
    jax.config.update("jax_enable_x64", True)
    n = 8 if quick else 16
    degs = (4, 8) if quick else (4, 6, 8, 12, 16)
    rng = np.random.default_rng(0)
    x = jnp.asarray((rng.normal(size=(n, 4)) + 1j * rng.normal(size=(n, 4))) * 0.5)
    entries = n * n + n  # nngp entries plus the per-example diagonal (cov1)
    rows = ["| activation | deg | max err NNGP | max err NTK | time/call (s) | entries/s | time vs closed form |",
            "|---|---|---|---|---|---|---|"]
    for name, (fn, closed) in CASES.items():
        net = lambda act: stax.serial(stax.Dense(8, b_std=0.3), act)  # noqa: E731
        ref, t_ref = _timed(net(closed())[2], x, repeats=5)
        scale = np.sqrt(np.abs(np.outer(np.diag(ref.nngp), np.diag(ref.nngp))))
        for deg in degs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                layer = ElementwiseNumerical(fn, deg=deg, smooth=name == "exp")
            got, t = _timed(net(layer)[2], x, repeats=1)
            err = [float(np.max(np.abs(np.asarray(g) - np.asarray(r)) / scale))
                   for g, r in zip(got, ref)]
            rows.append(f"| {name} | {deg} | {err[0]:.1e} | {err[1]:.1e} | {t:.3f} | "
                        f"{entries / t:.3g} | {t / t_ref:.0f}x |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(run(quick=False))

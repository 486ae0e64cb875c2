"""Benchmark: empirical NTK of complex networks (`trace_axes=()`), Monte Carlo.

Compares, in one run (in JAX's default precision: float64 under `make bench`,
which sets JAX_ENABLE_X64=1; NT's reference figures were float32):
* ours: implementation 3 (structured; the default for `nt_complex.stax`
  networks, and for any JAX function given `vmap_axes=0`, measured here on the
  same network hidden behind a lambda so that its layers are found in the
  jaxpr), 2 (NTK-vector products) and 1 (Jacobian contraction) on a complex
  MLP (2 hidden layers, 10 outputs) and a small complex CNN;
* a naive baseline: materialise `J` over all real coordinates, then `J J^H`;
* NT implementation 2 and 3 (structured derivatives) on the equivalent *real*
  network with about the same number of real parameters (NT's implementation 3
  runs on both stacks through nt_complex's compatibility layer, `nt_complex/_nt.py`);
* Monte Carlo: per-sample cost, and the time to reach 1% Frobenius-relative
  NTK error, extrapolated from the measured per-sample cost and a fit
  `err(n) = c / sqrt(n)` of the measured error-vs-samples curve.

`run(quick=False) -> str` returns a Markdown table.
"""

from __future__ import annotations

import math
import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np

from nt_complex import stax
from nt_complex.empirical import (empirical_kernel_fn, empirical_ntk_fn, join_complex_leaves,
                                  split_complex_leaves)
from nt_complex.empirical.monte_carlo import monte_carlo_kernel_fn

from bench.timing import steady_time


def _time(fn) -> float:
    """Best steady-state time: one timed run, five more for fast (noisy) calls."""
    _, best = steady_time(fn, repeats=1)
    if best < 0.5:
        best = min(best, steady_time(fn, repeats=5)[1])
    return best


def _naive_ntk(apply_fn):
    """Materialise dF/dr for every real coordinate r, then J J^H (no vmap)."""
    @jax.jit
    def ntk(x, params):
        real = split_complex_leaves(params)

        def f(p):
            out = apply_fn(join_complex_leaves(p), x)
            return jnp.stack([jnp.real(out), jnp.imag(out)], -1)
        jac = jax.tree_util.tree_leaves(jax.jacrev(f)(real))
        n_out = x.shape[0] * 10 * 2
        flat = jnp.concatenate([j.reshape(n_out, -1) for j in jac], -1).reshape(
            x.shape[0], 10, 2, -1)
        jc = flat[:, :, 0] + 1j * flat[:, :, 1]
        return jnp.einsum("akp,blp->abkl", jc, jnp.conj(jc))
    return ntk


def _n_real_params(params) -> int:
    return sum(int(np.prod(jnp.shape(a))) for a in jax.tree_util.tree_leaves(params))


def _networks(quick: bool):
    """(name, complex net, inputs, real net, with naive/impl-1 rows?)."""
    # N=32 for the rows with the naive baseline: its Jacobian at N=128 would be
    # 128*10*2 x 543k float64 = 11 GB. The N=128 MLP gets its own rows.
    width, n_small, n_mlp, n_cnn, chan = (128, 16, 32, 8, 8) if quick else (512, 32, 128, 32, 16)
    d = 8
    mlp = stax.serial(stax.Dense(width), stax.CReLU(), stax.Dense(width), stax.CReLU(),
                      stax.Dense(10))
    real_width = int(round(width * math.sqrt(2)))  # ~ the same number of real parameters
    real_mlp = nt.stax.serial(nt.stax.Dense(real_width), nt.stax.Relu(),
                              nt.stax.Dense(real_width), nt.stax.Relu(), nt.stax.Dense(10))
    cnn = stax.serial(stax.Conv(chan, (3, 3), padding="SAME"), stax.CReLU(),
                      stax.Conv(chan, (3, 3), padding="SAME"), stax.CReLU(),
                      stax.Flatten(), stax.Dense(10))
    real_chan = int(round(chan * math.sqrt(2)))
    real_cnn = nt.stax.serial(nt.stax.Conv(real_chan, (3, 3), padding="SAME"), nt.stax.Relu(),
                              nt.stax.Conv(real_chan, (3, 3), padding="SAME"), nt.stax.Relu(),
                              nt.stax.Flatten(), nt.stax.Dense(10))
    return [(f"complex MLP 2x{width}, N={n_small}", mlp, _inputs((n_small, d)), real_mlp, True),
            (f"complex MLP 2x{width}, N={n_mlp}", mlp, _inputs((n_mlp, d)), real_mlp, False),
            (f"complex CNN 2x{chan}ch 8x8, N={n_cnn}", cnn, _inputs((n_cnn, 8, 8, 3)),
             real_cnn, True)]


def _both_kernels(kernel_fn):
    return lambda x1, x2, params: kernel_fn(x1, x2, ("ntk", "pseudo_ntk"), params)


def _inputs(shape) -> jnp.ndarray:
    parts = jax.random.normal(jax.random.PRNGKey(0), shape + (2,))
    return parts[..., 0] + 1j * parts[..., 1]


def _kernel_rows(name, net, x, real_net, with_naive: bool) -> list[list[str]]:
    init_fn, apply_fn, _ = net
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)
    x_real = jnp.concatenate([jnp.real(x), jnp.imag(x)], -1)
    r_init, r_apply, _ = real_net
    _, r_params = r_init(jax.random.PRNGKey(2), x_real.shape)
    as_plain_jax = lambda p, x: apply_fn(p, x)  # hides that it is an nt_complex.stax network
    ours = {
        "ours impl 3 (structured, layer probes; default for nt_complex.stax)":
            empirical_ntk_fn(apply_fn, ()),
        "ours impl 3, NTK and pseudo-NTK (empirical_kernel_fn)":
            _both_kernels(empirical_kernel_fn(apply_fn, ())),
        "ours impl 3 on it as a plain JAX function (jaxpr probes; default with vmap_axes=0)":
            empirical_ntk_fn(as_plain_jax, (), vmap_axes=0),
        "ours impl 2 (NTK-vector products; default without vmap_axes)":
            empirical_ntk_fn(as_plain_jax, (), vmap_axes=0, implementation=2)}
    if with_naive:
        ours["ours impl 1 (Jacobian contraction)"] = empirical_ntk_fn(
            apply_fn, (), vmap_axes=0, implementation=1)
    times = {method: _time(lambda: fn(x, None, params)) for method, fn in ours.items()}
    if with_naive:
        naive_fn = _naive_ntk(apply_fn)
        times["naive J J^H (realified)"] = _time(lambda: naive_fn(x, params))
    for impl in (2, 3):
        fn = jax.jit(nt.empirical_ntk_fn(r_apply, (), vmap_axes=0, implementation=impl))
        times[f"NT impl {impl}, real net"] = _time(lambda: fn(x_real, None, r_params))
    naive, nt3 = times.get("naive J J^H (realified)"), times["NT impl 3, real net"]
    rows = []
    for method, t in times.items():
        n_params = _n_real_params(r_params if "real net" in method else params)
        speed_up = "-" if naive is None else f"{naive / t:.2f}"
        rows.append([name, method, f"{n_params:,}", f"{t * 1e3:.1f}", speed_up,
                     f"{t / nt3:.1f}"])
    return rows


def _monte_carlo_rows(quick: bool) -> list[list[str]]:
    width, n, counts = (128, 16, [1, 2, 4]) if quick else (512, 128, [1, 2, 4, 8, 16])
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(width), stax.CReLU(), stax.Dense(width), stax.CReLU(), stax.Dense(10))
    x = _inputs((n, 8))
    analytic_fn = jax.jit(lambda x: kernel_fn(x, None, "ntk"))
    t_analytic = _time(lambda: analytic_fn(x))
    analytic = np.asarray(analytic_fn(x))
    one = monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(5), 1, progress=False)
    per_sample = _time(lambda: one(x, None, "ntk"))
    r_init, r_apply, _ = nt.stax.serial(
        nt.stax.Dense(round(width * math.sqrt(2))), nt.stax.Relu(),
        nt.stax.Dense(round(width * math.sqrt(2))), nt.stax.Relu(), nt.stax.Dense(10))
    x_real = jnp.concatenate([jnp.real(x), jnp.imag(x)], -1)
    _, r_params = r_init(jax.random.PRNGKey(2), x_real.shape)
    nt3 = jax.jit(nt.empirical_ntk_fn(r_apply, vmap_axes=0, implementation=3))
    t_nt3 = _time(lambda: nt3(x_real, None, r_params))
    estimates = monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(4), counts,
                                      progress=False)(x, None, "ntk")
    errors = [np.linalg.norm(np.asarray(e) - analytic) / np.linalg.norm(analytic)
              for e in estimates]
    c = float(np.exp(np.mean(np.log(errors) + 0.5 * np.log(counts))))  # err = c / sqrt(n)
    n_needed = math.ceil((c / 0.01) ** 2)
    curve = ", ".join(f"{k}:{e:.3f}" for k, e in zip(counts, errors))
    name = f"complex MLP 2x{width}, N={n}, traced NTK"
    return [[name, "analytic kernel_fn (ntk)", "-", f"{t_analytic * 1e3:.1f}", "-",
             f"{t_analytic / t_nt3:.2f}"],
            [name, "NT impl 3, real net, one empirical NTK", "-", f"{t_nt3 * 1e3:.1f}", "-",
             "1.0"],
            [name, "MC one sample (init + structured empirical NTK)", "-",
             f"{per_sample * 1e3:.1f}", "-", f"{per_sample / t_nt3:.1f}"],
            [name, f"MC to 1% NTK error: ~{n_needed} samples (fit err={c:.2f}/sqrt(n); "
             f"measured {curve})", "-", f"{n_needed * per_sample * 1e3:.0f} (extrapolated)",
             "-", f"{n_needed * per_sample / t_analytic:.0f}x analytic"]]


def run(quick: bool = False) -> str:
    """Run the benchmark; return a Markdown table (times in ms, ratios in-run).

    Example:
      >>> table = run(quick=True)  # doctest: +SKIP
    """
    rows = []
    for network in _networks(quick):
        rows += _kernel_rows(*network)
    rows += _monte_carlo_rows(quick)
    header = ["network", "method", "real params", "time (ms)", "speed-up vs naive",
              "time / NT impl 3"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    print(run(quick="--quick" in sys.argv))

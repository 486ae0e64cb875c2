"""Benchmark: ModReLU(b=-0.5) kernels: `kernel_fn` entries/s and vmapped grids.

`run(quick=False) -> str` returns Markdown tables. Every measurement runs in a
fresh subprocess so that its compile time and peak memory (`VmHWM`, the
resident high-water mark of that process, `bench.timing.peak_rss_gb`, which
includes the ~0.3 GB of an imported JAX) are its own.

*kernel_fn*: NNGP + NTK of `Dense(512, b_std=0.1) -> ModReLU(-0.5) -> Dense(1)`,
jitted, on the `512 x 512` Gram of a batch (`x2 = None`: the near-1 quadrature
runs on the entries on and above the diagonal, the rest are mirror images),
three regimes (`quick=True` uses 64 x 64), and the near-1 regime between two
batches (`x1 != x2`, every entry integrated):

* *typical*: iid complex Gaussian inputs (|rho| small);
* *near-1*: small perturbations of one vector, every off-diagonal
  `0.999 < |rho| < 1` after the first Dense layer;
* *mixed*: half of the inputs iid, half perturbations of one vector.

CReLU on the same inputs gives the time ratio (what a user would run instead).
Environment knob: `BENCH_MODRELU_ONLY=kernel` (or `grid`) runs only that table.

*grid*: `jax.vmap` of `modrelu_kernels(-0.5, q, q, rho)` over a grid of
variances `q` (24 x 16 and 250 x 300, the sizes of the phase benchmark), each
point evaluated at the |rho| values a c iteration visits on its way to 1
(0.3 ... 1 - 1e-9 and 1); time includes compilation.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from bench.timing import peak_rss_gb, run_in_fresh_process

_RHO_VISITS = (0.3, 0.8, 0.95, 0.99, 0.999, 1 - 1e-5, 1 - 1e-7, 1 - 1e-9, 1.0)
_PERTURBATION = 0.02  # relative spread of the near-1 inputs: |rho| > 0.999
_SIZE = 512


def _inputs(n: int, kind: str, d: int = 32):
    import jax
    import jax.numpy as jnp
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(0), 4)
    x = jax.random.normal(k1, (n, d)) + 1j * jax.random.normal(k2, (n, d))
    if kind == "typical":
        return x
    base = jax.random.normal(k3, (1, d)) + 1j * jax.random.normal(k4, (1, d))
    near = base + _PERTURBATION * x / np.sqrt(2 * d) * jnp.sqrt(jnp.sum(jnp.abs(base) ** 2))
    if kind == "near-1":
        return near
    return jnp.concatenate([x[: n // 2], near[n // 2:]])


def _time_kernel(activation: str, kind: str, n: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    from nt_complex import stax
    layer = stax.ModReLU(-0.5) if activation == "modrelu" else stax.CReLU()
    kernel_fn = stax.serial(stax.Dense(512, b_std=0.1), layer, stax.Dense(1))[2]
    if kind.endswith("cross"):  # x1 != x2: every entry of the n x n kernel integrated
        both = _inputs(2 * n, kind.split()[0])
        x, x2 = both[:n], both[n:]
    else:
        x, x2 = _inputs(n, kind), None
    fn = jax.jit(lambda x: kernel_fn(x, x2, ("nngp", "ntk")))
    start, cpu = time.perf_counter(), time.process_time()
    compiled = fn.lower(x).compile()
    compile_s, compile_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    best, best_cpu = np.inf, np.inf
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(compiled(x))
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    other = x if x2 is None else x2
    g = x @ jnp.conj(other).T
    norm = lambda v: jnp.sqrt(jnp.sum(jnp.abs(v) ** 2, axis=1))
    rho = jnp.abs(g) / (norm(x)[:, None] * norm(other)[None])
    off = ~np.eye(n, dtype=bool) if x2 is None else np.ones((n, n), bool)
    return {"compile_s": compile_s, "run_s": best, "entries_per_s": n * n / best,
            "compile_cpu_s": compile_cpu_s, "run_cpu_s": best_cpu,
            "entries_per_cpu_s": n * n / best_cpu,
            "min_rho": float(jnp.min(rho[off])),
            "near_1_fraction": float(jnp.mean(rho[off] > 0.999)), "peak_mb": peak_rss_gb() * 1024}


def _time_grid(rows: int, cols: int) -> dict:
    import jax
    import jax.numpy as jnp
    from nt_complex.special.modrelu import modrelu_kernels
    q = jnp.linspace(0.2, 4.0, rows * cols).reshape(rows, cols)
    rho = jnp.array(_RHO_VISITS)
    point = lambda q: modrelu_kernels(-0.5, q, q, rho)
    fn = jax.jit(jax.vmap(jax.vmap(point)))
    start, cpu = time.perf_counter(), time.process_time()
    jax.block_until_ready(fn(q))
    first_s, first_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    jax.block_until_ready(fn(q))
    return {"first_s": first_s, "run_s": time.perf_counter() - start,
            "first_cpu_s": first_cpu_s, "run_cpu_s": time.process_time() - cpu,
            "evaluations": rows * cols * len(_RHO_VISITS), "peak_mb": peak_rss_gb() * 1024}


def _child(task: dict) -> dict:
    import jax
    jax.config.update("jax_enable_x64", True)
    if task["what"] == "kernel":
        return _time_kernel(task["activation"], task["kind"], task["n"], task["repeats"])
    return _time_grid(task["rows"], task["cols"])


def _measure(task: dict) -> dict:
    """Run one task in a fresh interpreter (own compile cache and peak memory)."""
    return run_in_fresh_process(["-m", "bench.bench_modrelu", json.dumps(task)])


def run(quick: bool = False) -> str:
    """Markdown tables: kernel_fn entries/s per regime, and vmapped grid timings.

    Example:
      >>> print(run(quick=True))  # doctest: +SKIP
    """
    repeats = 1 if quick else 3
    only = os.environ.get("BENCH_MODRELU_ONLY", "")
    lines = ["| inputs | min abs(rho) off-diagonal | share abs(rho) > 0.999 | n x n "
             "| ModReLU entries/s (per CPU-s) | compile s (CPU-s) | peak memory (GB) "
             "| CReLU entries/s (per CPU-s) | ModReLU/CReLU CPU time |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind in ("typical", "near-1", "mixed", "near-1 cross") if only != "grid" else ():
        n = 64 if quick else _SIZE
        task = {"what": "kernel", "kind": kind, "n": n, "repeats": repeats}
        m = _measure({**task, "activation": "modrelu"})
        c = _measure({**task, "activation": "crelu"})
        lines.append(f"| {kind} | {m['min_rho']:.4f} | {m['near_1_fraction']:.2f} | {n}x{n} "
                     f"| {m['entries_per_s']:,.0f} ({m['entries_per_cpu_s']:,.0f}) "
                     f"| {m['compile_s']:.1f} ({m['compile_cpu_s']:.1f}) "
                     f"| {m['peak_mb'] / 1024:.2f} "
                     f"| {c['entries_per_s']:,.0f} ({c['entries_per_cpu_s']:,.0f}) "
                     f"| {m['run_cpu_s'] / c['run_cpu_s']:.0f}x |")
    if only != "kernel":
        lines += ["", "| vmapped grid of q | abs(rho) values per point | G, A, B evaluations "
                  "| first call incl. compile s (CPU-s) | second call s (CPU-s) "
                  "| peak memory (GB) |", "|---|---|---|---|---|---|"]
    grids = ((24, 16),) if quick else ((24, 16), (250, 300))
    for rows, cols in grids if only != "kernel" else ():
        g = _measure({"what": "grid", "rows": rows, "cols": cols})
        lines.append(f"| {rows} x {cols} | {len(_RHO_VISITS)} | {g['evaluations']:,} "
                     f"| {g['first_s']:.1f} ({g['first_cpu_s']:.1f}) | {g['run_s']:.2f} "
                     f"({g['run_cpu_s']:.2f}) | {g['peak_mb'] / 1024:.2f} |")
    lines.append("")
    lines.append(f"{os.cpu_count()} CPU cores (shared), float64, b = -0.5; accuracy <= 1e-10 "
                 f"relative (tests/test_modrelu.py). kernel_fn times: best of {repeats}; CPU-s = "
                 "process time of all threads (robust on a shared machine).")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(_child(json.loads(sys.argv[1]))))
    else:
        print(run(quick=True))

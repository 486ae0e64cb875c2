"""Core benchmark: analytic `kernel_fn(get=('nngp', 'ntk'))` of circular complex
CReLU networks vs NT's ReLU kernel_fn on the same architecture, same process:

* NT on the realified inputs `[Re x, Im x]` (what an NT user runs instead: NT on
  complex `x` silently drops `Im x`), and NT on real inputs of the same
  dimension;
* scale: the FC kernel of N complex inputs (d = 784) with batching
  (`nt_complex.batch` vs NT's `nt.batch` on the realified inputs, same batch
  size, `store_on_device=False`), wall time and peak memory, each in its own
  subprocess. `NT_COMPLEX_BENCH_SCALE_N` sets N (default 2048; 512 with --quick).
"""

from __future__ import annotations

import os
import textwrap

import jax
import numpy as np
from neural_tangents import stax as nt_stax

from bench.timing import interleaved_times, run_in_fresh_process
from nt_complex import stax


def _fc(lib, act, n_hidden=2):
    layers = []
    for _ in range(n_hidden):
        layers += [lib.Dense(512, 1.4, 0.1), act()]
    return lib.serial(*layers, lib.Dense(1, 1.0, 0.0))


def _cnn(lib, act):
    return lib.serial(lib.Conv(32, (3, 3), padding="SAME", W_std=1.4, b_std=0.1), act(),
                      lib.Conv(32, (3, 3), padding="SAME", W_std=1.4, b_std=0.1), act(),
                      lib.Flatten(), lib.Dense(1))


def _realified(x):
    return np.concatenate([x.real, x.imag], axis=-1)


def _core_table(quick: bool) -> str:
    rng = np.random.default_rng(0)
    n_fc, n_cnn = (128, 16) if quick else (512, 64)
    x_fc = rng.normal(size=(n_fc, 784)) + 1j * rng.normal(size=(n_fc, 784))
    x_cnn = rng.normal(size=(n_cnn, 8, 8, 3)) + 1j * rng.normal(size=(n_cnn, 8, 8, 3))
    cases = [
        (f"FC 2x512 CReLU vs ReLU, N={n_fc}, d=784", _fc(stax, stax.CReLU),
         _fc(nt_stax, nt_stax.Relu), x_fc),
        (f"CNN 2xConv(3x3, SAME) CReLU vs ReLU + Flatten, 8x8x3, N={n_cnn}",
         _cnn(stax, stax.CReLU), _cnn(nt_stax, nt_stax.Relu), x_cnn),
    ]
    rows = ["| network | ours (s) | NT realified (s) | NT same-dim real (s) | "
            "ours / NT realified | ours / NT real | compile ours / NT realified (s) |",
            "|---|---|---|---|---|---|---|"]
    for name, ours, theirs, x in cases:
        ours_fn = jax.jit(lambda x, f=ours[2]: f(x, None, ("nngp", "ntk")))
        nt_realified = jax.jit(lambda x, f=theirs[2]: f(x, None, ("nngp", "ntk")))
        nt_real = jax.jit(lambda x, f=theirs[2]: f(x, None, ("nngp", "ntk")))
        (compile_ours, t_ours), (compile_nt, t_realified), (_, t_real) = interleaved_times(
            [(ours_fn, (x,)), (nt_realified, (_realified(x),)), (nt_real, (np.real(x),))])
        rows.append(f"| {name} | {t_ours:.4f} | {t_realified:.4f} | {t_real:.4f} | "
                    f"{t_ours / t_realified:.2f}x | {t_ours / t_real:.2f}x | "
                    f"{compile_ours:.2f} / {compile_nt:.2f} |")
    return "\n".join(rows)


_SCALE_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import nt_complex  # first: NT needs its compatibility layer on current jax
    import neural_tangents as nt
    from neural_tangents import stax as nt_stax
    from nt_complex import stax
    from bench.bench_core import _fc, _realified
    from bench.timing import peak_rss_gb
    which, n, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 784)) + 1j * rng.normal(size=(n, 784))
    if which == "ours":
        fn = nt_complex.batch(_fc(stax, stax.CReLU)[2], batch_size, 0, store_on_device=False)
    else:
        fn = nt.batch(_fc(nt_stax, nt_stax.Relu)[2], batch_size, 0, store_on_device=False)
        x = _realified(x)
    start = time.perf_counter()
    out = fn(x, None, ("nngp", "ntk"))
    jax.block_until_ready(out)
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "peak_gb": peak_rss_gb(), "out_gb": sum(o.nbytes for o in out) / 2 ** 30}))
""")


def _scale_run(which: str, n: int, batch_size: int) -> dict:
    return run_in_fresh_process(["-c", _SCALE_SCRIPT, which, str(n), str(batch_size)])


def _scale_table(quick: bool) -> str:
    n = 512 if quick else int(os.environ.get("NT_COMPLEX_BENCH_SCALE_N", 2048))
    batch_size = min(512, n // 4)
    ours, theirs = _scale_run("ours", n, batch_size), _scale_run("nt", n, batch_size)
    return "\n".join([
        f"| FC 2x512 kernel, N={n}, d=784, batch {batch_size}, store_on_device=False | "
        f"wall (s) | peak RSS (GB) | output (GB) |",
        "|---|---|---|---|",
        f"| nt_complex.batch, complex inputs | {ours['wall']:.1f} | {ours['peak_gb']:.2f} | "
        f"{ours['out_gb']:.2f} |",
        f"| nt.batch, realified inputs [Re x, Im x] | {theirs['wall']:.1f} | "
        f"{theirs['peak_gb']:.2f} | {theirs['out_gb']:.2f} |",
        f"| ratio ours / NT | {ours['wall'] / theirs['wall']:.2f}x | "
        f"{ours['peak_gb'] / theirs['peak_gb']:.2f}x | |"])


def run(quick: bool = False) -> str:
    """Markdown tables: steady-state kernel times and ratios, and the batched
    scale run (wall time, peak memory)."""
    return _core_table(quick) + "\n\n" + _scale_table(quick)


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", True)
    print(run())

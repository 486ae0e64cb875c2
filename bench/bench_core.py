"""Core benchmark: analytic `kernel_fn(get=('nngp', 'ntk'))` of circular complex
networks vs NT's real kernel_fn on the same architecture, same process."""

from __future__ import annotations

import jax
import numpy as np
from neural_tangents import stax as nt_stax

from bench.timing import steady_time
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


def run(quick: bool = False) -> str:
    """Markdown table of steady-state times and ratios (ours / NT)."""
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
    rows = ["| network | ours (s) | NT real (s) | ratio ours/NT | ours compile (s) |",
            "|---|---|---|---|---|"]
    for name, ours, theirs, x in cases:
        ours_fn = jax.jit(lambda x, f=ours[2]: f(x, None, ("nngp", "ntk")))
        nt_fn = jax.jit(lambda x, f=theirs[2]: f(x, None, ("nngp", "ntk")))
        compile_ours, t_ours = steady_time(ours_fn, x)
        _, t_nt = steady_time(nt_fn, np.real(x))
        rows.append(f"| {name} | {t_ours:.4f} | {t_nt:.4f} | {t_ours / t_nt:.2f}x | "
                    f"{compile_ours:.2f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", True)
    print(run())

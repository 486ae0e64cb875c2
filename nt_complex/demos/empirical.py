"""Figure: Monte Carlo convergence of the pre-softmax kernels of a complex
classifier to the analytic `kernel_fn` (NNGP, NTK, pseudo-NNGP)."""

from __future__ import annotations

import os

import jax
import numpy as np

from nt_complex import stax
from nt_complex.empirical.monte_carlo import monte_carlo_kernel_fn


def convergence_curve(width: int, counts: list[int], seed: int = 0) -> dict:
    """Frobenius-relative error of MC estimates of the logits' kernels vs
    `kernel_fn`, at each count in `counts`.

    Example:
      >>> curve = convergence_curve(32, [1, 2])  # doctest: +SKIP
    """
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(width, b_std=0.2, W_pseudo=0.5), stax.CReLU(), stax.Dense(10, W_pseudo=0.5))
    keys = jax.random.split(jax.random.PRNGKey(seed), 2)
    x = (jax.random.normal(keys[0], (6, 8)) + 1j * jax.random.normal(keys[1], (6, 8))) / 2
    analytic = kernel_fn(x, None)
    estimates = monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(seed + 1), counts,
                                      vmap_axes=0, progress=False)(
        x, None, ("nngp", "ntk", "pseudo_nngp"))
    curve = {}
    for field in ("nngp", "ntk", "pseudo_nngp"):
        exact = np.asarray(analytic.get(field))
        curve[field] = [float(np.linalg.norm(np.asarray(getattr(e, field)) - exact)
                              / np.linalg.norm(exact)) for e in estimates]
    return curve


def make_figures(out_dir: str, quick: bool = False) -> list[str]:
    """Write `empirical_mc_convergence.png` to `out_dir`; return its path.

    Example:
      >>> paths = make_figures("figures", quick=True)  # doctest: +SKIP
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [1, 2, 4, 8] if quick else [1, 2, 4, 8, 16, 32, 64]
    width = 128 if quick else 512
    curve = convergence_curve(width, counts)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for field, errors in curve.items():
        ax.loglog(counts, errors, "o-", label=field)
    ax.loglog(counts, curve["ntk"][0] / np.sqrt(counts), "k:", label=r"$\propto 1/\sqrt{n}$")
    ax.set_xlabel("Monte Carlo samples n")
    ax.set_ylabel("relative Frobenius error")
    ax.set_title(f"Complex MLP (width {width}): MC -> kernel_fn")
    ax.legend()
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "empirical_mc_convergence.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]

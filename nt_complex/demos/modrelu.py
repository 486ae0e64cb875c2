"""modReLU kernel functions `G`, `A`, `B` against `|rho|` for several biases.

`G` gives the NNGP (`K_f = e^{i phi} sqrt(q1 q2) G(|rho|)`), `A` and `B` the
Wirtinger derivative kernels feeding the NTK (`k_zz = A`,
`k_bb = e^{2 i phi} B`), all for unit variances (`beta = b`).
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nt_complex.special.modrelu import modrelu_kernels  # noqa: E402

BIASES = (-2.0, -1.0, -0.5, 0.0, 0.5)


def modrelu_curves(biases=BIASES, points: int = 200, q: float = 1.0
                   ) -> tuple[np.ndarray, dict]:
    """`G, A, B` on a `|rho|` grid in [0, 1] (last point: the diagonal, where
    `A = B = inf` for `b > 0`).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> rho, curves = modrelu_curves(biases=(-0.5,), points=5)
      >>> sorted(curves[-0.5])
      ['A', 'B', 'G']
    """
    rho = np.concatenate([np.linspace(0.0, 0.99, points - 5),
                          1 - np.logspace(-2.5, -6, 4), [1.0]])
    kernels = jax.jit(modrelu_kernels, static_argnums=(0,))
    curves = {}
    for sign in (-1.0, 0.0, 1.0):  # G, A, B depend on b, q only via b/sqrt(q)
        group = [b for b in biases if np.sign(b) == sign]
        if not group:
            continue
        # variance q/b^2 with bias sign(b) has the same beta as (b, q)
        scaled_q = np.array([q / (b * b) if b else q for b in group])[:, None]
        k = kernels(sign, jnp.array(scaled_q), jnp.array(scaled_q), jnp.array(rho)[None])
        for i, b in enumerate(group):
            curves[b] = {"G": np.asarray(k.g[i]), "A": np.asarray(k.a[i]),
                         "B": np.asarray(k.b[i])}
    curves = {b: curves[b] for b in biases}
    return rho, curves


def make_figures(out_dir: str, quick: bool = False) -> list[str]:
    """Write `modrelu_kernels.png` (G, A, B vs |rho| for several b).

    Example:
      >>> import tempfile
      >>> paths = make_figures(tempfile.mkdtemp(), quick=True)  # doctest: +SKIP
    """
    jax.config.update("jax_enable_x64", True)
    os.makedirs(out_dir, exist_ok=True)
    rho, curves = modrelu_curves(points=60 if quick else 200)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for b, c in curves.items():
        for ax, name in zip(axes, ("G", "A", "B")):
            finite = np.isfinite(c[name]) & ((c[name] > 0) if name == "B" else True)
            ax.plot(rho[finite], c[name][finite], label=f"b = {b:g}")
    titles = ("G: NNGP, K_f = e^{i phi} sqrt(q1 q2) G",
              "A = k_zz = E[f_z conj f_z]", "B: k_bb = e^{2 i phi} B")
    for ax, title in zip(axes, titles):
        ax.set_xlabel("|rho|")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")  # B = 0 (b = 0, |rho| = 0) is not drawn
    axes[0].legend(fontsize=8)
    fig.suptitle("modReLU f(z) = ReLU(|z| + b) z/|z|, unit variances "
                 "(b > 0: A, B diverge as |rho| -> 1)", fontsize=10)
    fig.tight_layout()
    path = os.path.join(out_dir, "modrelu_kernels.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]

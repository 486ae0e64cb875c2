"""Figures: measured vs intended sigma_w^2 of jax initializers, and finite-width
correlation vs depth overlaid on the iterated c-map.

Example:
  >>> import tempfile
  >>> paths = make_figures(tempfile.mkdtemp(), quick=True)   # doctest: +SKIP
"""

from __future__ import annotations

import os

import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import neural_tangents as nt  # noqa: E402
import numpy as np  # noqa: E402

from nt_complex import initializers as ini  # noqa: E402
from nt_complex import stax  # noqa: E402
from nt_complex.finite_width import correlation_vs_depth  # noqa: E402

__all__ = ["make_figures", "variance_figure", "depth_figure"]


def variance_figure(path: str, fan: int = 256, n_draws: int = 64) -> str:
    """Bar chart of measured/intended sigma_w^2 with confidence intervals,
    real (float64) vs complex (complex128), one bar per family.

    Example:
      >>> import tempfile, os
      >>> p = variance_figure(os.path.join(tempfile.mkdtemp(), "v.png"), 16, 4)  # doctest: +SKIP
    """
    fig, ax = plt.subplots(figsize=(9, 3.8))
    for offset, dtype, color in ((-0.2, jnp.float64, "C0"), (0.2, jnp.complex128, "C3")):
        fams = ini.families(fan_in=fan, fan_out=fan, dtype=dtype, n_draws=n_draws)
        pos = np.arange(len(fams)) + offset
        ratio = np.array([f.W_var / f.intended for f in fams])
        err = np.array([[f.W_var - f.ci_low, f.ci_high - f.W_var] for f in fams]).T / \
            np.array([f.intended for f in fams])
        ax.errorbar(pos, ratio, yerr=err, fmt="o", color=color, capsize=3,
                    label=np.dtype(dtype).name)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(ini.COMPLEX_TRUNCATED_NORMAL_FACTOR, color="C3", ls=":", lw=0.8,
               label="1/(1 - e$^{-4}$)")
    ax.set_xticks(np.arange(len(fams)), [f.name for f in fams], rotation=35, ha="right")
    ax.set_ylabel(r"measured / intended $\sigma_w^2$")
    ax.set_title(f"jax.nn.initializers at fan_in = fan_out = {fan} (99.9% CI)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def depth_figure(path: str, width: int = 512, depth: int = 30, n_seeds: int = 4,
                 max_families: int = 4) -> str:
    """Correlation vs depth of finite networks (dots: seeds; line: iterated c-map)
    for real and complex activations with several families.

    Example:
      >>> import tempfile, os
      >>> p = depth_figure(os.path.join(tempfile.mkdtemp(), "d.png"), 32, 4, 2)  # doctest: +SKIP
    """
    specs = {s.name: s for s in ini.SPECS}
    cases = [("real Erf", nt.stax.Erf(), jnp.float64, 0.05,
              ["lecun_normal", "glorot_uniform", "he_uniform", "orthogonal"]),
             ("real ReLU", nt.stax.Relu(), jnp.float64, 0.0, ["lecun_normal", "he_uniform"]),
             ("complex CReLU", stax.CReLU(), jnp.complex128, 0.0,
              ["lecun_uniform", "he_truncated_normal", "he_uniform"]),
             ("complex split-erf", stax.SplitErf(), jnp.complex128, 0.05,
              ["lecun_truncated_normal", "glorot_uniform", "orthogonal"])]
    fig, axes = plt.subplots(1, len(cases), figsize=(4 * len(cases), 3.6))
    for ax, (title, act, dtype, b_var, names) in zip(axes, cases):
        for i, name in enumerate(names[:max_families]):
            fam = ini.family(specs[name], width, width, dtype, n_draws=16)
            p = correlation_vs_depth(act, fam, b_var=b_var, width=width, depth=depth,
                                     n_seeds=n_seeds)
            color = f"C{i}"
            for row in p.measured:
                ax.plot(p.depths, np.real(row), ".", color=color, ms=3, alpha=0.5)
            ax.plot(p.depths, np.real(p.predicted), "-", color=color,
                    label=f"{name} ({fam.W_var:.3f}): max err {p.max_abs_error:.3f}")
        ax.set_title(f"{title}, width {width}, $\\sigma_b^2$={b_var}")
        ax.set_xlabel("layer")
        ax.set_ylabel("Re c" if np.issubdtype(np.dtype(dtype), np.complexfloating) else "c")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def make_figures(out_dir: str, quick: bool = False) -> list[str]:
    """Write `initializers_variances.png` and `initializers_depth.png`.

    Example:
      >>> import tempfile
      >>> len(make_figures(tempfile.mkdtemp(), quick=True))   # doctest: +SKIP
      2
    """
    os.makedirs(out_dir, exist_ok=True)
    fan, n_draws = (64, 8) if quick else (256, 64)
    width, depth, n_seeds, n_fam = (64, 8, 2, 1) if quick else (512, 30, 4, 4)
    return [variance_figure(os.path.join(out_dir, "initializers_variances.png"), fan, n_draws),
            depth_figure(os.path.join(out_dir, "initializers_depth.png"), width, depth, n_seeds,
                         n_fam)]

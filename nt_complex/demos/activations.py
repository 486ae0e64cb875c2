"""Figures: cardioid and zReLU kernels vs `|rho|` and phase, and analytic vs
Monte Carlo NNGP entries of a wide network.

`make_figures(out_dir, quick=False) -> list[str]` writes PNGs and returns their paths.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nt_complex import stax  # noqa: E402
from nt_complex.gaussian import GaussianPair  # noqa: E402
from nt_complex.stax.activations.cardioid import Cardioid, _cardioid_moments  # noqa: E402
from nt_complex.stax.activations.zrelu import ZReLU, _zrelu_moments  # noqa: E402


def _kernel_curves(moments, radii, phases):
    r, p = np.meshgrid(radii, phases, indexing="ij")
    rho = jnp.asarray(r * np.exp(1j * p))
    one = jnp.ones(rho.shape)
    m = moments(GaussianPair(one, one, rho), True)
    return {k: np.asarray(getattr(m, k)) for k in ("cov", "pseudo", "k_zz")}


def _mc_nngp(layer, x, width, samples, seed):
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(width, b_std=0.3), layer(), stax.Dense(width, b_std=0.3), layer(), stax.Dense(1))
    apply = jax.jit(apply_fn)
    keys = jax.random.split(jax.random.PRNGKey(seed), samples)
    total = 0
    for key in keys:
        _, params = init_fn(key, x.shape)
        out = apply(params, x)
        total = total + np.asarray(out @ jnp.conj(out).T)
    return np.asarray(kernel_fn(x, None, "nngp")), total / samples


def make_figures(out_dir: str, quick: bool = False) -> list[str]:
    """Write the activation-kernel figures to `out_dir`; return their paths.

    Example:
      >>> import tempfile
      >>> paths = make_figures(tempfile.mkdtemp(), quick=True)  # doctest: +SKIP
    """
    jax.config.update("jax_enable_x64", True)
    os.makedirs(out_dir, exist_ok=True)
    radii = np.linspace(0, 0.999, 40 if quick else 200)
    phases = np.array([0.0, np.pi / 4, np.pi / 2, np.pi])
    paths = []
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    for row, (name, moments) in enumerate((("cardioid", _cardioid_moments),
                                           ("zReLU", _zrelu_moments))):
        curves = _kernel_curves(moments, radii, phases)
        for col, (key, label) in enumerate((("cov", "|K_f| / sqrt(q1 q2)"),
                                            ("pseudo", "|P_f| / sqrt(q1 q2)"),
                                            ("k_zz", "|k_zz|"))):
            ax = axes[row, col]
            for j, phi in enumerate(phases):
                ax.plot(radii, np.abs(curves[key][:, j]), label=f"phi = {phi:.2f}")
            ax.set_title(f"{name}: {label}")
            ax.set_xlabel("|rho|")
        axes[row, 0].legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(out_dir, "activations_kernels.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)

    rng = np.random.default_rng(0)
    n = 4 if quick else 8
    x = jnp.asarray((rng.normal(size=(n, 4)) + 1j * rng.normal(size=(n, 4))) / 2)
    width, samples = (128, 4) if quick else (1024, 32)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, (name, layer) in zip(axes, (("cardioid", Cardioid), ("zReLU", ZReLU))):
        analytic, mc = _mc_nngp(layer, x, width, samples, seed=1)
        for part, marker in ((np.real, "o"), (np.imag, "x")):
            ax.scatter(part(analytic).ravel(), part(mc).ravel(), marker=marker, s=14)
        lim = [min(analytic.real.min(), analytic.imag.min()), analytic.real.max()]
        ax.plot(lim, lim, "k--", lw=0.8)
        ax.set_title(f"{name}: NNGP, MC ({samples} nets, width {width}) vs analytic")
        ax.set_xlabel("analytic (Re: o, Im: x)")
        ax.set_ylabel("Monte Carlo")
    fig.tight_layout()
    path = os.path.join(out_dir, "activations_mc.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths

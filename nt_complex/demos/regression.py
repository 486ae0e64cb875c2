"""Figure: learning a complex frequency response with a complex network.

Target ``H(w) = 1 / (1 + i w)`` (a first-order low-pass filter) from a few
noiseless samples. Compared: the infinite-width NTK ensemble of a complex
CReLU network (`nt_complex.predict`, mean +- 2 std of Re and Im), an ensemble
of trained finite complex networks, and a real ReLU network with two outputs
(Re H, Im H) in NT's infinite-width limit.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np


def _features(w: np.ndarray) -> jnp.ndarray:
    return jnp.asarray(np.stack([w / 2, np.ones_like(w)], -1).astype(np.complex128))


def compute(quick: bool = False) -> dict:
    """All curves of the figure (float64 required: call with x64 enabled).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> sorted(compute(quick=True))[:3]
      ['finite_mean', 'finite_members', 'grid']
    """
    import neural_tangents as nt
    from nt_complex import predict, stax
    from nt_complex.demos.training import trained_predictions

    w_train = np.linspace(-3, 3, 7)
    grid = np.linspace(-4, 4, 81)
    y_train = (1 / (1 + 1j * w_train))[:, None]
    x_train, x_grid = _features(w_train), _features(grid)
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(512, 1.5, 0.2), stax.CReLU(), stax.Dense(1, 1.5, 0.2))
    kernel_fn = jax.jit(kernel_fn, static_argnames="get")
    lr, steps = 1.0, 600 if quick else 4000
    ensemble = predict.gradient_descent_mse_ensemble(kernel_fn, x_train, jnp.asarray(y_train), lr)
    ntk = ensemble(float(steps), x_grid, "ntk", compute_cov=True)

    n_nets = 4 if quick else 16
    finite = trained_predictions(init_fn, apply_fn, x_train, y_train, x_grid, lr, steps,
                                 n_nets)[..., 0]

    _, _, real_kernel_fn = nt.stax.serial(nt.stax.Dense(512, 1.5, 0.2), nt.stax.Relu(),
                                          nt.stax.Dense(1, 1.5, 0.2))
    real_kernel_fn = jax.jit(real_kernel_fn, static_argnames="get")
    y_real = np.concatenate([y_train.real, y_train.imag], 1)
    real = nt.predict.gradient_descent_mse_ensemble(
        real_kernel_fn, np.asarray(x_train.real), jnp.asarray(y_real), lr)(
        float(steps), np.asarray(x_grid.real), "ntk", compute_cov=True)
    pseudo = 0. if ntk.pseudo_covariance is None else np.diag(ntk.pseudo_covariance)
    var = np.real(np.diag(ntk.covariance))
    return {
        "grid": grid, "truth": 1 / (1 + 1j * grid), "w_train": w_train, "y_train": y_train[:, 0],
        "ntk_mean": np.asarray(ntk.mean[:, 0]),
        "ntk_std_re": np.sqrt(np.maximum((var + np.real(pseudo)) / 2, 0)),
        "ntk_std_im": np.sqrt(np.maximum((var - np.real(pseudo)) / 2, 0)),
        "finite_mean": np.asarray(finite.mean(0)), "finite_members": np.asarray(finite),
        "real_mean": np.asarray(real.mean[:, 0] + 1j * real.mean[:, 1]),
        "real_std": np.sqrt(np.maximum(np.real(np.diag(real.covariance)), 0)),
    }


def plot(data: dict, path: str) -> str:
    """Two panels (Re H, Im H) of `compute`'s curves, saved to `path`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    for ax, part, std_key, label in ((axes[0], np.real, "ntk_std_re", "Re H"),
                                     (axes[1], np.imag, "ntk_std_im", "Im H")):
        g = data["grid"]
        mean = part(data["ntk_mean"])
        ax.fill_between(g, mean - 2 * data[std_key], mean + 2 * data[std_key],
                        color="C0", alpha=0.2, label="complex NTK ensemble +- 2 std")
        ax.plot(g, mean, "C0", label="complex NTK ensemble mean")
        for member in data["finite_members"]:
            ax.plot(g, part(member), "C1", lw=0.5, alpha=0.4)
        ax.plot(g, part(data["finite_mean"]), "C1--", label="trained width-512 nets (mean)")
        ax.plot(g, part(data["real_mean"]), "C2:", lw=2, label="real net on (Re, Im) outputs")
        ax.plot(g, part(data["truth"]), "k", lw=1, label="truth 1/(1 + i w)")
        ax.plot(data["w_train"], part(data["y_train"]), "ko", label="training data")
        ax.set_xlabel("frequency w")
        ax.set_title(label)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def make_figures(out_dir: str, quick: bool = False) -> list[str]:
    """Write ``complex_regression.png`` to `out_dir`; returns its path."""
    jax.config.update("jax_enable_x64", True)
    os.makedirs(out_dir, exist_ok=True)
    return [plot(compute(quick), os.path.join(out_dir, "complex_regression.png"))]

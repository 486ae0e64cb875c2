"""Quickstart figure: the complex NNGP and NTK of a circular CReLU network, and
what real-valued weights (pseudo-kernels) change."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nt_complex import stax  # noqa: E402


def quickstart_kernels(n: int = 48, W_pseudo: complex = 0.0) -> tuple[np.ndarray, dict]:
    """Kernels of a 2-hidden-layer CReLU network on phase-rotated inputs.

    Inputs are `x_j = e^{i theta_j} u` for a fixed real vector `u`, so the
    circular network's NNGP depends on the phase difference only.

    Example:
      >>> theta, k = quickstart_kernels(n=4)
      >>> k['nngp'].shape
      (4, 4)
    """
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    u = np.linspace(-1.0, 1.0, 8)
    x = np.exp(1j * theta)[:, None] * u[None, :] / np.sqrt(np.mean(u ** 2))
    mix = dict(W_pseudo=W_pseudo, b_pseudo=W_pseudo)
    _, _, kernel_fn = stax.serial(stax.Dense(512, 1.4, 0.1, **mix), stax.CReLU(),
                                  stax.Dense(512, 1.4, 0.1, **mix), stax.CReLU(),
                                  stax.Dense(1, 1.0, 0.0, **mix))
    k = kernel_fn(x, None)
    return theta, {f: np.asarray(k.get(f)) for f in ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")}


def make_figures(out_dir: str, quick: bool = False) -> list[str]:
    """Write `quickstart_kernels.png` (|.| and phase of NNGP/NTK rows, circular
    vs real-valued weights).

    Example:
      >>> import tempfile
      >>> paths = make_figures(tempfile.mkdtemp(), quick=True)
    """
    os.makedirs(out_dir, exist_ok=True)
    n = 24 if quick else 96
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for W_pseudo, style in [(0.0, "-"), (1.0, "--")]:
        theta, k = quickstart_kernels(n, W_pseudo)
        label = "circular weights" if W_pseudo == 0 else "real-valued weights"
        axes[0].plot(theta, k["nngp"][0].real, style, label=f"Re NNGP, {label}")
        axes[0].plot(theta, k["nngp"][0].imag, style, label=f"Im NNGP, {label}")
        axes[1].plot(theta, np.abs(k["ntk"][0]), style, label=f"|NTK|, {label}")
        axes[2].plot(theta, np.abs(k["pseudo_ntk"][0]), style, label=f"|pseudo-NTK|, {label}")
    for ax, title in zip(axes, ["NNGP K(x_0, x_j)", "NTK", "pseudo-NTK"]):
        ax.set_xlabel("phase difference theta_j")
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(out_dir, "quickstart_kernels.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]

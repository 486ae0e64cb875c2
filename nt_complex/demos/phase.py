"""Phase diagrams: NT's Dense+Erf diagram, ReLU, complex CReLU/cardioid
(chi_par and chi_phase), modReLU for b in {-1, -0.5, -0.2} with its saddle-node
line, zReLU and split-erf, and a Conv+Erf block with SAME vs CIRCULAR padding.

Example:
  >>> import tempfile
  >>> paths = make_figures(tempfile.mkdtemp(), quick=True)   # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from neural_tangents import stax as real_stax  # noqa: E402

from nt_complex import stax as complex_stax  # noqa: E402
from nt_complex.initializers import SPECS, families  # noqa: E402
from nt_complex.phase import phase_diagram, saddle_node_line  # noqa: E402
from nt_complex.phase.plot import crosses_one  # noqa: E402

__all__ = ["make_figures", "erf_block", "relu_block", "complex_block", "conv_erf_block",
           "modrelu_figure", "zrelu_split_erf_figure"]

#: modReLU biases drawn by `modrelu_figure`.
MODRELU_BIASES = (-1.0, -0.5, -0.2)

_FAMILY_NAMES = ("lecun_truncated_normal", "glorot_truncated_normal", "he_truncated_normal")


def erf_block(W_std, b_std):
    """NT notebook's block: `Dense(1024) -> Erf` (`nt.stax`).

    Example:
      >>> len(erf_block(1.0, 0.1))
      3
    """
    return real_stax.serial(real_stax.Dense(1024, W_std, b_std), real_stax.Erf())


def relu_block(W_std, b_std):
    """`Dense(1024) -> Relu` (`nt.stax`).

    Example:
      >>> len(relu_block(1.0, 0.1))
      3
    """
    return real_stax.serial(real_stax.Dense(1024, W_std, b_std), real_stax.Relu())


def complex_block(activation):
    """`block(W_std, b_std)`: complex `Dense(1024) -> activation()`.

    Example:
      >>> len(complex_block(complex_stax.CReLU)(1.0, 0.1))
      3
    """
    def block(W_std, b_std):
        return complex_stax.serial(complex_stax.Dense(1024, W_std, b_std), activation())
    return block


def conv_erf_block(padding: str):
    """`block(W_std, b_std)`: `Conv(1024, (3, 3), padding) -> Erf` (`nt.stax`).

    Example:
      >>> len(conv_erf_block("SAME")(1.0, 0.1))
      3
    """
    def block(W_std, b_std):
        return real_stax.serial(
            real_stax.Conv(1024, (3, 3), padding=padding, W_std=W_std, b_std=b_std),
            real_stax.Erf())
    return block


def _families(dtype, W_max: float):
    """LeCun/Glorot/He at fan_in = 256, fan_out = 512 (so Glorot differs from
    LeCun), labelled with their measured sigma_w^2."""
    specs = [s for s in SPECS if s.name in _FAMILY_NAMES]
    return [SimpleNamespace(name=f"{f.name} ({f.W_var:.3f})", W_var=f.W_var, b_var=None)
            for f in families(256, 512, dtype=dtype, n_draws=16, specs=specs)
            if f.W_var <= W_max]


def _grid(quick: bool, m: int, n: int):
    m, n = (12, 8) if quick else (m, n)
    return np.linspace(3.0 / m, 3.0, m), np.linspace(0.0, 0.25, n)


def _save(fig, out_dir: str, name: str) -> str:
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _chi_panel(ax, W, b, values, label):
    mesh = ax.pcolormesh(W, b, np.ma.masked_invalid(values), shading="auto", cmap="magma")
    ax.figure.colorbar(mesh, ax=ax, label=label)
    if crosses_one(values):
        ax.contour(W, b, np.where(np.isposinf(values), 1e6, values), levels=[1.0], colors="c")
        ax.plot([], [], color="c", label=label + " = 1")
        ax.legend(loc="lower right", fontsize=7)
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")


def real_figure(out_dir: str, name: str, block, title: str, quick: bool) -> str:
    """c* map with the chi_1 = 1 line and lecun/glorot/he as lines.

    Example:
      >>> import tempfile
      >>> p = real_figure(tempfile.mkdtemp(), "e.png", erf_block, "erf", True)  # doctest: +SKIP
    """
    W, b = _grid(quick, 60, 40)
    pd = phase_diagram(block, W, b)
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    pd.plot(ax=ax, families=_families(np.float64, W.max()), title=title)
    return _save(fig, out_dir, name)


def complex_figure(out_dir: str, quick: bool) -> str:
    """CReLU and cardioid: chi_par (with c*) and chi_phase panels.

    Example:
      >>> import tempfile
      >>> p = complex_figure(tempfile.mkdtemp(), True)  # doctest: +SKIP
    """
    W, b = _grid(quick, 60, 40)
    fig = _c_star_and_chi_phase_rows(
        [("CReLU", complex_stax.CReLU), ("cardioid", complex_stax.Cardioid)], W, b,
        r"$c^*$, $\chi_{par} = \chi_1$")
    return _save(fig, out_dir, "phase_complex.png")


def _c_star_and_chi_phase_rows(acts: list, W: np.ndarray, b: np.ndarray, title: str):
    """One row per `(label, activation)`: c* (with families) and chi_phase panels."""
    fams = _families(np.complex128, W.max())
    fig, axes = plt.subplots(len(acts), 2, figsize=(12, 4.2 * len(acts)))
    for row, (label, act) in zip(axes, acts):
        pd = phase_diagram(complex_block(act), W, b)
        pd.plot(ax=row[0], families=fams, title=f"{label}: {title}")
        _chi_panel(row[1], W, b, pd.chi_phase, r"$\chi_{phase}$")
        row[1].set_title(rf"{label}: $\chi_{{phase}}$")
    return fig


def modrelu_figure(out_dir: str, quick: bool) -> str:
    """modReLU `Dense -> ModReLU(b)` for b in MODRELU_BIASES: chi_1 and chi_phase
    with the saddle-node line (no finite q* beyond it, hatched) and the
    initializer families. Computed with `correlation=False` (q* and chi from the
    closed-form diagonal moments; c* would need modReLU's kernel at |rho| < 1).

    Example:
      >>> import tempfile
      >>> p = modrelu_figure(tempfile.mkdtemp(), True)  # doctest: +SKIP
    """
    m, n = (12, 8) if quick else (120, 80)
    W = np.linspace(3.0 / m, 3.0, m)
    b = np.linspace(0.0, 1.0, n)
    fams = _families(np.complex128, W.max())
    q_pre = np.geomspace(1e-3, 1e3, 400)
    fig, axes = plt.subplots(2, len(MODRELU_BIASES), figsize=(6 * len(MODRELU_BIASES), 9))
    for column, bias in enumerate(MODRELU_BIASES):
        block = complex_block(functools.partial(complex_stax.ModReLU, bias))
        pd = phase_diagram(block, W, b, correlation=False)
        saddle = saddle_node_line(block, q_pre)
        pd.plot(ax=axes[0, column], families=fams, saddle_node=saddle, color="chi_1",
                title=rf"modReLU(b = {bias}): $\chi_1 = \chi_{{par}}$")
        pd.plot(ax=axes[1, column], saddle_node=saddle, color="chi_phase",
                title=rf"modReLU(b = {bias}): $\chi_{{phase}} = 1 - \sigma_b^2/q^*_{{pre}}$")
    return _save(fig, out_dir, "phase_modrelu.png")


def zrelu_split_erf_figure(out_dir: str, quick: bool) -> str:
    """zReLU (chi_1 = inf: chaotic wherever c* < 1; q* = b/(1 - W/4) pre-activation)
    and split-erf: c* with the chi = 1 lines, and chi_phase.

    Example:
      >>> import tempfile
      >>> p = zrelu_split_erf_figure(tempfile.mkdtemp(), True)  # doctest: +SKIP
    """
    W, b = _grid(quick, 40, 24)
    W = W * 5 / 3  # zReLU's q* exists up to W_var = 4
    fig = _c_star_and_chi_phase_rows(
        [("zReLU", complex_stax.ZReLU), ("split-erf", complex_stax.SplitErf)], W, b, r"$c^*$")
    return _save(fig, out_dir, "phase_zrelu_split_erf.png")


def conv_figure(out_dir: str, quick: bool) -> str:
    """Conv(3x3) + Erf on 8x8 (quick: 4x4): SAME vs CIRCULAR, c* and chi_1 = 1.

    Example:
      >>> import tempfile
      >>> p = conv_figure(tempfile.mkdtemp(), True)  # doctest: +SKIP
    """
    W, b = _grid(quick, 20, 12)
    side = 4 if quick else 8
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, padding in zip(axes, ("SAME", "CIRCULAR")):
        pd = phase_diagram(conv_erf_block(padding), W, b, input_shape=(side, side))
        pd.plot(ax=ax, title=f"Conv 3x3 {padding} + Erf on {side}x{side}: mean $c^*$")
    return _save(fig, out_dir, "phase_cnn_same_vs_circular.png")


def make_figures(out_dir: str, quick: bool = False) -> list[str]:
    """Write phase_erf.png, phase_relu.png, phase_complex.png, phase_modrelu.png,
    phase_zrelu_split_erf.png and phase_cnn_same_vs_circular.png to `out_dir`;
    return their paths.

    Example:
      >>> import tempfile
      >>> paths = make_figures(tempfile.mkdtemp(), quick=True)  # doctest: +SKIP
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    os.makedirs(out_dir, exist_ok=True)
    return [
        real_figure(out_dir, "phase_erf.png", erf_block, "Dense + Erf (NT notebook): $c^*$",
                    quick),
        real_figure(out_dir, "phase_relu.png", relu_block,
                    r"Dense + ReLU: $c^*$ ($\chi_1 = \sigma_w^2/2$)", quick),
        complex_figure(out_dir, quick),
        modrelu_figure(out_dir, quick),
        zrelu_split_erf_figure(out_dir, quick),
        conv_figure(out_dir, quick),
    ]

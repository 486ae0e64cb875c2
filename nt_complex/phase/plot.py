"""Drawing a `PhaseDiagram`: c* colour map, chi = 1 lines, flagged regions, families."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from nt_complex.phase.solve import Status

__all__ = ["plot_diagram", "crosses_one", "HATCHES"]


#: Status -> (hatch, legend label) of the flagged regions.
HATCHES = {
    Status.NO_FIXED_POINT: ("//", "no finite attracting $q^*$"),
    Status.SCALE_FREE: ("..", "$q^*$ infinite: scale-free c-map"),
    Status.Q_ZERO: ("xx", "$q^* = 0$ (signal dies)"),
    Status.C_NOT_CONVERGED: ("\\\\", "$c^*$ not converged"),
}


def crosses_one(values) -> bool:
    """True when finite-or-inf `values` lie on both sides of 1 (a line exists).

    Example:
      >>> import numpy as np
      >>> crosses_one(np.array([0.5, np.inf])), crosses_one(np.array([0.5, np.nan]))
      (True, False)
    """
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    return bool(v.size) and bool(v.min() < 1 < v.max())


def _hatch_flagged(ax, W, b, status) -> list:
    """Hatch each flagged region; return legend handles for those present."""
    from matplotlib.patches import Patch

    handles = []
    for code, (hatch, label) in HATCHES.items():
        mask = status == code
        if not mask.any():
            continue
        ax.contourf(W, b, mask.astype(float), levels=[0.5, 1.5], colors="none", hatches=[hatch])
        handles.append(Patch(facecolor="none", edgecolor="k", hatch=hatch, label=label))
    return handles


#: `color` choices of `plot_diagram`: field -> (colour-bar label, colormap).
COLORS = {"c_star": (r"$c^*$", "viridis"), "chi_1": (r"$\chi_1$", "magma"),
          "chi_phase": (r"$\chi_{phase}$", "magma")}


def _color_values(diagram, color: str) -> np.ndarray:
    if color not in COLORS:
        raise ValueError(f"color: expected one of {sorted(COLORS)}, got {color!r}.")
    if color == "c_star":
        return diagram.c_star_mean()
    values = getattr(diagram, color)
    if values is None:
        raise ValueError(f"color={color!r}: this diagram has no {color} (a real block).")
    return np.asarray(values, float)


def plot_diagram(diagram, ax=None, families: Sequence[Any] = (),
                 title: Optional[str] = None, saddle_node=None, color: str = "c_star"):
    """Draw `diagram` on `ax` (a new figure if None) and return `ax`.

    Draws c*, the chi_1 = 1 and chi_phase = 1 lines where they exist, hatched
    (and legended) NO_FIXED_POINT / SCALE_FREE / Q_ZERO / C_NOT_CONVERGED
    regions, `saddle_node = (W_var, b_var)` (see `saddle_node_line`) and
    initializer `families`. `color`: the field shown as colours (`"c_star"`,
    `"chi_1"` or `"chi_phase"`; infinite chi is drawn in the top colour).

    Example:
      >>> import matplotlib; matplotlib.use('Agg')
      >>> from neural_tangents import stax
      >>> from nt_complex.phase import phase_diagram
      >>> pd = phase_diagram(lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Erf()),
      ...                    [0.5, 1.5, 2.5], [0.0, 0.1])
      >>> ax = plot_diagram(pd)
    """
    import matplotlib.pyplot as plt
    from matplotlib import patheffects

    W, b = np.asarray(diagram.W_var), np.asarray(diagram.b_var)
    if W.ndim != 1 or b.ndim != 1:
        raise ValueError("plot needs a grid diagram (1-D W_var and b_var).")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    raw = _color_values(diagram, color)
    label, cmap = COLORS[color]
    if color == "c_star":
        shown = np.ma.masked_invalid(raw)
        vmin, vmax = min(0.0, float(shown.min()) if shown.count() else 0.0), 1.0
    else:
        finite = raw[np.isfinite(raw)]
        vmax = max(2.0, float(finite.max())) if finite.size else 2.0
        shown = np.ma.masked_invalid(np.where(np.isposinf(raw), vmax, raw))
        vmin = 0.0
    mesh = ax.pcolormesh(W, b, shown, shading="auto", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.figure.colorbar(mesh, ax=ax, label=label)
    flagged = _hatch_flagged(ax, W, b, np.asarray(diagram.status))
    if len(W) > 1 and len(b) > 1:
        outline = [patheffects.withStroke(linewidth=3, foreground="k")]
        for values, style, label in ((diagram.chi_1, "-", r"$\chi_1 = 1$"),
                                     (diagram.chi_phase, "--", r"$\chi_{phase} = 1$")):
            if values is None or not crosses_one(values):
                continue
            finite = np.where(np.isposinf(values), 1e6, values)  # inf: far above 1
            ax.contour(W, b, finite, levels=[1.0], colors="w", linestyles=style,
                       linewidths=1.5).set(path_effects=outline)
            ax.plot([], [], color="w", linestyle=style, linewidth=1.5, path_effects=outline,
                    label=label)
    if saddle_node is not None:
        W_sn, b_sn = (np.asarray(v, float) for v in saddle_node)
        inside = (W_sn >= W.min()) & (W_sn <= W.max()) & (b_sn >= b.min()) & (b_sn <= b.max())
        if inside.any():
            ax.plot(W_sn, b_sn, color="orange", linewidth=2,
                    label="saddle node (no finite $q^*$ beyond)")
            ax.set_xlim(W.min(), W.max())
            ax.set_ylim(b.min(), b.max())
    for fam in families:
        marker = getattr(fam, "marker", None) or "o"
        fb = getattr(fam, "b_var", None)
        if fb is None:
            ax.axvline(fam.W_var, color="r", linestyle=":", label=fam.name)
        else:
            ax.plot([fam.W_var], [fb], marker=marker, color="r", linestyle="none",
                    label=fam.name)
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")
    if chi_is_ordered_left(diagram):
        ax.text(0.03, 0.92, "ordered", transform=ax.transAxes, color="w")
        ax.text(0.80, 0.92, "chaotic", transform=ax.transAxes, color="w")
    if title:
        ax.set_title(title)
    handles, _ = ax.get_legend_handles_labels()
    handles = handles + flagged
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=7)
    return ax


def chi_is_ordered_left(diagram) -> bool:
    """True when chi_1 < 1 on the left edge and > 1 on the right edge."""
    chi = np.asarray(diagram.chi_1)
    return bool(np.nanmax(chi[:, 0]) < 1 < np.nanmin(chi[:, -1])) if chi.ndim == 2 else False

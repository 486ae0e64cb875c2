"""Drawing a `PhaseDiagram`: c* colour map, chi = 1 lines, flagged regions, families."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from nt_complex.phase.solve import Status

__all__ = ["plot_diagram"]


def plot_diagram(diagram, ax=None, families: Sequence[Any] = (),
                 title: Optional[str] = None):
    """Draw `diagram` on `ax` (a new figure if None) and return `ax`.

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
    c = np.ma.masked_invalid(diagram.c_star_mean())
    mesh = ax.pcolormesh(W, b, c, shading="auto", cmap="viridis", vmin=min(0.0, c.min()),
                         vmax=1.0)
    ax.figure.colorbar(mesh, ax=ax, label=r"$c^*$")
    flagged = np.isin(diagram.status, [Status.NO_FIXED_POINT, Status.C_NOT_CONVERGED])
    if flagged.any():
        ax.contourf(W, b, flagged.astype(float), levels=[0.5, 1.5], colors="none",
                    hatches=["//"])
        ax.plot([], [], " ", label="hatched: no finite fixed point")
    if len(W) > 1 and len(b) > 1:
        for values, style, label in ((diagram.chi_1, "-", r"$\chi_1 = 1$"),
                                     (diagram.chi_phase, "--", r"$\chi_{phase} = 1$")):
            if values is None or not np.any(np.isfinite(values)):
                continue
            outline = [patheffects.withStroke(linewidth=3, foreground="k")]
            ax.contour(W, b, np.nan_to_num(values, nan=np.nan), levels=[1.0], colors="w",
                       linestyles=style, linewidths=1.5).set(path_effects=outline)
            ax.plot([], [], color="w", linestyle=style, linewidth=1.5, path_effects=outline,
                    label=label)
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
    if handles:
        ax.legend(loc="lower right", fontsize=7)
    return ax


def chi_is_ordered_left(diagram) -> bool:
    """True when chi_1 < 1 on the left edge and > 1 on the right edge."""
    chi = np.asarray(diagram.chi_1)
    return bool(np.nanmax(chi[:, 0]) < 1 < np.nanmin(chi[:, -1])) if chi.ndim == 2 else False

"""Measured S-parameters (scikit-rf's bundled VNA data): complex NNGP / NTK
against two real GPs, vector fitting, trained finite networks and linear
interpolation on held-out frequencies (`docs/measured.md`).

`evaluate` runs every method on one measurement and split, `run` on all of
them, `markdown_tables` formats the results (`make bench`:
``python -m bench.run measured``), `make_figures` draws
``measured_sparameters.png`` (`make demo`).

Needs scikit-rf (``pip install 'nt_complex[measured]'``).
"""

from __future__ import annotations

import os
from typing import NamedTuple, Optional

import jax
import numpy as np

from nt_complex.demos import measured_baselines as baselines
from nt_complex.demos import measured_models as models
from nt_complex.demos.measured_data import MEASURED_FILES, SPLITS, load_measurement, split_indices
from nt_complex.demos.measured_metrics import coverage95, mean_nll, relative_rmse

#: Method labels, in table order (GP methods first).
GP_METHODS = ("complex NNGP", "complex NTK", "real-weight NNGP", "real-weight NTK",
              "2 real GPs NNGP", "2 real GPs NTK")
METHODS = GP_METHODS + ("vector fitting", "finite circular", "finite real-weight",
                        "linear interp.")

#: Quick settings (notebook in `make test`): small grid, short training.
QUICK_GRID = ((1.0, 2.0), (0.2, 1.0), (1e-5, 1e-4, 1e-3, 1e-2, 1e-1), (0.5,))
QUICK_VF = {"folds": 3, "candidates": ((0, 2), (1, 2), (0, 4), (1, 4))}


class Result(NamedTuple):
    """One table cell group: held-out metrics of one method."""

    network: str
    split: str
    method: str
    relative_rmse: float
    nll: Optional[float]
    coverage95: Optional[float]
    seconds: float
    detail: str


def predictions(name: str, split: str, quick: bool = False) -> dict[str, models.Prediction]:
    """Every method's `Prediction` at *all* frequencies of measurement `name`,
    trained on the training points of `split` (metrics use the held-out ones).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> out = predictions('ring slot measured', 'band20', quick=True)  # doctest: +SKIP
    """
    m = load_measurement(name)
    train, _ = split_indices(len(m.x), split)
    everywhere = np.arange(len(m.x))
    grid = QUICK_GRID if quick else None
    seeds, steps = (2, 300) if quick else (8, 2000)
    out = {}
    for label, W_pseudo in (("complex", 0.), ("real-weight", 1.)):
        gp = models.complex_gp_predict(m.x, m.s, train, everywhere, W_pseudo, grid)
        out[f"{label} NNGP"], out[f"{label} NTK"] = gp["nngp"], gp["ntk"]
        finite = "finite circular" if label == "complex" else "finite real-weight"
        out[finite] = baselines.finite_networks_predict(
            m.x, m.s, train, everywhere, gp["nngp"].hyperparameters, W_pseudo, seeds, steps)
    real = models.real_gp_predict(m.x, m.s, train, everywhere, grid)
    out["2 real GPs NNGP"], out["2 real GPs NTK"] = real["nngp"], real["ntk"]
    out["vector fitting"] = baselines.vector_fit_predict(
        m.freq_hz, m.s, train, everywhere, **(QUICK_VF if quick else {}))
    out["linear interp."] = baselines.linear_interpolation(m.x, m.s, train, everywhere)
    return {method: out[method] for method in METHODS}


def evaluate(name: str, split: str, quick: bool = False,
             predicted: Optional[dict[str, models.Prediction]] = None) -> list[Result]:
    """Held-out metrics of every method on one measurement and split
    (`predicted`: the output of `predictions`, computed if not given).

    Example:
      >>> rows = evaluate('ro,1', 'band20', quick=True)  # doctest: +SKIP
    """
    m = load_measurement(name)
    held_out = split_indices(len(m.x), split)[1]
    truth = m.s[held_out]
    rows = []
    for method, p in (predicted or predictions(name, split, quick)).items():
        mean = p.mean[held_out]
        if p.covariance is None:
            nll = coverage = None
        else:
            cov = p.covariance[np.ix_(held_out, held_out)]
            pseudo = (None if p.pseudo_covariance is None
                      else p.pseudo_covariance[np.ix_(held_out, held_out)])
            nll, coverage = mean_nll(mean, cov, pseudo, truth), coverage95(mean, cov, pseudo, truth)
        rows.append(Result(name, split, method, relative_rmse(mean, truth), nll, coverage,
                           p.seconds, p.detail))
    return rows


def run(quick: bool = False) -> list[Result]:
    """`evaluate` on every measurement (quick: the ring slot only) and split."""
    jax.config.update("jax_enable_x64", True)
    names = ("ring slot measured",) if quick else tuple(MEASURED_FILES)
    return [row for name in names for split in SPLITS for row in evaluate(name, split, quick)]


def markdown_tables(rows: list[Result]) -> str:
    """Relative RMSE of every method, then NLL / 95 % coverage of the GPs and
    mean wall times; the best relative RMSE of each row is in bold.

    Example:
      >>> r = Result('n', 'band20', 'complex NNGP', 0.1, -1., 0.9, 2., '')
      >>> print(markdown_tables([r]).splitlines()[4])
      | n | band20 | **0.1000** |
    """
    keys = list(dict.fromkeys((r.network, r.split) for r in rows))
    methods = [m for m in METHODS if any(r.method == m for r in rows)]
    cell = {(r.network, r.split, r.method): r for r in rows}

    def table(columns, fmt, best):
        lines = ["| measurement | split | " + " | ".join(columns) + " |",
                 "|---|---|" + "---|" * len(columns)]
        for key in keys:
            values = [cell.get(key + (c,)) for c in columns]
            target = min((v.relative_rmse for v in values if v), default=None) if best else None
            texts = [fmt(v) if v else "" for v in values]
            if best:
                texts = [f"**{t}**" if v and v.relative_rmse == target else t
                         for t, v in zip(texts, values)]
            lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(texts) + " |")
        return "\n".join(lines)

    gp = [m for m in methods if m in GP_METHODS]
    times = " | ".join(f"{m}: {np.mean([r.seconds for r in rows if r.method == m]):.2f} s"
                       for m in methods)
    return ("Relative RMSE on held-out points (||pred - S|| / ||S||):\n\n"
            + table(methods, lambda r: f"{r.relative_rmse:.4f}", True)
            + "\n\nGPs: mean held-out NLL (nats per point) / 95 % coverage:\n\n"
            + table(gp, lambda r: f"{r.nll:.2f} / {r.coverage95:.2f}", False)
            + f"\n\nMean wall time per fit (hyperparameter search included): {times}\n"
            + "".join(f"\n{m}: {r.detail}" for m in ("finite circular",)
                      for r in rows[:len(methods)] if r.method == m))


def figure_data(name: str, predicted: dict[str, dict[str, models.Prediction]]) -> dict:
    """Curves of the figure from `predictions` of each split: the complex
    NNGP with its per-point standard deviations of Re and Im, the two real
    GPs, vector fitting."""
    m = load_measurement(name)
    data = {"name": name, "freq_ghz": m.freq_hz / 1e9, "s": m.s, "splits": {}}
    for split, out in predicted.items():
        train, held_out = split_indices(len(m.x), split)
        gp = out["complex NNGP"]
        k, p = np.real(np.diag(gp.covariance)), np.diag(gp.pseudo_covariance)
        data["splits"][split] = {
            "train": train, "held_out": held_out, "complex": gp.mean,
            "std_re": np.sqrt(np.maximum((k + p.real) / 2, 0)),
            "std_im": np.sqrt(np.maximum((k - p.real) / 2, 0)),
            "real": out["2 real GPs NNGP"].mean, "vf": out["vector fitting"].mean}
    return data


def compute(quick: bool = False) -> dict:
    """`figure_data` of the ring-slot measurement (both splits)."""
    jax.config.update("jax_enable_x64", True)
    name = "ring slot measured"
    return figure_data(name, {split: predictions(name, split, quick) for split in SPLITS})


def plot(data: dict, path: str) -> str:
    """Re / Im S11 vs frequency for each split, saved to `path`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = data["freq_ghz"]
    fig, axes = plt.subplots(len(data["splits"]), 2, figsize=(11, 7), sharex=True)
    for row, (split, d) in zip(axes, data["splits"].items()):
        for ax, part, std, label in ((row[0], np.real, d["std_re"], "Re S11"),
                                     (row[1], np.imag, d["std_im"], "Im S11")):
            mean = part(d["complex"])
            ax.fill_between(f, mean - 2 * std, mean + 2 * std, color="C0", alpha=0.25,
                            label="complex NNGP +- 2 std (observation)")
            ax.plot(f, mean, "C0", lw=1.2, label="complex NNGP mean")
            ax.plot(f, part(d["real"]), "C2--", lw=1, label="2 real GPs (NT) mean")
            ax.plot(f, part(d["vf"]), "C3:", lw=1.5, label="vector fitting (scikit-rf)")
            ax.plot(f[d["held_out"]], part(data["s"][d["held_out"]]), "kx", ms=3,
                    label="held-out measurement")
            ax.plot(f[d["train"]], part(data["s"][d["train"]]), "ko", ms=3.5, mfc="none",
                    label="training points")
            ax.set_title(f"{data['name']}, {split}: {label}", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("frequency (GHz)")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def make_figures(out_dir: str, quick: bool = False) -> list[str]:
    """Write ``measured_sparameters.png`` to `out_dir`; returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    return [plot(compute(quick), os.path.join(out_dir, "measured_sparameters.png"))]

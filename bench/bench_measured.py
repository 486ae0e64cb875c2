"""Benchmark: held-out prediction of measured S-parameters (scikit-rf's bundled
VNA measurements) by complex NNGP / NTK, two real GPs, vector fitting, trained
finite networks and linear interpolation (`docs/measured.md`).

`run(quick=False) -> str` returns the Markdown tables of the README section
"Measured S-parameters" (`python -m bench.run measured`; `quick=True`: the ring
slot only, small hyperparameter grid, short training). Needs scikit-rf
(`pip install 'nt_complex[measured]'`); without it the table says so.
"""

from __future__ import annotations


def run(quick: bool = False) -> str:
    """Markdown tables of held-out relative RMSE, NLL, 95 % coverage and wall time.

    Example:
      >>> print(run(quick=True))  # doctest: +SKIP
    """
    try:
        import skrf  # noqa: F401
    except ImportError:
        return ("scikit-rf is not installed: pip install 'nt_complex[measured]' to run "
                "the measured S-parameter benchmark.")
    from nt_complex.demos import measured

    return measured.markdown_tables(measured.run(quick))

"""Finite-width kernels of any complex network (re-exports only).

* `kernels` — empirical NNGP / NTK and pseudo-kernels (`empirical_*_fn`).
* `structured` — the structured (per-layer) NTK behind implementation 3.
* `probe`, `jaxpr_probe` — how that NTK finds the linear layers: hooks in
  `nt_complex.stax` layers, or the jaxpr of any other function.
* `monte_carlo` — averages of the empirical kernels over initialisations.
"""

from nt_complex.empirical.kernels import (DEFAULT_IMPLEMENTATION, Implementation,
                                          empirical_kernel_fn, empirical_nngp_fn,
                                          empirical_ntk_fn, join_complex_leaves,
                                          split_complex_leaves)
from nt_complex.empirical.monte_carlo import MonteCarloKernel, monte_carlo_kernel_fn

__all__ = [
    "DEFAULT_IMPLEMENTATION", "Implementation", "empirical_kernel_fn", "empirical_nngp_fn",
    "empirical_ntk_fn", "join_complex_leaves", "split_complex_leaves",
    "MonteCarloKernel", "monte_carlo_kernel_fn",
]

"""nt_complex: Neural Tangents for complex-valued networks.

Public API (re-exports only):

* `nt_complex.stax` — layers with complex infinite-width kernels (Hermitian and pseudo).
* `ComplexKernel`, `input_kernel` — the kernel state and the inputs' kernel.
* `batch` — NT's `nt.batch` for complex `kernel_fn`s (full `ComplexKernel`s).
* `empirical_*_fn`, `monte_carlo_kernel_fn` — finite-width kernels of any complex network.
* `nt_complex.phase` — fixed points, chi and phase diagrams for real and complex blocks.
* `nt_complex.initializers` — initialization families with measured variances.
* `nt_complex.finite_width` — correlation vs depth of deep finite networks vs the c-map.
* `nt_complex.predict` — complex GP inference and NTK training dynamics.
"""

from nt_complex import _nt  # noqa: F401  (first: makes Neural Tangents importable)
from nt_complex import finite_width, initializers, phase, predict, stax
from nt_complex.batching import batch
from nt_complex.empirical import (empirical_kernel_fn, empirical_nngp_fn, empirical_ntk_fn,
                                  monte_carlo_kernel_fn)
from nt_complex.kernel import ComplexKernel, input_kernel

__all__ = [
    "ComplexKernel", "input_kernel", "batch", "stax",
    "empirical_nngp_fn", "empirical_ntk_fn", "empirical_kernel_fn", "monte_carlo_kernel_fn",
    "phase", "initializers", "finite_width", "predict",
]
__version__ = "0.1.0"

"""nt_complex: Neural Tangents for complex-valued networks.

Public API (re-exports only):

* `nt_complex.stax` — layers with complex infinite-width kernels.
* `ComplexKernel`, `input_kernel` — the kernel state and the inputs' kernel.
"""

from nt_complex.kernel import ComplexKernel, input_kernel
from nt_complex import stax

__all__ = ["ComplexKernel", "input_kernel", "stax"]
__version__ = "0.1.0"

"""Complex layers: each returns `(init_fn, apply_fn, kernel_fn)` like `nt.stax`.

`kernel_fn(x1, x2=None, get=None)` returns a `ComplexKernel` with the Hermitian
(`nngp`, `ntk`) and pseudo (`pseudo_nngp`, `pseudo_ntk`) kernels.
"""

from nt_complex.stax.activations.cardioid import Cardioid
from nt_complex.stax.activations.holomorphic import Cosh, Exp, Polynomial, Sinh
from nt_complex.stax.activations.numerical import ElementwiseNumerical
from nt_complex.stax.activations.phase_equivariant import ModReLU
from nt_complex.stax.activations.split import CReLU, Split, SplitErf, erf_kernel, relu_kernel
from nt_complex.stax.combinators import FanInConcat, FanInSum, FanOut, parallel, serial
from nt_complex.stax.activations.zrelu import ZReLU
from nt_complex.stax.softmax import Softmax
from nt_complex.stax.linear import AvgPool, Conv, Dense, Flatten, GlobalAvgPool, Identity

__all__ = [
    "serial", "parallel", "FanOut", "FanInSum", "FanInConcat",
    "Dense", "Conv", "AvgPool", "GlobalAvgPool", "Flatten", "Identity",
    "CReLU", "SplitErf", "Split", "relu_kernel", "erf_kernel",
    "Polynomial", "Exp", "Sinh", "Cosh", "ModReLU", "Cardioid", "ZReLU", "ElementwiseNumerical",
    "Softmax",
]

"""q-maps and c-maps of a block, evaluated by the block's own `kernel_fn`.

A block is `block(W_std, b_std) -> (init_fn, apply_fn, kernel_fn)` from
`nt.stax` (real) or `nt_complex.stax` (complex). We hand its `kernel_fn` a
crafted input kernel of two inputs with per-position variances `q` and
cross-covariances `K12 = q c` and read the same quantities off the output.
For spatial blocks (`input_shape=(H, W)` etc.) the kernel is diagonal in
space: for Conv and pointwise layers the same-position covariances form a
closed, exact system (a convolution's output variance at `p` only reads input
covariances at equal positions `p + a`), so `q` and `c` are arrays over positions.

Conventions: `q`, `c` are the block's *input/output* covariances (for
`serial(Dense, act)` the post-activations, exactly as NT's phase-diagram
notebook); the normalised c-map is `c' = K'12 / K'11`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from nt_complex import _nt
from nt_complex._dtypes import complex_dtype
from nt_complex.kernel import ComplexKernel
from nt_complex.stax._layer import is_complex_layer

__all__ = ["BlockSpec", "pair_kernel", "variance_map", "pair_map"]

Block = Callable[[Any, Any], tuple]


@dataclass(frozen=True)
class BlockSpec:
    """Static facts about a block (probed once, see `nt_complex.phase.probe`).

    Attributes:
      block: `block(W_std, b_std) -> (init_fn, apply_fn, kernel_fn)`.
      spatial_shape: `()` for Dense-like blocks, `(H, W)` (or 1-D/3-D) for Conv.
      is_complex: the block is built from `nt_complex.stax`.
      homogeneous: the bias-free block is positively homogeneous of degree 1
        (ReLU, CReLU, Abs, LeakyRelu, ...): its c-map is scale free.
      structured: `serial(linear layers..., activation)` whose activation
        reports its diagonal moments: q-map and multipliers from them
        (`nt_complex.phase.structured`).
    """

    block: Block
    spatial_shape: tuple[int, ...]
    is_complex: bool
    homogeneous: bool
    structured: bool = False

    @property
    def n_positions(self) -> int:
        """Number of spatial positions (1 for Dense-like blocks)."""
        return int(np.prod(self.spatial_shape, dtype=int))


def is_complex_block(block: Block) -> bool:
    """True if `block(1., 0.)` is an `nt_complex.stax` layer."""
    return is_complex_layer(block(1.0, 0.0))


def pair_kernel(spec: BlockSpec, q: jnp.ndarray, k12: jnp.ndarray | None):
    """Input kernel of 1 (`k12=None`) or 2 inputs with variances `q` and
    cross-covariance `k12`, both shaped `spec.spatial_shape`.

    Example:
      >>> import jax.numpy as jnp
      >>> from neural_tangents import stax
      >>> spec = BlockSpec(lambda w, b: stax.Dense(1, w, b), (), False, True)
      >>> pair_kernel(spec, jnp.array(2.), jnp.array(1.)).nngp.tolist()
      [[2.0, 1.0], [1.0, 2.0]]
    """
    shape = spec.spatial_shape
    if k12 is None:
        nngp = q[None, None]
        n = 1
    else:
        dtype = jnp.result_type(q, k12)
        q = q.astype(dtype)
        k12 = k12.astype(dtype)
        row1 = jnp.stack([q, k12])
        row2 = jnp.stack([jnp.conj(k12), q])
        nngp = jnp.stack([row1, row2])
        n = 2
    # from q itself, not nngp's diagonal: the variances then carry no tangent
    # of k12 (a c-map's derivative sees them as constants)
    cov1 = jnp.stack([q] * n)
    fields = dict(
        nngp=nngp, ntk=None, cov1=cov1, cov2=None, x1_is_x2=jnp.array(True),
        is_gaussian=True, is_reversed=False, is_input=True, diagonal_batch=True,
        diagonal_spatial=bool(shape), shape1=(n, *shape, 1), shape2=(n, *shape, 1),
        batch_axis=0, channel_axis=len(shape) + 1, mask1=None, mask2=None)
    if spec.is_complex:
        cplx = complex_dtype(nngp)
        fields.update(nngp=nngp.astype(cplx), cov1=cov1.astype(cplx))
        return ComplexKernel(**fields)
    return _nt.Kernel(**fields)


def _output(spec: BlockSpec, kernel_fn: Callable, kernel):
    out = kernel_fn(kernel)
    nngp = out.nngp
    expected = kernel.nngp.shape
    if nngp.shape != expected:
        raise ValueError(
            f"the block maps a kernel of shape {expected} to {nngp.shape}: a phase "
            f"diagram needs a block that can be repeated (same input and output "
            f"structure). Drop readout layers (Flatten, GlobalAvgPool, a final "
            f"Dense): they are applied once and do not change the diagram; pass "
            f"input_shape=(H, W, ...) for convolutional blocks.")
    return nngp


def variance_map(spec: BlockSpec, kernel_fn: Callable, q: jnp.ndarray) -> jnp.ndarray:
    """`q -> q'`: output variance per position for input variance `q`.

    Example:
      >>> import jax.numpy as jnp
      >>> from neural_tangents import stax
      >>> spec = BlockSpec(lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Relu()),
      ...                  (), False, True)
      >>> kernel_fn = spec.block(1.0, 0.0)[2]
      >>> float(variance_map(spec, kernel_fn, jnp.array(2.)))  # sigma_w^2 q / 2
      1.0
    """
    nngp = _output(spec, kernel_fn, pair_kernel(spec, q, None))
    return jnp.real(nngp[0, 0])


def pair_map(spec: BlockSpec, kernel_fn: Callable, q: jnp.ndarray,
             k12: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """`(q, K12) -> (q', K'12)` per position.

    Example:
      >>> import jax.numpy as jnp
      >>> from neural_tangents import stax
      >>> spec = BlockSpec(lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Relu()),
      ...                  (), False, True)
      >>> q1, k12 = pair_map(spec, spec.block(2.0 ** 0.5, 0.0)[2], jnp.array(1.), jnp.array(1.))
      >>> round(float(q1), 12), round(float(k12), 12)
      (1.0, 1.0)
    """
    nngp = _output(spec, kernel_fn, pair_kernel(spec, q, k12))
    out12 = nngp[0, 1] if spec.is_complex else jnp.real(nngp[0, 1])
    return jnp.real(nngp[0, 0]), out12

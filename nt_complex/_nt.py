"""The one place where nt_complex touches Neural Tangents' private modules.

Neural Tangents 0.6.5 is the last release (the repository is archived). Its
linear kernel maths (convolution and pooling of covariance tensors, circular
padding) is correct on complex Hermitian and pseudo covariances, so we call it
rather than copy it. Every private name we rely on is imported here and only
here: a future NT (or jax) change touches this file alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
from neural_tangents._src.stax import linear as _linear
from neural_tangents._src.stax import requirements as _requirements
from neural_tangents._src.utils import dataclasses as _dataclasses
from neural_tangents._src.utils.kernel import Kernel

__all__ = [
    "Kernel",
    "Padding",
    "conv_kernel",
    "dataclass",
    "field",
    "fused_input_requirements",
    "pad_circular",
    "pool_kernel",
]

Padding = _linear.Padding
dataclass = _dataclasses.dataclass
field = _dataclasses.field


def fused_input_requirements(kernel_fn: Callable, **user_reqs: Any) -> dict:
    """Requirements on the input kernel of `kernel_fn` (NT's `requires`), fused
    with NT's defaults and the user's overrides (e.g. `diagonal_spatial`)."""
    reqs = _requirements.get_req(kernel_fn, {})
    fused = _requirements._fuse_requirements(
        reqs, _requirements._DEFAULT_INPUT_REQ, **user_reqs)
    return dict(fused)


def conv_kernel(mat: jnp.ndarray, filter_shape: Sequence[int],
                strides: Sequence[int], padding: Padding,
                diagonal_spatial: bool, batch_ndim: int) -> jnp.ndarray:
    """Covariance of a weight-shared convolution's outputs (unscaled: the
    average over the receptive field), for a covariance tensor `mat` with
    `batch_ndim` leading batch axes. Full spatial covariances come out with the
    spatial axis pairs in reversed order (NT's `is_reversed` convention)."""
    if diagonal_spatial:
        return _linear._conv_kernel_diagonal_spatial(
            mat, filter_shape, strides, padding, batch_ndim)
    return _linear._conv_kernel_full_spatial_shared(
        mat, filter_shape, strides, padding, batch_ndim)


def pool_kernel(mat: jnp.ndarray, window_shape: Sequence[int],
                strides: Sequence[int], padding: Padding, normalize_edges: bool,
                diagonal_spatial: bool, batch_ndim: int) -> jnp.ndarray:
    """Covariance of average-pooling outputs for a covariance tensor `mat`.

    `window_shape` and `strides` are per spatial axis in the order of `mat`'s
    spatial axes (already reversed by the caller if the kernel is reversed).
    With diagonal spatial covariances only the diagonal terms of the window
    average survive, hence NT's second normalisation.
    """
    if diagonal_spatial:
        out = _linear._pool_kernel(mat, _linear._Pooling.AVG, window_shape,
                                   strides, padding, normalize_edges,
                                   batch_ndim)
        window = (1,) * batch_ndim + tuple(window_shape)
        steps = (1,) * batch_ndim + tuple(strides)
        return _linear._normalize(mat, out, normalize_edges, padding, steps,
                                  window)
    return _linear._pool_kernel(mat, _linear._Pooling.AVG,
                                tuple(w for w in window_shape for _ in (0, 1)),
                                tuple(s for s in strides for _ in (0, 1)),
                                padding, normalize_edges, batch_ndim)


def pad_circular(x: jnp.ndarray, filter_shape: Sequence[int],
                 strides: Sequence[int], axes: Sequence[int]) -> jnp.ndarray:
    """Wrap-pad `x` so that a VALID window op equals a CIRCULAR (SAME-sized) one."""
    return _linear._same_pad_for_filter_shape(x, filter_shape, strides, axes,
                                              mode="wrap")

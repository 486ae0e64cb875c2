"""`batch`: NT's `nt.batch` for complex `kernel_fn`s, returning full `ComplexKernel`s.

NT's `nt.batch` rebuilds a plain `Kernel` for `get=None` (the pseudo fields are
lost) and flattens every unknown array field as if it were `(N1, N2)`-shaped.
`batch` therefore hands NT a block function returning a namedtuple NT knows how
to assemble: the `(N1, N2)` fields by name, and the per-example covariances
stacked on a trailing axis under NT's own names `cov1` / `cov2`. NT's public
`nt.batch` then does the block loop (serial batches, devices, `store_on_device`)
and `batch` rebuilds the `ComplexKernel` (metadata from an abstract evaluation).
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable
from typing import Any, Optional, Union

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np

from nt_complex.kernel import FIELDS, ComplexKernel, canonical_get, kernel_namedtuple

__all__ = ["batch"]

_PAIR_FIELDS = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")
_COV_GROUPS = {"cov1": ("cov1", "pseudo_cov1"), "cov2": ("cov2", "pseudo_cov2")}


def _block_layout(names: tuple[str, ...]) -> tuple[tuple[str, ...], dict]:
    """NT-assemblable block fields for kernel fields `names`, and for `cov1` /
    `cov2` the kernel fields stacked in them (in order)."""
    stacked = {block: tuple(n for n in members if n in names)
               for block, members in _COV_GROUPS.items()}
    stacked = {block: members for block, members in stacked.items() if members}
    fields = tuple(n for n in names if n in _PAIR_FIELDS) + tuple(stacked)
    return fields, stacked


def batch(kernel_fn: Callable, batch_size: int = 0, device_count: int = -1,
          store_on_device: bool = True) -> Callable:
    """NT's `nt.batch` for nt_complex `kernel_fn`s (same signature and meaning).

    The batched function returns exactly what `kernel_fn` returns: a full
    `ComplexKernel` for ``get=None`` (all pseudo fields, diagonals and
    metadata), an array for a string `get`, a namedtuple for a tuple. It
    equals the unbatched kernel to rounding, diagonal included: NT's blocks
    pair an input with itself as ``x1[n]``, ``x2[m]`` of a call with `x2`
    given, and the activation layers give such copies the same-point kernel
    (`docs/conventions.md`, numerical notes).

    Args:
      kernel_fn: an nt_complex ``kernel_fn(x1, x2=None, get=None, **kwargs)``.
      batch_size: examples per block per device (``0``: no serial batching);
        as in NT, ``N1`` must divide by ``device_count * batch_size`` and
        ``N2`` by `batch_size`.
      device_count: devices to use (``-1``: all, ``0``: none).
      store_on_device: ``False`` moves each block to host memory as it is
        computed (bounded device memory for large kernels).

    Returns:
      ``batched_kernel_fn(x1, x2=None, get=None, **kwargs)``; `x1`, `x2` are
      input arrays (kernel inputs are not supported).

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, _, kernel_fn = stax.serial(stax.Dense(8, W_pseudo=0.5), stax.CReLU(),
      ...                               stax.Dense(1, W_pseudo=0.5))
      >>> x = jnp.arange(8.).reshape(4, 2) * (1 + 0.5j)
      >>> k = batch(kernel_fn, batch_size=2, device_count=0)(x, None)
      >>> type(k).__name__, k.pseudo_nngp.shape
      ('ComplexKernel', (4, 4))
      >>> bool(jnp.allclose(k.ntk, kernel_fn(x, None).ntk, rtol=1e-12, atol=0))
      True
    """

    @functools.lru_cache(maxsize=None)
    def batched_blocks(names: tuple[str, ...], full: bool) -> Callable:
        fields, stacked = _block_layout(names)
        blocks_type = collections.namedtuple("ComplexBlocks", fields)

        @functools.wraps(kernel_fn)  # keeps NT's input requirements
        def blocks(x1, x2, **kwargs):
            k = kernel_fn(x1, x2, get=None if full else names, **kwargs)
            value = (lambda n: getattr(k, n)) if full else dict(zip(names, k)).get
            out = {n: value(n) for n in fields if n in _PAIR_FIELDS}
            for block, members in stacked.items():
                parts = [value(n) for n in members]
                dtype = jnp.result_type(*parts)
                out[block] = jnp.stack([p.astype(dtype) for p in parts], axis=-1)
            return blocks_type(**out)

        return nt.batch(blocks, batch_size, device_count, store_on_device)

    @functools.wraps(kernel_fn)
    def batched_kernel_fn(x1: Any, x2: Optional[Any] = None,
                          get: Union[None, str, tuple] = None, **kwargs) -> Any:
        if not isinstance(x1, (jnp.ndarray, np.ndarray)) or not (
                x2 is None or isinstance(x2, (jnp.ndarray, np.ndarray))):
            raise TypeError(
                f"nt_complex.batch: x1 and x2 must be input arrays (x2 may be None); "
                f"got {type(x1).__name__} and {type(x2).__name__}.")
        x1 = jnp.asarray(x1)
        x2_given = x2 is not None
        x2 = jnp.asarray(x2) if x2_given else x1
        template = jax.eval_shape(
            lambda a, b: kernel_fn(a, b, get=None, **kwargs), x1[:1], x2[:1])
        if not isinstance(template, ComplexKernel):
            raise TypeError(
                f"nt_complex.batch needs an nt_complex kernel_fn (returning a "
                f"ComplexKernel for get=None); got {type(template).__name__}. "
                f"Use nt.batch for Neural Tangents kernel_fns.")
        if template.mask1 is not None or template.mask2 is not None:
            raise NotImplementedError("nt_complex.batch does not support masked inputs.")
        requested = canonical_get(get)
        present = tuple(n for n in FIELDS if getattr(template, n) is not None)
        names = present if requested is None else requested
        if not x2_given:
            names = tuple(n for n in names if n not in ("cov2", "pseudo_cov2"))
        blocks = batched_blocks(names, requested is None)
        out = blocks(x1, x2 if x2_given else None, **kwargs)
        values = _unstack(out, names, template)
        if requested is not None:
            missing = [n for n in requested if n not in values]  # cov2 with x2=None
            values.update({n: None for n in missing})
            if isinstance(get, str):
                return values[get]
            return kernel_namedtuple(requested)(*(values[n] for n in requested))
        return _assemble(template, values, x1, x2, x2_given)

    return batched_kernel_fn


def _unstack(out: Any, names: tuple[str, ...], template: ComplexKernel) -> dict:
    """Kernel fields from the assembled blocks (cov groups unstacked and cast
    back to their own dtypes)."""
    _, stacked = _block_layout(names)
    values = {n: getattr(out, n) for n in names if n in _PAIR_FIELDS}
    for block, members in stacked.items():
        array = getattr(out, block)
        if array is None:  # cov2 of x2=None
            continue
        for i, name in enumerate(members):
            part = array[..., i]
            like = getattr(template, name)
            if like is not None and not jnp.issubdtype(like.dtype, jnp.complexfloating):
                part = jnp.real(part)
            values[name] = part
    return values


def _assemble(template: ComplexKernel, values: dict, x1: jnp.ndarray, x2: jnp.ndarray,
              x2_given: bool) -> ComplexKernel:
    """The full `ComplexKernel`: batched fields plus the template's metadata."""
    axis = template.batch_axis

    def with_batch(shape, n):
        return shape[:axis] + (n,) + shape[axis + 1:]

    fields = {n: values.get(n) for n in FIELDS}
    if not x2_given:
        fields.update(cov2=None, pseudo_cov2=None)
    return template.replace(
        **fields, x1_is_x2=jnp.array(not x2_given), mask1=None, mask2=None,
        shape1=with_batch(template.shape1, x1.shape[0]),
        shape2=with_batch(template.shape2, x2.shape[0]))

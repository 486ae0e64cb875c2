"""Turning `(init_fn, apply_fn, rule)` into a layer whose `kernel_fn` speaks
complex.

We reuse NT's public `layer` decorator for everything it does right on a
`ComplexKernel` (requirement checks, shape propagation through `apply_fn`), and
replace only its array entry point, which would cast complex inputs to real.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Optional, Union

import jax
import jax.numpy as jnp
from neural_tangents import stax as nt_stax

from nt_complex import _nt
from nt_complex.kernel import ComplexKernel, canonical_get, input_kernel, kernel_namedtuple
from nt_complex.empirical.probe import mark_probeable

Get = Union[None, str, Sequence[str]]
Layer = tuple[Callable, Callable, Callable]

_MARK = "_nt_complex_layer"


def _is_kernel_tree(x: Any) -> bool:
    leaves = jax.tree_util.tree_leaves(
        x, is_leaf=lambda y: isinstance(y, _nt.Kernel))
    return bool(leaves) and all(isinstance(y, _nt.Kernel) for y in leaves)


def _finish(kernel: ComplexKernel) -> ComplexKernel:
    """Undo NT's internal spatial-axis reversal before handing a kernel out."""
    if isinstance(kernel, ComplexKernel) and kernel.is_reversed and not kernel.diagonal_spatial:
        return kernel.reverse()
    return kernel


def _select(kernel, get: Optional[tuple[str, ...]], single: bool):
    if get is None:
        return kernel
    if not isinstance(kernel, ComplexKernel):
        return jax.tree_util.tree_map(
            lambda k: _select(k, get, single), kernel,
            is_leaf=lambda k: isinstance(k, ComplexKernel))
    values = [kernel.get(name) for name in get]
    return values[0] if single else kernel_namedtuple(get)(*values)


def wrap_kernel_fn(kernel_any: Callable) -> Callable:
    """Give NT's `kernel_fn` (from `nt.stax.layer`) a complex array entry point."""

    @functools.wraps(kernel_any)  # keeps NT's input requirements
    def kernel_fn(x1_or_kernel, x2=None, get: Get = None, *,
                  diagonal_spatial: Optional[bool] = None, **kwargs):
        """Complex NNGP/NTK and pseudo-kernels.

        Args:
          x1_or_kernel: `(N1, *spatial, C)` real or complex inputs, or a
            `ComplexKernel` (or a tree of them for `parallel`).
          x2: `(N2, *spatial, C)` inputs or `None` (meaning `x1`).
          get: `None` (the whole `ComplexKernel`), a field name, or a tuple of
            names from `nngp, ntk, cov1, cov2, pseudo_nngp, pseudo_ntk,
            pseudo_cov1, pseudo_cov2`.
          diagonal_spatial: force (or forbid) diagonal spatial covariances;
            default: the cheapest setting the network allows (as NT).
        """
        names = canonical_get(get)
        if _is_kernel_tree(x1_or_kernel):
            if x2 is not None:
                raise ValueError("x2 must be None when a kernel is passed.")
            for k in jax.tree_util.tree_leaves(
                    x1_or_kernel, is_leaf=lambda y: isinstance(y, _nt.Kernel)):
                if not isinstance(k, ComplexKernel):
                    raise TypeError(
                        "kernel_fn expects a ComplexKernel (or arrays); got a plain NT "
                        "Kernel, which has no pseudo-covariance. Build the input kernel "
                        "with nt_complex.input_kernel(x1, x2) or pass the arrays.")
            out = kernel_any(x1_or_kernel, diagonal_spatial=diagonal_spatial, **kwargs)
            return _select(out, names, isinstance(get, str))

        reqs = _nt.fused_input_requirements(kernel_any, diagonal_spatial=diagonal_spatial)
        if not reqs["diagonal_batch"]:
            raise NotImplementedError("diagonal_batch=False is not supported by nt_complex.")
        if reqs["mask_constant"] is not None or "mask_constant" in kwargs:
            raise NotImplementedError("masking (mask_constant) is not supported by nt_complex.")
        diagonal = bool(reqs["diagonal_spatial"])
        if reqs["channel_axis"] is None:  # the network starts with Flatten
            x1_or_kernel, x2 = (None if x is None else jnp.reshape(x, (x.shape[0], -1))
                                for x in (x1_or_kernel, x2))
            diagonal = False
        compute_ntk = names is None or any(n in ("ntk", "pseudo_ntk") for n in names)
        k = input_kernel(x1_or_kernel, x2, diagonal_spatial=diagonal, compute_ntk=compute_ntk)
        out = _finish(kernel_any(k, **kwargs))
        return _select(out, names, isinstance(get, str))

    setattr(kernel_fn, _MARK, True)
    return kernel_fn


def build_layer(name: str, init_fn: Callable, apply_fn: Callable,
                rule: Callable) -> Layer:
    """`(init_fn, apply_fn, rule)` -> a layer with a complex `kernel_fn`.

    `rule(k: ComplexKernel, **kwargs) -> ComplexKernel` should carry NT's
    `requires(...)` decoration; `apply_fn` must accept complex inputs (NT runs
    it on abstract values to propagate shapes).
    """
    def layer_fn():
        return init_fn, apply_fn, rule
    layer_fn.__name__ = name
    init_fn, apply_fn, kernel_any = nt_stax.layer(layer_fn)()
    return init_fn, mark_probeable(apply_fn), wrap_kernel_fn(kernel_any)


def complex_layer(layer_fn: Callable[..., Layer]) -> Callable[..., Layer]:
    """Decorator form of `build_layer` for `layer_fn(...) -> (init, apply, rule)`."""

    @functools.wraps(layer_fn)
    def make(*args, **kwargs) -> Layer:
        return build_layer(layer_fn.__name__, *layer_fn(*args, **kwargs))

    return make


def is_complex_layer(layer: Layer) -> bool:
    """True for layers built by nt_complex (their `kernel_fn` speaks complex)."""
    return bool(getattr(layer[2], _MARK, False))


def guard_foreign(layer: Layer) -> Layer:
    """Make a non-nt_complex layer (e.g. from `nt.stax`) fail loudly on complex
    data instead of silently dropping imaginary parts and pseudo-covariances."""
    if is_complex_layer(layer):
        return layer
    init_fn, apply_fn, kernel_fn = layer
    name = getattr(kernel_fn, "__name__", "layer")

    def guarded_apply(params, inputs, **kwargs):
        if any(jnp.iscomplexobj(x) for x in jax.tree_util.tree_leaves(inputs)):
            raise TypeError(
                f"{name} (a real-only nt.stax layer) received complex inputs; use the "
                f"nt_complex.stax layer of the same name instead.")
        return apply_fn(params, inputs, **kwargs)

    def guarded_kernel(k, **kwargs):
        raise TypeError(
            f"{name} is a real-only nt.stax layer: its kernel_fn would treat a complex "
            f"Gaussian process as real (dropping Im parts and pseudo-covariances). Use "
            f"the nt_complex.stax layer of the same name (e.g. CReLU for Relu).")

    functools.update_wrapper(guarded_kernel, kernel_fn)
    return init_fn, guarded_apply, guarded_kernel

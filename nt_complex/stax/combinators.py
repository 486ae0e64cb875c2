"""Combinators: `serial`, `parallel`, `FanOut`, `FanInSum`, `FanInConcat`.

`serial`, `parallel` and `FanOut` are NT's own (they only route kernels);
`FanInSum`/`FanInConcat` are ours because NT's rebuild a plain `Kernel` and
would drop the pseudo fields. A layer from `nt.stax` placed in our `serial` or
`parallel` fails loudly on complex data instead of silently treating it as real.
"""

from __future__ import annotations

from typing import Optional

import jax.numpy as jnp
from neural_tangents import stax as nt_stax

from nt_complex.kernel import PSEUDO_OF, ComplexKernel
from nt_complex.empirical.probe import is_probeable, mark_probeable
from nt_complex.stax._layer import Layer, complex_layer, guard_foreign, wrap_kernel_fn

__all__ = ["serial", "serial_layers", "parallel", "parallel_layers", "FanOut", "FanInSum",
           "FanInConcat"]

#: Attributes of a `serial` and a `parallel` kernel_fn holding their layers
#: (read by nt_complex.phase).
SERIAL_LAYERS = "_nt_complex_serial_layers"
PARALLEL_LAYERS = "_nt_complex_parallel_layers"


def _mark_if_all_ours(apply_fn, layers):
    """The structured empirical NTK may probe a combination of our layers only."""
    if all(is_probeable(layer[1]) for layer in layers):
        mark_probeable(apply_fn)
    return apply_fn


def serial(*layers: Layer) -> Layer:
    """Compose layers in sequence (as `nt.stax.serial`).

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, kernel_fn = stax.serial(
      ...     stax.Dense(512), stax.CReLU(), stax.Dense(1))
      >>> x = jnp.array([[1 + 1j, 0.5j], [0.3, -1j]])
      >>> kernel_fn(x, None, ('nngp', 'pseudo_nngp')).nngp.shape
      (2, 2)
    """
    if not layers:
        raise ValueError("serial needs at least one layer.")
    init_fn, apply_fn, kernel_any = nt_stax.serial(*map(guard_foreign, layers))
    kernel_fn = wrap_kernel_fn(kernel_any)
    setattr(kernel_fn, SERIAL_LAYERS, tuple(layers))
    return init_fn, _mark_if_all_ours(apply_fn, layers), kernel_fn


def serial_layers(layer: Layer) -> tuple[Layer, ...]:
    """The layers of a (nested) `serial`, flattened; `(layer,)` for any other layer.

    Example:
      >>> from nt_complex import stax
      >>> block = stax.serial(stax.Dense(4), stax.serial(stax.Dense(4), stax.CReLU()))
      >>> len(serial_layers(block))
      3
    """
    parts = getattr(layer[2], SERIAL_LAYERS, None)
    if parts is None:
        return (layer,)
    return tuple(sub for part in parts for sub in serial_layers(part))


def parallel(*layers: Layer) -> Layer:
    """Apply layers to the matching elements of a list/tuple of inputs.

    Example:
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, kernel_fn = stax.serial(
      ...     stax.FanOut(2), stax.parallel(stax.Dense(4), stax.Identity()),
      ...     stax.FanInConcat())
    """
    init_fn, apply_fn, kernel_any = nt_stax.parallel(*map(guard_foreign, layers))
    kernel_fn = wrap_kernel_fn(kernel_any)
    setattr(kernel_fn, PARALLEL_LAYERS, tuple(layers))
    return init_fn, _mark_if_all_ours(apply_fn, layers), kernel_fn


def parallel_layers(layer: Layer) -> Optional[tuple[Layer, ...]]:
    """The branches of a `parallel` layer, None for any other layer.

    Example:
      >>> from nt_complex import stax
      >>> len(parallel_layers(stax.parallel(stax.Dense(4), stax.Identity())))
      2
      >>> parallel_layers(stax.Dense(4)) is None
      True
    """
    return getattr(layer[2], PARALLEL_LAYERS, None)


def FanOut(num: int) -> Layer:
    """Copy the input `num` times (for residual and multi-branch networks).

    Example:
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, kernel_fn = stax.FanOut(2)
    """
    init_fn, apply_fn, kernel_any = nt_stax.FanOut(num)
    return init_fn, mark_probeable(apply_fn), wrap_kernel_fn(kernel_any)


def _check_branches(ks, name: str):
    if not isinstance(ks, (list, tuple)) or not all(isinstance(k, ComplexKernel) for k in ks):
        raise TypeError(f"{name} expects a list of ComplexKernels from parallel branches.")
    ks = [k.reverse() if k.is_reversed and not k.diagonal_spatial else k for k in ks]
    first = ks[0]
    for k in ks[1:]:
        if k.diagonal_spatial != first.diagonal_spatial or k.shape1[:-1] != first.shape1[:-1]:
            raise ValueError(f"{name}: branches disagree on shapes {[k.shape1 for k in ks]}.")
    return ks


def _combine(ks, weights) -> dict:
    """Weighted sums of every field across branches (pseudo: None = 0)."""
    out = {}
    for name in ("nngp", "ntk", "cov1", "cov2"):
        values = [getattr(k, name) for k in ks]
        out[name] = None if values[0] is None else sum(w * v for w, v in zip(weights, values))
        pname = PSEUDO_OF[name]
        if all(k.is_circular for k in ks) or out[name] is None:
            out[pname] = None
        else:
            terms = [w * getattr(k, pname) for w, k in zip(weights, ks)
                     if not k.is_circular]
            out[pname] = sum(terms) + jnp.zeros(jnp.shape(out[name]), jnp.complex64)
    return out


@complex_layer
def FanInSum():
    """Sum the outputs of parallel branches (residual connections).

    Example:
      >>> from nt_complex import stax
      >>> block = stax.serial(stax.FanOut(2),
      ...                     stax.parallel(stax.Dense(8), stax.Identity()),
      ...                     stax.FanInSum())
    """
    def init_fn(rng, input_shapes):
        return input_shapes[0], ()

    def apply_fn(params, inputs, **kwargs):
        return sum(inputs)

    def rule(ks, **kwargs):
        ks = _check_branches(ks, "FanInSum")
        fields = _combine(ks, [1.0] * len(ks))
        return ks[0].replace(**fields, is_gaussian=all(k.is_gaussian for k in ks),
                             is_input=all(k.is_input for k in ks))

    return init_fn, apply_fn, rule


@complex_layer
def FanInConcat():
    """Concatenate parallel branches along the channel axis.

    The kernel is the channel-weighted average of the branches' kernels.

    Example:
      >>> from nt_complex import stax
      >>> block = stax.serial(stax.FanOut(2),
      ...                     stax.parallel(stax.Dense(8), stax.Identity()),
      ...                     stax.FanInConcat())
    """
    def init_fn(rng, input_shapes):
        channels = sum(s[-1] for s in input_shapes)
        return tuple(input_shapes[0][:-1]) + (channels,), ()

    def apply_fn(params, inputs, **kwargs):
        dtype = jnp.result_type(*[x.dtype for x in inputs])
        return jnp.concatenate([x.astype(dtype) for x in inputs], axis=-1)

    def rule(ks, **kwargs):
        ks = _check_branches(ks, "FanInConcat")
        channels = [k.shape1[-1] for k in ks]
        weights = [c / sum(channels) for c in channels]
        fields = _combine(ks, weights)
        return ks[0].replace(**fields, is_gaussian=all(k.is_gaussian for k in ks),
                             is_input=all(k.is_input for k in ks))

    return init_fn, apply_fn, rule

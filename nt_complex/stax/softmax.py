"""`Softmax`: a finite-width layer whose infinite-width kernel does not exist
in closed form (so its `kernel_fn` raises, explaining why)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from neural_tangents import stax as nt_stax

from nt_complex._validation import check_choice
from nt_complex.kernel import ComplexKernel
from nt_complex.empirical.probe import PROBE_KWARG
from nt_complex.stax._layer import Layer, build_layer

__all__ = ["Softmax", "SOFTMAX_KERNEL_MESSAGE"]

_PARTS = ("abs", "real")

#: The explanation `Softmax`'s `kernel_fn` raises with.
SOFTMAX_KERNEL_MESSAGE = (
    "Softmax has no infinite-width kernel: a softmax over an axis whose size goes "
    "to infinity (e.g. the channels of a hidden layer) tends to the constant 0, and "
    "a softmax over a finite axis (e.g. class logits) has no known closed-form "
    "covariance of its (non-Gaussian) outputs. Use "
    "nt_complex.empirical_kernel_fn / nt_complex.empirical_ntk_fn for the kernels "
    "of a finite network, or nt_complex.monte_carlo_kernel_fn to estimate the "
    "expected kernels; for analytic kernels, call kernel_fn of the network without "
    "the softmax head (the pre-softmax logits).")


def Softmax(axis: int = -1, part: str = "abs") -> Layer:
    """Softmax over `axis`: of `|z|` (`part='abs'`) or `Re z` (`part='real'`)
    for complex inputs, of `z` for real inputs. No parameters.

    `apply_fn` works (so empirical and Monte Carlo kernels of networks with a
    softmax head work); `kernel_fn` raises `NotImplementedError` with
    `SOFTMAX_KERNEL_MESSAGE`.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex.stax.softmax import Softmax
      >>> init_fn, apply_fn, kernel_fn = Softmax()
      >>> [round(v, 6) for v in apply_fn((), jnp.array([[3j, -3.]]))[0].tolist()]
      [0.5, 0.5]
    """
    if not isinstance(axis, int):
        raise TypeError(f"axis must be an int; got {axis!r}.")
    part = check_choice(part, "part", _PARTS).lower()

    def init_fn(rng, input_shape):
        return input_shape, ()

    def apply_fn(params, inputs, **kwargs):
        if PROBE_KWARG in kwargs and axis % jnp.ndim(inputs) == 0:
            raise ValueError(
                f"Softmax(axis={axis}) normalises over the batch axis, so examples are "
                "not independent and the structured empirical NTK does not apply; "
                "pass implementation=1 or 2 to the empirical kernel function.")
        if jnp.iscomplexobj(inputs):
            inputs = jnp.abs(inputs) if part == "abs" else jnp.real(inputs)
        return jax.nn.softmax(inputs, axis=axis)

    @nt_stax.requires(diagonal_spatial=nt_stax.Diagonal())
    def rule(k: ComplexKernel, **kwargs) -> ComplexKernel:
        raise NotImplementedError(SOFTMAX_KERNEL_MESSAGE)

    return build_layer(f"Softmax(axis={axis}, part={part!r})", init_fn, apply_fn, rule)

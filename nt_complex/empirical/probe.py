"""Layer probes: how the structured empirical NTK sees inside `nt_complex.stax`.

Every parameterised layer of `nt_complex.stax` computes its output through
`probed_layer`. Normally that is just `compute(params, inputs)`. When the
structured NTK (`nt_complex.empirical.structured`) calls a network's
`apply_fn` with a `Probe` under the keyword `PROBE_KWARG`, each such layer
also records its inputs and parameters and adds a (zero) perturbation
`delta` to its output, so that `d out / d delta` is the cotangent of that
layer's output. NT's `serial`/`parallel` pass keyword arguments to every
layer, which is what carries the probe through a whole network.

A network is *probeable* (`is_probeable(apply_fn)`) when every layer in it was
built by `nt_complex.stax`: then each parameter leaf belongs to exactly one
layer and enters the output only through that layer's `compute`, and the
network is batch-independent (checked at run time for `Softmax(axis=0)`).
Any other function is probed through its jaxpr instead (`nt_complex.empirical.jaxpr_probe`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["PROBE_KWARG", "LinearStructure", "Probe", "probed_layer", "mark_probeable",
           "is_probeable"]

PROBE_KWARG = "_nt_complex_probe"
_PROBEABLE = "_nt_complex_probeable"


class LinearStructure(NamedTuple):
    """How a linear layer depends on its real leaves `theta`.

    The layer computes `z[p, j] = kappa sum_q patches(x)[p, q] W[q, j] +
    kappa_b b[j]` over positions `p` (none for a Dense layer on flat inputs;
    `outputs` rearranges `z` into that `(1, *positions, m)` layout),
    with `W = sum_l c_l theta_l` elementwise (some fixed ordering of `q`), and
    `weight = kappa^2 sum_l |c_l|^2`, `weight_pseudo = kappa^2 sum_l c_l^2`;
    the bias likewise (zeros if absent).
    """

    weight: float
    weight_pseudo: complex
    bias: float
    bias_pseudo: complex
    patches: Callable[[jnp.ndarray], jnp.ndarray]  # x (batch 1) -> (1, *positions, q)
    outputs: Callable[[jnp.ndarray], jnp.ndarray] = lambda z: z  # z -> (1, *positions, m)


class Record(NamedTuple):
    """One probed layer call."""

    params: Any
    inputs: Any
    out: jax.ShapeDtypeStruct
    structure: LinearStructure


class Probe:
    """Collects `Record`s and, given `deltas`, perturbs each layer's output.

    `deltas[i]` is `(d_re, d_im)` for a complex output and `(d_re,)` for a real
    one; `deltas=None` only records (used to discover the shapes).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, _ = stax.serial(stax.Dense(3), stax.CReLU(), stax.Dense(2))
      >>> _, params = init_fn(jax.random.PRNGKey(0), (1, 4))
      >>> probe = Probe()
      >>> _ = apply_fn(params, jnp.ones((1, 4)) * 1j, **{PROBE_KWARG: probe})
      >>> [r.out.shape for r in probe.records]
      [(1, 3), (1, 2)]
    """

    def __init__(self, deltas: Optional[list] = None):
        self.deltas = deltas
        self.records: list[Record] = []

    def __call__(self, params, inputs, out, structure: LinearStructure):
        index = len(self.records)
        self.records.append(Record(params, inputs, jax.ShapeDtypeStruct(out.shape, out.dtype),
                                   structure))
        if self.deltas is None:
            return out
        delta = self.deltas[index]
        if jnp.iscomplexobj(out):
            return out + lax.complex(*delta).astype(out.dtype)
        return out + delta[0].astype(out.dtype)


def probed_layer(kwargs: dict, compute: Callable, params, inputs,
                 structure: LinearStructure) -> jnp.ndarray:
    """`compute(params, inputs)`, recorded and perturbed when a `Probe` is passed.

    Example:
      >>> import jax.numpy as jnp
      >>> structure = LinearStructure(1., 0., 0., 0., lambda x: x)
      >>> probed_layer({}, lambda p, x: p * x, 2., jnp.ones(2), structure).tolist()
      [2.0, 2.0]
    """
    out = compute(params, inputs)
    probe = kwargs.get(PROBE_KWARG)
    if probe is None:
        return out
    return probe(params, inputs, out, structure)


def mark_probeable(apply_fn: Callable) -> Callable:
    """Declare that `apply_fn` is built only from `nt_complex.stax` layers.

    Example:
      >>> apply_fn = mark_probeable(lambda params, x, **kwargs: x)
      >>> is_probeable(apply_fn)
      True
    """
    setattr(apply_fn, _PROBEABLE, True)
    return apply_fn


def is_probeable(apply_fn: Callable) -> bool:
    """True if `apply_fn` is an `nt_complex.stax` network (see module docstring).

    Example:
      >>> from nt_complex import stax
      >>> is_probeable(stax.serial(stax.Dense(2), stax.CReLU())[1])
      True
      >>> is_probeable(lambda params, x: x)
      False
    """
    return bool(getattr(apply_fn, _PROBEABLE, False))

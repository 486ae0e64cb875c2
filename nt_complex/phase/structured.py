"""Blocks `serial(linear layers..., activation)` whose activation reports its
diagonal moments (`nt_complex.stax.activations.diagonal`).

For them the q-map and the multipliers at `c = 1` need no kernel evaluation of
the activation: the linear layers (Dense, Conv, pooling: exact, linear in the
kernel) map the block's input variance `q` to the pre-activation variance
`q_pre`, and the activation contributes `E|f|^2(q_pre)` (q-map) and the
slopes `par`, `phase` (c = 1). A perturbation `dK12` of the block's input
becomes `dK_pre = J dK12` (a jvp through the linear layers), then
`par Re(dK_pre) + i phase Im(dK_pre)` at the output. Autodiff never touches
the activation's same-point branch, whose `|rho|`-derivative it cannot see.

Any other block (several activations, NT's real layers, an activation
without a diagonal rule) uses the generic path in `nt_complex.phase.solve`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

from nt_complex.phase.conv import spectral_radius
from nt_complex.phase.maps import pair_kernel
from nt_complex.stax._layer import is_complex_layer
from nt_complex.stax.activations.diagonal import DiagonalRule, diagonal_rule
from nt_complex.stax.combinators import serial_layers

__all__ = ["StructuredBlock", "split_block", "structured_maps"]


class StructuredBlock(NamedTuple):
    """`linear`: the layers before the activation; `rule`: its diagonal rule."""

    linear: tuple
    rule: DiagonalRule


def split_block(layer: tuple) -> Optional[StructuredBlock]:
    """`StructuredBlock` if `layer` is `serial(our linear layers..., activation
    with a diagonal rule)` with exactly one activation, else None.

    Example:
      >>> from nt_complex import stax
      >>> split_block(stax.serial(stax.Dense(4), stax.CReLU())) is not None
      True
      >>> split_block(stax.serial(stax.Dense(4), stax.CReLU(), stax.Dense(4), stax.CReLU()))
    """
    layers = serial_layers(layer)
    rule = diagonal_rule(layers[-1])
    linear = layers[:-1]
    if rule is None or not linear:
        return None
    if any(diagonal_rule(sub) is not None or not is_complex_layer(sub) for sub in linear):
        return None
    return StructuredBlock(linear, rule)


def _through(linear: tuple, kernel):
    for sub in linear:
        kernel = sub[2](kernel)
    if not kernel.is_gaussian or not kernel.is_circular:
        raise ValueError("the layers before the activation must give a circular Gaussian "
                         "kernel (linear layers with W_pseudo = b_pseudo = 0).")
    return kernel


class StructuredMaps(NamedTuple):
    """`q_map(q)` (flat positions) and `multipliers(q) -> (chi_par, chi_phase)`."""

    q_map: Callable
    multipliers: Callable


def structured_maps(spec, parts: StructuredBlock) -> StructuredMaps:
    """The q-map and the c = 1 multipliers of a `StructuredBlock` (see module doc).

    `spec` is the block's `BlockSpec` (spatial shape, complex).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> from nt_complex.phase.maps import BlockSpec
      >>> block = lambda w, b: stax.serial(stax.Dense(1, w, b), stax.CReLU())
      >>> spec = BlockSpec(block, (), True, True)
      >>> maps = structured_maps(spec, split_block(block(2.0 ** 0.5, 0.0)))
      >>> [round(float(x), 12) for x in maps.multipliers(jnp.ones(1))]  # W/2, W/4
      [1.0, 0.5]
    """
    shape = spec.spatial_shape

    def pre_variance(q):
        kernel = _through(parts.linear, pair_kernel(spec, q.reshape(shape), None))
        return jnp.real(kernel.nngp[0, 0]).reshape(-1)

    def q_map(q):
        return parts.rule(pre_variance(q)).variance

    def multipliers(q):
        q = q.reshape(-1)
        slopes = parts.rule(pre_variance(q))
        k12 = q.astype(jnp.result_type(q, jnp.complex64))

        def pre_cov(k):
            out = _through(parts.linear, pair_kernel(spec, q.reshape(shape), k.reshape(shape)))
            return out.nngp[0, 1].reshape(-1)

        def chi(direction, slope, part):
            basis = jnp.eye(q.size, dtype=k12.dtype) * direction
            tangents = jax.vmap(lambda t: jax.jvp(pre_cov, (k12,), (t,))[1])(basis)
            moved = part(tangents)                       # (tangent, position)
            cols = jnp.where(moved == 0, 0.0, slope * moved)
            infinite = jnp.any(jnp.isinf(cols))
            radius = spectral_radius(jnp.where(jnp.isinf(cols), 0.0, cols).T)
            return jnp.where(infinite, jnp.inf, radius)

        return (chi(1.0, slopes.par, jnp.real), chi(1j, slopes.phase, jnp.imag))

    return StructuredMaps(q_map, multipliers)

"""Blocks made of linear layers and activations that report their diagonal
moments (`nt_complex.stax.activations.diagonal`): exact q-maps and multipliers.

A *structured* block is `serial(L_1, A_1, L_2, A_2, ..., L_k, A_k, T)`: `k >= 1`
segments, each a group `L_i` of our circular linear layers (`Dense`, `Conv`,
`AvgPool`, `Identity`) followed by one activation `A_i` with a diagonal rule,
then optional trailing linear layers `T`. Every `L_i` is non-empty except
possibly `L_1` when `T` is not (then `A_1` reads the previous block's `T`).

For them the q-map and the multipliers at `c = 1` need no kernel evaluation of
the activations. The block's variance `q` (its *output*, i.e. after `T`, or
after `A_k` when there is no `T`) maps as: `q_pre_i = L_i(q_i)` (the linear
layers, exact and linear in the kernel), `q_{i+1} = E|f_i|^2(q_pre_i)` (the
rule), the output `T(q_{k+1})`. At `c = 1` a perturbation `dK` of segment i's
input becomes `J_i dK` through `L_i` (a jvp; `J_i` is a positions x positions
matrix with real coefficients, the identity for an empty group), then
`par_i Re + i phase_i Im` through `A_i`, each slope at that segment's own
pre-activation variance `q_pre_i` along the fixed point. So

    chi_par   = rho(J_T D(par_k) J_k ... D(par_1) J_1),
    chi_phase = rho(J_T D(phase_k) J_k ... D(phase_1) J_1),

`rho` the spectral radius, `D(s)` the diagonal matrix of the slopes over
positions; for a Dense block `chi_par = prod_i W_var_i (E|f_z|^2 + E|f_zb|^2)_i`.
An infinite slope (an activation that jumps) coupled to the output by a path of
nonzero entries makes chi `+inf`; one met only by exactly-zero couplings
contributes nothing (never `0 * inf = NaN`). Autodiff never touches an
activation's same-point branch, whose `|rho|`-derivative it cannot see.

Any other block (a layer that is not one of the linear layers above, an
activation without a diagonal rule, two activations in a row, an activation
whose input is not a circular Gaussian kernel, NT's real layers) uses the
generic path in `nt_complex.phase.solve`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

from nt_complex._dtypes import complex_dtype
from nt_complex.phase.conv import spectral_radius
from nt_complex.phase.maps import BlockSpec, pair_kernel
from nt_complex.stax._layer import is_complex_layer
from nt_complex.stax.activations.diagonal import DiagonalMoments, DiagonalRule, diagonal_rule
from nt_complex.stax.combinators import serial_layers

__all__ = ["Segment", "StructuredBlock", "split_block", "check_activation_inputs",
           "structured_maps"]

#: Our layers that act linearly on the kernel (Hermitian part from Hermitian part).
_LINEAR_LAYERS = frozenset({"Dense", "Conv", "AvgPool", "Identity"})
_PROBE_C = 0.3


class Segment(NamedTuple):
    """`linear`: the linear layers before the activation; `rule`: its diagonal rule."""

    linear: tuple
    rule: DiagonalRule


class StructuredBlock(NamedTuple):
    """`segments`: `(linear..., activation)` groups; `trailing`: linear layers after
    the last activation (may be empty)."""

    segments: tuple[Segment, ...]
    trailing: tuple


def _is_linear(layer: tuple) -> bool:
    return (is_complex_layer(layer) and diagonal_rule(layer) is None
            and getattr(layer[2], "__name__", None) in _LINEAR_LAYERS)


def split_block(layer: tuple) -> Optional[StructuredBlock]:
    """`StructuredBlock` if `layer` is `serial(L_1, A_1, ..., L_k, A_k, T)` (see
    the module doc: linear groups `L_i`, non-empty except `L_1` when `T` is
    not; activations `A_i` with a diagonal rule), else None.

    Example:
      >>> from nt_complex import stax
      >>> parts = split_block(stax.serial(stax.Dense(4), stax.CReLU(),
      ...                                 stax.Dense(4), stax.ModReLU(-0.5)))
      >>> len(parts.segments), parts.trailing
      (2, ())
      >>> split_block(stax.serial(stax.Dense(4), stax.CReLU(), stax.CReLU())) is None
      True
    """
    segments, linear = [], []
    for sub in serial_layers(layer):
        rule = diagonal_rule(sub)
        if rule is not None:
            if segments and not linear:  # two activations in a row: not Gaussian
                return None
            segments.append(Segment(tuple(linear), rule))
            linear = []
        elif _is_linear(sub):
            linear.append(sub)
        else:
            return None
    trailing = tuple(linear)
    if not segments or (not segments[0].linear and not trailing):
        return None
    return StructuredBlock(tuple(segments), trailing)


def check_activation_inputs(spec: BlockSpec, layer: tuple) -> None:
    """Raise ValueError unless, through the block's own `kernel_fn` layers, every
    activation receives a circular Gaussian kernel (the structured maps assume
    it): the linear layers after an activation must remove any pseudo-covariance
    it produced, and a block starting with an activation must end with layers
    that output a circular Gaussian kernel. Both are static facts of the
    kernels (a `None` pseudo field is exactly zero), so the layers are only
    traced (`jax.eval_shape`), never evaluated.

    Example:
      >>> from nt_complex import stax
      >>> block = lambda w, b: stax.serial(stax.Dense(1, w, b), stax.CReLU(),
      ...                                  stax.Dense(1, w, b), stax.CReLU())
      >>> spec = BlockSpec(block, (), True, True)
      >>> check_activation_inputs(spec, block(1.0, 0.1))
      >>> bad = stax.serial(stax.Dense(1), stax.CReLU(), stax.Dense(1, W_pseudo=0.5), stax.CReLU())
      >>> try:
      ...     check_activation_inputs(spec, bad)
      ... except ValueError as error:
      ...     print(str(error).splitlines()[0])
      an activation's input kernel is not a circular Gaussian one.
    """
    layers = serial_layers(layer)

    def walk():
        ones = jnp.ones(spec.spatial_shape)
        kernel = pair_kernel(spec, ones, _PROBE_C * ones)
        for sub in layers:
            if diagonal_rule(sub) is not None and not (kernel.is_gaussian
                                                       and kernel.is_circular):
                raise ValueError("an activation's input kernel is not a circular Gaussian one.")
            kernel = sub[2](kernel)
        if diagonal_rule(layers[0]) is not None and not (kernel.is_gaussian
                                                         and kernel.is_circular):
            raise ValueError("the block starts with an activation but does not output a "
                             "circular Gaussian kernel.")
        return kernel.nngp

    jax.eval_shape(walk)


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


def _boolean_product(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """`(a @ b) != 0` for boolean matrices (is there a path through any middle index)."""
    return (a.astype(jnp.float32) @ b.astype(jnp.float32)) > 0


def structured_maps(spec: BlockSpec, parts: StructuredBlock) -> StructuredMaps:
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
      >>> twice = lambda w, b: stax.serial(block(w, b), block(w, b))
      >>> maps = structured_maps(spec, split_block(twice(2.0 ** 0.5, 0.0)))
      >>> [round(float(x), 12) for x in maps.multipliers(jnp.ones(1))]  # squared
      [1.0, 0.25]
    """
    shape = spec.spatial_shape
    n = spec.n_positions

    def linear_variance(linear: tuple, q: jnp.ndarray) -> jnp.ndarray:
        kernel = _through(linear, pair_kernel(spec, q.reshape(shape), None))
        return jnp.real(kernel.nngp[0, 0]).reshape(-1)

    def forward(q: jnp.ndarray):
        """Per segment `(input variance, its moments)`, and the block's output variance."""
        stages = []
        for segment in parts.segments:
            moments = segment.rule(linear_variance(segment.linear, q))
            stages.append((q, moments))
            q = moments.variance
        return stages, linear_variance(parts.trailing, q)

    def q_map(q):
        return forward(q.reshape(-1))[1]

    def coupling(linear: tuple, q: jnp.ndarray, direction: complex, part) -> jnp.ndarray:
        """`J[out, in]`: the linear layers' derivative of `K12` (real coefficients)."""
        k12 = q.astype(complex_dtype(q))

        def pre_cov(k):
            out = _through(linear, pair_kernel(spec, q.reshape(shape), k.reshape(shape)))
            return out.nngp[0, 1].reshape(-1)

        basis = jnp.eye(n, dtype=k12.dtype) * direction
        tangents = jax.vmap(lambda t: jax.jvp(pre_cov, (k12,), (t,))[1])(basis)
        return part(tangents).T

    def chi(stages, q_out_in, direction: complex,
            slope_of: Callable[[DiagonalMoments], jnp.ndarray], part) -> jnp.ndarray:
        # `finite`: the product with infinite entries left out; `reach`: which
        # (out, in) pairs are joined by a path of nonzero entries; `infinite`:
        # joined by such a path through at least one infinite entry.
        finite = jnp.eye(n)
        reach = jnp.eye(n, dtype=bool)
        infinite = jnp.zeros((n, n), dtype=bool)
        for segment, (q_in, moments) in zip(parts.segments, stages):
            jac = coupling(segment.linear, q_in, direction, part)
            slope = slope_of(moments)[:, None]
            linked = (jac != 0) & (slope != 0)
            is_inf = jnp.isinf(slope) & linked
            step = jnp.where(linked & ~is_inf, slope * jac, 0.0)
            infinite = _boolean_product(linked, infinite) | _boolean_product(is_inf, reach)
            reach = _boolean_product(linked, reach)
            finite = step @ finite
        jac = coupling(parts.trailing, q_out_in, direction, part)
        infinite = _boolean_product(jac != 0, infinite)
        radius = spectral_radius(jac @ finite)
        return jnp.where(jnp.any(infinite), jnp.inf, radius)

    def multipliers(q):
        stages, _ = forward(q.reshape(-1))
        q_last = stages[-1][1].variance
        return (chi(stages, q_last, 1.0, lambda m: m.par, jnp.real),
                chi(stages, q_last, 1j, lambda m: m.phase, jnp.imag))

    return StructuredMaps(q_map, multipliers)

"""Blocks made of linear layers, activations that report their diagonal
moments (`nt_complex.stax.activations.diagonal`) and residual branches: exact
q-maps and multipliers.

A *structured* block is `serial(...)` of steps, each
* a circular linear layer (`Dense`, `Conv`, `AvgPool`, `Identity`; exact and
  linear in the kernel),
* an activation with a diagonal rule, or
* a residual step `FanOut(n) -> parallel(branch_1, ..., branch_n) -> FanInSum()`
  whose branches are again such step sequences,
such that every activation receives a circular Gaussian kernel, also when the
block is repeated (an activation at the start reads the previous block's
output).

For them the q-map and the multipliers at `c = 1` need no kernel evaluation of
the activations. The variance `q` (the block's *output*, after its last step)
maps step by step: a linear layer by its own kernel rule, an activation by its
rule's `E|f|^2`, a residual step to the sum of its branches' outputs (as
`FanInSum` sums their kernels). At `c = 1` a perturbation `dK` of the input
becomes `J dK` through a linear layer (a jvp; `J` is a positions x positions
matrix with real coefficients), `par Re + i phase Im` through an activation
(the diagonal matrix `D(s)` of its slopes at its own input variance along the
fixed point), and the sum of the branches' maps through a residual step. So for
a chain `chi_par = rho(J_T D(par_k) J_k ... D(par_1) J_1)` and
`chi_phase = rho(J_T D(phase_k) ... D(phase_1) J_1)`, `rho` the spectral
radius; for a Dense block `chi_par = prod_i W_var_i (E|f_z|^2 + E|f_zb|^2)_i`,
for `Dense -> FanOut(2) -> parallel(f, Identity) -> FanInSum` it is
`W_var (E|f_z|^2 + E|f_zb|^2 + 1)`. An infinite slope (an activation that
jumps) joined to the output by a path of nonzero couplings makes chi `+inf`;
one met only by exactly-zero couplings contributes nothing (never
`0 * inf = NaN`). Autodiff never touches an activation's same-point branch,
whose `|rho|`-derivative it cannot see (a jump's is infinite).

Any other block (another layer type, `FanInConcat`, an activation without a
diagonal rule, two activations in a row, an activation whose input is not a
circular Gaussian kernel, NT's real layers) uses the generic path in
`nt_complex.phase.solve`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Optional, Union

import jax
import jax.numpy as jnp

from nt_complex._dtypes import complex_dtype
from nt_complex.phase.conv import spectral_radius
from nt_complex.phase.maps import BlockSpec, pair_kernel
from nt_complex.stax._layer import is_complex_layer
from nt_complex.stax.activations.diagonal import DiagonalMoments, DiagonalRule, diagonal_rule
from nt_complex.stax.combinators import parallel_layers, serial_layers

__all__ = ["LinearStep", "ActivationStep", "ResidualStep", "StructuredBlock", "split_block",
           "check_activation_inputs", "structured_maps"]

#: Our layers that act linearly on the kernel (Hermitian part from Hermitian part).
_LINEAR_LAYERS = frozenset({"Dense", "Conv", "AvgPool", "Identity"})
_PROBE_C = 0.3


class LinearStep(NamedTuple):
    """A circular linear layer."""

    layer: tuple


class ActivationStep(NamedTuple):
    """An activation layer and its diagonal rule."""

    layer: tuple
    rule: DiagonalRule


class ResidualStep(NamedTuple):
    """`FanOut(n) -> parallel(branches) -> fan_in = FanInSum()`; each branch a step
    tuple."""

    branches: tuple
    fan_in: tuple


Step = Union[LinearStep, ActivationStep, ResidualStep]


class StructuredBlock(NamedTuple):
    """The block's steps, in order."""

    steps: tuple


def _name(layer: tuple) -> Optional[str]:
    return getattr(layer[2], "__name__", None) if is_complex_layer(layer) else None


def _is_linear(layer: tuple) -> bool:
    return diagonal_rule(layer) is None and _name(layer) in _LINEAR_LAYERS


def _steps(layers: tuple) -> Optional[tuple]:
    steps, i = [], 0
    while i < len(layers):
        sub = layers[i]
        rule = diagonal_rule(sub)
        if rule is not None:
            steps.append(ActivationStep(sub, rule))
        elif _is_linear(sub):
            steps.append(LinearStep(sub))
        elif (_name(sub) == "FanOut" and i + 2 < len(layers)
              and parallel_layers(layers[i + 1]) is not None
              and _name(layers[i + 2]) == "FanInSum"):
            branches = tuple(_steps(serial_layers(b)) for b in parallel_layers(layers[i + 1]))
            if any(branch is None for branch in branches):
                return None
            steps.append(ResidualStep(branches, layers[i + 2]))
            i += 2
        else:
            return None
        i += 1
    return tuple(steps)


def _activations(steps: tuple) -> int:
    return sum(1 if isinstance(s, ActivationStep) else
               sum(_activations(b) for b in s.branches) if isinstance(s, ResidualStep) else 0
               for s in steps)


def split_block(layer: tuple) -> Optional[StructuredBlock]:
    """The block's steps (see the module doc) if it is built from our linear
    layers, activations with a diagonal rule and residual steps, with at least
    one activation; else None. Whether every activation then receives a circular
    Gaussian kernel is checked by `check_activation_inputs`.

    Example:
      >>> from nt_complex import stax
      >>> parts = split_block(stax.serial(stax.Dense(4), stax.CReLU(),
      ...                                 stax.Dense(4), stax.ModReLU(-0.5)))
      >>> [type(step).__name__ for step in parts.steps]
      ['LinearStep', 'ActivationStep', 'LinearStep', 'ActivationStep']
      >>> residual = stax.serial(stax.Dense(4), stax.FanOut(2),
      ...                        stax.parallel(stax.ZReLU(), stax.Identity()), stax.FanInSum())
      >>> type(split_block(residual).steps[1]).__name__
      'ResidualStep'
      >>> split_block(stax.serial(stax.Dense(4), stax.Softmax())) is None
      True
    """
    steps = _steps(serial_layers(layer))
    if steps is None or _activations(steps) == 0:
        return None
    return StructuredBlock(steps)


def _walk(steps: tuple, kernel, where: str):
    for step in steps:
        if isinstance(step, ResidualStep):
            kernel = step.fan_in[2]([_walk(branch, kernel, where) for branch in step.branches])
            continue
        if isinstance(step, ActivationStep) and not (kernel.is_gaussian and kernel.is_circular):
            raise ValueError(f"an activation's input kernel is not a circular Gaussian one{where}.")
        kernel = step.layer[2](kernel)
    return kernel


def check_activation_inputs(spec: BlockSpec, layer: tuple) -> None:
    """Raise ValueError unless `layer` is a structured block (`split_block`)
    in which, through the block's own layers, every activation receives a
    circular Gaussian kernel, also in the block's second repetition (an
    activation at its start reads its own output). Both are static facts of
    the kernels (a `None` pseudo field is exactly zero), so the layers are only
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
    parts = split_block(layer)
    if parts is None:
        raise ValueError("not a structured block (see nt_complex.phase.structured).")

    def walk():
        ones = jnp.ones(spec.spatial_shape)
        once = _walk(parts.steps, pair_kernel(spec, ones, _PROBE_C * ones), "")
        return _walk(parts.steps, once, " when the block is repeated (its first "
                     "activation reads the block's own output)").nngp

    jax.eval_shape(walk)


def _through(layer: tuple, kernel):
    kernel = layer[2](kernel)
    if not kernel.is_gaussian or not kernel.is_circular:
        raise ValueError("a linear layer of the block does not give a circular Gaussian "
                         "kernel (linear layers need W_pseudo = b_pseudo = 0).")
    return kernel


class StructuredMaps(NamedTuple):
    """`q_map(q)` (flat positions) and `multipliers(q) -> (chi_par, chi_phase)`."""

    q_map: Callable
    multipliers: Callable


class _Linearisation(NamedTuple):
    """The map of a real (or phase) perturbation from the block input to the
    current step: `finite` with infinite slopes left out; `reach[out, in]`:
    joined by a path of nonzero entries; `infinite`: by such a path through an
    infinite slope."""

    finite: jnp.ndarray
    reach: jnp.ndarray
    infinite: jnp.ndarray


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
      >>> skip = lambda w, b: stax.serial(stax.Dense(1, w, b), stax.FanOut(2),
      ...                                 stax.parallel(stax.CReLU(), stax.Identity()),
      ...                                 stax.FanInSum())
      >>> maps = structured_maps(spec, split_block(skip(0.5 ** 0.5, 0.0)))
      >>> [round(float(x), 12) for x in maps.multipliers(jnp.ones(1))]  # W (1/2 + 1), W (1/4 + 1)
      [0.75, 0.625]
    """
    shape = spec.spatial_shape
    n = spec.n_positions

    def variance_after(layer: tuple, q: jnp.ndarray) -> jnp.ndarray:
        kernel = _through(layer, pair_kernel(spec, q.reshape(shape), None))
        return jnp.real(kernel.nngp[0, 0]).reshape(-1)

    def coupling(layer: tuple, q: jnp.ndarray, direction: complex, part) -> jnp.ndarray:
        """`J[out, in]`: the layer's derivative of `K12` (real coefficients)."""
        k12 = q.astype(complex_dtype(q))

        def out_cov(k):
            out = _through(layer, pair_kernel(spec, q.reshape(shape), k.reshape(shape)))
            return out.nngp[0, 1].reshape(-1)

        basis = jnp.eye(n, dtype=k12.dtype) * direction
        tangents = jax.vmap(lambda t: jax.jvp(out_cov, (k12,), (t,))[1])(basis)
        return part(tangents).T

    def q_through(steps: tuple, q: jnp.ndarray) -> jnp.ndarray:
        for step in steps:
            if isinstance(step, LinearStep):
                q = variance_after(step.layer, q)
            elif isinstance(step, ActivationStep):
                q = step.rule(q).variance
            else:
                q = sum(q_through(branch, q) for branch in step.branches)
        return q

    def linearise(steps: tuple, q: jnp.ndarray, state: _Linearisation, direction: complex,
                  slope_of: Callable[[DiagonalMoments], jnp.ndarray], part):
        for step in steps:
            if isinstance(step, LinearStep):
                jac = coupling(step.layer, q, direction, part)
                nonzero = jac != 0
                state = _Linearisation(jac @ state.finite, _boolean_product(nonzero, state.reach),
                                       _boolean_product(nonzero, state.infinite))
                q = variance_after(step.layer, q)
            elif isinstance(step, ActivationStep):
                moments = step.rule(q)
                slope = slope_of(moments)[:, None]
                linked = slope != 0
                jumps = jnp.isinf(slope) & linked
                state = _Linearisation(
                    jnp.where(linked & ~jumps, slope, 0.0) * state.finite,
                    linked & state.reach, (linked & state.infinite) | (jumps & state.reach))
                q = moments.variance
            else:
                outs = [linearise(branch, q, state, direction, slope_of, part)
                        for branch in step.branches]
                q = sum(out[0] for out in outs)
                state = _Linearisation(sum(out[1].finite for out in outs),
                                       jnp.any(jnp.stack([out[1].reach for out in outs]), 0),
                                       jnp.any(jnp.stack([out[1].infinite for out in outs]), 0))
        return q, state

    def chi(q: jnp.ndarray, direction: complex,
            slope_of: Callable[[DiagonalMoments], jnp.ndarray], part) -> jnp.ndarray:
        start = _Linearisation(jnp.eye(n), jnp.eye(n, dtype=bool), jnp.zeros((n, n), dtype=bool))
        _, state = linearise(parts.steps, q, start, direction, slope_of, part)
        return jnp.where(jnp.any(state.infinite), jnp.inf, spectral_radius(state.finite))

    def q_map(q):
        return q_through(parts.steps, q.reshape(-1))

    def multipliers(q):
        q = q.reshape(-1)
        return (chi(q, 1.0, lambda m: m.par, jnp.real),
                chi(q, 1j, lambda m: m.phase, jnp.imag))

    return StructuredMaps(q_map, multipliers)

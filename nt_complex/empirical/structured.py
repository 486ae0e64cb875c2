"""Structured empirical NTK (implementation 3): per linear layer, never a
full Jacobian.

The NTK is a sum over layers of `J_l(x1) J_l(x2)^H`, `J_l` the Jacobian of
the outputs with respect to layer `l`'s real leaves. A probe (`nt_complex.empirical.probe`)
gives, per example, each linear layer's inputs `x` and the cotangents of its
output `z`: `u = d out/d Re z`, `v = d out/d Im z` for every real output entry
(one reverse pass per entry, through the network only). With `w = u - i v`, a
real leaf `theta` contributes `d out/d theta = Re(w . dz/d theta)`; for a
complex output `f` we combine the cotangents of `Re f` and `Im f` into
`g = w_Re + i w_Im`, `h = w_Re - i w_Im`. Summing over a layer's leaves in
closed form (`W = sum_l c_l theta_l` elementwise, `s = kappa^2 sum|c_l|^2`,
`t = kappa^2 sum c_l^2`, `S`, `P` below):

  `Theta  = 1/4 [S g1.conj(g2) + conj(S h1.conj(h2)) + P g1.h2 + conj(P h1.g2)]`
  `Theta~ = 1/4 [S g1.conj(h2) + conj(S h1.conj(g2)) + P g1.g2 + conj(P h1.h2)]`

(dots over the layer's output features; `h = g` for real outputs).

* Dense on `(batch, features)` inputs, `z = kappa x.W + b`:
  `S = s x1.conj(x2) + s_b`, `P = t x1.x2 + t_b` per pair of examples, so the
  `in x out` weight Jacobian is never formed: the cost is the cotangent Grams.
* Layers with positions `p` (Conv; Dense on spatial inputs),
  `z[p] = kappa patches(x)[p].W + b`: the weight term uses
  `A = sum_p w[p] (x) patches[p]` in place of `w` with `S = s`, `P = t`; the
  bias term `B = sum_p w[p]` with `S = s_b`, `P = t_b`.
* Leaves no probe saw (only possible for functions probed through their jaxpr):
  their Jacobian by reverse mode, `Theta = J.conj(J)`, `Theta~ = J.J`.

A complex Gram `a.conj(b)` costs three real contractions when `x2 is None`
(its imaginary part is one product minus its transpose), four otherwise, and
comes with `a.b` for free. The Hermitian NTK of circular layers needs only
`g.conj(g)` and `h.conj(h)`. `trace_axes` / `diagonal_axes` are applied inside
the contractions (a traced axis is summed before the Gram is formed).
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax import lax

from nt_complex.empirical.probe import PROBE_KWARG, LinearStructure, Probe

__all__ = ["structured_ntk_fn"]

_HIGHEST = lax.Precision.HIGHEST


class _Layer(NamedTuple):
    """What the plan knows of one probed layer (static)."""

    structure: LinearStructure
    flat: bool  # Dense on (batch, features): no positions


def _real_dtype(dtype) -> jnp.dtype:
    return jnp.finfo(dtype).dtype


class _Plan(NamedTuple):
    layers: tuple[_Layer, ...]
    uncovered: tuple[int, ...]  # leaves seen by no probe: reverse mode


def _plan(f_real: Callable, params, x_one, kwargs) -> _Plan:
    """The probed layers (each owning distinct leaves of `params`, checked by
    identity within one trace) and the leaves no probe saw."""
    leaves = jax.tree_util.tree_leaves(params)
    index_of = {id(leaf): i for i, leaf in enumerate(leaves)}
    probe = Probe()
    f_real(params, x_one, **kwargs, **{PROBE_KWARG: probe})
    owned = [index_of.get(id(leaf)) for record in probe.records
             for leaf in jax.tree_util.tree_leaves(record.params)]
    if None in owned or len(set(owned)) != len(owned):
        raise ValueError(
            "structured NTK: a layer's parameters are not distinct leaves of `params` "
            "(shared or constant weights); use implementation=1 or 2.")
    layers = tuple(_Layer(r.structure, math.prod(r.structure.patches(r.inputs).shape[1:-1]) == 1)
                   for r in probe.records)
    return _Plan(layers, tuple(i for i in range(len(leaves)) if i not in set(owned)))


def _flatten_outputs(a: jnp.ndarray, out_ndim: int) -> jnp.ndarray:
    """`(*out, *rest) -> (*out, prod(rest))`."""
    return a.reshape(a.shape[:out_ndim] + (-1,))


def _example_factors(f_real, plan: _Plan, params, x_one, kwargs) -> list:
    """For one example: per layer `(w, x)` (flat Dense) or `(A, B)` (see the
    module doc), then the Jacobian of the uncovered leaves (if any)."""
    recorder = Probe()
    out_ndim = f_real(params, x_one, **kwargs, **{PROBE_KWARG: recorder}).ndim - 1
    deltas = [tuple(jnp.zeros(r.out.shape, _real_dtype(r.out.dtype))
                    for _ in range(2 if jnp.issubdtype(r.out.dtype, jnp.complexfloating)
                                   else 1))
              for r in recorder.records]

    def perturbed(deltas):
        probe = Probe(deltas)
        value = f_real(params, x_one, **kwargs, **{PROBE_KWARG: probe})[0]
        return value, [record.inputs for record in probe.records]

    cotangents, inputs = jax.jacrev(perturbed, has_aux=True)(deltas)
    factors = []
    for layer, cot, x in zip(plan.layers, cotangents, inputs):
        w = cot[0] if len(cot) == 1 else lax.complex(cot[0], -cot[1])  # (*out, *z)
        out_shape = w.shape[:out_ndim]
        w = jax.vmap(layer.structure.outputs)(w.reshape((-1,) + w.shape[out_ndim:]))
        w = w.reshape(out_shape + w.shape[2:])  # (*out, *positions, m)
        patches = layer.structure.patches(x)[0]  # (*positions, q)
        if layer.flat:
            factors.append((_flatten_outputs(w, out_ndim), patches.reshape(-1)))
            continue
        w = w.reshape(out_shape + (-1, w.shape[-1]))  # (*out, P, m)
        patches = patches.reshape(-1, patches.shape[-1])  # (P, q)
        a = jnp.einsum("...pm,pq->...qm", w, patches.astype(jnp.result_type(w, patches)),
                       precision=_HIGHEST)
        factors.append((_flatten_outputs(a, out_ndim), jnp.sum(w, axis=-2)))
    if plan.uncovered:
        factors.append(_uncovered_jacobian(f_real, plan.uncovered, params, x_one, kwargs,
                                           out_ndim))
    return factors


def _uncovered_jacobian(f_real, uncovered, params, x_one, kwargs,
                        out_ndim: int) -> jnp.ndarray:
    """`d out / d leaves` `(*out, P)` for the leaves no probe saw (reverse mode)."""
    leaves, treedef = jax.tree_util.tree_flatten(params)

    def out_of(sub):
        full = list(leaves)
        for i, leaf in zip(uncovered, sub):
            full[i] = leaf
        return f_real(jax.tree_util.tree_unflatten(treedef, full), x_one, **kwargs)[0]

    jacobians = jax.jacrev(out_of)([leaves[i] for i in uncovered])
    return jnp.concatenate([_flatten_outputs(j, out_ndim) for j in jacobians], axis=-1)


class _Gram(NamedTuple):
    """Contraction `(N1, *out, F), (N2, *out, F) -> NT's layout`.

    A traced batch axis is kept as a diagonal until `finish` (so that the
    per-pair weights of dense layers can still be applied).
    """

    subscripts: str
    swap: tuple[int, ...]  # permutation exchanging the roles of x1 and x2
    batch_paired: bool  # result starts with (N1, N2); else with the diagonal N
    batch_traced: bool

    def __call__(self, a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
        return jnp.einsum(self.subscripts, a, b, precision=_HIGHEST)

    def swapped(self, block: jnp.ndarray) -> jnp.ndarray:
        """`gram(b, a)` (same inputs for `x1` and `x2`) from `block = gram(a, b)`."""
        return jnp.transpose(block, self.swap)

    def weighted(self, pair_weights: jnp.ndarray, block: jnp.ndarray) -> jnp.ndarray:
        """`pair_weights[n1, n2] * block` broadcast over the output axes."""
        if not self.batch_paired:
            pair_weights = jnp.diagonal(pair_weights)
        return pair_weights.reshape(pair_weights.shape + (1,) * (
            block.ndim - pair_weights.ndim)) * block

    def finish(self, total: jnp.ndarray) -> jnp.ndarray:
        return jnp.sum(total, axis=0) if self.batch_traced else total


def _gram(out_ndim: int, trace: Sequence[int], diagonal: Sequence[int]) -> _Gram:
    """NT's layout: per axis of the output (batch axis first), nothing if
    traced, one axis if diagonal, the pair `(x1's, x2's)` otherwise."""
    batch_traced = 0 in trace
    diagonal = set(diagonal) | ({0} if batch_traced else set())
    letters = iter(string.ascii_letters)
    feature = next(letters)
    lhs, rhs, result, swap = [], [], [], []
    for axis in range(out_ndim + 1):
        if axis in trace and axis != 0:
            shared = next(letters)
            lhs.append(shared)
            rhs.append(shared)
        elif axis in diagonal:
            shared = next(letters)
            lhs.append(shared)
            rhs.append(shared)
            swap.append(len(result))
            result.append(shared)
        else:
            a, b = next(letters), next(letters)
            lhs.append(a)
            rhs.append(b)
            swap += [len(result) + 1, len(result)]
            result += [a, b]
    subscripts = f"{''.join(lhs)}{feature},{''.join(rhs)}{feature}->{''.join(result)}"
    return _Gram(subscripts, tuple(swap), 0 not in diagonal, batch_traced)


def _canonical(axes: Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    if any(not -ndim <= a < ndim for a in axes):
        raise ValueError(f"{name}={tuple(axes)}: out of range for outputs with {ndim} "
                         "axes (batch axis included).")
    return tuple(sorted({a % ndim for a in axes}))


def structured_ntk_fn(f_real: Callable, trace_axes: Sequence[int],
                      diagonal_axes: Sequence[int], complex_output: bool) -> Callable:
    """Empirical NTK and pseudo-NTK of `f` from its realified `f_real`.

    `f_real(params, x, **kwargs)` is `f` with real leaves and, if
    `complex_output`, outputs stacked `[Re f, Im f]` on a new last axis; it
    must treat examples (batch axis 0) independently and report its linear
    layers to a `Probe` passed as `PROBE_KWARG` (`nt_complex.stax` networks
    do; `nt_complex.empirical.jaxpr_probe.probed` makes any function do so). Axes are
    those of `f`'s output. Returns `ntk_fn(x1, x2, params, pseudo, **kwargs)
    -> (ntk, pseudo_ntk or None)`.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, _ = stax.serial(stax.Dense(8), stax.CReLU(), stax.Dense(1))
      >>> x = jnp.ones((3, 2)) * 1j
      >>> _, params = init_fn(jax.random.PRNGKey(0), x.shape)
      >>> f = lambda p, x, **kw: jnp.real(apply_fn(p, x, **kw))
      >>> ntk, _ = structured_ntk_fn(f, (-1,), (), False)(x, None, params, False)
      >>> ntk.shape
      (3, 3)
    """
    def ntk_fn(x1, x2, params, pseudo: bool, **kwargs):
        first = jax.tree_util.tree_map(lambda a: a[:1], x1)
        out = jax.eval_shape(lambda p, x: f_real(p, x, **kwargs), params, first)
        out_shape = out.shape[:-1] if complex_output else out.shape  # f's output
        trace = _canonical(trace_axes, len(out_shape), "trace_axes")
        diagonal = _canonical(diagonal_axes, len(out_shape), "diagonal_axes")
        if set(trace) & set(diagonal):
            raise ValueError("trace_axes and diagonal_axes must not share an axis.")
        plan = _plan(f_real, params, first, kwargs)

        def factors_of(x):
            def one(x_single):
                x_one = jax.tree_util.tree_map(lambda a: a[None], x_single)
                return _example_factors(f_real, plan, params, x_one, kwargs)
            return _wirtinger_factors(plan, jax.vmap(one)(x), complex_output)

        factors1 = factors_of(x1)
        factors2 = None if x2 is None else factors_of(x2)
        gram = _gram(len(out_shape) - 1, trace, diagonal)
        n1 = jax.tree_util.tree_leaves(x1)[0].shape[0]
        n2 = n1 if x2 is None else jax.tree_util.tree_leaves(x2)[0].shape[0]
        zero = gram(jnp.zeros((n1,) + out_shape[1:] + (0,), out.dtype),
                    jnp.zeros((n2,) + out_shape[1:] + (0,), out.dtype))
        totals = [zero, zero]
        for i, layer in enumerate(plan.layers):
            f1 = factors1[i]
            f2 = None if x2 is None else factors2[i]
            terms = (_flat_terms if layer.flat else _positional_terms)(
                layer.structure, f1, f2, gram, pseudo)
            totals = [t + term for t, term in zip(totals, terms)]
        if plan.uncovered:  # real leaves: S = P = 1 and h = conj(g)
            grams = _cotangent_grams(factors1[-1][0], None if x2 is None else
                                     factors2[-1][0], gram)
            totals = [t + g for t, g in zip(totals, grams)]
        size = math.prod(((n1,) + out_shape[1:])[a] for a in trace)
        ntk, pseudo_ntk = (gram.finish(t) / size for t in totals)
        if not complex_output:
            ntk, pseudo_ntk = jnp.real(ntk), jnp.real(pseudo_ntk)
        return ntk, (pseudo_ntk if pseudo else None)

    return ntk_fn


def _wirtinger(a: jnp.ndarray, complex_output: bool):
    """Cotangents `w` of the realified outputs `(..., [Re, Im], F)` ->
    `(g, h) = (w_Re + i w_Im, w_Re - i w_Im)`; real outputs: `(w, None)`."""
    if not complex_output:
        return a, None
    re, im = a[..., 0, :], a[..., 1, :]
    return re + 1j * im, re - 1j * im


def _wirtinger_factors(plan: _Plan, factors: list, complex_output: bool) -> list:
    """Every cotangent-like factor of `_example_factors` through `_wirtinger`."""
    def split(a):
        return _wirtinger(a, complex_output)
    out = [(split(f[0]), f[1] if layer.flat else split(f[1]))
           for layer, f in zip(plan.layers, factors)]
    if plan.uncovered:
        out.append(split(factors[-1]))
    return out


def _cotangent_grams(w1, w2: Optional[jnp.ndarray], gram: _Gram):
    """`(w1 . conj w2, w1 . w2)` from three (`w2 is None`: same inputs) or
    four real contractions, instead of four per complex product."""
    if not (jnp.iscomplexobj(w1) or jnp.iscomplexobj(w2)):  # real layer outputs
        same = gram(w1, w1 if w2 is None else w2)
        return same, same
    r1, i1 = jnp.real(w1), jnp.imag(w1)
    if w2 is None:
        rr, ii, ir = gram(r1, r1), gram(i1, i1), gram(i1, r1)
        ri = gram.swapped(ir)
    else:
        r2, i2 = jnp.real(w2), jnp.imag(w2)
        rr, ii, ir, ri = gram(r1, r2), gram(i1, i2), gram(i1, r2), gram(r1, i2)
    return lax.complex(rr + ii, ir - ri), lax.complex(rr - ii, ir + ri)


def _terms(hermitian_scale, pseudo_scale, gh1, gh2, gram: _Gram, pseudo: bool):
    """One layer's `(Theta, Theta~)` from the Wirtinger cotangents `(g, h)`
    (`gh2=None`: same inputs) and the scales `S`, `P` (scalars or `(N1, N2)`):

    `Theta  = 1/4 [S g.conj(g) + conj(S) conj(h.conj(h)) + P g.h + conj(P) conj(h.g)]`,
    `Theta~ = 1/4 [S g.conj(h) + conj(S) conj(h.conj(g)) + P g.g + conj(P) conj(h.h)]`
    (dots over features, first factor from `x1`). For real outputs `h = g`.
    """
    def scaled(scale, block):
        if jnp.ndim(scale) == 2:
            return gram.weighted(scale, block)
        return scale * block

    (g1, h1), (g2, h2) = gh1, (None, None) if gh2 is None else gh2
    same_h = h1 is None
    gg, gg_pseudo = _cotangent_grams(g1, g2, gram)
    if same_h:
        hh, hh_pseudo, gh_pseudo, gh = gg, gg_pseudo, gg_pseudo, gg
        hg, hg_pseudo = gg, gg_pseudo
    else:
        hh, hh_pseudo = _cotangent_grams(h1, h2, gram)
    conj_s, conj_p = jnp.conj(hermitian_scale), jnp.conj(pseudo_scale)
    ntk = scaled(hermitian_scale, gg) + scaled(conj_s, jnp.conj(hh))
    need_cross = pseudo or jnp.ndim(pseudo_scale) == 2 or pseudo_scale != 0
    if need_cross and not same_h:
        gh, gh_pseudo = _cotangent_grams(g1, h1 if gh2 is None else h2, gram)  # g.h*, g.h
        if gh2 is None:
            hg, hg_pseudo = jnp.conj(gram.swapped(gh)), gram.swapped(gh_pseudo)
        else:
            hg, hg_pseudo = _cotangent_grams(h1, g2, gram)  # h.g*, h.g
    if need_cross:
        ntk = ntk + scaled(pseudo_scale, gh_pseudo) + scaled(conj_p, jnp.conj(hg_pseudo))
    pseudo_ntk = 0.
    if pseudo:
        pseudo_ntk = (scaled(hermitian_scale, gh) + scaled(conj_s, jnp.conj(hg))
                      + scaled(pseudo_scale, gg_pseudo) + scaled(conj_p, jnp.conj(hh_pseudo)))
    return 0.25 * ntk, 0.25 * pseudo_ntk


def _flat_terms(structure: LinearStructure, f1, f2, gram: _Gram, pseudo: bool):
    """Dense on flat inputs: `S = s x1.conj(x2) + s_b`, `P = t x1.x2 + t_b`."""
    gh1, x1 = f1
    gh2, x2 = (None, x1) if f2 is None else f2
    hermitian = structure.weight * jnp.einsum("ai,bi->ab", x1, jnp.conj(x2),
                                              precision=_HIGHEST) + structure.bias
    pseudo_scale = 0.
    if structure.weight_pseudo != 0 or structure.bias_pseudo != 0:
        pseudo_scale = structure.weight_pseudo * jnp.einsum(
            "ai,bi->ab", x1, x2, precision=_HIGHEST) + structure.bias_pseudo
    return _terms(hermitian, pseudo_scale, gh1, gh2, gram, pseudo)


def _positional_terms(structure: LinearStructure, f1, f2, gram: _Gram, pseudo: bool):
    """Layers with positions: the weight via `A`, the bias via `B` (module doc)."""
    totals = (0., 0.)
    for i, (scale, pseudo_scale) in enumerate(
            ((structure.weight, structure.weight_pseudo),
             (structure.bias, structure.bias_pseudo))):
        if scale != 0:
            terms = _terms(scale, pseudo_scale, f1[i], None if f2 is None else f2[i], gram,
                           pseudo)
            totals = tuple(t + term for t, term in zip(totals, terms))
    return totals

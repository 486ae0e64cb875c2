"""Structured empirical NTK of `nt_complex.stax` networks (implementation 3).

The NTK is a sum over layers of `J_l(x1) J_l(x2)^T`, `J_l` the Jacobian of
the outputs with respect to layer `l`'s real leaves. A probe (`nt_complex.probe`)
gives, per example, each layer's inputs `x` and the cotangents of its output
`z`: `u = d out/d Re z`, `v = d out/d Im z` (one reverse pass per output
entry, through the network only). With `w = u - i v`, a real leaf `theta`
contributes `d out/d theta = Re(w . dz/dtheta)`.

* Fully connected layers on `(batch, features)` inputs,
  `z = kappa x.W(theta) + b(theta)` with `W = sum_l c_l theta_l`:
  `Theta_W = 1/2 Re[kappa^2 sum|c_l|^2 (x1.conj x2)(w1.conj w2)
                  + kappa^2 sum c_l^2 (x1.x2)(w1.w2)]` (the bias: `x = 1`),
  so the `in x out` weights are never touched: the cost is that of the
  cotangent Gram `w1.conj w2`, not of a Jacobian with `in x out` columns.
* Other probed layers (convolutions, Dense on spatial inputs): the layer's
  own parameter Jacobian, from one VJP of that layer alone per output entry.
* Every leaf of `params` must belong to exactly one probed layer (checked;
  networks with `nt.stax` layers are not probeable and never get here).

The result is the real NTK of the realified network `f_real` (outputs stacked
`[Re f, Im f]`) in NT's layout, with `trace_axes` / `diagonal_axes` applied
inside the contractions (a traced axis is summed before the Gram is formed).
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax import lax

from nt_complex.probe import PROBE_KWARG, DenseMetric, Probe

__all__ = ["structured_ntk_fn"]

_HIGHEST = lax.Precision.HIGHEST


class _Layer(NamedTuple):
    """What the plan knows of one probed layer (static)."""

    compute: Callable
    params: Any
    dense: Optional[DenseMetric]
    complex_out: bool


def _real_dtype(dtype) -> jnp.dtype:
    return jnp.finfo(dtype).dtype


def _plan(f_real: Callable, leaves: list, treedef, x_one, kwargs) -> tuple[_Layer, ...]:
    """The probed layers, each owning distinct leaves that together are all of
    `params` (checked by identity, within one trace)."""
    index_of = {id(leaf): i for i, leaf in enumerate(leaves)}
    probe = Probe()
    f_real(jax.tree_util.tree_unflatten(treedef, leaves), x_one,
           **kwargs, **{PROBE_KWARG: probe})
    layers, owned = [], []
    for record in probe.records:
        found = [index_of.get(id(leaf)) for leaf in jax.tree_util.tree_leaves(record.params)]
        owned += found
        layers.append(_Layer(record.compute, record.params, record.dense,
                             jnp.issubdtype(record.out.dtype, jnp.complexfloating)))
    if None in owned or sorted(owned) != list(range(len(leaves))):
        raise ValueError(
            "structured NTK: the layers' parameters are not exactly the leaves of `params`, "
            "each used by one layer (shared, constant or extra parameters); use "
            "implementation=1 or 2.")
    return tuple(layers)


def _flatten_outputs(a: jnp.ndarray, out_ndim: int) -> jnp.ndarray:
    """`(*out, *rest) -> (*out, prod(rest))`."""
    return a.reshape(a.shape[:out_ndim] + (-1,))


def _example_factors(f_real, layers: tuple[_Layer, ...], params, x_one, kwargs) -> list:
    """Per layer and example: `(w, x)` for dense layers, the Jacobian otherwise."""
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
    for layer, cot, x in zip(layers, cotangents, inputs):
        if layer.dense is not None:
            u = _flatten_outputs(cot[0], out_ndim)
            w = lax.complex(u, -_flatten_outputs(cot[1], out_ndim)) if len(cot) == 2 else u
            factors.append((w, x.reshape(-1)))  # d out/d theta = Re(w . dz/d theta)
        else:
            factors.append(_layer_jacobian(layer, x, cot, out_ndim))
    return factors


def _layer_jacobian(layer: _Layer, x, cot, out_ndim: int) -> jnp.ndarray:
    """`d out / d theta_l` `(*out, P_l)` from one VJP of the layer per entry."""
    def real_out(p):
        z = layer.compute(p, x)
        return (jnp.real(z), jnp.imag(z)) if layer.complex_out else (z,)

    _, vjp = jax.vjp(real_out, layer.params)
    out_shape = cot[0].shape[:out_ndim]
    flat = tuple(c.reshape((-1,) + c.shape[out_ndim:]) for c in cot)
    grads = jax.vmap(lambda *c: _concat_leaves(vjp(tuple(c))[0]))(*flat)
    return grads.reshape(out_shape + (-1,))


def _concat_leaves(tree) -> jnp.ndarray:
    return jnp.concatenate([jnp.ravel(a) for a in jax.tree_util.tree_leaves(tree)])


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
                      diagonal_axes: Sequence[int]) -> Callable:
    """Real empirical NTK of the probeable `f_real` (NT's layout and axes).

    `f_real(params, x, **kwargs)` must be batch-independent with batch axis 0
    of `x` and of the output, and pass its keyword arguments to an
    `nt_complex.stax` network. Returns `ntk_fn(x1, x2, params, **kwargs)`.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, _ = stax.serial(stax.Dense(8), stax.CReLU(), stax.Dense(1))
      >>> x = jnp.ones((3, 2)) * 1j
      >>> _, params = init_fn(jax.random.PRNGKey(0), x.shape)
      >>> f = lambda p, x, **kw: jnp.real(apply_fn(p, x, **kw))
      >>> structured_ntk_fn(f, (-1,), ())(x, None, params).shape
      (3, 3)
    """
    def ntk_fn(x1, x2, params, **kwargs) -> jnp.ndarray:
        leaves, treedef = jax.tree_util.tree_flatten(params)
        first = jax.tree_util.tree_map(lambda a: a[:1], x1)
        out = jax.eval_shape(lambda p, x: f_real(p, x, **kwargs), params, first)
        trace = _canonical(trace_axes, out.ndim, "trace_axes")
        diagonal = _canonical(diagonal_axes, out.ndim, "diagonal_axes")
        if set(trace) & set(diagonal):
            raise ValueError("trace_axes and diagonal_axes must not share an axis.")
        layers = _plan(f_real, leaves, treedef, first, kwargs)

        def factors_of(x):
            def one(x_single):
                x_one = jax.tree_util.tree_map(lambda a: a[None], x_single)
                return _example_factors(f_real, layers, params, x_one, kwargs)
            return jax.vmap(one)(x)

        factors1 = factors_of(x1)
        factors2 = factors1 if x2 is None else factors_of(x2)
        gram = _gram(out.ndim - 1, trace, diagonal)
        n1 = jax.tree_util.tree_leaves(x1)[0].shape[0]
        n2 = n1 if x2 is None else jax.tree_util.tree_leaves(x2)[0].shape[0]
        total = gram(jnp.zeros((n1,) + out.shape[1:] + (0,), out.dtype),
                     jnp.zeros((n2,) + out.shape[1:] + (0,), out.dtype))
        for layer, f1, f2 in zip(layers, factors1, factors2):
            if layer.dense is not None:
                total = total + _dense_term(layer.dense, f1, None if x2 is None else f2, gram)
            else:
                total = total + gram(f1, f2)
        sizes = (n1,) + out.shape[1:]
        return gram.finish(total) / math.prod(sizes[a] for a in trace)

    return ntk_fn


def _cotangent_grams(w1, w2: Optional[jnp.ndarray], gram: _Gram):
    """`(w1 . conj w2, w1 . w2)` from three (`w2 is None`: same inputs) or
    four real contractions, instead of four per complex product."""
    if not jnp.iscomplexobj(w1):
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


def _dense_term(metric: DenseMetric, f1, f2, gram: _Gram) -> jnp.ndarray:
    """`1/2 Re[(s X + s_b) (w1.conj w2) + (t Y + t_b) (w1.w2)]` (module doc);
    `f2=None` means the same inputs as `f1`."""
    w1, x1 = f1
    w2, x2 = (None, x1) if f2 is None else f2

    hermitian_w, pseudo_w = _cotangent_grams(w1, w2, gram)
    hermitian = metric.weight * jnp.einsum("ai,bi->ab", x1, jnp.conj(x2),
                                           precision=_HIGHEST) + metric.bias
    term = gram.weighted(hermitian, hermitian_w)
    if metric.weight_pseudo != 0 or metric.bias_pseudo != 0:
        pseudo = metric.weight_pseudo * jnp.einsum("ai,bi->ab", x1, x2,
                                                   precision=_HIGHEST) + metric.bias_pseudo
        term = term + gram.weighted(pseudo, pseudo_w)
    return 0.5 * jnp.real(term)

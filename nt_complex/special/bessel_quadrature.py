"""Fixed-node Gauss-Legendre quadrature of modReLU's Bessel-form double
integral (`b < 0`, `|rho|` close to 1), paid only by the entries that need it,
also under `jax.vmap`.

`bessel_form_quadrature(c1, c2, x, derivatives, need)` returns the stacked
`G, A, B` (or `G` alone) of `nt_complex.special.modrelu` (see
`modrelu_quadrature` there for the integrals and the node layout). Entries with
`need` False get 0.

Bessel functions: `nt_complex.special.scaled_bessel` (one order per call).
A block whose needed entries have every Bessel argument `>= 25` (the usual
case near `|rho| = 1`, where the arguments grow like `c^2/(1 - |rho|)`)
evaluates the large-argument series alone (a `lax.cond` around the whole
integrand); other blocks evaluate both series per node. This, not the node
count, is what the rule's speed came from (issue 10: `jax.scipy.special`'s
`i0e` + `i1e` cost ~100 ns per node, ~75 us per entry).

Cost control:

* the entries that need the rule are moved to the front (stable argsort of a
  static-size array; entries whose arguments may fall below 25 after the
  others, so that blocks are homogeneous) and processed in blocks of at most
  128 by `lax.map`; blocks without such an entry are skipped by `lax.cond`;
* under `jax.vmap` a `lax.cond` would become a `select` that runs both
  branches, so the function carries a `jax.custom_batching.custom_vmap` rule:
  the batch axis is folded into the entry axis and the same unbatched code
  runs once on all entries of the batch (nested vmaps fold recursively);
* `custom_vmap` has no reverse-mode rule, so a `jax.custom_jvp` wraps it:
  under differentiation the same folded, block-skipping pass also returns the
  entrywise derivatives in `c1, c2, x` (`jax.linearize` inside each block;
  `dG/dx = A + B` exactly), and the tangent is their product with the input
  tangents (linear, so `grad` transposes it). Second derivatives are not
  supported. The Bessel functions carry their own JVP (order recurrences),
  which keeps the linearized graph small.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.custom_batching import custom_vmap

from nt_complex.special.scaled_bessel import LARGE_ARGUMENT, scaled_bessel

__all__ = ["bessel_form_quadrature"]

Array = jnp.ndarray

# Geometry in normalised units (see `modrelu_quadrature` in modrelu.py).
_HALF_WIDTH = 6.5        # inner window |r2 - |rho| r1| <= 6.5 s, e^{-42} ~ 6e-19
_TAIL_EXPONENT = 42.0    # outer range r1^2 <= max(c1, c2/|rho|)^2 + 42
_TRANSITION_PANELS, _TRANSITION_NODES = 3, 14
_TAIL_PANELS, _TAIL_NODES = 4, 16
_INNER_NODES = 18        # one panel on the shorter side of the dead-zone edge
_CHUNK = 128             # entries per quadrature block (skipped if none needs it)


def _gauss_legendre_panels(edges: Array, nodes: int) -> tuple[Array, Array]:
    """Nodes and weights of `nodes`-point Gauss-Legendre on each panel between
    consecutive `edges` (last axis); zero-length panels get zero weights."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    lo, hi = edges[..., :-1, None], edges[..., 1:, None]
    half = (hi - lo) / 2
    pts = (lo + hi) / 2 + half * t
    wts = half * w
    flat = pts.shape[:-2] + (pts.shape[-2] * nodes,)
    return pts.reshape(flat), wts.reshape(flat)


def _rule_range(x: Array) -> tuple[Array, Array]:
    """`x = |rho|` clamped to the rule's range [0.5, 1) and `s = sqrt(1 - x^2)`."""
    x = jnp.clip(x, 0.5, 1 - 1e-300)
    return x, jnp.sqrt((1 - x) * (1 + x))


def _full_plane_inner(c2: Array, k: Array, s: Array, i0: Array, i1: Array
                      ) -> tuple[Array, Array, Array]:
    """Inner integrals over all `r2 >= 0` (no dead zone) in closed form: with
    `z2 ~ CN(mu, s^2)`, `k = mu^2/(2 s^2)`, `i0, i1 = I_0e(k), I_1e(k)`:
    `E[(|z2| - c2) cos theta2] = mu - c2 sqrt(pi k/2) (I_0e + I_1e)(k)` (Rician
    mean of `z2/|z2|`), `E[1 - c2/(2|z2|)] = 1 - c2 sqrt(pi) I_0e(k)/(2 s)` and
    `E[c2 cos(2 theta2)/(2|z2|)] = c2 sqrt(pi) I_1e(k)/(2 s)`."""
    half = math.sqrt(math.pi) / 2
    root = jnp.sqrt(2 * k)
    return (s * root - c2 * half * root * (i0 + i1), 1 - c2 * half * i0 / s, c2 * half * i1 / s)


def _quadrature_flat(c1: Array, c2: Array, x: Array, mask: Array, derivatives: bool
                     ) -> Array:
    """Panel Gauss-Legendre for 1-D arrays of entries; returns (3 or 1, E).
    Entries with `mask` False do not decide the Bessel evaluation method."""
    x, s = _rule_range(x)
    x0 = c2 / x
    width = _HALF_WIDTH * s / x
    top = jnp.sqrt(jnp.maximum(c1, x0) ** 2 + _TAIL_EXPONENT)
    lo = jnp.minimum(jnp.maximum(c1, x0 - width), top)
    hi = jnp.minimum(jnp.maximum(lo, x0 + width), top)
    # window: r1 in [lo, hi], where the dead zone r2 < c2 cuts the inner window
    window = lo[:, None] + (hi - lo)[:, None] * jnp.linspace(0.0, 1.0, _TRANSITION_PANELS + 1)
    r1, w1 = _gauss_legendre_panels(window, _TRANSITION_NODES)
    w1 = w1 * 2 * r1 * jnp.exp(-r1 * r1)
    # tail: r1 in [hi, top], the inner window lies above c2 (closed form)
    ratios = jnp.linspace(0.0, 1.0, _TAIL_PANELS + 1)
    tail_r1, tail_w1 = _gauss_legendre_panels(hi[:, None] * (top / hi)[:, None] ** ratios,
                                              _TAIL_NODES)
    tail_w1 = tail_w1 * 2 * tail_r1 * jnp.exp(-tail_r1 * tail_r1)
    mu = x[:, None] * r1
    sc = s[:, None, None]
    # inner, t = (r2 - mu)/s: the edge r2 = c2 at t_edge; above it the integral
    # itself (t_edge >= 0), else the closed form over all r2 minus the part
    # 0 < r2 < c2 below the edge (always the shorter, at most 6.5 wide)
    t_edge = jnp.clip((c2[:, None] - mu) / s[:, None], -_HALF_WIDTH, _HALF_WIDTH)
    below = t_edge < 0
    t_start = jnp.where(below, jnp.maximum(-_HALF_WIDTH, -mu / s[:, None]), t_edge)
    t_end = jnp.where(below, t_edge, _HALF_WIDTH)
    t, wt = _gauss_legendre_panels(jnp.stack([t_start, t_end], axis=-1), _INNER_NODES)
    r2 = mu[..., None] + sc * t
    w2 = jnp.where(below[..., None], -wt, wt) * (2 * r2 / sc) * jnp.exp(-t * t)
    z = 2 * mu[..., None] * r2 / (sc * sc)
    window_k = mu * mu / (2 * s[:, None] ** 2)
    tail_k = (x[:, None] * tail_r1) ** 2 / (2 * s[:, None] ** 2)
    cc1, cc2 = c1[:, None], c2[:, None, None]
    safe_r2 = jnp.maximum(r2, 1e-300)

    def evaluate(large: bool) -> Array:
        i0, i1, i2 = (scaled_bessel(order, z, large) for order in range(3))
        window_full = [jnp.where(below, f, 0.0) for f in _full_plane_inner(
            c2[:, None], window_k, s[:, None], scaled_bessel(0, window_k, large),
            scaled_bessel(1, window_k, large))]
        tail_full = _full_plane_inner(c2[:, None], tail_k, s[:, None],
                                      scaled_bessel(0, tail_k, large),
                                      scaled_bessel(1, tail_k, large))

        def integrate(k, outer, inner, tail_outer):
            inside = jnp.sum(w1 * outer * (window_full[k] + jnp.sum(w2 * inner, axis=-1)),
                             axis=-1)
            return inside + jnp.sum(tail_w1 * tail_outer * tail_full[k], axis=-1)

        g = integrate(0, r1 - cc1, (r2 - cc2) * i1, tail_r1 - c1[:, None])
        if not derivatives:
            return g[None]
        a_ = integrate(1, 1 - cc1 / (2 * r1), (1 - cc2 / (2 * safe_r2)) * i0,
                       1 - c1[:, None] / (2 * tail_r1))
        b_ = integrate(2, cc1 / (2 * r1), cc2 / (2 * safe_r2) * i2,
                       c1[:, None] / (2 * tail_r1))
        return jnp.stack([g, a_, b_])

    # the large-argument Bessel series alone if every argument of the needed
    # entries allows it (tail arguments exceed the window's: tail_r1 >= r1)
    smallest = jnp.minimum(jnp.min(z, axis=(1, 2)), jnp.min(window_k, axis=1))
    smallest = jnp.min(jnp.where(mask, smallest, LARGE_ARGUMENT))
    return lax.cond(smallest >= LARGE_ARGUMENT, lambda: evaluate(True), lambda: evaluate(False))


def _block_values(b1: Array, b2: Array, bx: Array, bneed: Array, derivatives: bool,
                  jacobian: bool) -> Array:
    """Rule values of one block, (outputs, chunk); with `jacobian` also their
    entrywise derivatives in c1, c2, x stacked below, (4 outputs, chunk). The
    x-derivative of `G` is `A + B` (exact identity; differentiating the rule
    itself loses digits as `x -> 1`, where `G'' ~ (1 - x)^{-1/2}`)."""
    if not jacobian:
        return _quadrature_flat(b1, b2, bx, bneed, derivatives)
    full = lambda a, b, y: _quadrature_flat(a, b, y, bneed, True)
    values, linear = jax.linearize(full, b1, b2, bx)
    basis = jnp.eye(3, dtype=bx.dtype)[:, :, None] * jnp.ones_like(bx)  # (3 args, 3, chunk)
    slopes = jax.vmap(linear)(basis[:, 0], basis[:, 1], basis[:, 2])  # (3 args, 3, chunk)
    slopes = slopes.at[2, 0].set(values[1] + values[2])
    rows = 3 if derivatives else 1
    return jnp.concatenate([values[:rows]] + [slopes[k, :rows] for k in range(3)], axis=0)


def _slow_bessel(c1: Array, c2: Array, x: Array) -> Array:
    """1 where the window's Bessel arguments may fall below `LARGE_ARGUMENT`
    (the smallest is about `2 c2 (c2 - 6.5 s)/s^2`, `s^2 = 1 - x^2`), else 0:
    a sort key that groups such entries into the same blocks (it only affects
    speed; each block checks its actual arguments)."""
    x, s = _rule_range(x)
    low = jnp.maximum(jnp.minimum(c1, c2) - 7 * s, 0.0)
    return (2 * low * low < LARGE_ARGUMENT * s * s).astype(jnp.int32)


def _compacted(c1: Array, c2: Array, x: Array, need: Array, derivatives: bool,
               jacobian: bool) -> Array:
    """Plain (unbatched) evaluation: needed entries first, blocks of <= 128,
    blocks without a needed entry skipped. Arguments share one shape; returns
    (rows,) + shape, rows = outputs (x 4 with `jacobian`)."""
    shape, dtype = x.shape, x.dtype
    count = math.prod(shape)
    rows = (3 if derivatives else 1) * (4 if jacobian else 1)
    if count == 0:
        return jnp.zeros((rows,) + shape, dtype)
    need = need.reshape(-1)
    order = jnp.argsort(jnp.where(need, _slow_bessel(c1, c2, x).reshape(-1), 2), stable=True)
    chunk = min(count, _CHUNK)  # a few entries: no padding to a full block
    blocks = -(-count // chunk)
    pad = blocks * chunk - count

    def blocked(v, fill):
        v = v.reshape(-1)[order]
        return jnp.concatenate([v, jnp.full((pad,), fill, v.dtype)]).reshape(blocks, chunk)

    args = (blocked(c1, 1.0), blocked(c2, 1.0), blocked(x, 0.99), blocked(need, False))

    def block(arg):
        b1, b2, bx, bneed = arg
        values = lax.cond(jnp.any(bneed),
                          lambda: _block_values(b1, b2, bx, bneed, derivatives, jacobian),
                          lambda: jnp.zeros((rows, chunk), dtype))
        return jnp.where(bneed, values, 0.0)

    out = lax.map(block, args)  # (blocks, rows, chunk)
    sorted_out = jnp.moveaxis(out, 1, 0).reshape(rows, -1)[:, :count]
    out = jnp.zeros((rows, count), dtype).at[:, order].set(sorted_out)
    return out.reshape((rows,) + shape)


def _folding(derivatives: bool, jacobian: bool):
    """`_compacted` with a batching rule that folds vmapped axes into entries."""

    @custom_vmap
    def fast(c1, c2, x, need):
        return _compacted(c1, c2, x, need, derivatives, jacobian)

    @fast.def_vmap
    def rule(axis_size, in_batched, c1, c2, x, need):
        args = [v if batched else jnp.broadcast_to(v, (axis_size,) + v.shape)
                for v, batched in zip((c1, c2, x, need), in_batched)]
        shape = args[0].shape
        out = fast(*(v.reshape(-1) for v in args))  # (rows, axis_size * entries)
        return jnp.moveaxis(out.reshape(out.shape[:1] + shape), 1, 0), True

    return fast


@functools.lru_cache(maxsize=None)
def _fast(derivatives: bool):
    """Folded values; derivatives from the folded entrywise Jacobian (linear in
    the tangents, so reverse mode transposes it)."""
    values_fn, jacobian_fn = _folding(derivatives, False), _folding(derivatives, True)
    outputs = 3 if derivatives else 1

    @jax.custom_jvp
    def differentiable(c1, c2, x, need):
        return values_fn(c1, c2, x, need)

    @differentiable.defjvp
    def jvp(primals, tangents):
        full = jacobian_fn(*primals)
        values = full[:outputs]
        tangent = sum(full[outputs * (k + 1): outputs * (k + 2)] * tangents[k]
                      for k in range(3))
        return values, tangent

    return differentiable


def bessel_form_quadrature(c1: Array, c2: Array, x: Array, derivatives: bool,
                           need: Array) -> Array:
    """Stacked `G, A, B` (`derivatives`) or `G` of the Bessel-form rule where
    `need` is True, 0 elsewhere; `c1, c2 > 0`, `0.5 <= x < 1`; shape
    `(3 or 1,) + broadcast shape`. Cost scales with the number of needed entries,
    under `jit`, `vmap` (any nesting) and forward/reverse differentiation.

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> one = jnp.array(0.5)
      >>> g = bessel_form_quadrature(one, one, jnp.array([0.3, 0.99]), False,
      ...                            jnp.array([False, True]))
      >>> float(g[0, 0]), bool(0.34 < float(g[0, 1]) < 0.36)
      (0.0, True)
    """
    shape = jnp.broadcast_shapes(jnp.shape(c1), jnp.shape(c2), jnp.shape(x), jnp.shape(need))
    dtype = jnp.result_type(c1, c2, x, float)
    args = [jnp.broadcast_to(jnp.asarray(v, dtype), shape) for v in (c1, c2, x)]
    need = jnp.broadcast_to(jnp.asarray(need, bool), shape)
    return _fast(bool(derivatives))(*args, need)

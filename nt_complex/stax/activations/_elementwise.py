"""The kernel rule shared by every pointwise complex activation.

An activation supplies `fn` (for `apply_fn`) and `moments(pair, derivatives)`
(see `nt_complex.gaussian`). This module extracts, for every kernel entry, the
`GaussianPair` of the two pre-activations it couples, calls `moments`, and
assembles the output `ComplexKernel` (NNGP, NTK and pseudo fields).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Optional

import jax
import jax.numpy as jnp
from jax import lax
from neural_tangents import stax as nt_stax

from nt_complex._dtypes import complex_dtype
from nt_complex.gaussian import GaussianPair, Moments, SamePointPair, ntk_of_activation
from nt_complex.kernel import ComplexKernel
from nt_complex.stax._layer import build_layer
from nt_complex.stax.activations import _row_blocks
from nt_complex.stax.activations._row_blocks import map_row_blocks

MomentsFn = Callable[[GaussianPair, bool], Moments]

__all__ = ["activation_layer", "MomentsFn"]


def _spatial_diagonal(cov: jnp.ndarray, diagonal_spatial: bool) -> jnp.ndarray:
    """Per-example, per-position variances from a `cov1`-shaped array."""
    if diagonal_spatial:
        return cov
    out = cov
    n_spatial = (cov.ndim - 1) // 2
    for _ in range(n_spatial):  # take the diagonal of each consecutive pair
        out = jnp.moveaxis(jnp.diagonal(out, axis1=1, axis2=2), -1, out.ndim - 2)
    return out


def _outer(diag: jnp.ndarray, first: bool, batch_ndim: int, diagonal_spatial: bool):
    """Broadcast per-position diagonals against a covariance of `batch_ndim`
    batch axes: `first` places them on the first index of each pair."""
    shape = [diag.shape[0]]
    if batch_ndim == 2:
        shape = [diag.shape[0], 1] if first else [1, diag.shape[0]]
    for size in diag.shape[1:]:
        shape += [size] if diagonal_spatial else ([size, 1] if first else [1, size])
    return diag.reshape(shape)


def _pairs(k: ComplexKernel):
    """`GaussianPair`s for `cov1`, `nngp` and `cov2` entries of `k`."""
    ds = k.diagonal_spatial
    q1 = jnp.real(_spatial_diagonal(k.cov1, ds))
    cov2 = k.cov1 if k.cov2 is None else k.cov2
    q2 = jnp.real(_spatial_diagonal(cov2, ds))
    circular = k.is_circular
    if not circular:
        pcov2 = k.pseudo_cov1 if k.cov2 is None else k.pseudo_cov2
        p1 = _spatial_diagonal(k.pseudo_cov1, ds)
        p2 = _spatial_diagonal(pcov2, ds)

    def pair(qa, qb, pa, pb, cov, pseudo, batch_ndim, same):
        if same:  # both points from one example: cov1/cov2 entries
            a = _outer(qa, True, 1, ds)
            b = _outer(qa, False, 1, ds)
            pa_, pb_ = (None, None) if circular else (_outer(pa, True, 1, ds),
                                                      _outer(pa, False, 1, ds))
        else:
            a = _outer(qa, True, 2, ds)
            b = _outer(qb, False, 2, ds)
            pa_, pb_ = (None, None) if circular else (_outer(pa, True, 2, ds),
                                                      _outer(pb, False, 2, ds))
        # cov1/cov2 entries without off-diagonal spatial positions: |rho| = 1
        same_point = same and (ds or cov.ndim == 1)
        pair_type = SamePointPair if same_point else GaussianPair
        return pair_type(a, b, cov, pa_, pb_, None if circular else pseudo)

    none = None
    pair1 = pair(q1, none, none if circular else p1, none, k.cov1,
                 k.pseudo_cov1, 1, True)
    pair12 = pair(q1, q2, none if circular else p1, none if circular else p2,
                  k.nngp, k.pseudo_nngp, 2, False)
    pair2 = None
    if k.cov2 is not None:
        pair2 = pair(q2, none, none if circular else p2, none, k.cov2,
                     k.pseudo_cov2, 1, True)
    return pair1, pair12, pair2


SAME_POINT_ULPS = 64
"""An `x2` point counts as a copy of an `x1` point where its variances and
covariances at this layer agree with those of the `x1` point to this many ulps
(of the pair's variance scale): rounding of differently ordered sums (the input
Gram's matrix product vs. its row norms, FMA fusion) stays far below it, and
kernels of activations with a kink are not differentiable at `|rho| = 1`, so a
pair that close to it is only known to that precision anyway."""


def _close(a, b, scale) -> jnp.ndarray:
    return jnp.abs(a - b) <= SAME_POINT_ULPS * jnp.finfo(scale.dtype).eps * scale


def _same_point_mask(pair12: GaussianPair, pair1: GaussianPair, rows: Optional[jnp.ndarray]):
    """Where an `nngp` entry pairs an `x1` point with itself: the batch
    diagonal if `x2` is `x1` (`rows`: the entries' `x1` indices), else where
    `x2` holds a copy of it, i.e. where the pair's variances and covariances
    agree with the `x1` point's own to `SAME_POINT_ULPS`."""
    if rows is not None:
        n2 = pair12.cov.shape[1]
        eye = rows[:, None] == jnp.arange(n2)[None, :]
        return eye.reshape(eye.shape + (1,) * (pair12.cov.ndim - 2))
    scale = jnp.sqrt(pair12.q1 * pair12.q2)
    same = (_close(pair12.q2, _with_x2_axis(pair1.q2), scale)
            & _close(pair12.cov, _with_x2_axis(pair1.cov), scale))
    if not pair12.is_circular:
        same &= (_close(pair12.pseudo2, _with_x2_axis(pair1.pseudo2), scale)
                 & _close(pair12.pseudo, _with_x2_axis(pair1.pseudo), scale))
    return same


def _with_x2_axis(x):
    """A `cov1`-layout array against the `nngp` layout (an `x2` axis added)."""
    return jnp.expand_dims(x, 1)


def _with_same_points(m12: Moments, m1: Moments, same) -> Moments:
    """The `cov1` moments `m1` of an `x1` point (broadcast to the `cov1`
    shape) on the `nngp` entries that pair it with itself (`same`), so that
    `kernel_fn(x, x)` equals `kernel_fn(x, None)` and a test point that is
    also a training point gets the training point's kernel. Without this,
    kernels with an infinite slope at `|rho| = 1` (CReLU's arc-cosine, zReLU,
    modReLU) turn 1e-16 rounding differences between the two paths (matrix
    product vs row norms, FMA fusion under `jit`) into 1e-8 to 1e-4 errors."""
    fields = {}
    for name, value, own in zip(Moments._fields, m12, m1):
        if value is None or own is None:
            fields[name] = value
            continue
        fields[name] = jnp.where(same, _value_of_first(_with_x2_axis(own), value), value)
    return Moments(**fields)


def _value_of_first(own, value):
    """`own`'s value with `value`'s derivative: the entry stays differentiable
    in `x2` (through `value`) where `x2` holds a copy of an `x1` point."""
    own = own.astype(jnp.result_type(value, own))
    change = value - lax.stop_gradient(value)  # 0, or NaN where value is infinite
    return own + jnp.where(jnp.isfinite(value), change, 0)


def _below_diagonal(rows: jnp.ndarray, n2: int, ndim: int) -> jnp.ndarray:
    """Entries `(i, j, ...)` with `i > j` (`rows`: the entries' `x1` indices)
    in the `nngp` layout of `ndim` axes."""
    lower = rows[:, None] > jnp.arange(n2)[None, :]
    return lower.reshape(lower.shape + (1,) * (ndim - 2))


def _mirrored(x: Optional[jnp.ndarray], hermitian: bool, diagonal_spatial: bool
              ) -> Optional[jnp.ndarray]:
    """The kernel `x` of a batch with itself with each entry below the batch
    diagonal replaced by its mirror image above it: `x[j, i, p', p]`, conjugated
    if `hermitian` (NNGP, NTK; pseudo kernels are symmetric). Spatial axes come
    in pairs `(p, p')` unless `diagonal_spatial`."""
    if x is None:
        return None
    perm = [1, 0]
    for axis in range(2, x.ndim, 1 if diagonal_spatial else 2):
        perm += [axis] if diagonal_spatial else [axis + 1, axis]
    image = jnp.transpose(x, perm)
    if hermitian:
        image = jnp.conj(image)
    return jnp.where(_below_diagonal(jnp.arange(x.shape[0]), x.shape[1], x.ndim), image, x)


def _full_like(value: Optional[jnp.ndarray], shape_like: jnp.ndarray):
    if value is None:
        return None
    return jnp.broadcast_to(value, jnp.shape(shape_like))


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _kernel_of_activation(moments: MomentsFn, entries_per_block: int, upper_triangle: bool,
                          k: ComplexKernel) -> ComplexKernel:
    """The output kernel of the activation with rule `moments`, compiled once per
    `moments`, block size and input shape: an eager `kernel_fn` then pays one
    compilation per activation instead of one per array operation, and layers
    sharing a `moments` function (every `CReLU()`, every `ModReLU(b)` with one
    `b`) share it. Inlined under an outer `jit`. With `upper_triangle`, the
    kernel of a batch with itself (`x2 = None`) marks the entries below the
    batch diagonal `unused` and fills them with the mirror images of those
    above (exactly Hermitian output)."""
    pair1, pair12, pair2 = _pairs(k)
    need_ntk = k.ntk is not None
    m1 = moments(pair1, need_ntk)
    m1_full = Moments(*(None if v is None else jnp.broadcast_to(v, k.cov1.shape)
                        for v in m1))
    n1 = k.nngp.shape[0]
    rows = jnp.arange(n1) if k.cov2 is None else None

    def entries(args):
        pair12, pair1, m1_full, rows, ntk, pseudo_ntk = args
        nngp = pair12.cov
        if upper_triangle and rows is not None:
            pair12 = pair12._replace(unused=_below_diagonal(rows, nngp.shape[1], nngp.ndim))
        m12 = _with_same_points(moments(pair12, need_ntk), m1_full,
                                _same_point_mask(pair12, pair1, rows))
        if need_ntk:
            ntk, pseudo_ntk = ntk_of_activation(m12, ntk, pseudo_ntk)
            ntk = _full_like(ntk, nngp)
            pseudo_ntk = _full_like(pseudo_ntk, nngp)
        return (_full_like(m12.cov, nngp), _full_like(m12.pseudo, nngp),
                ntk, pseudo_ntk)

    nngp, pseudo_nngp, ntk, pseudo_ntk = map_row_blocks(
        entries, (pair12, pair1, m1_full, rows, k.ntk, k.pseudo_ntk),
        n1, k.nngp.size // max(n1, 1), entries_per_block)
    if upper_triangle and rows is not None:
        ds = k.diagonal_spatial
        nngp, ntk = _mirrored(nngp, True, ds), _mirrored(ntk, True, ds)
        pseudo_nngp = _mirrored(pseudo_nngp, False, ds)
        pseudo_ntk = _mirrored(pseudo_ntk, False, ds)
    m2 = None if pair2 is None else moments(pair2, False)
    circular_out = pseudo_nngp is None and (pseudo_ntk is None or not need_ntk)
    out = dict(
        cov1=_full_like(m1.cov, k.cov1), nngp=nngp,
        cov2=None if m2 is None else _full_like(m2.cov, k.cov2), ntk=ntk,
        is_gaussian=False, is_input=False)
    if circular_out:
        out.update(pseudo_nngp=None, pseudo_ntk=None, pseudo_cov1=None,
                   pseudo_cov2=None)
    else:
        zeros = jnp.zeros((), complex_dtype(out["nngp"]))
        def or_zero(x, like):
            return jnp.broadcast_to(zeros if x is None else x, jnp.shape(like))
        out.update(
            pseudo_nngp=or_zero(pseudo_nngp, k.nngp),
            pseudo_ntk=or_zero(pseudo_ntk, k.nngp) if need_ntk else None,
            pseudo_cov1=or_zero(m1.pseudo, k.cov1),
            pseudo_cov2=None if m2 is None else or_zero(m2.pseudo, k.cov2))
    return k.replace(**out)


def activation_layer(name: str, fn: Callable[[jnp.ndarray], jnp.ndarray],
                     moments: MomentsFn, upper_triangle: bool = False):
    """Build `(init_fn, apply_fn, kernel_fn)` for the pointwise activation `fn`.

    Args:
      name: layer name (used in errors).
      fn: the complex function applied elementwise by `apply_fn`.
      moments: `moments(pair, derivatives) -> Moments`, the infinite-width rule.
      upper_triangle: `moments` skips work on `pair.unused` entries; the kernel
        of a batch with itself then evaluates the entries on and above the
        batch diagonal and mirrors them (worth it only where the rule's cost
        per entry is data-dependent, as modReLU's near-1 quadrature).

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex.gaussian import Moments
      >>> ident = activation_layer('Id', lambda z: z,
      ...     lambda p, d: Moments(cov=p.cov, pseudo=p.pseudo, k_zz=1., l_zz=1.))
      >>> _, apply_fn, kernel_fn = ident
      >>> complex(apply_fn((), jnp.array([1j]))[0])
      1j
    """

    def init_fn(rng, input_shape):
        return input_shape, ()

    def apply_fn(params, inputs, **kwargs):
        return fn(inputs)

    @nt_stax.requires(diagonal_spatial=nt_stax.Diagonal())
    def rule(k: ComplexKernel, **kwargs) -> ComplexKernel:
        if not k.is_gaussian:
            raise ValueError(
                f"{name} needs a Gaussian input kernel, but it follows a "
                f"nonlinearity (or another non-Gaussian layer). Insert a Dense or "
                f"Conv layer between two activations.")
        return _kernel_of_activation(moments, _row_blocks.ENTRIES_PER_BLOCK, upper_triangle, k)

    return build_layer(name, init_fn, apply_fn, rule)

"""`ComplexKernel`: the infinite-width state of a complex network.

A complex network in the infinite-width limit is a complex Gaussian process. It
is described by two second moments: the Hermitian covariance
``K(x1, x2) = E[f(x1) conj(f(x2))]`` and the pseudo-covariance
``P(x1, x2) = E[f(x1) f(x2)]``. `ComplexKernel` is NT's `Kernel` (whose
`nngp`, `ntk`, `cov1`, `cov2` hold the Hermitian parts) plus the four pseudo
fields. A pseudo field that is `None` is *exactly zero*: circular networks (the
common case) never allocate or compute it.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Sequence
from typing import Optional, Union

import jax
import jax.numpy as jnp
import numpy as np

from nt_complex import _nt
from nt_complex._dtypes import complex_dtype
from nt_complex._validation import check_finite

__all__ = ["ComplexKernel", "input_kernel", "gram", "FIELDS",
           "PSEUDO_OF", "canonical_get", "kernel_namedtuple", "is_field_tuple"]

#: Names `get` accepts, in the order they are returned.
FIELDS = ("nngp", "ntk", "cov1", "cov2",
          "pseudo_nngp", "pseudo_ntk", "pseudo_cov1", "pseudo_cov2")

#: Hermitian field -> its pseudo twin.
PSEUDO_OF = {"nngp": "pseudo_nngp", "ntk": "pseudo_ntk",
             "cov1": "pseudo_cov1", "cov2": "pseudo_cov2"}


def canonical_get(get: Union[None, str, Sequence[str]],
                  fields: tuple[str, ...] = FIELDS) -> Optional[tuple[str, ...]]:
    """`get` as a tuple of names from `fields` (`None` stays `None`); others raise.

    Example:
      >>> canonical_get('ntk'), canonical_get(('nngp', 'pseudo_nngp'))
      (('ntk',), ('nngp', 'pseudo_nngp'))
    """
    if get is None:
        return None
    names = (get,) if isinstance(get, str) else tuple(get)
    for name in names:
        if name not in fields:
            raise ValueError(f"get: unknown field {name!r}; expected one of {fields}.")
    return names


@functools.lru_cache(maxsize=None)
def kernel_namedtuple(names: tuple[str, ...]) -> type:
    """The namedtuple type returned for a tuple `get` (one type per field tuple).

    Example:
      >>> kernel_namedtuple(('nngp', 'ntk'))._fields
      ('nngp', 'ntk')
    """
    field_tuple = collections.namedtuple("ComplexAnalyticKernel", names)
    _FIELD_TUPLES.add(field_tuple)
    return field_tuple


_FIELD_TUPLES: set = set()


def is_field_tuple(value: object) -> bool:
    """True for the namedtuples nt_complex returns for a tuple `get`.

    Example:
      >>> is_field_tuple(kernel_namedtuple(('nngp',))(1.)), is_field_tuple((1.,))
      (True, False)
    """
    return type(value) in _FIELD_TUPLES


@_nt.dataclass
class ComplexKernel(_nt.Kernel):
    """NT's `Kernel` plus pseudo-covariances (`None` means exactly zero).

    Shapes follow NT: `nngp`, `ntk` are `(N1, N2, *spatial_pairs)`, `cov1` is
    `(N1, *spatial_pairs)`; each `pseudo_*` field has its Hermitian twin's shape.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import input_kernel
      >>> x = jnp.array([[1 + 1j, 0.], [1j, 2.]])
      >>> k = input_kernel(x, None)
      >>> k.nngp.shape, k.pseudo_nngp.shape
      ((2, 2), (2, 2))
    """

    pseudo_nngp: Optional[jnp.ndarray] = None
    pseudo_ntk: Optional[jnp.ndarray] = None
    pseudo_cov1: Optional[jnp.ndarray] = None
    pseudo_cov2: Optional[jnp.ndarray] = None

    @property
    def is_circular(self) -> bool:
        """True when every pseudo field is exactly zero (statically known).

        Then all pseudo fields are `None`. Otherwise `pseudo_cov2` is `None`
        exactly when `cov2` is (`x2 is None`: it equals `pseudo_cov1`)."""
        return self.pseudo_nngp is None

    def get(self, name: str) -> jnp.ndarray:
        """The field `name`; a `None` pseudo field is materialised as zeros."""
        if name not in FIELDS:
            raise ValueError(f"get: unknown field {name!r}; expected one of {FIELDS}.")
        value = getattr(self, name)
        if value is None and name.startswith("pseudo_") and self.is_circular:
            twin = getattr(self, name[len("pseudo_"):])
            if twin is not None:
                value = jnp.zeros(twin.shape, complex_dtype(twin.dtype))
        return value

    def hermitian_part(self) -> _nt.Kernel:
        """The Hermitian fields as a plain NT `Kernel` (metadata kept)."""
        return _nt.Kernel(**{f: getattr(self, f) for f in _BASE_FIELDS})

    def map_fields(self, fn, *, pseudo: bool = True) -> "ComplexKernel":
        """Apply `fn(array, batch_ndim)` to every array field (pseudo ones too).

        Used for linear maps with real coefficients, which act identically on
        Hermitian and pseudo covariances. `None` fields stay `None`.
        """
        cov_batch = 1 if self.diagonal_batch else 2
        batch_ndims = {"nngp": 2, "ntk": 2, "cov1": cov_batch, "cov2": cov_batch}
        updates = {}
        for name, ndim in batch_ndims.items():
            for target in (name, PSEUDO_OF[name]) if pseudo else (name,):
                value = getattr(self, target)
                if value is not None and value.ndim > 0:
                    updates[target] = fn(value, ndim)
        return self.replace(**updates)

    # NT's `Kernel` methods below touch only the base fields; keep the pseudo
    # fields consistent, or refuse.
    def slice(self, n1_slice: slice, n2_slice: slice) -> "ComplexKernel":
        herm = self.hermitian_part().slice(n1_slice, n2_slice)
        pseudo = {}
        if self.pseudo_nngp is not None:
            pcov2 = self.pseudo_cov1 if self.pseudo_cov2 is None else self.pseudo_cov2
            pseudo = dict(
                pseudo_nngp=self.pseudo_nngp[n1_slice, n2_slice],
                pseudo_ntk=(None if self.pseudo_ntk is None or self.pseudo_ntk.ndim == 0
                            else self.pseudo_ntk[n1_slice, n2_slice]),
                pseudo_cov1=self.pseudo_cov1[n1_slice],
                pseudo_cov2=pcov2[n2_slice])
        return self.replace(**{f: getattr(herm, f) for f in _BASE_FIELDS}, **pseudo)

    def reverse(self) -> "ComplexKernel":
        """Reverse the order of spatial axis pairs in every field (NT's
        `is_reversed` convention), pseudo fields included."""
        def reverse_pairs(x, batch_ndim):
            pairs = [(batch_ndim + i, batch_ndim + i + 1)
                     for i in range(0, x.ndim - batch_ndim, 2)]
            order = list(range(batch_ndim)) + [a for p in pairs[::-1] for a in p]
            return jnp.transpose(x, order)
        return self.map_fields(reverse_pairs).replace(is_reversed=not self.is_reversed)

    def _unsupported(self, *args, **kwargs):
        raise NotImplementedError(
            "ComplexKernel does not support NT's Kernel arithmetic/indexing: NT's "
            "versions ignore the pseudo fields (and Kernel.__mul__ squares its "
            "scalar, which is wrong for complex scales). Operate on the fields "
            "explicitly instead.")

    transpose = mask = dot_general = __getitem__ = _unsupported
    __mul__ = __rmul__ = __add__ = __sub__ = __neg__ = __truediv__ = _unsupported


_BASE_FIELDS = tuple(f.name for f in dataclasses.fields(_nt.Kernel))


def _einsum_spec(n_spatial: int, diagonal_spatial: bool, same_batch: bool) -> str:
    """Channel contraction of two NHWC-like arrays into NT's covariance layout:
    `(N1, N2, *pairs)` (or `(N1, *pairs)` if `same_batch`) with pairs
    `(H, H, W, W, ...)`, or `(H, W, ...)` if `diagonal_spatial`."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    s1 = letters[:n_spatial]
    s2 = s1 if diagonal_spatial else letters[n_spatial:2 * n_spatial]
    batch_out = "N" if same_batch else "NM"
    pairs = s1 if diagonal_spatial else "".join(a + b for a, b in zip(s1, s2))
    return f"N{s1}C,{'N' if same_batch else 'M'}{s2}C->{batch_out}{pairs}"


def _swap_points(m: jnp.ndarray, batch_ndim: int, diagonal_spatial: bool) -> jnp.ndarray:
    """`m(x2, x1)` from `m(x1, x2)` laid out by `_einsum_spec` (swap the batch
    axes and each spatial pair)."""
    order = [1, 0] if batch_ndim == 2 else [0]
    step = 1 if diagonal_spatial else 2
    for axis in range(batch_ndim, m.ndim, step):
        order += [axis] if diagonal_spatial else [axis + 1, axis]
    return jnp.transpose(m, order)


def gram(x1: jnp.ndarray, x2: Optional[jnp.ndarray], *, diagonal_spatial: bool = False,
         same_batch: bool = False) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Channel-averaged Hermitian and pseudo Grams ``(x1 x2^H / C, x1 x2^T / C)``
    with the fewest real products.

    With ``x = R + iI`` (``M = R I^T`` for ``x2 = None``):

    * ``x2 = None``: ``A = R (R + I)^T = RR^T + M`` and ``B = I (I - R)^T = II^T - M^T``
      give the Hermitian Gram alone: ``G = A + B`` has symmetric part
      ``Re K = RR^T + II^T`` and antisymmetric part ``M - M^T = -Im K``. That is the
      work of two real products, NT's cost on the realified inputs ``[R, I]``.
      The pseudo Gram adds one: ``Im P = M + M^T``, ``Re P = A - B - Im P``.
    * ``x1 != x2`` (Gauss): ``T1 = R1 R2^T``, ``T2 = I1 I2^T``,
      ``T3 = (R1 + I1)(R2 - I2)^T`` give ``K = T1 + T2 + i (T3 - T1 + T2)``;
      the pseudo Gram adds ``T4 = (R1 + I1)(R2 + I2)^T``:
      ``P = T1 - T2 + i (T4 - T1 - T2)``.
    * Real inputs: one product (the two Grams coincide).
    * Per-example covariances (``same_batch``, work linear in the batch): the
      plain ``RR + II + i (IR - RI)``: its real part rounds like the cross
      Gram's ``T1 + T2`` at a copy of the point, which the activations'
      same-point detection compares and the kink at ``|rho| = 1`` amplifies
      (with ``A + B`` here, a gradient at a copy moved by 2e-9).

    Under `jit`, a network that never reads the input pseudo Gram (a circular
    first layer) does not pay for its product. Real products beat XLA's complex
    matmul on CPU (a complex product costs four real ones).

    Args:
      x1: `(N1, *spatial, C)`; x2: `(N2, *spatial, C)` or `None` (`x1`).
      diagonal_spatial: keep only same-position spatial covariances.
      same_batch: per-example covariances `(N1, *pairs)` (`x2` must then be
        `None` or have `N2 = N1`).

    Returns:
      `(hermitian, pseudo)` in NT's layout (see `ComplexKernel`). For
      ``x2 = None`` the Hermitian Gram is exactly Hermitian.

    Example:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[1 + 2j, 3j], [1., 1 - 1j]])
      >>> k, p = gram(x, None)
      >>> bool(jnp.allclose(k, x @ x.conj().T / 2)), bool(jnp.allclose(p, x @ x.T / 2))
      (True, True)
    """
    spec = _einsum_spec(x1.ndim - 2, diagonal_spatial, same_batch)
    channels = x1.shape[-1]

    def product(a, b):
        return jnp.einsum(spec, a, b, precision=jax.lax.Precision.HIGHEST) / channels

    if x2 is None and not jnp.iscomplexobj(x1):
        k = product(x1, x1)
        return k, k
    if x2 is None and same_batch:
        r, i = jnp.real(x1), jnp.imag(x1)
        rr, ii, ri = product(r, r), product(i, i), product(r, i)
        ir = _swap_points(ri, 1, diagonal_spatial)
        return jax.lax.complex(rr + ii, ir - ri), jax.lax.complex(rr - ii, ir + ri)
    if x2 is None:
        r, i = jnp.real(x1), jnp.imag(x1)

        def swap(m):
            return _swap_points(m, 2, diagonal_spatial)

        a, b = product(r, r + i), product(i, i - r)
        g = a + b
        g_swapped = swap(g)
        m = product(r, i)
        im_pseudo = m + swap(m)
        return (jax.lax.complex((g + g_swapped) / 2, (g_swapped - g) / 2),
                jax.lax.complex(a - b - im_pseudo, im_pseudo))
    if not (jnp.iscomplexobj(x1) or jnp.iscomplexobj(x2)):
        k = product(x1, x2)
        return k, k
    r1, i1, r2, i2 = jnp.real(x1), jnp.imag(x1), jnp.real(x2), jnp.imag(x2)
    t1, t2 = product(r1, r2), product(i1, i2)
    t3, t4 = product(r1 + i1, r2 - i2), product(r1 + i1, r2 + i2)
    return (jax.lax.complex(t1 + t2, t3 - t1 + t2),
            jax.lax.complex(t1 - t2, t4 - t1 - t2))


def input_kernel(x1: jnp.ndarray, x2: Optional[jnp.ndarray] = None, *,
                 diagonal_spatial: bool = False, compute_ntk: bool = True
                 ) -> ComplexKernel:
    """The `ComplexKernel` of the inputs themselves.

    `nngp = x1 x2^H / C` (Hermitian, conjugated: NT drops `Im x` here) and
    `pseudo_nngp = x1 x2^T / C`, averaged over the trailing channel axis, with
    NT's layout for spatial axes (inputs are `(N, *spatial, C)`).
    `ntk` starts at zero, as in NT.

    Args:
      x1: `(N1, *spatial, C)` real or complex array.
      x2: `(N2, *spatial, C)` or `None` (meaning `x1`).
      diagonal_spatial: keep only same-position spatial covariances.
      compute_ntk: also create the (zero) `ntk` fields.

    Example:
      >>> import jax.numpy as jnp
      >>> k = input_kernel(jnp.array([[1j, 1.]]), None)
      >>> complex(k.nngp[0, 0]), complex(k.pseudo_nngp[0, 0])
      ((1+0j), 0j)
    """
    x1 = _as_input(x1, "x1")
    x2_given = x2 is not None
    x2 = _as_input(x2, "x2") if x2_given else x1
    if x1.shape[1:] != x2.shape[1:]:
        raise ValueError(
            f"x1 and x2 must agree on all but the batch axis; got x1.shape="
            f"{x1.shape} and x2.shape={x2.shape}.")
    dtype = jnp.result_type(x1.dtype, x2.dtype, jnp.float32)
    x1, x2 = x1.astype(dtype), x2.astype(dtype)

    nngp, pseudo_nngp = gram(x1, x2 if x2_given else None, diagonal_spatial=diagonal_spatial)
    cov1, pseudo_cov1 = gram(x1, None, diagonal_spatial=diagonal_spatial, same_batch=True)
    # With x2=None the batch diagonal is cov1 itself. Activations give every
    # entry that pairs an input with itself (batch diagonal, or a copy in x2)
    # the cov1 moments: kernels such as the arc-cosine take
    # sqrt(q1 q2 - |K12|^2), which turns 1e-16 rounding differences into 1e-8.
    if not x2_given:
        diag = jnp.arange(x1.shape[0])
        nngp = nngp.at[diag, diag].set(cov1)
        pseudo_nngp = pseudo_nngp.at[diag, diag].set(pseudo_cov1)
    cov2, pseudo_cov2 = (gram(x2, None, diagonal_spatial=diagonal_spatial, same_batch=True)
                         if x2_given else (None, None))
    ntk = jnp.zeros((), nngp.dtype) if compute_ntk else None
    pseudo_ntk = jnp.zeros((), nngp.dtype) if compute_ntk else None
    return ComplexKernel(
        nngp=nngp, ntk=ntk, cov1=cov1, cov2=cov2,
        x1_is_x2=jnp.array(not x2_given),
        is_gaussian=True, is_reversed=False, is_input=True,
        diagonal_batch=True, diagonal_spatial=diagonal_spatial,
        shape1=x1.shape, shape2=x2.shape, batch_axis=0, channel_axis=x1.ndim - 1,
        mask1=None, mask2=None,
        pseudo_nngp=pseudo_nngp, pseudo_ntk=pseudo_ntk,
        pseudo_cov1=pseudo_cov1, pseudo_cov2=pseudo_cov2)


def _as_input(x, name: str) -> jnp.ndarray:
    if not isinstance(x, (jnp.ndarray, np.ndarray)):
        raise TypeError(f"{name} must be a jax or numpy array; got {type(x).__name__}.")
    if x.ndim < 2:
        raise ValueError(
            f"{name} must have a batch axis and a trailing channel axis "
            f"(N, *spatial, C); got shape {x.shape}.")
    if not (jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.complexfloating)
            or jnp.issubdtype(x.dtype, jnp.integer)):
        raise TypeError(f"{name} must be real or complex numeric; got dtype {x.dtype}.")
    check_finite(x, name)
    return jnp.asarray(x)

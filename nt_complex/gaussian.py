"""Complex-Gaussian expectation primitives shared by all activations.

An activation's infinite-width rule needs, for each pair of pre-activations
``(z1, z2)`` (zero-mean jointly complex Gaussian), the moments of ``f(z1)``,
``f(z2)`` and of their Wirtinger derivatives ``f_z = (f_x - i f_y)/2`` and
``f_zb = (f_x + i f_y)/2``. `GaussianPair` describes the input pair and
`Moments` collects the outputs; `None` means "exactly zero" everywhere.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

__all__ = ["GaussianPair", "SamePointPair", "Moments", "SplitCovariances", "split_covariances",
           "safe_sqrt", "ntk_of_activation", "times", "require_circular"]

Array = jnp.ndarray


class GaussianPair(NamedTuple):
    """Second moments of a zero-mean complex Gaussian pair `(z1, z2)`.

    All fields broadcast against each other (one entry per kernel entry).

    Attributes:
      q1: `E|z1|^2` (real, >= 0).
      q2: `E|z2|^2`.
      cov: `K12 = E[z1 conj(z2)]` (complex or real dtype).
      pseudo1: `P11 = E[z1^2]`, or `None` if the pair is circular.
      pseudo2: `P22 = E[z2^2]`, or `None`.
      pseudo: `P12 = E[z1 z2]`, or `None`.
      unused: boolean mask of entries whose moments the caller discards (it
        fills them otherwise), or `None` (all are used). A rule may skip
        expensive work there and return any finite value.
    """

    q1: Array
    q2: Array
    cov: Array
    pseudo1: Optional[Array] = None
    pseudo2: Optional[Array] = None
    pseudo: Optional[Array] = None
    unused: Optional[Array] = None

    @property
    def is_circular(self) -> bool:
        """Statically circular: all pseudo-covariances are exactly zero."""
        return self.pseudo is None


class SamePointPair(GaussianPair):
    """A `GaussianPair` each of whose entries pairs a point with itself
    (`q1 = q2 = cov`): the `cov1`/`cov2` entries of a kernel without
    off-diagonal spatial covariances. The type is static information: an
    activation may trace its `|rho| = 1` forms alone instead of its general
    rule (modReLU then compiles no series or quadrature for these entries).

    Example:
      >>> import jax.numpy as jnp
      >>> p = SamePointPair(jnp.ones(2), jnp.ones(2), jnp.ones(2, complex))
      >>> isinstance(p, GaussianPair), p.is_circular
      (True, True)
    """

    __slots__ = ()


class Moments(NamedTuple):
    """Output moments of an activation `f` on a `GaussianPair` (None = 0).

    Attributes:
      cov: `E[f(z1) conj f(z2)]`.
      pseudo: `E[f(z1) f(z2)]`.
      k_zz, k_bb, k_zb, k_bz: `E[f_z(z1) conj f_z(z2)]`, `E[f_zb conj f_zb]`,
        `E[f_z(z1) conj f_zb(z2)]`, `E[f_zb(z1) conj f_z(z2)]`.
      l_zz, l_zb, l_bz, l_bb: the same without conjugation.
    """

    cov: Array
    pseudo: Optional[Array] = None
    k_zz: Optional[Array] = None
    k_bb: Optional[Array] = None
    k_zb: Optional[Array] = None
    k_bz: Optional[Array] = None
    l_zz: Optional[Array] = None
    l_zb: Optional[Array] = None
    l_bz: Optional[Array] = None
    l_bb: Optional[Array] = None


def times(a, b) -> Array:
    """`a * b` in which an exactly zero (real or imaginary) part times an
    infinite one gives 0, not NaN.

    Infinite kernel entries are legitimate (the diagonal NTK of modReLU with
    `b > 0`); IEEE complex multiplication would turn `inf * (t + 0j)` into
    `inf + nan j`.

    Example:
      >>> import jax.numpy as jnp
      >>> complex(times(jnp.inf, jnp.array(2 + 0j)))
      (inf+0j)
    """
    def mul(u, v):
        return jnp.where((u == 0) | (v == 0), 0, u * v)

    if not (jnp.iscomplexobj(a) or jnp.iscomplexobj(b)):
        return mul(a, b)
    ar, ai, br, bi = jnp.real(a), jnp.imag(a), jnp.real(b), jnp.imag(b)
    return jax.lax.complex(mul(ar, br) - mul(ai, bi), mul(ar, bi) + mul(ai, br))


def _terms(*pairs) -> Optional[Array]:
    """Sum of `coef * value` over pairs whose coefficient is not None."""
    total = None
    for coef, value in pairs:
        if coef is None or value is None:
            continue
        term = times(coef, value)
        total = term if total is None else total + term
    return total


def ntk_of_activation(m: Moments, ntk: Array, pseudo_ntk: Optional[Array]
                      ) -> tuple[Optional[Array], Optional[Array]]:
    """NTK and pseudo-NTK of `f(z)` from those of `z` (chain rule, Wirtinger).

    `Theta_f = k_zz Theta + k_bb conj(Theta) + k_zb Theta~ + k_bz conj(Theta~)`,
    `Theta~_f = l_zz Theta~ + l_zb Theta + l_bz conj(Theta) + l_bb conj(Theta~)`.

    Example:
      >>> import jax.numpy as jnp
      >>> m = Moments(cov=None, k_zz=jnp.array(2.))
      >>> float(ntk_of_activation(m, jnp.array(3.), None)[0])
      6.0
    """
    conj_ntk = jnp.conj(ntk)
    conj_pseudo = None if pseudo_ntk is None else jnp.conj(pseudo_ntk)
    theta = _terms((m.k_zz, ntk), (m.k_bb, conj_ntk),
                   (m.k_zb, pseudo_ntk), (m.k_bz, conj_pseudo))
    if theta is None:
        theta = jnp.zeros_like(ntk)
    pseudo = _terms((m.l_zz, pseudo_ntk), (m.l_zb, ntk),
                    (m.l_bz, conj_ntk), (m.l_bb, conj_pseudo))
    return theta, pseudo


def require_circular(pair: GaussianPair, name: str, alternative: str) -> None:
    """Raise `NotImplementedError` if `pair` is not (statically) circular.

    For activations whose kernels are implemented for circular inputs only;
    `alternative` tells the user what to do instead.

    Example:
      >>> import jax.numpy as jnp
      >>> require_circular(GaussianPair(jnp.ones(()), jnp.ones(()), jnp.ones(())), 'f', '')
    """
    if not pair.is_circular:
        raise NotImplementedError(
            f"{name}: the kernel is implemented for circular pre-activations "
            f"(pseudo-covariance exactly zero, as after circular Dense/Conv layers with "
            f"W_pseudo=0, b_pseudo=0), but the input has a pseudo-covariance (e.g. "
            f"after real-valued weights W_pseudo != 0). {alternative}")


def safe_sqrt(x: Array) -> Array:
    """`sqrt(max(x, 0))` with a finite (zero) gradient at and below 0."""
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1)), 0)


class SplitCovariances(NamedTuple):
    """Real covariances of `(x1, y1, x2, y2)`, `z_a = x_a + i y_a`.

    `var_x1 = E[x1^2]`, ..., `xx = E[x1 x2]`, `yy = E[y1 y2]`,
    `xy = E[x1 y2]`, `yx = E[y1 x2]`.
    """

    var_x1: Array
    var_y1: Array
    var_x2: Array
    var_y2: Array
    xx: Array
    yy: Array
    xy: Array
    yx: Array


def split_covariances(pair: GaussianPair) -> SplitCovariances:
    """Real and imaginary parts' covariances of a complex Gaussian pair.

    `E[x_a x_b] = Re(K_ab + P_ab)/2`, `E[y_a y_b] = Re(K_ab - P_ab)/2`,
    `E[x_a y_b] = Im(P_ab - K_ab)/2`, `E[y_a x_b] = Im(P_ab + K_ab)/2`.

    Example:
      >>> import jax.numpy as jnp
      >>> s = split_covariances(GaussianPair(jnp.array(2.), jnp.array(2.), jnp.array(1j)))
      >>> float(s.var_x1), float(s.xy), float(s.yx)
      (1.0, -0.5, 0.5)
    """
    zero = jnp.zeros((), jnp.result_type(pair.cov))
    p11 = zero if pair.pseudo1 is None else pair.pseudo1
    p22 = zero if pair.pseudo2 is None else pair.pseudo2
    p12 = zero if pair.pseudo is None else pair.pseudo
    q1, q2, k12 = jnp.real(pair.q1), jnp.real(pair.q2), pair.cov
    return SplitCovariances(
        var_x1=(q1 + jnp.real(p11)) / 2, var_y1=(q1 - jnp.real(p11)) / 2,
        var_x2=(q2 + jnp.real(p22)) / 2, var_y2=(q2 - jnp.real(p22)) / 2,
        xx=jnp.real(k12 + p12) / 2, yy=jnp.real(k12 - p12) / 2,
        xy=jnp.imag(p12 - k12) / 2, yx=jnp.imag(p12 + k12) / 2)

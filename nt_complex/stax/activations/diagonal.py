"""Diagonal moments of a pointwise activation: what the phase module needs at `c = 1`.

For a circular pre-activation `z ~ CN(0, q)` an activation `f` reports plain
expectations (not normalised by `q`; arrays shaped like `q`):

* `variance = E|f(z)|^2` (the q-map);
* `par = dK_f/dK12` along a real perturbation of `K12` at `K12 = q`, i.e.
  `E|f_z|^2 + E|f_zb|^2` for continuous `f` (complex Price theorem), `+inf`
  where `f` jumps (the c-map then has an infinite slope at `c = 1`);
* `phase = d Im K_f / d Im K12` along a phase perturbation `K12 = q e^{i eps}`,
  i.e. `E|f_z|^2 - E|f_zb|^2` for continuous `f`.

An activation layer carries its rule as an attribute of its `kernel_fn`
(`with_diagonal`, read back by `diagonal_rule`), the way it carries its kernel
rule; `nt_complex.phase` uses it for the q-map and the multipliers instead of
differentiating the kernel through its same-point (`|rho| = 1`) branch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Optional

import jax.numpy as jnp

from nt_complex._dtypes import complex_dtype
from nt_complex.gaussian import GaussianPair, Moments

__all__ = ["DiagonalMoments", "DiagonalRule", "with_diagonal", "diagonal_rule",
           "diagonal_from_moments"]

_ATTRIBUTE = "_nt_complex_diagonal"


class DiagonalMoments(NamedTuple):
    """`variance = E|f|^2`, `par = E|f_z|^2 + E|f_zb|^2` (inf at jumps),
    `phase = E|f_z|^2 - E|f_zb|^2`, for `z ~ CN(0, q)` (see the module doc)."""

    variance: jnp.ndarray
    par: jnp.ndarray
    phase: jnp.ndarray


DiagonalRule = Callable[[jnp.ndarray], DiagonalMoments]


def with_diagonal(layer: tuple, rule: DiagonalRule) -> tuple:
    """Attach `rule` (pre-activation variance `q` -> `DiagonalMoments`) to `layer`.

    Returns the same `(init_fn, apply_fn, kernel_fn)` triple.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> layer = with_diagonal(stax.Identity(), lambda q: DiagonalMoments(q, 1. + 0 * q, 1. + 0 * q))
      >>> float(diagonal_rule(layer)(jnp.array(2.)).variance)
      2.0
    """
    setattr(layer[2], _ATTRIBUTE, rule)
    return layer


def diagonal_rule(layer: tuple) -> Optional[DiagonalRule]:
    """The rule attached by `with_diagonal`, or None.

    Example:
      >>> from nt_complex import stax
      >>> diagonal_rule(stax.Dense(1)) is None, diagonal_rule(stax.CReLU()) is None
      (True, False)
    """
    return getattr(layer[2], _ATTRIBUTE, None)


def diagonal_from_moments(moments: Callable[[GaussianPair, bool], Moments]) -> DiagonalRule:
    """The rule of a continuous activation from its kernel rule `moments`,
    evaluated on the same-point pair `(z, z)`: `variance = K_f`,
    `par = k_zz + k_bb`, `phase = k_zz - k_bb` (no autodiff).

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex.gaussian import Moments
      >>> ident = lambda p, d: Moments(cov=p.cov, k_zz=1. + 0 * p.cov)
      >>> d = diagonal_from_moments(ident)(jnp.array(3.))
      >>> float(d.variance), float(d.par), float(d.phase)
      (3.0, 1.0, 1.0)
    """
    def rule(q: jnp.ndarray) -> DiagonalMoments:
        q = jnp.asarray(q, float)
        m = moments(GaussianPair(q, q, q.astype(complex_dtype(q))), True)
        zero = jnp.zeros_like(q)
        a = zero if m.k_zz is None else jnp.real(m.k_zz) + zero
        b = zero if m.k_bb is None else jnp.real(m.k_bb) + zero
        return DiagonalMoments(jnp.real(m.cov) + zero, a + b, a - b)
    return rule

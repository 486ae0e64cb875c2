"""Exponentially scaled modified Bessel functions `I_nu(z) e^{-z}`, `nu = 0, 1,
2`, evaluated together for `z >= 0` (the Bessel nodes of the modReLU near-1
rule, `nt_complex.special.bessel_quadrature`).

`scaled_bessel_012(z, large)` returns the stacked `I_0e, I_1e, I_2e`:

* `z >= LARGE_ARGUMENT` (= 25): the large-argument (Hankel) series
  `I_nu e(z) = (2 pi z)^{-1/2} sum_{k < 20} (-1)^k a_k(nu) z^{-k}`,
  `a_k(nu) = prod_{j <= k} (4 nu^2 - (2 j - 1)^2) / (k! 8^k)`, a polyval in
  `1/z` (no `exp`); the first omitted term is below 1e-17 at `z = 25` and the
  neglected exponentially small part is `~e^{-2z} <= 2e-22` relative;
* `z < 25`: the power series `I_nu(z) = (z/2)^nu sum_{k < 40} y^k /
  (k! (k + nu)!)`, `y = z^2/4` (positive terms; the first omitted term is
  below 1e-17 of the sum at `z = 25`), times `e^{-z}`.

With `large=True` only the large-argument branch is evaluated (the caller
guarantees `z >= 25`; one polyval per order and a square root per node, about
a sixth of the cost of `jax.scipy.special.i0e` + `i1e`, which evaluate both of
their Chebyshev branches); otherwise both branches are evaluated and selected
by `jnp.where` (arguments clamped so that the unselected branch is finite).
Measured against scipy `ive` and mpmath (tests/test_modrelu_near_one.py):
<= 3e-15 relative on [0, 1e12], including both sides of `z = 25`.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

__all__ = ["LARGE_ARGUMENT", "scaled_bessel_012"]

Array = jnp.ndarray

LARGE_ARGUMENT = 25.0
_ASYMPTOTIC_TERMS = 20
_SERIES_TERMS = 40


def _hankel_coefficients(nu: int) -> np.ndarray:
    """`(-1)^k a_k(nu)`, k < 20, highest power of `1/z` first (for polyval)."""
    out = [1.0]
    for k in range(1, _ASYMPTOTIC_TERMS):
        out.append(-out[-1] * (4 * nu * nu - (2 * k - 1) ** 2) / (8 * k))
    return np.array(out[::-1])


def _series_coefficients(nu: int) -> np.ndarray:
    """`1/(k! (k + nu)!)`, k < 40, highest power of `y` first."""
    return np.array([math.exp(-math.lgamma(k + 1) - math.lgamma(k + nu + 1))
                     for k in range(_SERIES_TERMS - 1, -1, -1)])


# coefficients (terms, order), highest power first, for a broadcast polyval
_HANKEL = np.stack([_hankel_coefficients(nu) for nu in range(3)], axis=1)
_SERIES = np.stack([_series_coefficients(nu) for nu in range(3)], axis=1)
_ORDERS = np.arange(3.0)


def _by_order(values: np.ndarray, z: Array) -> Array:
    """`values` (..., 3) as an array broadcasting against `(3,) + z.shape`."""
    return jnp.asarray(values.reshape(values.shape[:-1] + (3,) + (1,) * z.ndim))


def _large(z: Array) -> Array:
    series = jnp.polyval(_by_order(_HANKEL, z), 1 / z, unroll=_ASYMPTOTIC_TERMS)
    return series / jnp.sqrt(2 * math.pi * z)


def _small(z: Array) -> Array:
    half = z / 2
    series = jnp.polyval(_by_order(_SERIES, z), half * half, unroll=_SERIES_TERMS)
    return jnp.exp(-z) * half ** _by_order(_ORDERS, z) * series


def scaled_bessel_012(z: Array, large: bool = False) -> Array:
    """Stacked `I_0(z) e^{-z}, I_1(z) e^{-z}, I_2(z) e^{-z}` for real `z >= 0`,
    shape `(3,) + z.shape`; `large=True` requires every `z >= LARGE_ARGUMENT`
    and evaluates only the large-argument series.

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> from scipy.special import ive
      >>> z = jnp.array([0.5, 30.0])
      >>> bool(jnp.allclose(scaled_bessel_012(z)[2], ive(2, z), rtol=1e-14))
      True
    """
    z = jnp.asarray(z)
    if large:
        return _large(z)
    is_large = z >= LARGE_ARGUMENT
    big = _large(jnp.where(is_large, z, LARGE_ARGUMENT))
    small = _small(jnp.where(is_large, 0.0, z))
    return jnp.where(is_large, big, small)

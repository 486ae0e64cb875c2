"""Exponentially scaled modified Bessel functions `I_nu(z) e^{-z}`, `nu = 0, 1,
2`, `z >= 0`: the Bessel nodes of the modReLU near-1 rule
(`nt_complex.special.bessel_quadrature`).

`scaled_bessel(order, z, large)` returns `I_order(z) e^{-z}`:

* `z >= LARGE_ARGUMENT` (= 25): the large-argument (Hankel) series
  `(2 pi z)^{-1/2} sum_{k < 20} (-1)^k a_k(nu) z^{-k}`,
  `a_k(nu) = prod_{j <= k} (4 nu^2 - (2 j - 1)^2) / (k! 8^k)`, a polyval in
  `1/z` (no `exp`); truncation error <= 1e-17 relative at `z = 25` (the
  neglected exponentially small part is `~e^{-2z} <= 2e-22`);
* `z < 25`: the power series `(z/2)^nu sum_{k < 40} y^k / (k! (k + nu)!)`,
  `y = z^2/4` (positive terms), times `e^{-z}`; truncation error <= 3e-17
  relative at `z = 25`.

With `large=True` only the large-argument series is evaluated (the caller
guarantees `z >= 25`): one polyval and a square root per node, where
`jax.scipy.special.i0e`/`i1e` (~50 ns per element each, measured) evaluate both
of their Chebyshev branches. Otherwise both series are evaluated (arguments
clamped so that the unselected one stays finite) and selected by `jnp.where`.
The JVP uses `I_nu' = I_{nu-1} - (nu/z) I_nu` (`I_{-1} = I_1`) instead of
differentiating the polyvals (a smaller derivative graph: the near-1 rule's
gradient compiles ~3x faster and runs ~8x faster than with the polyvals' JVP).

Measured against scipy `ive` and mpmath (tests/test_modrelu_near_one.py):
<= 5e-15 relative on [0, 1e6] (both sides of `z = 25`), the large-argument
series alone <= 1e-15 from `z = 25` to 1e12, slopes <= 5e-15 of
`max(value, slope)`.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["LARGE_ARGUMENT", "scaled_bessel"]

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
    return np.array([1 / (math.factorial(k) * math.factorial(k + nu))  # correctly rounded
                     for k in range(_SERIES_TERMS - 1, -1, -1)])


_HANKEL = [_hankel_coefficients(nu) for nu in range(3)]
_SERIES = [_series_coefficients(nu) for nu in range(3)]


def _value(order: int, z: Array, large: bool) -> Array:
    """`I_order(z) e^{-z}` (see the module docstring for the two series)."""
    hankel = jnp.asarray(_HANKEL[order])
    if large:
        return jnp.polyval(hankel, 1 / z, unroll=_ASYMPTOTIC_TERMS) / jnp.sqrt(2 * math.pi * z)
    is_large = z >= LARGE_ARGUMENT
    zl = jnp.where(is_large, z, LARGE_ARGUMENT)
    big = jnp.polyval(hankel, 1 / zl, unroll=_ASYMPTOTIC_TERMS) / jnp.sqrt(2 * math.pi * zl)
    half = jnp.where(is_large, 0.0, z) / 2
    series = jnp.polyval(jnp.asarray(_SERIES[order]), half * half, unroll=_SERIES_TERMS)
    small = jnp.exp(-2 * half) * half ** order * series
    return jnp.where(is_large, big, small)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 2))
def _scaled(order: int, z: Array, large: bool) -> Array:
    return _value(order, z, large)


@_scaled.defjvp
def _scaled_jvp(order, large, primals, tangents):
    """`d/dz I_nu e = I_{nu-1}e - (nu/z) I_nu e - I_nu e` (`I_{-1} = I_1`): the
    derivative graph holds one more evaluation instead of the polyvals' JVP."""
    (z,), (dz,) = primals, tangents
    value = _value(order, z, large)
    below = _value(1 if order == 0 else order - 1, z, large)
    if order == 0:
        slope = below - value
    else:  # I_nu e/z -> 0 at z = 0 for nu >= 1 (I_nu ~ z^nu)
        safe = jnp.where(z > 0, z, 1.0)
        slope = below - jnp.where(z > 0, order * value / safe, 0.5 * (order == 1)) - value
    return value, slope * dz


def scaled_bessel(order: int, z: Array, large: bool = False) -> Array:
    """`I_order(z) e^{-z}` for `order` in {0, 1, 2} (static) and real `z >= 0`;
    `large=True` requires every `z >= LARGE_ARGUMENT` and evaluates only the
    large-argument series.

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> from scipy.special import ive
      >>> z = jnp.array([0.5, 30.0])
      >>> bool(jnp.allclose(scaled_bessel(2, z), ive(2, z), rtol=1e-14))
      True
    """
    return _scaled(order, jnp.asarray(z), bool(large))

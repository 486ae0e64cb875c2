"""Split activations `f(z) = g(Re z) + i g(Im z)` from a real `g`'s closed forms.

Any real activation with a closed-form kernel lifts: give `Split` the real
elementwise `g` and `real_kernel(v1, v2, c) -> (T, D)` with
`T = E[g(u) g(v)]`, `D = E[g'(u) g'(v)]` for a centred real Gaussian pair with
variances `v1, v2` and covariance `c`. `CReLU` and `SplitErf` are the two
built-in lifts (NT's arc-cosine and arcsine kernels).

A circular pair (the common case: after Dense/Conv with circular weights) has
`Re z` and `Im z` identically distributed and `E[x1 y2] = -E[y1 x2]`, so of the
four real kernels `xx, yy, xy, yx` only `xx` and `yx` need evaluating when `g`'s
kernel at `-c` follows from the one at `c` (`negated`): for `g = a x + even`
(ReLU: `a = 1/2`) `T(-c) = T(c) - 2 a^2 c`, `D(-c) = 2 a^2 - D(c)`; for an odd
`g` (erf) `T(-c) = -T(c)`, `D(-c) = D(c)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from nt_complex.gaussian import GaussianPair, Moments, safe_sqrt, split_covariances
from nt_complex.special.trig import arctan2
from nt_complex.stax.activations._elementwise import activation_layer
from nt_complex.stax.activations.diagonal import diagonal_from_moments, with_diagonal

__all__ = ["Split", "CReLU", "SplitErf", "relu_kernel", "erf_kernel",
           "relu_kernel_negated", "erf_kernel_negated"]

RealKernel = Callable[[jnp.ndarray, jnp.ndarray, jnp.ndarray],
                      tuple[jnp.ndarray, jnp.ndarray]]
NegatedKernel = Callable[[jnp.ndarray, jnp.ndarray, jnp.ndarray],
                         tuple[jnp.ndarray, jnp.ndarray]]


def relu_kernel(v1, v2, c):
    """Arc-cosine kernel of ReLU: with `cos t = c/sqrt(v1 v2)`,
    `T = (sqrt(v1 v2 - c^2) + (pi - t) c)/(2 pi)`, `D = (pi - t)/(2 pi)`.

    `v1 v2 - c^2` is formed as `(n - c)(n + c)` with `n = sqrt(v1 v2)`, and no
    division is taken, so a point paired with itself (`v1 = v2 = c`) gives
    `t = 0` exactly even under `jit` (XLA turns `c / sqrt(.)` into an inexact
    `c * rsqrt(.)`; near `t = 0` a 1e-16 error becomes 1e-8). Finite (zero
    gradient) at zero variance.

    Example:
      >>> T, D = relu_kernel(1., 1., 1.)
      >>> float(T), float(D)
      (0.5, 0.5)
    """
    v1, v2, c = jnp.asarray(v1), jnp.asarray(v2), jnp.asarray(c)
    norm = safe_sqrt(v1 * v2)
    sin_part = safe_sqrt((norm - c) * (norm + c))
    t = arctan2(sin_part, c)
    return (sin_part + (np.pi - t) * c) / (2 * np.pi), (np.pi - t) / (2 * np.pi)


def erf_kernel(v1, v2, c):
    """Arcsine kernel of erf: `T = (2/pi) arcsin(2c / sqrt((1+2v1)(1+2v2)))`,
    `D = (4/pi) / sqrt((1+2v1)(1+2v2) - 4c^2)`.

    Example:
      >>> T, D = erf_kernel(0., 0., 0.)
      >>> float(T), round(float(D), 6)
      (0.0, 1.27324)
    """
    v1, v2, c = jnp.asarray(v1), jnp.asarray(v2), jnp.asarray(c)
    prod = (1 + 2 * v1) * (1 + 2 * v2)
    T = (2 / np.pi) * jnp.arcsin(jnp.clip(2 * c / jnp.sqrt(prod), -1, 1))
    D = (4 / np.pi) / jnp.sqrt(prod - 4 * c ** 2)
    return T, D


def relu_kernel_negated(c, T, D):
    """ReLU's kernel at `-c` from `(T, D)` at `c` (`relu = x/2 + |x|/2`):
    `(T - c/2, 1/2 - D)`.

    Example:
      >>> T, D = relu_kernel(1., 2., 0.5)
      >>> Tn, Dn = relu_kernel_negated(0.5, T, D)
      >>> [bool(abs(a - b) < 1e-14) for a, b in zip((Tn, Dn), relu_kernel(1., 2., -0.5))]
      [True, True]
    """
    return T - c / 2, 0.5 - D


def erf_kernel_negated(c, T, D):
    """erf's kernel at `-c` from `(T, D)` at `c` (erf is odd): `(-T, D)`.

    Example:
      >>> erf_kernel_negated(0.3, 0.2, 1.1)
      (-0.2, 1.1)
    """
    return -T, D


@functools.lru_cache(maxsize=None)  # one rule (and compilation) per kernel pair
def _split_moments(real_kernel: RealKernel, negated: Optional[NegatedKernel]):
    def moments(pair: GaussianPair, derivatives: bool) -> Moments:
        s = split_covariances(pair)
        Txx, Dxx = real_kernel(s.var_x1, s.var_x2, s.xx)
        Tyx, Dyx = real_kernel(s.var_y1, s.var_x2, s.yx)
        if pair.is_circular:  # Re z, Im z identically distributed; xy = -yx
            Tyy, Dyy = Txx, Dxx
        else:
            Tyy, Dyy = real_kernel(s.var_y1, s.var_y2, s.yy)
        if pair.is_circular and negated is not None:
            Txy, Dxy = negated(s.yx, Tyx, Dyx)
        else:
            Txy, Dxy = real_kernel(s.var_x1, s.var_y2, s.xy)
        cov = jax.lax.complex(Txx + Tyy, Tyx - Txy)
        pseudo = jax.lax.complex(Txx - Tyy, Txy + Tyx)
        if not derivatives:
            return Moments(cov=cov, pseudo=pseudo)
        # f_z = (g'(x) + g'(y))/2 and f_zb = (g'(x) - g'(y))/2 are real: l = k.
        k_zz = (Dxx + Dyy + Dxy + Dyx) / 4
        k_bb = (Dxx + Dyy - Dxy - Dyx) / 4
        k_zb = (Dxx - Dxy + Dyx - Dyy) / 4
        k_bz = (Dxx + Dxy - Dyx - Dyy) / 4
        return Moments(cov=cov, pseudo=pseudo, k_zz=k_zz, k_bb=k_bb, k_zb=k_zb,
                       k_bz=k_bz, l_zz=k_zz, l_zb=k_zb, l_bz=k_bz, l_bb=k_bb)
    return moments


def Split(g: Callable[[jnp.ndarray], jnp.ndarray], real_kernel: RealKernel,
          name: str = "Split", negated: Optional[NegatedKernel] = None):
    """Split activation `g(Re z) + i g(Im z)` with the kernel lifted from `real_kernel`.

    Args:
      g: real elementwise function (for `apply_fn`).
      real_kernel: `(v1, v2, c) -> (T, D)`, see the module docstring.
      name: layer name used in error messages.
      negated: optional `(c, T, D) -> (T(-c), D(-c))`, `g`'s kernel at `-c` from
        its value at `c` (module docstring); circular pairs then need two
        evaluations of `real_kernel` instead of three.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, apply_fn, _ = Split(jnp.tanh, erf_kernel, 'SplitTanhLike')
      >>> z = apply_fn((), jnp.array([0.5 - 2j]))[0]
      >>> bool(abs(z - (jnp.tanh(0.5) + 1j * jnp.tanh(-2.))) < 1e-6)
      True
    """
    def fn(z):
        if not jnp.iscomplexobj(z):  # real input: Im z = 0 and g(0) may be != 0
            return jax.lax.complex(g(z), g(jnp.zeros_like(z)))
        return jax.lax.complex(g(jnp.real(z)), g(jnp.imag(z)))
    moments = _split_moments(real_kernel, negated)
    return with_diagonal(activation_layer(name, fn, moments), diagonal_from_moments(moments))


def CReLU():
    """`ReLU(Re z) + i ReLU(Im z)` (Trabelsi et al. 2018), without NetKet's sqrt(2).

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, _, kernel_fn = stax.serial(stax.Dense(1), stax.CReLU())
      >>> k = kernel_fn(jnp.array([[1. + 1j]]), None, 'nngp')
      >>> round(float(k.real[0, 0]), 6)  # E|f|^2 = q/2, q = |1 + 1j|^2 = 2
      1.0
    """
    return Split(jax.nn.relu, relu_kernel, "CReLU", relu_kernel_negated)


def SplitErf():
    """`erf(Re z) + i erf(Im z)`, NT's `Erf` kernel lifted to complex inputs.

    Example:
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, kernel_fn = SplitErf()
    """
    return Split(jax.scipy.special.erf, erf_kernel, "SplitErf", erf_kernel_negated)

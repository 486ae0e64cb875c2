"""Holomorphic activations: `Polynomial`, `Exp`, `Sinh`, `Cosh`.

For holomorphic `f`, `f_zb = 0`, so only `k_zz` (the kernel of `f'`) and
`l_zz` (its pseudo-kernel) feed the NTK. Non-circular inputs are exact too:
`K_f = sum_k K12^k/k! M_k(P11) conj M_k(P22)`,
`P_f = sum_k P12^k/k! M_k(P11) M_k(P22)`, `M_k(p) = E[f^(k)(sqrt(p) xi)]`.
(The linear identity is `nt_complex.stax.Identity`.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from nt_complex._dtypes import complex_dtype
from nt_complex.gaussian import GaussianPair, Moments
from nt_complex.stax.activations._elementwise import activation_layer
from nt_complex.stax.activations.diagonal import diagonal_from_moments, with_diagonal

__all__ = ["Polynomial", "Exp", "Sinh", "Cosh"]


def _polynomial_moments(coef: Sequence[complex]):
    coef = [complex(a) for a in coef]

    def m_k(k: int, p):
        """`E[f^(k)(sqrt(p) xi)]`: only even powers of `sqrt(p) xi` survive."""
        total = 0
        for j in range(0, len(coef) - k, 2):
            a = coef[k + j]
            if a != 0:
                double_fact = math.prod(range(j - 1, 0, -2))  # (j-1)!!
                total = total + a * math.factorial(k + j) / math.factorial(j) * double_fact * p ** (j // 2)
        return total

    def kernels(pair: GaussianPair):
        cov = pseudo = 0
        circular = pair.is_circular
        for k in range(len(coef)):
            if circular:
                weight = math.factorial(k) * abs(coef[k]) ** 2
                if weight:
                    cov = cov + weight * pair.cov ** k
            else:
                m1, m2 = m_k(k, pair.pseudo1), m_k(k, pair.pseudo2)
                cov = cov + pair.cov ** k / math.factorial(k) * m1 * jnp.conj(m2)
                pseudo = pseudo + pair.pseudo ** k / math.factorial(k) * m1 * m2
        if circular:
            pseudo = None if coef[0] == 0 else coef[0] ** 2
        return jnp.asarray(cov), None if pseudo is None else jnp.asarray(pseudo)

    return kernels


def Polynomial(coef: Sequence[complex]):
    """`f(z) = sum_n coef[n] z^n` (complex coefficients allowed).

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, _, kernel_fn = stax.serial(stax.Dense(1), stax.Polynomial([0, 0, 1]))
      >>> x = jnp.array([[1. + 0j]])
      >>> float(kernel_fn(x, None, 'nngp').real[0, 0])  # 2 K^2 for circular z
      2.0
    """
    coef = tuple(complex(a) for a in coef)
    if not coef:
        raise ValueError("coef must contain at least one coefficient.")
    derivative = tuple(n * coef[n] for n in range(1, len(coef))) or (0j,)
    f_kernels = _polynomial_moments(coef)
    df_kernels = _polynomial_moments(derivative)
    powers = np.arange(len(coef))

    def fn(z):
        z = z.astype(complex_dtype(z.dtype))
        return sum(c * z ** int(n) for n, c in zip(powers, coef) if c != 0) + 0 * z

    def moments(pair: GaussianPair, derivatives: bool) -> Moments:
        cov, pseudo = f_kernels(pair)
        if not derivatives:
            return Moments(cov=cov, pseudo=pseudo)
        k_zz, l_zz = df_kernels(pair)
        return Moments(cov=cov, pseudo=pseudo, k_zz=k_zz, l_zz=l_zz)

    return with_diagonal(activation_layer("Polynomial", fn, moments),
                         diagonal_from_moments(moments))


def _exp_family(name: str, fn, g, dg, g_at_0: float, dg_at_0: float):
    """Exp, Cosh, Sinh, all built from `E[e^{a z1} conj e^{b z2}] =
    exp(ab K12 + (P11 + conj P22)/2)` (a, b = +-1): `K_f = e^{(P11 + conj P22)/2}
    g(K12)` and `P_f = e^{(P11 + P22)/2} g(P12)`, where `g` is `f` itself; the
    kernels of `f'` use `dg`. Circular input: `P_f = f(0)^2 = g(0)`."""
    moments = _exp_family_moments(g, dg, g_at_0, dg_at_0)
    return with_diagonal(activation_layer(name, fn, moments), diagonal_from_moments(moments))


@functools.lru_cache(maxsize=None)  # one rule (and compilation) per function
def _exp_family_moments(g, dg, g_at_0: float, dg_at_0: float):
    def constant(value: float):
        return None if value == 0 else jnp.asarray(value)

    def moments(pair: GaussianPair, derivatives: bool) -> Moments:
        if pair.is_circular:
            cov, dcov = g(pair.cov), dg(pair.cov)
            pseudo, dpseudo = constant(g_at_0), constant(dg_at_0)
        else:
            scale_cov = jnp.exp((pair.pseudo1 + jnp.conj(pair.pseudo2)) / 2)
            scale_pseudo = jnp.exp((pair.pseudo1 + pair.pseudo2) / 2)
            cov, dcov = scale_cov * g(pair.cov), scale_cov * dg(pair.cov)
            pseudo, dpseudo = scale_pseudo * g(pair.pseudo), scale_pseudo * dg(pair.pseudo)
        if not derivatives:
            return Moments(cov=cov, pseudo=pseudo)
        return Moments(cov=cov, pseudo=pseudo, k_zz=dcov, l_zz=dpseudo)
    return moments


def _complex(fn):
    return lambda z: fn(z.astype(complex_dtype(z.dtype)))


def Exp():
    """`f(z) = exp(z)`; circular input: `K_f = exp(K12)`, `P_f = 1`.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, _, kernel_fn = stax.serial(stax.Dense(1), stax.Exp())
      >>> round(float(kernel_fn(jnp.array([[1j]]), None, 'nngp').real[0, 0]), 6)
      2.718282
    """
    return _exp_family("Exp", _complex(jnp.exp), jnp.exp, jnp.exp, 1., 1.)


def Sinh():
    """`f(z) = sinh(z)`; `K_f = e^{(P11 + conj P22)/2} sinh(K12)`.

    Example:
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, kernel_fn = stax.Sinh()
    """
    return _exp_family("Sinh", _complex(jnp.sinh), jnp.sinh, jnp.cosh, 0., 1.)


def Cosh():
    """`f(z) = cosh(z)`; `K_f = e^{(P11 + conj P22)/2} cosh(K12)`.

    Example:
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, kernel_fn = stax.Cosh()
    """
    return _exp_family("Cosh", _complex(jnp.cosh), jnp.cosh, jnp.sinh, 1., 0.)

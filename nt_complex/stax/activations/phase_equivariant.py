"""Phase-equivariant activations `f(z) = g(|z|) e^{i arg z}`: modReLU.

For a circular complex Gaussian pair (`rho = K12/sqrt(q1 q2) = |rho| e^{i phi}`)
the rotation symmetry fixes the structure of every moment:
`K_f = e^{i phi} sqrt(q1 q2) G(|rho|)`, `P_f = 0`, `k_zz = A(|rho|)`,
`k_bb = e^{2 i phi} B(|rho|)` and `k_zb = k_bz = l_.. = 0`
(`f_z = (g' + g/r)/2` carries angular mode 0, `f_zb = e^{2 i theta}(g' - g/r)/2`
mode 2). `G, A, B` come from `nt_complex.special.modrelu` (closed forms where
they exist, else a Laguerre series with a rigorous tail bound or a fixed-node
quadrature; <= 1e-10 relative to the diagonal, see `docs/modrelu.md`).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from nt_complex._dtypes import complex_dtype
from nt_complex.gaussian import GaussianPair, Moments, SamePointPair, require_circular
from nt_complex.special.modrelu import modrelu_kernels
from nt_complex.stax.activations._elementwise import activation_layer
from nt_complex.stax.activations.diagonal import with_diagonal
from nt_complex.stax.activations.modrelu_diagonal import modrelu_diagonal_moments

__all__ = ["ModReLU"]


def _modrelu_fn(b: float):
    def fn(z):
        z = z.astype(complex_dtype(z.dtype))
        r = jnp.abs(z)
        positive = r > 0
        scale = jax.nn.relu(r + b) / jnp.where(positive, r, 1)
        return jnp.where(positive, scale, 0) * z
    return fn


def _complex_times(phase: jnp.ndarray, value: jnp.ndarray) -> jnp.ndarray:
    """`phase * value` for real `value`, keeping `inf` values `inf + 0j`
    (complex multiplication would give `inf + nan j`)."""
    finite = jnp.isfinite(value)
    product = phase * jnp.where(finite, value, 0)
    return jnp.where(finite, product, value.astype(product.dtype))


@functools.lru_cache(maxsize=None)  # one rule (and compilation) per b
def _modrelu_moments(b: float):
    def moments(pair: GaussianPair, derivatives: bool) -> Moments:
        require_circular(pair, "ModReLU", "Use circular weights and biases (the default) "
                         "in the layer before ModReLU, or stax.ElementwiseNumerical(...).")
        q1, q2 = jnp.real(pair.q1), jnp.real(pair.q2)
        cov = pair.cov
        abs_cov = jnp.abs(cov)
        norm = jnp.sqrt(q1 * q2)
        rho_abs = jnp.where(norm > 0, abs_cov / jnp.where(norm > 0, norm, 1), 0)
        k = modrelu_kernels(b, q1, q2, rho_abs, derivatives,
                            same_point=isinstance(pair, SamePointPair),
                            needed=None if pair.unused is None else ~pair.unused)
        dtype = complex_dtype(cov)
        phase = jnp.where(abs_cov > 0, cov / jnp.where(abs_cov > 0, abs_cov, 1), 1
                          ).astype(dtype)
        out = Moments(cov=phase * (norm * k.g))
        if not derivatives:
            return out
        return out._replace(k_zz=k.a, k_bb=_complex_times(phase * phase, k.b))
    return moments


def ModReLU(b: float):
    """modReLU `f(z) = ReLU(|z| + b) z/|z|` (`f(0) = 0`; Arjovsky et al. 2016).

    Sign convention: `b` is added to the modulus, so `b < 0` is a dead zone of
    radius `|b|`. cplxmodule's `CplxModReLU(threshold=tau)` is `b = -tau`;
    cvnn's `modrelu` uses `b` as here (its default `b = +1`).

    Kernel (circular pre-activations only; non-circular input raises
    `NotImplementedError`): NNGP, NTK and pseudo fields (all pseudo fields are
    exactly zero after ModReLU). For `b > 0` the diagonal Wirtinger kernels
    `E|f_z|^2`, `E|f_zb|^2` are infinite (`f_z ~ b/(2|z|)` near 0), so
    `k_zz`, `k_bb` are `inf` on same-point entries and the diagonal NTK
    diverges; the NNGP stays finite.

    Args:
      b: real bias added to `|z|` (static Python float).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> from nt_complex.stax.activations.phase_equivariant import ModReLU
      >>> _, apply_fn, kernel_fn = stax.serial(stax.Dense(1), ModReLU(-0.5))
      >>> k = kernel_fn(jnp.array([[1. + 0j]]), None, 'nngp')
      >>> round(float(k.real[0, 0]), 9)  # q e^{-b^2/q} + b sqrt(pi q) erfc(-b/sqrt q)
      0.353854864
    """
    try:
        b = float(b)
    except (TypeError, ValueError):
        raise TypeError(f"ModReLU: b must be a real number, got {b!r}.") from None
    if not math.isfinite(b):
        raise ValueError(f"ModReLU: b must be finite, got {b}.")
    # only b < 0 has a quadrature to skip (b >= 0: closed forms, symmetric already)
    return with_diagonal(activation_layer("ModReLU", _modrelu_fn(b), _modrelu_moments(b),
                                          upper_triangle=b < 0),
                         modrelu_diagonal_moments(b))

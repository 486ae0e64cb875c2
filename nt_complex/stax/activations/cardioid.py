"""The cardioid activation `f(z) = (1 + cos arg z) z / 2` (Virtue et al. 2017).

Writing `f = z/2 + |z|/4 + z^2/(4|z|)` splits `f` into angular modes
`e^{i m theta}` (m = 1, 0, 2). For a circular Gaussian pair with
`rho = K12/sqrt(q1 q2) = r e^{i phi}`, modes of different `m` are uncorrelated
and each mode's correlation is a Gauss hypergeometric function of `r^2`
(`nt_complex` MATH.md section 5). Per unit `sqrt(q1 q2)`, with `e = e^{i phi}`:

* `K_f = rho/4 + (R0 + e^2 R2)/16`, `P_f = R0/16`, where
  `R0 = (pi/4) 2F1(-1/2,-1/2;1;r^2)`, `R2 = (9 pi/32) r^2 2F1(1/2,1/2;3;r^2)`;
* with `Phi_m = [Gamma(m/2+1)^2/m!] r^m 2F1(m/2,m/2;m+1;r^2)` and the Wirtinger
  derivatives `f_z = 1/2 + e^{-i theta}/8 + 3 e^{i theta}/8`,
  `f_zb = (e^{i theta} - e^{3 i theta})/8`:
  `k_zz = 1/4 + (conj(e) + 9 e) Phi1/64`, `k_bb = (e Phi1 + e^3 Phi3)/64`,
  `k_zb = k_bz = 3 e Phi1/64`, `l_zz = 1/4 + 3 (e + conj e) Phi1/64`,
  `l_zb = conj(e) Phi1/64`, `l_bz = e Phi1/64`, `l_bb = 0`.

All four hypergeometric functions have `c - a - b` a positive integer, so they
are finite on `[0, 1]`; `hyp2f1_integer_excess` evaluates them to ~1e-15 with a
fixed number of terms (Gauss series for `x <= 0.7`, the logarithmic expansion
around `x = 1` otherwise), so `r -> 1` (the diagonal: `E|f|^2 = 3q/8`,
`E|f_z|^2 = 13/32`, `E|f_zb|^2 = 1/32`) is as accurate as `r = 0`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from nt_complex._dtypes import complex_dtype
from nt_complex.gaussian import GaussianPair, Moments, require_circular, safe_sqrt
from nt_complex.stax.activations._elementwise import activation_layer
from nt_complex.stax.activations.diagonal import diagonal_from_moments, with_diagonal

__all__ = ["Cardioid", "cardioid", "hyp2f1_integer_excess"]

#: Terms of each series and the switch point: the Gauss series is used for
#: x <= _SWITCH (truncation < 0.7^110 ~ 1e-17 times a decaying coefficient), the
#: expansion around 1 for 1 - x < 0.3 (0.3^110; its cancellation grows with 1 - x,
#: which is why the switch is not at 1/2).
_N_TERMS = 110
_SWITCH = 0.7


def hyp2f1_integer_excess(a: float, b: float, m: int, n_terms: int = _N_TERMS
                          ) -> Callable[[jnp.ndarray], jnp.ndarray]:
    """`x -> 2F1(a, b; a + b + m; x)` on `[0, 1]` for an integer `m >= 1`.

    For `x <= 0.7` the Gauss series; for `x > 0.7` the expansion in `1 - x`
    with logarithmic terms (Abramowitz & Stegun 15.3.11), which is finite at
    `x = 1`. Coefficients are computed once, in float64, when the function is
    built; evaluation is a fixed-length, vectorised, jit-compatible sum.
    Measured accuracy (against `mpmath.hyp2f1`, float64, 206 points including
    `x = 1 - 1e-16`): <= 4e-16 relative for `(a, b, m)` = `(-1/2, -1/2, 2)`,
    `(1/2, 1/2, 2)`, `(1/2, 1/2, 1)`, and 6e-15 for `(3/2, 3/2, 1)`.

    Args:
      a, b: real parameters; `a + m` and `b + m` must not be poles of Gamma.
      m: `c - a - b`, a positive integer.
      n_terms: series length.

    Example:
      >>> import jax.numpy as jnp
      >>> f = hyp2f1_integer_excess(0.5, 0.5, 1)   # 2F1(1/2,1/2;2;x)
      >>> abs(float(f(jnp.array(1.0))) - 4 / 3.141592653589793) < 1e-14  # Gauss's sum
      True
    """
    if not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m = c - a - b must be a positive integer; got {m!r}.")
    from scipy import special as sps  # here, not at module level: keeps `import nt_complex` fast
    c = a + b + m
    n = np.arange(n_terms)
    # Gauss series coefficients (a)_n (b)_n / ((c)_n n!).
    gauss = np.cumprod(np.concatenate(
        [[1.0], (a + n[:-1]) * (b + n[:-1]) / ((c + n[:-1]) * (n[:-1] + 1))]))
    # Finite part: Gamma(m) Gamma(c)/(Gamma(a+m) Gamma(b+m)) sum_{k<m} (a)_k (b)_k/(k! (1-m)_k) y^k.
    k = np.arange(m)
    finite = (math.gamma(m) * sps.gamma(c) / (sps.gamma(a + m) * sps.gamma(b + m))
              * sps.poch(a, k) * sps.poch(b, k) / (sps.factorial(k) * sps.poch(1 - m, k)))
    # Log part: -(x-1)^m Gamma(c)/(Gamma(a)Gamma(b)) sum_n (a+m)_n (b+m)_n/(n! (n+m)!) y^n
    #           [ln y - psi(n+1) - psi(n+m+1) + psi(a+n+m) + psi(b+n+m)],  y = 1 - x.
    inv_gamma_ab = sps.rgamma(a) * sps.rgamma(b)
    log_coef = (-((-1.0) ** m) * sps.gamma(c) * inv_gamma_ab / math.factorial(m)
                * np.cumprod(np.concatenate([[1.0], (a + m + n[:-1]) * (b + m + n[:-1])
                                             / ((n[:-1] + 1) * (n[:-1] + 1 + m))])))
    log_shift = (-sps.digamma(n + 1) - sps.digamma(n + m + 1)
                 + sps.digamma(a + n + m) + sps.digamma(b + n + m))
    if not np.all(np.isfinite(np.concatenate([gauss, finite, log_coef, log_shift]))):
        raise ValueError(f"hyp2f1_integer_excess: a={a}, b={b}, m={m} hits a Gamma pole.")

    def horner(coef, y):
        # jnp.polyval runs a lax.scan: a Python loop would unroll ~100 terms per
        # call into the graph, which under autodiff + vmap + Newton loops (the
        # phase module) blew compilation up to 14 GB.
        return jnp.polyval(jnp.asarray(coef[::-1]), y, unroll=8)

    def f(x: jnp.ndarray) -> jnp.ndarray:
        x = jnp.asarray(x)
        # where, not clip: clip's gradient at a tie (x = 1, the diagonal) is 1/2,
        # which would halve the c-map slope chi at c = 1.
        x = jnp.where(x > 1, 1.0, jnp.where(x < 0, 0.0, x))
        near_zero = x <= _SWITCH
        series = horner(gauss, jnp.where(near_zero, x, 0.0))
        y = jnp.where(near_zero, 1.0 - _SWITCH, 1.0 - x)
        log_y = jnp.log(jnp.where(y > 0, y, 1.0))
        around_one = (horner(finite, y)
                      + y ** m * (log_y * horner(log_coef, y)
                                  + horner(log_coef * log_shift, y)))
        return jnp.where(near_zero, series, around_one)

    return f


# Built on first use (series coefficients from scipy), then shared:
# (-1/2, -1/2, 2) is 2F1(-1/2,-1/2;1;x), (1/2, 1/2, 2) 2F1(1/2,1/2;3;x),
# (1/2, 1/2, 1) 2F1(1/2,1/2;2;x), (3/2, 3/2, 1) 2F1(3/2,3/2;4;x).
_hyp2f1 = functools.cache(hyp2f1_integer_excess)


def cardioid(z: jnp.ndarray) -> jnp.ndarray:
    """`(1 + cos arg z) z / 2`, with `f(0) = 0` (real inputs give ReLU).

    Example:
      >>> import jax.numpy as jnp
      >>> cardioid(jnp.array([1j, 2 + 0j])).tolist()
      [0.5j, (2+0j)]
    """
    z = jnp.asarray(z)
    z = z.astype(complex_dtype(z.dtype))
    r = jnp.abs(z)
    positive = r > 0
    cos_arg = jnp.where(positive, jnp.real(z) / jnp.where(positive, r, 1), 0)
    return 0.5 * (1 + cos_arg) * z


def _polar_correlation(pair: GaussianPair):
    """`(scale, r, e)`: `sqrt(q1 q2)`, `|rho|` clipped to [0, 1], `e^{i phi}`
    (1 where `rho = 0` or a variance vanishes)."""
    scale = safe_sqrt(jnp.real(pair.q1) * jnp.real(pair.q2))
    cov = jnp.asarray(pair.cov)
    cov = cov.astype(complex_dtype(cov))
    rho = cov / jnp.where(scale > 0, scale, 1)
    r_raw = jnp.abs(rho)
    e = jnp.where(r_raw > 0, rho / jnp.where(r_raw > 0, r_raw, 1), 1)
    return scale, jnp.where(r_raw > 1, 1.0, r_raw), e  # not clip: see hyp2f1_integer_excess


def _cardioid_moments(pair: GaussianPair, derivatives: bool) -> Moments:
    require_circular(pair, "Cardioid", "Use nt_complex.stax.ElementwiseNumerical("
                     "nt_complex.stax.activations.cardioid.cardioid, smooth=False) instead.")
    scale, r, e = _polar_correlation(pair)
    x = r ** 2
    r0 = (np.pi / 4) * _hyp2f1(-0.5, -0.5, 2)(x)
    r2 = (9 * np.pi / 32) * x * _hyp2f1(0.5, 0.5, 2)(x)
    rho = r * e
    cov = scale * (rho / 4 + (r0 + e ** 2 * r2) / 16)
    pseudo = scale * r0 / 16
    if not derivatives:
        return Moments(cov=cov, pseudo=pseudo)
    phi1 = (np.pi / 4) * r * _hyp2f1(0.5, 0.5, 1)(x)
    phi3 = (3 * np.pi / 32) * r ** 3 * _hyp2f1(1.5, 1.5, 1)(x)
    ec = jnp.conj(e)
    return Moments(
        cov=cov, pseudo=pseudo,
        k_zz=0.25 + (ec + 9 * e) * phi1 / 64,
        k_bb=(e * phi1 + e ** 3 * phi3) / 64,
        k_zb=3 * e * phi1 / 64, k_bz=3 * e * phi1 / 64,
        l_zz=0.25 + 3 * (e + ec) * phi1 / 64,
        l_zb=ec * phi1 / 64, l_bz=e * phi1 / 64, l_bb=None)


def Cardioid():
    """Cardioid `f(z) = (1 + cos arg z) z / 2`: closed-form NNGP, NTK, pseudo.

    Circular pre-activations only (a `NotImplementedError` names
    `ElementwiseNumerical` otherwise). The output is non-circular
    (`P_f = sqrt(q1 q2) R0/16 != 0`), which a following circular Dense removes.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> from nt_complex.stax.activations.cardioid import Cardioid
      >>> _, _, kernel_fn = stax.serial(stax.Dense(1), Cardioid())
      >>> k = kernel_fn(jnp.array([[2. + 0j]]), None, 'nngp')
      >>> round(float(k.real[0, 0]), 12)   # E|f|^2 = 3q/8 with q = 4
      1.5
    """
    return with_diagonal(activation_layer("Cardioid", cardioid, _cardioid_moments),
                         diagonal_from_moments(_cardioid_moments))

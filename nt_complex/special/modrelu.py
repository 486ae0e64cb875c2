"""Infinite-width kernel functions of modReLU, `f(z) = ReLU(|z| + b) z/|z|`.

For a circular complex Gaussian pair with variances `q1, q2` and correlation
`rho = |rho| e^{i phi}`, `E[f(z1) conj f(z2)] = e^{i phi} sqrt(q1 q2) G(|rho|)`,
`E[f_z(z1) conj f_z(z2)] = A(|rho|)` and `E[f_zb(z1) conj f_zb(z2)] =
e^{2 i phi} B(|rho|)`. In normalised units (`u = z/sqrt(q)`, `|u|^2 ~ Exp(1)`,
`beta_a = b/sqrt(q_a)`), `G, A, B` are the functions computed here.

Methods (all jit-compatible, static shapes, vectorised over entries):

* closed forms: `|rho| = 1` (any `beta1, beta2`), `b = 0` (identity) and
  `b > 0` (Gauss hypergeometric functions, via elliptic integrals / AGM);
* `b < 0`, `0 <= |rho| < 1`: the Laguerre series `G = sum_n w_n |rho|^{2n+1}`,
  `A = sum (n+1) w_n |rho|^{2n}`, `B = sum n w_n |rho|^{2n}`,
  `w_n = m_n(beta1) m_n(beta2)/(n+1)`, truncated at `SERIES_TERMS` terms with the
  rigorous tail bound `tail_A <= |rho|^{2N+2} sqrt(R_A(beta1) R_A(beta2))`,
  `R_A(beta) = A_diag(beta) - sum_{n<=N} (n+1) w_n(beta, beta)` (Cauchy-Schwarz;
  likewise for `G` and `B`). Entries whose bound exceeds `SWITCH_TOL` times the
  diagonal scale use a fixed-node rule on the Bessel form
  (`modrelu_quadrature`: closed-form inner integral away from the dead zone,
  panel Gauss-Legendre near it), accurate to ~1e-11 relative up to `|rho| -> 1`.

The `m_n` are closed sums: with `c = -beta`, `a = c^2`,
`m_n = T_n - c J_n`, `T_n = int_a^inf x L_n^(1)(x) e^{-x} dx =
-a^2 e^{-a} L_{n-1}^(2)(a)/n` (`T_0 = (1+a) e^{-a}`), and
`J_n = int_a^inf sqrt(x) L_n^(1)(x) e^{-x} dx` obeys
`J_{n+1} = (-a^{3/2} e^{-a} L_n^(2)(a) + (J_0 + ... + J_n)/2)/(n+1)`
(integration by parts with `d/dx[e^{-x} x^2 L_n^(2)] = (n+1) e^{-x} x L_{n+1}^(1)`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.custom_derivatives import SymbolicZero
from jax.scipy.special import erfc

from nt_complex.special.bessel_quadrature import bessel_form_quadrature

__all__ = ["ModReLUKernels", "SERIES_TERMS", "SWITCH_TOL", "exp1", "ellipke",
           "modrelu_diagonal", "modrelu_positive_bias", "modrelu_series",
           "modrelu_quadrature", "modrelu_kernels"]

Array = jnp.ndarray

SERIES_TERMS = 1024
"""Number of Laguerre terms (static) used for `b < 0`."""

SWITCH_TOL = 1e-12
"""Series is used where its rigorous tail bound is below this (relative to the
diagonal scale `sqrt(X(beta1, beta1; 1) X(beta2, beta2; 1))`, X = G, A, B)."""

_C_MAX = 40.0  # -beta is clipped here: e^{-1600} underflows, so f = 0 exactly.
_SQRT_PI = math.sqrt(math.pi)
_EULER_GAMMA = 0.5772156649015329


def _coefficients(terms: list[float]) -> np.ndarray:
    """Power-series coefficients (lowest order first) as a `jnp.polyval` array."""
    return np.asarray(terms[::-1], dtype=np.float64)


# Static series coefficients (evaluated with `jnp.polyval`, no unrolled loops).
_EXP1_SERIES = _coefficients([(-1) ** k / ((k + 1) * math.factorial(k + 1))
                              for k in range(30)])
_EXP1_DEPTH = 60         # backward continued fraction depth for E1(x), x > 1.5
_HALF_HALF = [(math.gamma(k + 0.5) / (math.sqrt(math.pi) * math.factorial(k))) ** 2
              for k in range(70)]  # ((1/2)_k / k!)^2
_HYPERGEOMETRIC_SERIES = (_coefficients(_HALF_HALF),
                          _coefficients([c / (k + 1) for k, c in enumerate(_HALF_HALF)]),
                          _coefficients([c * k / (k + 1) for k, c in enumerate(_HALF_HALF)]))


class ModReLUKernels(NamedTuple):
    """Normalised modReLU kernels `G`, `A`, `B` (see the module docstring)."""

    g: Array
    a: Array
    b: Array


def exp1(x: Array) -> Array:
    """Exponential integral `E1(x)` for `x >= 0` (`inf` at 0), relative error
    ~1e-15: power series (30 terms) for `x <= 1.5`, backward continued fraction
    (depth 60) above.

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> round(float(exp1(jnp.array(1.0))), 12)
      0.219383934396
    """
    x = jnp.asarray(x, jnp.result_type(float))
    small = x <= 1.5
    xs = jnp.where(small, x, 1.0)
    # E1 = -gamma - log x + x sum_k (-x)^k / ((k+1) (k+1)!)
    series = (-_EULER_GAMMA - jnp.log(jnp.where(xs > 0, xs, 1.0))
              + xs * jnp.polyval(jnp.asarray(_EXP1_SERIES), xs))
    series = jnp.where(xs > 0, series, jnp.inf)
    xl = jnp.where(small, 2.0, x)

    def fraction_step(i, frac):
        k = _EXP1_DEPTH - i
        return k * k / (xl + 2 * k + 1 - frac)

    frac = lax.fori_loop(0, _EXP1_DEPTH, fraction_step, jnp.zeros_like(xl))
    large = jnp.exp(-xl) / (xl + 1 - frac)
    return jnp.where(small, series, large)


def ellipke(m: Array, iterations: int = 16) -> tuple[Array, Array]:
    """Complete elliptic integrals `K(m)`, `E(m)` (parameter `m` in [0, 1)) by
    the arithmetic-geometric mean with a fixed iteration count (quadratic
    convergence; 16 steps reach double precision for `1 - m >= 1e-300`).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> k, e = ellipke(jnp.array(0.5))
      >>> round(float(k), 12), round(float(e), 12)
      (1.854074677301, 1.350643881048)
    """
    m = jnp.asarray(m, jnp.result_type(float))

    def agm_step(_, state):
        a, b, weighted, power = state
        c = (a - b) / 2
        power = power * 2
        return (a + b) / 2, jnp.sqrt(a * b), weighted + power * c * c, power

    # weighted = sum_n 2^{n-1} c_n^2, c_0^2 = m
    init = (jnp.ones_like(m), jnp.sqrt(1 - m), m / 2, jnp.full_like(m, 0.5))
    a, _, weighted, _ = lax.fori_loop(0, iterations, agm_step, init)
    k = jnp.pi / (2 * a)
    return k, k * (1 - weighted)


def _half_half_hypergeometric(m: Array) -> tuple[Array, Array, Array]:
    """`F1 = 2F1(1/2,1/2;1;m)`, `F2 = 2F1(1/2,1/2;2;m)` and `F1 - F2` for m in
    [0, 1): positive-term series (70 terms) for m <= 1/2, elliptic integrals
    above; `F1 = F1 - F2 = inf` at m = 1."""
    small = m <= 0.5
    ms = jnp.where(small, m, 0.0)
    f1, f2, diff = (jnp.polyval(jnp.asarray(c), ms) for c in _HYPERGEOMETRIC_SERIES)
    at_one = m >= 1
    ml = jnp.where(small | at_one, 0.75, m)
    k_, e_ = ellipke(ml)
    f1l = 2 * k_ / jnp.pi
    f2l = 4 * (e_ - (1 - ml) * k_) / (jnp.pi * ml)
    diffl = 2 * ((2 - ml) * k_ - 2 * e_) / (jnp.pi * ml)
    f1 = jnp.where(small, f1, jnp.where(at_one, jnp.inf, f1l))
    f2 = jnp.where(small, f2, jnp.where(at_one, 4 / jnp.pi, f2l))
    diff = jnp.where(small, diff, jnp.where(at_one, jnp.inf, diffl))
    return f1, f2, diff


def modrelu_diagonal(beta1: Array, beta2: Array) -> ModReLUKernels:
    """`G, A, B` at `|rho| = 1` (z2 a positive multiple of z1), any real betas of
    one sign. With `c = max(0, -beta1, -beta2)`:
    `G = (1 + c^2) e^{-c^2} + (beta1 + beta2)(c e^{-c^2} + sqrt(pi) erfc(c)/2)
    + beta1 beta2 e^{-c^2}`, `A = e^{-c^2} + (beta1 + beta2) sqrt(pi) erfc(c)/2
    + beta1 beta2 E1(c^2)/4`, `B = beta1 beta2 E1(c^2)/4`; `A = B = inf` for
    `b > 0` (the diagonal NTK of modReLU with positive bias diverges).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> round(float(modrelu_diagonal(jnp.array(0.), jnp.array(0.)).g), 12)
      1.0
    """
    beta1, beta2 = jnp.asarray(beta1, float), jnp.asarray(beta2, float)
    c = jnp.maximum(jnp.maximum(-beta1, -beta2), 0.0)
    a = c * c
    e = jnp.exp(-a)
    tail = _SQRT_PI / 2 * erfc(c)
    prod = beta1 * beta2
    e1_term = jnp.where(prod == 0, 0.0, prod / 4 * exp1(a))
    g = (1 + a) * e + (beta1 + beta2) * (c * e + tail) + prod * e
    a_ = e + (beta1 + beta2) * tail + e1_term
    return ModReLUKernels(g, a_, e1_term)


def modrelu_positive_bias(beta1: Array, beta2: Array, x: Array) -> ModReLUKernels:
    """Closed forms for `b >= 0` (`beta >= 0`), `x = |rho|` in [0, 1]:
    `G = x [1 + (beta1+beta2) sqrt(pi)/2] + beta1 beta2 (pi/4) x F_2(x^2)`,
    `A = 1 + (beta1+beta2) sqrt(pi)/2 + beta1 beta2 (pi/4) F_1(x^2)`,
    `B = beta1 beta2 (pi/4) (F_1 - F_2)(x^2)`, `F_c = 2F1(1/2,1/2;c;.)`.
    `A` and `B` are `inf` at `x = 1` when `b > 0`.

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> k = modrelu_positive_bias(jnp.array(1.), jnp.array(1.), jnp.array(0.))
      >>> round(float(k.a), 12)  # (1 + sqrt(pi)/2)^2
      3.557852014303
    """
    m = x * x
    f1, f2, diff = _half_half_hypergeometric(m)
    prod = beta1 * beta2
    lin = 1 + (beta1 + beta2) * _SQRT_PI / 2
    quarter_pi = jnp.pi / 4
    g = x * lin + prod * quarter_pi * x * f2
    a_ = lin + jnp.where(prod == 0, 0.0, prod * quarter_pi * f1)
    b_ = jnp.where(prod == 0, 0.0, prod * quarter_pi * diff)
    return ModReLUKernels(g, a_, b_)


def _laguerre_coefficient_stream(c: Array):
    """Initial state and step of the `m_n(-c)` recurrence (see module doc)."""
    a = c * c
    e = jnp.exp(-a)
    j0 = c * e + _SQRT_PI / 2 * erfc(c)
    state = (jnp.zeros_like(c), e, j0, j0)  # l_{n-1}, l_n (= e^{-a} L^(2)), J_n, S_n

    def step(state, n):
        l_prev, l_n, j_n, s_n = state
        t_n = jnp.where(n == 0, (1 + a) * e, -a * a * l_prev / jnp.maximum(n, 1))
        m_n = t_n - c * j_n
        j_next = (-a * c * l_n + s_n / 2) / (n + 1)
        l_next = ((2 * n + 3 - a) * l_n - (n + 2) * l_prev) / (n + 1)
        return (l_n, l_next, j_next, s_n + j_next), m_n

    return state, step


def modrelu_series(c1: Array, c2: Array, x: Array, terms: int | None = None
                   ) -> tuple[ModReLUKernels, ModReLUKernels]:
    """Laguerre series for `b < 0` (`c_a = -beta_a > 0`), `x = |rho|` in [0, 1).

    Returns `(kernels, tail_bounds)`: partial sums over `n < terms` and rigorous
    bounds on the neglected tails (from the closed-form diagonals and
    Cauchy-Schwarz; see the module docstring). Exact at `x = 0` and `c = 0`.

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> k, bound = modrelu_series(jnp.array(0.5), jnp.array(0.5), jnp.array(0.5))
      >>> bool(bound.g < 1e-15)
      True
    """
    terms = SERIES_TERMS if terms is None else int(terms)
    shape = jnp.broadcast_shapes(jnp.shape(c1), jnp.shape(c2), jnp.shape(x))
    state1, step1 = _laguerre_coefficient_stream(c1)
    state2, step2 = _laguerre_coefficient_stream(c2)
    x2 = x * x
    zeros = jnp.zeros(shape, jnp.result_type(x, c1, c2))
    self1 = (jnp.zeros_like(c1),) * 3
    self2 = (jnp.zeros_like(c2),) * 3

    def step(carry, n):
        s1, s2, sums1, sums2, g, a_, b_, power = carry
        s1, m1 = step1(s1, n)
        s2, m2 = step2(s2, n)
        w = m1 * m2 / (n + 1)
        w1, w2 = m1 * m1 / (n + 1), m2 * m2 / (n + 1)
        sums1 = (sums1[0] + w1, sums1[1] + (n + 1) * w1, sums1[2] + n * w1)
        sums2 = (sums2[0] + w2, sums2[1] + (n + 1) * w2, sums2[2] + n * w2)
        g = g + w * power * x
        a_ = a_ + (n + 1) * w * power
        b_ = b_ + n * w * power
        return (s1, s2, sums1, sums2, g, a_, b_, power * x2), None

    carry = (state1, state2, self1, self2, zeros, zeros, zeros, zeros + 1.0)
    ns = jnp.arange(terms, dtype=zeros.dtype)
    (_, _, sums1, sums2, g, a_, b_, power), _ = lax.scan(step, carry, ns, unroll=4)
    diag1, diag2 = modrelu_diagonal(-c1, -c1), modrelu_diagonal(-c2, -c2)
    guard = 8 * terms * jnp.finfo(zeros.dtype).eps

    def residual(total, partial):
        return jnp.maximum(total - partial, 0.0) + guard * total

    bounds = []
    for k, (d1, d2) in enumerate(zip(diag1, diag2)):
        r = jnp.sqrt(residual(d1, sums1[k]) * residual(d2, sums2[k]))
        bounds.append(r * power * (x if k == 0 else 1.0))  # power = x^{2 terms}
    return ModReLUKernels(g, a_, b_), ModReLUKernels(*bounds)


def modrelu_quadrature(c1: Array, c2: Array, x: Array, derivatives: bool = True,
                       where: Array | None = None) -> ModReLUKernels:
    """Fixed-node rule for `b < 0`, `0.98 <= x = |rho| < 1` (where the series
    switch can use it; it is validated there).

    Bessel (conditional) form, `s = sqrt(1 - x^2)`, `mu = x r1`:
    `G = int_{c1} (r1 - c1) 2 r1 e^{-r1^2} int_{c2} (r2 - c2) (2 r2/s^2)
    e^{-(r2 - mu)^2/s^2} I_1e(2 mu r2/s^2) dr2 dr1` (`A`: `1 - c/(2r)` and
    `I_0e`; `B`: `c/(2r)` and `I_2e`). Outer points with `mu > c2 + 6.5 s`
    (the inner Gaussian window clears the dead zone `r2 < c2`) use the inner
    integral over all `r2` in closed form (Rician means, `k = mu^2/(2 s^2)`:
    `mu - c2 sqrt(pi k/2) (I_0e + I_1e)(k)`, `1 - c2 sqrt(pi) I_0e(k)/(2 s)`,
    `c2 sqrt(pi) I_1e(k)/(2 s)`) on 4 geometrically graded panels x 16 nodes
    up to `r1^2 = max(c1, c2/x)^2 + 42`; outer points with `mu < c2 - 6.5 s`
    contribute nothing; the window between (`r1` in `c2/x +- 6.5 s/x`, cut at
    `c1`) uses 3 panels x 14 outer nodes and, inside, 18 nodes on the shorter
    side of the edge `r2 = c2`: `r2 - mu in [c2 - mu, 6.5 s]` if `mu <= c2`,
    else the closed form minus the part `r2 - mu in [max(-mu, -6.5 s),
    c2 - mu]` (about 860 nodes per entry). `I_nu e` at the nodes from
    `nt_complex.special.scaled_bessel` (the large-argument series alone in
    blocks where every argument is `>= 25`). Measured error <= 1.3e-11
    relative to the value (2.5e-12 relative to the diagonal scale) for
    0.98 <= x <= 1 - 1e-12, c in [0.01, 20], c1 != c2 (see tests/docs; the
    Bessel evaluation changed these values by <= 1e-13 relative).

    Only entries with `where` True (default: all) are integrated (others get
    0), and the cost scales with their number also under `jax.vmap` and
    autodiff (`nt_complex.special.bessel_quadrature`).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> k = modrelu_quadrature(jnp.array(0.5), jnp.array(0.5), jnp.array(0.99))
      >>> bool(0.34 < float(k.g) < 0.36)
      True
    """
    shape = jnp.broadcast_shapes(jnp.shape(c1), jnp.shape(c2), jnp.shape(x))
    need = jnp.ones(shape, bool) if where is None else where
    out = bessel_form_quadrature(c1, c2, x, derivatives, need)
    if derivatives:
        return ModReLUKernels(out[0], out[1], out[2])
    zeros = jnp.zeros_like(out[0])
    return ModReLUKernels(out[0], zeros, zeros)


def modrelu_kernels(b: float, q1: Array, q2: Array, rho_abs: Array,
                    derivatives: bool = True, same_point: bool = False,
                    needed: Array | None = None) -> ModReLUKernels:
    """Normalised modReLU kernels for bias `b` (static), variances `q1, q2` and
    `|rho|` in [0, 1] (values above 1 from rounding are treated as 1, with the
    derivative in `|rho|` kept).

    `b = 0`: `G = |rho|, A = 1, B = 0`. `b > 0`: closed forms
    (`modrelu_positive_bias`; `A = B = inf` at `|rho| = 1`). `b < 0`: diagonal
    closed form at `|rho| = 1` (with `dG/d|rho| = A + B` there, which the
    closed form alone would not show to autodiff), else the Laguerre series where its rigorous tail
    bound is below `SWITCH_TOL` relative to the diagonal scale, else
    `modrelu_quadrature` (selected entrywise with `jnp.where`; quadrature
    blocks without any selected entry are skipped). `same_point` (static):
    every entry pairs a point with itself (`|rho| = 1`, `q1 = q2`), so only the
    diagonal closed form is traced: no series or quadrature to compile.
    `needed` (boolean, broadcastable): entries where it is False are not
    integrated by the quadrature (0 there instead; for callers that discard
    those entries). Without `derivatives`, `A` and `B` are returned as 0 and
    the `|rho|`-derivative of `G` at constant variances is `A + B` from their
    values (no autodiff through the series and the quadrature).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> k = modrelu_kernels(-0.5, jnp.array(1.), jnp.array(1.), jnp.array(0.))
      >>> round(float(k.g), 12), round(float(k.b), 12)
      (0.0, 0.0)
    """
    b = float(b)
    q1, q2 = jnp.asarray(q1), jnp.asarray(q2)
    dtype = jnp.result_type(q1, q2, rho_abs, float)
    raw = jnp.asarray(rho_abs, dtype)
    x = raw + lax.stop_gradient(jnp.clip(raw, 0.0, 1.0) - raw)  # clip's slope is 1/2 at 1
    shape = jnp.broadcast_shapes(jnp.shape(q1), jnp.shape(q2), jnp.shape(x))
    if b == 0:
        full = lambda v: jnp.broadcast_to(jnp.asarray(v, dtype), shape)
        return ModReLUKernels(full(x), full(1.0), full(0.0))
    if b > 0:
        def beta(q):  # q -> 0 keeps beta finite (f(0) = 0; documented)
            return b / jnp.sqrt(jnp.maximum(q, b * b * 1e-200))
        k = modrelu_positive_bias(beta(q1), beta(q2), x)
        return ModReLUKernels(*(jnp.broadcast_to(v, shape) for v in k))

    def depth(q):  # c = -beta = |b|/sqrt(q), clipped where f = 0 exactly anyway
        safe = jnp.where(q > 0, q, 1.0)
        return jnp.where(q > 0, jnp.minimum(-b / jnp.sqrt(safe), _C_MAX), _C_MAX)

    c1, c2 = depth(q1), depth(q2)
    if same_point:
        diagonal = _diagonal_with_slope(c1, c2, x)
        return ModReLUKernels(*(jnp.broadcast_to(v, shape) for v in diagonal))
    needed = jnp.ones(shape, bool) if needed is None else jnp.broadcast_to(needed, shape)
    x = jnp.broadcast_to(x, shape)
    if derivatives:
        return _negative_bias(c1, c2, x, True, needed)
    g = _negative_bias_g(c1, c2, x, needed)
    zeros = jnp.zeros_like(g)
    return ModReLUKernels(g, zeros, zeros)


def _diagonal_with_slope(c1: Array, c2: Array, x: Array) -> ModReLUKernels:
    """The closed form at `|rho| = 1`, with `dG/d|rho| = A + B` there (which the
    closed form alone would not show to autodiff)."""
    diagonal = modrelu_diagonal(-c1, -c2)
    slope_at_one = (x - lax.stop_gradient(x)) * (diagonal.a + diagonal.b)
    return diagonal._replace(g=diagonal.g + slope_at_one)


def _negative_bias(c1: Array, c2: Array, x: Array, derivatives: bool, needed: Array
                   ) -> ModReLUKernels:
    """`b < 0` below `|rho| = 1`: series where its bound allows, else the
    quadrature (on `needed` entries); the diagonal closed form at 1."""
    diagonal = _diagonal_with_slope(c1, c2, x)
    series, bounds = modrelu_series(c1, c2, x)
    scale1, scale2 = modrelu_diagonal(-c1, -c1), modrelu_diagonal(-c2, -c2)
    series_ok = jnp.ones(x.shape, bool)
    for k in range(3) if derivatives else range(1):
        series_ok &= bounds[k] <= SWITCH_TOL * jnp.sqrt(scale1[k] * scale2[k])
    at_one = x >= 1
    quad = modrelu_quadrature(c1, c2, x, derivatives, where=~series_ok & ~at_one & needed)
    return ModReLUKernels(*(jnp.where(at_one, diagonal[k], jnp.where(series_ok, series[k], quad[k]))
                            for k in range(3)))


@jax.custom_jvp
def _negative_bias_g(c1: Array, c2: Array, x: Array, needed: Array) -> Array:
    """`G` of `_negative_bias`, whose `|rho|`-derivative is the Wirtinger
    identity `dG/d|rho| = A + B` when the variances are constant (the c-map of
    the phase module): the values of `A, B` compile to a much smaller program
    than autodiff through the series and the quadrature (jvp in `|rho|`: 14.4 ->
    6.7 CPU-s). The primal then comes from that evaluation, whose series/rule
    switch also checks `A, B`: it may differ from the plain `G` by the rule's
    accuracy (~1e-11)."""
    return _negative_bias(c1, c2, x, False, needed).g


def _instantiate(tangent, like: Array) -> Array:
    return jnp.zeros_like(like) if isinstance(tangent, SymbolicZero) else tangent


def _negative_bias_g_jvp(primals, tangents):
    c1, c2, x, needed = primals
    dc1, dc2, dx, _ = tangents
    if isinstance(dc1, SymbolicZero) and isinstance(dc2, SymbolicZero):
        k = _negative_bias(c1, c2, x, True, needed)
        return k.g, (k.a + k.b) * _instantiate(dx, x)
    return jax.jvp(lambda a, b, y: _negative_bias(a, b, y, False, needed).g, (c1, c2, x),
                   tuple(_instantiate(t, v) for t, v in zip((dc1, dc2, dx), (c1, c2, x))))


_negative_bias_g.defjvp(_negative_bias_g_jvp, symbolic_zeros=True)

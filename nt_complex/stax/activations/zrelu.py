"""zReLU `f(z) = z 1[0 < arg z < pi/2]` (Guberman 2016): NNGP, NTK, pseudo.

Circular pre-activations, `rho = K12/sqrt(q1 q2) = r e^{i phi}`, `s^2 = 1 - r^2`.
Per unit `sqrt(q1 q2)` (MATH.md section 5):

* real `K12` (closed form): `K_f = T(r cos phi) (1/4 + arcsin(rho)/(2 pi))`,
  `P_f = i (1 + rho)^2/(8 pi)`, `k_zz = (1/4 + arcsin(rho)/(2 pi))^2`, where
  `T(c) = (sqrt(1 - c^2) + (pi - arccos c) c)/(2 pi)` is ReLU's arc-cosine kernel;
* any phase: 1-D integrals over the phase difference `Delta` in `(-pi/2, pi/2)`,
  `c = r cos(Delta - phi)`, `t = arccos c`, `J1 = sin t + (pi - t) cos t`,
  `J2 = 3 sin t cos t + (pi - t)(1 + 2 cos^2 t)`:
  `K_f = s^4/(8 pi^2) int (pi/2 - |Delta|) e^{i Delta} J2 / (1 - c^2)^{5/2}`,
  `P_f = i s^4/(8 pi^2) int cos(Delta) J2 / (1 - c^2)^{5/2}`,
  `k_zz = s^2/(4 pi^2) int (pi/2 - |Delta|) J1 / (1 - c^2)^{3/2}`.
  The integrand peaks at `Delta = phi` with width `~ s`. A fixed-node rule
  (3 panels split at 0 and at `phi`, each mapped by `Delta = end +- w sinh(u)`
  with `w` the distance-adjusted peak width, then `_N_NODES`-point
  Gauss-Legendre in `u`) resolves it for every `r < 1`; `r >= 1 - 1e-14` uses
  the exact `r = 1` limit. Measured against an independent 2-D adaptive
  reference: <= 2e-15 relative to the diagonal for `r` in [0, 0.9999]; against
  the `r = 1` limit: within 7e-13 at `1 - r = 1e-12`.

Derivatives. Inside the open quadrant `f = z`, so almost everywhere `f_z = 1Q`
(the quadrant's indicator) and `f_zb = 0`: the derivative kernels are
`k_zz = l_zz = P(z1 in Q, z2 in Q)` and all others 0. This is the kernel of the
autodiff Jacobian, i.e. what the library's finite networks' empirical NTK
converges to (checked by Monte Carlo in the tests). zReLU is *discontinuous*
on the rays `arg z = 0, pi/2`; its distributional derivative adds terms
supported there (e.g. `f_zb` gains `(i/2)(y delta(x) 1[y>0] + x delta(y) 1[x>0])`),
which autodiff never sees. So this NTK describes gradients at initialisation,
but not how the function itself moves in training when pre-activations cross
the rays (then `dK_f/dK12 != k_zz`, and the c-map slope at `c = 1` is infinite).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from nt_complex._dtypes import complex_dtype
from nt_complex.gaussian import GaussianPair, Moments, require_circular
from nt_complex.stax.activations._elementwise import activation_layer
from nt_complex.stax.activations.cardioid import _polar_correlation
from nt_complex.stax.activations.diagonal import DiagonalMoments, with_diagonal

__all__ = ["ZReLU", "zrelu", "zrelu_kernels"]

#: Gauss-Legendre nodes per panel (3 panels per entry).
_N_NODES = 64
_GL_T, _GL_W = np.polynomial.legendre.leggauss(_N_NODES)
_HALF_PI = np.pi / 2
#: For `|rho| >= 1 - _LIMIT_GAP` the exact `|rho| = 1` limit is used; the kernels
#: approach it fast (measured: within 7e-13 at 1 - |rho| = 1e-12).
_LIMIT_GAP = 1e-14


def zrelu(z: jnp.ndarray) -> jnp.ndarray:
    """`z` if `0 < arg z < pi/2` (both parts strictly positive), else 0.

    Example:
      >>> import jax.numpy as jnp
      >>> zrelu(jnp.array([1 + 1j, -1 + 1j, 1 + 0j])).tolist()
      [(1+1j), 0j, 0j]
    """
    z = jnp.asarray(z)
    z = z.astype(complex_dtype(z.dtype))
    inside = (jnp.real(z) > 0) & (jnp.imag(z) > 0)
    return jnp.where(inside, z, 0)


def _panel_nodes(a, b, toward_a, peak, s):
    """Nodes/weights on `[a, b]` clustered at `a` (`toward_a`) or `b`, with
    scale `sqrt(s^2 + d^2)`, `d` = circular distance from `peak` to that end."""
    end = jnp.where(toward_a, a, b)
    d = jnp.abs(peak - end)
    d = jnp.minimum(d, 2 * np.pi - d)
    w = jnp.maximum(jnp.sqrt(s ** 2 + d ** 2), 1e-15)[..., None]
    length = (b - a)[..., None]
    u_max = jnp.arcsinh(length / w)
    u = u_max * (1 + _GL_T) / 2
    du = u_max * _GL_W / 2
    sign = jnp.where(toward_a, 1.0, -1.0)[..., None]
    x = end[..., None] + sign * w * jnp.sinh(u)
    return x, du * w * jnp.cosh(u)


def _integrals(r, phi):
    """`(K_f, P_f, k_zz)` per unit `sqrt(q1 q2)` by quadrature (valid r < 1)."""
    s2 = (1 - r) * (1 + r)
    s = jnp.sqrt(s2)
    peak = jnp.clip(phi, -_HALF_PI, _HALF_PI)
    lo, hi = jnp.minimum(peak, 0.0), jnp.maximum(peak, 0.0)
    panels = [(-_HALF_PI + 0 * lo, lo, False), (lo, hi, peak == lo), (hi, _HALF_PI + 0 * hi, True)]
    k_f = p_f = a_f = 0
    rr, pp, ss = r[..., None], phi[..., None], s2[..., None]
    for a, b, toward_a in panels:
        x, w = _panel_nodes(a, b, jnp.broadcast_to(toward_a, jnp.shape(a)), phi, s)
        sin_dx = jnp.sin(x - pp)
        one_minus_c2 = jnp.maximum(ss + rr ** 2 * sin_dx ** 2, 1e-300)
        c = rr * jnp.cos(x - pp)
        sin_t = jnp.sqrt(one_minus_c2)
        pi_minus_t = np.pi - jnp.arctan2(sin_t, c)
        j1 = sin_t + pi_minus_t * c
        j2 = 3 * sin_t * c + pi_minus_t * (1 + 2 * c ** 2)
        tri = _HALF_PI - jnp.abs(x)
        g2 = j2 / (one_minus_c2 ** 2 * sin_t)
        g1 = j1 / (one_minus_c2 * sin_t)
        k_f = k_f + jnp.sum(w * tri * jnp.exp(1j * x) * g2, -1)
        p_f = p_f + jnp.sum(w * jnp.cos(x) * g2, -1)
        a_f = a_f + jnp.sum(w * tri * g1, -1)
    k_f = s2 ** 2 / (8 * np.pi ** 2) * k_f
    p_f = 1j * s2 ** 2 / (8 * np.pi ** 2) * p_f
    a_f = s2 / (4 * np.pi ** 2) * a_f
    return k_f, p_f, a_f


def _perfectly_correlated(phi):
    """`r = 1`: `z2 = e^{-i phi} z1`; both in the quadrant iff
    `arg z1 in (max(0, phi), min(pi/2, phi + pi/2))`."""
    overlap = jnp.maximum(_HALF_PI - jnp.abs(phi), 0.0)
    start = jnp.maximum(phi, 0.0)
    stop = jnp.maximum(start, jnp.minimum(_HALF_PI, phi + _HALF_PI))
    k_f = jnp.exp(1j * phi) * overlap / (2 * np.pi)
    p_f = jnp.exp(-1j * phi) * (jnp.exp(2j * stop) - jnp.exp(2j * start)) / (4j * np.pi)
    return k_f, p_f, overlap / (2 * np.pi)


def _real_correlation(rho):
    """Closed forms for real `rho` in [-1, 1]."""
    t = jnp.arccos(rho)
    relu = (jnp.sqrt(jnp.maximum(1 - rho ** 2, 0)) + (np.pi - t) * rho) / (2 * np.pi)
    orthant = 0.25 + jnp.arcsin(rho) / (2 * np.pi)
    return relu * orthant, 1j * (1 + rho) ** 2 / (8 * np.pi), orthant ** 2


def zrelu_kernels(rho: jnp.ndarray):
    """`(K_f, P_f, k_zz)` of zReLU per unit `sqrt(q1 q2)`, for complex `|rho| <= 1`.

    Exact closed form when `rho` is real, else the fixed-node quadrature
    (module docstring). Vectorised and jit-compatible.

    Example:
      >>> import jax.numpy as jnp
      >>> k, p, a = zrelu_kernels(jnp.array([1.0 + 0j]))
      >>> float(k.real[0]), float(a[0])   # E|f|^2 = q/4, P(z in Q) = 1/4
      (0.25, 0.25)
    """
    rho = jnp.asarray(rho)
    rho = rho.astype(complex_dtype(rho.dtype))
    r = jnp.clip(jnp.abs(rho), 0, 1)
    phi = jnp.angle(rho)
    quad = _integrals(r, phi)
    limit = _perfectly_correlated(phi)
    closed = _real_correlation(jnp.clip(jnp.real(rho), -1, 1))
    is_real = jnp.imag(rho) == 0
    out = []
    for c_val, l_val, q_val in zip(closed, limit, quad):
        value = jnp.where(r >= 1 - _LIMIT_GAP, l_val, q_val)
        out.append(jnp.where(is_real, c_val, value))
    return tuple(out)


def _zrelu_moments(pair: GaussianPair, derivatives: bool) -> Moments:
    require_circular(pair, "ZReLU", "Use nt_complex.stax.ElementwiseNumerical("
                     "nt_complex.stax.activations.zrelu.zrelu, smooth=False) instead (slowly "
                     "convergent: zReLU is discontinuous).")
    scale, r, e = _polar_correlation(pair)
    k_f, p_f, a_f = zrelu_kernels(r * e)
    cov, pseudo = scale * k_f, scale * p_f
    if not derivatives:
        return Moments(cov=cov, pseudo=pseudo)
    # A zero-variance pre-activation is exactly 0, where the autodiff derivative is 0.
    a_f = jnp.where(scale > 0, a_f, 0.0)
    return Moments(cov=cov, pseudo=pseudo, k_zz=a_f, l_zz=a_f)


def _zrelu_diagonal(q: jnp.ndarray) -> DiagonalMoments:
    """`E|f|^2 = q/4`; zReLU jumps on the quadrant's edges, so a real
    perturbation of `c = 1` moves `K_f` by `O(|1 - c|^{1/2})`: `par = inf`. A
    rotation `z2 = e^{-i eps} z1` keeps the pair in the quadrant with
    probability `1/4 - |eps|/(2 pi)`, so `Im K_f = q sin(eps)/4 + O(eps^2)`: `phase = 1/4`."""
    q = jnp.asarray(q, float)
    return DiagonalMoments(q / 4, jnp.full_like(q, jnp.inf), jnp.full_like(q, 0.25))


def ZReLU():
    """zReLU `f(z) = z 1[0 < arg z < pi/2]`: NNGP, NTK and pseudo kernels.

    Circular pre-activations only (else a `NotImplementedError` naming
    `ElementwiseNumerical`). The NTK uses the almost-everywhere derivative
    (`f_z = 1[z in quadrant]`, `f_zb = 0`), matching autodiff of finite
    networks; see the module docstring for what the discontinuity implies.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> from nt_complex.stax.activations.zrelu import ZReLU
      >>> _, _, kernel_fn = stax.serial(stax.Dense(1), ZReLU())
      >>> k = kernel_fn(jnp.array([[2. + 0j]]), None, 'nngp')
      >>> round(float(k.real[0, 0]), 12)   # E|f|^2 = q/4 with q = 4
      1.0
    """
    return with_diagonal(activation_layer("ZReLU", zrelu, _zrelu_moments), _zrelu_diagonal)

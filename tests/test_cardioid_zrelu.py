"""Cardioid and zReLU kernels: high-precision references, structure, Monte Carlo.

References are computed here from the defining expectations, independently of
the library's formulas:
* cardioid: `f` is a sum of angular modes `g(|z|) e^{i m theta}`; for a circular
  pair each mode's correlation is the 2-D radial integral
  `S_m[g] = int int g g (4 r1 r2/s^2) e^{-(r1^2+r2^2)/s^2} I_m(2 r r1 r2/s^2)`
  (the angular integral of `e^{i m psi + a cos psi}` is `2 pi I_m(a)`),
  evaluated with scipy's adaptive `quad_vec`;
* zReLU: conditioning on `z2`, `E[z1 1Q(z1) | z2]` and `P(z1 in Q | z2)` are
  closed forms (the quadrant factorises for an isotropic Gaussian), leaving a
  2-D adaptive integral over `z2` in the quadrant.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import integrate
from scipy import special as sps

from nt_complex import stax
from nt_complex.gaussian import GaussianPair
from nt_complex.stax.activations.cardioid import (
    Cardioid, _cardioid_moments, cardioid, hyp2f1_integer_excess)
from nt_complex.stax.activations.zrelu import ZReLU, _zrelu_moments, zrelu, zrelu_kernels
from mc_utils import assert_within_se, mc_kernels


RADII = (0.0, 0.5, 0.9, 0.99, 0.9999)
Q1, Q2 = 2.0, 0.5  # unequal variances
FIELDS10 = ("cov", "pseudo", "k_zz", "k_bb", "k_zb", "k_bz", "l_zz", "l_zb", "l_bz", "l_bb")


def _pair(r: float, phi: float) -> GaussianPair:
    cov = np.sqrt(Q1 * Q2) * r * np.exp(1j * phi)
    return GaussianPair(jnp.array(Q1), jnp.array(Q2), jnp.array(cov))


# ----------------------------------------------------------------------------- 2F1
@pytest.mark.parametrize("a,b,m", [(-0.5, -0.5, 2), (0.5, 0.5, 2), (0.5, 0.5, 1), (1.5, 1.5, 1)])
def test_hyp2f1_matches_mpmath(a, b, m):
    xs = np.concatenate([np.linspace(0, 1, 81), [0.7 - 1e-13, 0.7 + 1e-13, 1 - 1e-9, 1 - 1e-15]])
    got = np.asarray(hyp2f1_integer_excess(a, b, m)(jnp.asarray(xs)))
    with mpmath.workdps(30):
        ref = np.array([float(mpmath.hyp2f1(a, b, a + b + m, mpmath.mpf(x))) for x in xs])
    assert np.max(np.abs(got / ref - 1)) < 1e-14


# ----------------------------------------------------------------------------- cardioid
def _radial_modes(r: float) -> dict:
    """`S_m[g]` for (g = |z1||z2|, m = 0, 1, 2) and (g = 1, m = 1, 3), unit variances."""
    s = np.sqrt(1 - r * r)

    def inner(t, r2):  # r1 = r r2 + s t makes the integrand smooth as r -> 1
        r1 = r * r2 + s * t
        x = 2 * r * r1 * r2 / s ** 2
        base = 4 * r1 * r2 / s * np.exp(-t * t - r2 * r2)
        g = r1 * r2
        return base * np.array([g * sps.ive(0, x), g * sps.ive(1, x), g * sps.ive(2, x),
                                sps.ive(1, x), sps.ive(3, x)])

    def outer(r2):
        return integrate.quad_vec(inner, max(-r * r2 / s, -9.0), 9.0, args=(r2,),
                                  epsabs=1e-15, epsrel=1e-13)[0]

    v = integrate.quad_vec(outer, 0, 8.0, epsabs=1e-15, epsrel=1e-13, points=[0.5, 1, 2, 3])[0]
    return {("r", 0): v[0], ("r", 1): v[1], ("r", 2): v[2],
            ("1", 0): 1.0, ("1", 1): v[3], ("1", 3): v[4]}


# Angular modes {m: (coefficient, radial factor)} of f, f_z, f_zb for the cardioid.
_F_MODES = {1: (0.5, "r"), 0: (0.25, "r"), 2: (0.25, "r")}
_FZ_MODES = {0: (0.5, "1"), -1: (0.125, "1"), 1: (0.375, "1")}
_FZB_MODES = {1: (0.125, "1"), 3: (-0.125, "1")}


def test_cardioid_mode_expansion_matches_autodiff():
    """The mode coefficients used by the reference are f and its autodiff
    Wirtinger derivatives (so the reference is tied to the network's fn)."""
    rng = np.random.default_rng(0)
    z = jnp.asarray(rng.normal(size=20) + 1j * rng.normal(size=20))
    one = jnp.ones_like(z)
    f, fx = jax.jvp(cardioid, (z,), (one,))
    _, fy = jax.jvp(cardioid, (z,), (1j * one,))
    rad, th = np.abs(z), np.angle(z)
    for modes, value in ((_F_MODES, f), (_FZ_MODES, (fx - 1j * fy) / 2),
                         (_FZB_MODES, (fx + 1j * fy) / 2)):
        expansion = sum(c * (rad if g == "r" else 1) * np.exp(1j * m * th)
                        for m, (c, g) in modes.items())
        np.testing.assert_allclose(np.asarray(value), expansion, atol=1e-14)


def _mode_moment(a: dict, b: dict, conjugate: bool, S: dict, phi: float) -> complex:
    """`E[A(z1) conj B(z2)]` (or `E[A B]`) for mode expansions, per unit sqrt(q1 q2)."""
    total = 0j
    for m, (ca, ga) in a.items():
        mb = m if conjugate else -m
        if mb not in b:
            continue
        cb, gb = b[mb]
        assert ga == gb
        cb = np.conj(cb) if conjugate else cb
        total += ca * cb * np.exp(1j * m * phi) * S[(ga, abs(m))]
    return total


@pytest.fixture(scope="module")
def cardioid_modes():
    return {r: _radial_modes(r) for r in RADII}


@pytest.mark.parametrize("r", RADII)
def test_cardioid_closed_form_vs_reference(r, cardioid_modes):
    S = cardioid_modes[r]
    specs = {"cov": (_F_MODES, _F_MODES, True), "pseudo": (_F_MODES, _F_MODES, False),
             "k_zz": (_FZ_MODES, _FZ_MODES, True), "k_bb": (_FZB_MODES, _FZB_MODES, True),
             "k_zb": (_FZ_MODES, _FZB_MODES, True), "k_bz": (_FZB_MODES, _FZ_MODES, True),
             "l_zz": (_FZ_MODES, _FZ_MODES, False), "l_zb": (_FZ_MODES, _FZB_MODES, False),
             "l_bz": (_FZB_MODES, _FZ_MODES, False), "l_bb": (_FZB_MODES, _FZB_MODES, False)}
    for phi in (0.0, 0.4, -1.3, 2.0, np.pi):
        m = _cardioid_moments(_pair(r, phi), True)
        for field in FIELDS10:
            a, b, conj = specs[field]
            ref = _mode_moment(a, b, conj, S, phi)
            scale = np.sqrt(Q1 * Q2) * 3 / 8 if field in ("cov", "pseudo") else 13 / 32
            ref = ref * (np.sqrt(Q1 * Q2) if field in ("cov", "pseudo") else 1)
            got = 0 if getattr(m, field) is None else complex(getattr(m, field))
            assert abs(got - ref) / scale <= 1e-12, (field, r, phi, got, ref)


def test_cardioid_diagonal():
    """E|f|^2 = 3q/8, E|f_z|^2 = 13/32, E|f_zb|^2 = 1/32 (1-D integrals over theta)."""
    q = 1.7
    m = _cardioid_moments(GaussianPair(jnp.array(q), jnp.array(q), jnp.array(q + 0j)), True)
    th = integrate.quad(lambda t: (1 + np.cos(t)) ** 2 / 4 / (2 * np.pi), 0, 2 * np.pi)[0]
    fz = integrate.quad(lambda t: abs(0.5 + np.exp(-1j * t) / 8 + 3 * np.exp(1j * t) / 8) ** 2
                        / (2 * np.pi), 0, 2 * np.pi, epsabs=1e-15)[0]
    assert abs(complex(m.cov) - q * th) < 1e-14 and abs(th - 3 / 8) < 1e-14
    assert abs(complex(m.k_zz) - fz) < 1e-14 and abs(complex(m.k_bb) - 1 / 32) < 1e-14


# ----------------------------------------------------------------------------- zReLU
def _zrelu_reference(rho: complex):
    """`(K_f, P_f, P(z1, z2 in Q))` for unit variances by conditioning on z2."""
    r, phi = abs(rho), np.angle(rho)
    sig = np.sqrt(max(1 - r * r, 0) / 2)  # per-component conditional sd

    def m(a):  # E[(a + sig xi) 1[a + sig xi > 0]]
        return a * sps.ndtr(a / sig) + sig * np.exp(-0.5 * (a / sig) ** 2) / np.sqrt(2 * np.pi)

    def inner(theta, R):
        z2 = R * np.exp(1j * theta)
        mu = rho * z2
        px, py = sps.ndtr(mu.real / sig), sps.ndtr(mu.imag / sig)
        h = m(mu.real) * py + 1j * px * m(mu.imag)
        w = R * np.exp(-R * R) / np.pi
        k, p = h * np.conj(z2) * w, h * z2 * w
        return np.array([k.real, k.imag, p.real, p.imag, px * py * w])

    kinks = sorted(t for t in {(k * np.pi / 2 - phi) % (2 * np.pi) for k in range(4)}
                   if 0 < t < np.pi / 2)

    def outer(R):
        return integrate.quad_vec(inner, 0, np.pi / 2, args=(R,), epsabs=1e-15,
                                  epsrel=1e-13, points=kinks or None)[0]

    v = integrate.quad_vec(outer, 0, 8, epsabs=1e-15, epsrel=1e-13, points=[0.5, 1, 2, 3])[0]
    return v[0] + 1j * v[1], v[2] + 1j * v[3], v[4]


# (r, phi, closed form?) -- phi in {0, pi} uses the real-K12 closed form.
ZRELU_GRID = [(0.0, 0.0, True), (0.5, 0.0, True), (0.9, np.pi, True), (0.9999, 0.0, True),
              (0.0, 1.0, False), (0.5, 0.7, False), (0.5, -2.0, False), (0.9, 1.5, False),
              (0.99, -0.3, False), (0.99, 2.5, False), (0.9999, 0.7, False),
              (0.9999, -1.6, False)]


@pytest.mark.parametrize("r,phi,closed", ZRELU_GRID)
def test_zrelu_vs_reference(r, phi, closed):
    rho = -r + 0j if phi == np.pi else r * np.exp(1j * phi)
    K, P, A = _zrelu_reference(rho)
    pair = GaussianPair(jnp.array(Q1), jnp.array(Q2), jnp.array(np.sqrt(Q1 * Q2) * rho))
    m = _zrelu_moments(pair, True)
    tol = 1e-12 if closed else 1e-10
    diag = np.sqrt(Q1 * Q2) / 4  # sqrt(E|f1|^2 E|f2|^2)
    assert abs(complex(m.cov) - np.sqrt(Q1 * Q2) * K) / diag <= tol
    assert abs(complex(m.pseudo) - np.sqrt(Q1 * Q2) * P) / diag <= tol
    assert abs(complex(m.k_zz) - A) / 0.25 <= tol and abs(complex(m.l_zz) - A) / 0.25 <= tol
    assert all(getattr(m, f) is None for f in ("k_bb", "k_zb", "k_bz", "l_zb", "l_bz", "l_bb"))


def test_zrelu_perfect_correlation_limit():
    """r = 1 with a phase: z2 = e^{-i phi} z1; the quadrature approaches the limit."""
    for phi in (0.3, -1.0, 2.0):
        k1, p1, a1 = [complex(v) for v in zrelu_kernels(jnp.array(np.exp(1j * phi)))]
        overlap = max(np.pi / 2 - abs(phi), 0)
        lo, hi = max(phi, 0), min(np.pi / 2, phi + np.pi / 2)
        p_ref = 0
        if overlap:
            p_ref = np.exp(-1j * phi) * (integrate.quad(lambda t: np.cos(2 * t), lo, hi)[0]
                                         + 1j * integrate.quad(lambda t: np.sin(2 * t), lo, hi)[0])
            p_ref /= 2 * np.pi
        assert abs(k1 - np.exp(1j * phi) * overlap / (2 * np.pi)) < 1e-15
        assert abs(a1 - overlap / (2 * np.pi)) < 1e-15 and abs(p1 - p_ref) < 1e-14
        for gap in (1e-12, 1e-15):  # quadrature side and limit side of the switch
            near = [complex(v) for v in zrelu_kernels(jnp.array((1 - gap) * np.exp(1j * phi)))]
            assert max(abs(near[0] - k1), abs(near[1] - p1), abs(near[2] - a1)) < 1e-10


# ----------------------------------------------------------------------------- structure
@pytest.mark.parametrize("layer", [Cardioid, ZReLU])
def test_gram_hermitian_psd(layer):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4)) + 1j * rng.normal(size=(6, 4))
    x[1] = 1j * x[0]  # |rho| = 1 with a phase
    _, _, kernel_fn = stax.serial(stax.Dense(16, b_std=0.3), layer(), stax.Dense(16),
                                  layer(), stax.Dense(1))
    k = kernel_fn(jnp.asarray(x), None)
    for field in ("nngp", "ntk"):
        g = np.asarray(getattr(k, field))
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, g.conj().T, atol=1e-14 * np.abs(g).max())
        assert np.linalg.eigvalsh((g + g.conj().T) / 2).min() >= -1e-12 * np.abs(g).max()


@pytest.mark.parametrize("layer", [Cardioid, ZReLU])
def test_non_circular_input_raises(layer):
    _, _, kernel_fn = stax.serial(stax.Dense(4, W_pseudo=1.0), layer())
    with pytest.raises(NotImplementedError, match="ElementwiseNumerical"):
        kernel_fn(jnp.ones((2, 3)) * (1 + 1j), None)


def test_activation_functions():
    z = jnp.array([1 + 1j, -1 + 1j, 2 + 0j, 0j, 1j])
    np.testing.assert_allclose(np.asarray(zrelu(z)), [1 + 1j, 0, 0, 0, 0])
    expected = [(1 + np.cos(np.angle(v))) * v / 2 if v != 0 else 0 for v in np.asarray(z)]
    np.testing.assert_allclose(np.asarray(cardioid(z)), expected, atol=1e-15)


# ----------------------------------------------------------------------------- Monte Carlo
@pytest.mark.parametrize("layer,seed", [(Cardioid, 11), (ZReLU, 12)])
def test_monte_carlo_wide_network(layer, seed):
    """Width-1024, 2-hidden-layer circular networks: NNGP, NTK (autodiff
    Jacobians, hence the a.e. derivative for zReLU) and pseudo fields."""
    rng = np.random.default_rng(seed)
    x = jnp.asarray((rng.normal(size=(3, 5)) + 1j * rng.normal(size=(3, 5))) / np.sqrt(2))
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(1024, W_std=1.2, b_std=0.3), layer(),
        stax.Dense(1024, W_std=1.2, b_std=0.3), layer(), stax.Dense(64))
    analytic = kernel_fn(x, None)
    analytic = {f: np.asarray(analytic.get(f)) for f in ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")}
    estimate = mc_kernels(init_fn, apply_fn, x, n_samples=48, seed=seed)
    assert_within_se(estimate, analytic, n_se=4.0)

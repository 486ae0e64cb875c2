"""ModReLU kernels: closed forms, series and quadrature against references
computed here (mpmath 1-D integrals, scipy adaptive quadrature of the Bessel
double integral), structural identities, Monte Carlo of a wide network, jit."""

import functools
import warnings

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
from scipy import integrate, special

from mc_utils import FIELDS, assert_within_se, mc_kernels
from nt_complex import stax
from nt_complex.gaussian import GaussianPair
from nt_complex.special import modrelu as mr
from nt_complex.special.scaled_bessel import scaled_bessel
from nt_complex.stax.activations._elementwise import (_kernel_of_activation, _mirrored,
                                                      activation_layer)
from nt_complex.stax.activations.phase_equivariant import ModReLU, _modrelu_moments


Q1, Q2 = 1.0, 2.5  # unequal variances everywhere
KINDS = ("g", "a", "b")


# ---------------------------------------------------------------- references
def _radial(kind, beta):
    """Radial part of f (g), f_z (a) and f_zb without its phase (b), in
    normalised units, on r > c = max(0, -beta)."""
    if kind == "g":
        return lambda r: r + beta
    if kind == "a":
        return lambda r: 1 + beta / (2 * r)
    return lambda r: -beta / (2 * r)


def _mp_diagonal(kind, beta1, beta2):
    """|rho| = 1: int_c^inf psi1 psi2 2 r e^{-r^2} dr (mpmath, dps 20)."""
    mp.mp.dps = 20
    c = max(0.0, -beta1, -beta2)
    p1, p2 = _radial(kind, mp.mpf(beta1)), _radial(kind, mp.mpf(beta2))
    return float(mp.quad(lambda r: p1(r) * p2(r) * 2 * r * mp.exp(-r * r),
                         [c, c + 1, c + 3, mp.inf]))


def _mp_mean(kind, beta):
    mp.mp.dps = 20
    c = max(0.0, -beta)
    p = _radial(kind, mp.mpf(beta))
    return float(mp.quad(lambda r: p(r) * 2 * r * mp.exp(-r * r), [c, c + 1, c + 3, mp.inf]))


def _ive(order, z):
    """I_order(z) e^{-z}: scipy below z = 1e6 (it returns NaN near 1e18), the
    asymptotic series sum_k (-1)^k a_k / z^k / sqrt(2 pi z) (4 terms, error
    < 1e-24) above."""
    if z < 1e6:
        return special.ive(order, z)
    mu, term, total = 4 * order * order, 1.0, 1.0
    for k in range(1, 4):
        term *= -(mu - (2 * k - 1) ** 2) / (8 * k * z)
        total += term
    return total / np.sqrt(2 * np.pi * z)


def _bessel_reference(kind, beta1, beta2, x):
    """Nested scipy adaptive quadrature of the Bessel form, s^2 = 1 - x^2:
    int psi1(r1) 2 r1 e^{-r1^2} int psi2(r2) (2 r2/s^2) e^{-(r2 - x r1)^2/s^2}
    I_k,e(2 x r1 r2/s^2) dr2 dr1, k = 1 (G), 0 (A), 2 (B)."""
    order = {"g": 1, "a": 0, "b": 2}[kind]
    s2 = (1 - x) * (1 + x)
    s = np.sqrt(s2)
    c1, c2 = max(0.0, -beta1), max(0.0, -beta2)
    p1, p2 = _radial(kind, beta1), _radial(kind, beta2)

    def inner(r1):  # in t = (r2 - mu)/s: no rounding of r2 - mu when s is tiny
        mu = x * r1
        lo = max((c2 - mu) / s, -9.0)
        if lo >= 9:
            return 0.0
        f = lambda t: p2(mu + s * t) * (2 * (mu + s * t) / s) * np.exp(-t * t) * _ive(
            order, 2 * mu * (mu + s * t) / s2)
        pts = [p for p in (-1.0, 0.0, 1.0) if lo < p] or None
        with warnings.catch_warnings():  # roundoff notices at 2e-14; agreement is checked
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            return integrate.quad(f, lo, 9.0, points=pts, epsabs=0, epsrel=2e-14,
                                  limit=200)[0]

    x0 = c2 / x
    top = np.sqrt(max(c1, x0) ** 2 + 45)
    pts = sorted({p for p in (x0 + j * s / x for j in (-6, -3, -1, 0, 1, 3, 6)) if c1 < p < top})
    outer = lambda r1: p1(r1) * 2 * r1 * np.exp(-r1 * r1) * inner(r1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(outer, c1, top, points=pts or None, epsabs=0, epsrel=2e-14,
                              limit=400)[0]


_KERNELS = jax.jit(mr.modrelu_kernels, static_argnums=(0,))


def _library_many(b, xs, q1=Q1, q2=Q2):
    """Library G, A, B at several |rho| (one compilation per sign of b: the
    kernels depend on b, q only through beta = b/sqrt(q))."""
    xs = list(xs)
    sign = float(np.sign(b))
    scale = b * b if b != 0 else 1.0
    padded = jnp.array(xs + [0.5] * (8 - len(xs)))
    k = _KERNELS(sign, jnp.array(q1 / scale), jnp.array(q2 / scale), padded)
    return [dict(zip(KINDS, (float(v[i]) for v in k))) for i in range(len(xs))]


def _library(b, x, q1=Q1, q2=Q2):
    return _library_many(b, [x], q1, q2)[0]


def _diag_scale(kind, b, q1=Q1, q2=Q2):
    b1, b2 = b / np.sqrt(q1), b / np.sqrt(q2)
    return np.sqrt(_mp_diagonal(kind, b1, b1) * _mp_diagonal(kind, b2, b2))


# ------------------------------------------------------------ closed forms
@pytest.mark.parametrize("b", [-2.0, -1.0, -0.5, 0.0, 0.5])
def test_diagonal_closed_form(b):
    got = _library(b, 1.0)
    b1, b2 = b / np.sqrt(Q1), b / np.sqrt(Q2)
    for kind in KINDS:
        if b > 0 and kind != "g":
            assert got[kind] == np.inf  # diverges: inf, never NaN
            continue
        ref = _mp_diagonal(kind, b1, b2)
        assert abs(got[kind] - ref) <= 1e-12 * max(abs(ref), 1e-300) + 1e-300, (kind, got, ref)


@pytest.mark.parametrize("b", [-2.0, -1.0, -0.5, 0.0, 0.5])
def test_rho_zero_closed_form(b):
    got = _library(b, 0.0)
    ref_a = _mp_mean("a", b / np.sqrt(Q1)) * _mp_mean("a", b / np.sqrt(Q2))
    assert got["g"] == 0 and got["b"] == 0
    assert abs(got["a"] - ref_a) <= 1e-12 * ref_a


def test_b_zero_is_identity():
    x = jnp.array([0.0, 0.3, 0.99, 1.0])
    k = mr.modrelu_kernels(0.0, jnp.array(Q1), jnp.array(Q2), x)
    np.testing.assert_array_equal(k.g, x)
    np.testing.assert_array_equal(k.a, 1.0)
    np.testing.assert_array_equal(k.b, 0.0)


@pytest.mark.parametrize("x", [0.5, 0.9, 0.99, 0.9999])
def test_positive_bias_closed_form(x):
    b = 0.5
    got = _library(b, x)
    b1, b2 = b / np.sqrt(Q1), b / np.sqrt(Q2)
    mp.mp.dps = 20
    m = mp.mpf(x) ** 2
    hyp = lambda a, c: mp.hyp2f1(a, a, c, m)  # definitions of F_1, F_2, 2F1(3/2,3/2;3)
    ref = {
        "g": x * (1 + (b1 + b2) * mp.sqrt(mp.pi) / 2) + b1 * b2 * mp.pi / 4 * x * hyp(0.5, 2),
        "a": 1 + (b1 + b2) * mp.sqrt(mp.pi) / 2 + b1 * b2 * mp.pi / 4 * hyp(0.5, 1),
        "b": b1 * b2 * mp.pi / 32 * m * hyp(1.5, 3),
    }
    for kind in KINDS:
        assert abs(got[kind] - float(ref[kind])) <= 1e-12 * abs(float(ref[kind])), kind
    if x <= 0.99:  # and the hypergeometric closed form is the defining integral
        for kind in KINDS:
            integral = _bessel_reference(kind, b1, b2, x)
            assert abs(integral - float(ref[kind])) <= 1e-11 * abs(integral), kind


def test_laguerre_coefficients_against_mpmath():
    mp.mp.dps = 20
    for c in (0.3, 2.0):
        state, step = mr._laguerre_coefficient_stream(jnp.array(c))
        values = []
        for n in range(31):
            state, m = step(state, jnp.array(float(n)))
            values.append(float(m))
        for n in (0, 1, 7, 30):
            ref = mp.quad(lambda r: (r - c) * 2 * r ** 2 * mp.laguerre(n, 1, r * r)
                          * mp.exp(-r * r), mp.linspace(c, c + 10, 21) + [mp.inf])
            assert abs(values[n] - float(ref)) <= 1e-13, (c, n)


# ------------------------------------------------ numerical paths (b < 0)
@pytest.mark.parametrize("b", [-2.0, -1.0, -0.5])
def test_numerical_paths_against_bessel_quadrature(b):
    b1, b2 = b / np.sqrt(Q1), b / np.sqrt(Q2)
    xs = (0.5, 0.9, 0.99, 0.9999)
    for x, got in zip(xs, _library_many(b, xs)):
        for kind in KINDS:
            ref = _bessel_reference(kind, b1, b2, x)
            err = abs(got[kind] - ref) / _diag_scale(kind, b)
            assert err <= 1e-10, (b, x, kind, got[kind], ref, err)


def test_switch_uses_both_methods_and_extreme_bias():
    """|rho| = 0.9 is summed, 0.999 integrated (tail bound too large); b = -3 and
    tiny |b| at the switch region and very close to 1 agree with the reference."""
    c = jnp.array(0.5)
    _, bound = mr.modrelu_series(c, c, jnp.array(0.9))
    diag = mr.modrelu_diagonal(-c, -c)
    assert all(float(bd) <= mr.SWITCH_TOL * float(d) for bd, d in zip(bound, diag))
    _, bound = mr.modrelu_series(c, c, jnp.array(0.999))
    assert float(bound.a) > mr.SWITCH_TOL * float(diag.a)
    for b, x in ((-3.0, 0.985), (-3.0, 0.999), (-0.01, 0.98), (-0.5, 0.988), (-0.5, 1 - 1e-7)):
        got = _library(b, x)
        for kind in KINDS:
            ref = _bessel_reference(kind, b / np.sqrt(Q1), b / np.sqrt(Q2), x)
            assert abs(got[kind] - ref) <= 1e-10 * _diag_scale(kind, b), (b, x, kind)


# ---------------------------------------------------- structural identities
@pytest.mark.parametrize("b", [-0.5, 0.5])
@pytest.mark.parametrize("x", [0.3, 0.7, 0.97])
def test_derivative_kernels_are_derivatives_of_g(b, x):
    """A = (G' + G/x)/2, B = (G' - G/x)/2 with G' by central differences."""
    h = 1e-5
    k, plus, minus = _library_many(b, [x, x + h, x - h])
    dg = (plus["g"] - minus["g"]) / (2 * h)
    assert abs(k["a"] - (dg + k["g"] / x) / 2) <= 1e-8 * k["a"]
    assert abs(k["b"] - (dg - k["g"] / x) / 2) <= 1e-8 * max(k["a"], k["b"])


def test_moments_structure_and_phases():
    """K_f = e^{i phi} sqrt(q1 q2) G, k_zz = A, k_bb = e^{2 i phi} B, no other
    (pseudo) moments, for several phases."""
    moments = _modrelu_moments(-0.5)
    phis = jnp.array([0.0, 0.7, -2.0, np.pi])
    for x in (0.5, 0.99):
        cov = x * np.sqrt(Q1 * Q2) * jnp.exp(1j * phis)
        m = moments(GaussianPair(jnp.array(Q1), jnp.array(Q2), cov), True)
        ref = _library(-0.5, x)
        e = np.exp(1j * np.asarray(phis))
        np.testing.assert_allclose(m.cov, e * np.sqrt(Q1 * Q2) * ref["g"], rtol=1e-13)
        np.testing.assert_allclose(m.k_zz, ref["a"], rtol=1e-13)
        np.testing.assert_allclose(m.k_bb, e ** 2 * ref["b"], rtol=1e-13)
        assert all(getattr(m, f) is None for f in
                   ("pseudo", "k_zb", "k_bz", "l_zz", "l_zb", "l_bz", "l_bb"))


def test_positive_bias_diagonal_derivative_kernels_are_inf_not_nan():
    m = _modrelu_moments(0.5)(GaussianPair(jnp.array(2.0), jnp.array(2.0),
                                           jnp.array(2.0 + 0j)), True)
    assert np.isinf(m.k_zz) and np.real(m.k_bb) == np.inf and np.imag(m.k_bb) == 0
    assert np.isfinite(m.cov)


def _inputs(n=5, d=3, seed=0):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    x = jax.random.normal(k1, (n, d)) + 1j * jax.random.normal(k2, (n, d))
    # strongly correlated pairs exercise the quadrature path
    return x.at[1].set(x[0] * 0.98 * np.exp(0.4j) + 0.02 * x[2]).at[3].set(2 * x[0])


_, _, _KERNEL_FN = stax.serial(stax.Dense(8, b_std=0.3), ModReLU(-0.5), stax.Dense(1))
_JIT_KERNEL_FN = jax.jit(_KERNEL_FN, static_argnames="get")


def test_kernel_fn_hermitian_psd_circular():
    k = _JIT_KERNEL_FN(_inputs(), None, ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk"))
    assert not np.any(k.pseudo_nngp) and not np.any(k.pseudo_ntk)
    for field in (k.nngp, k.ntk):
        np.testing.assert_allclose(field, jnp.conj(field.T), atol=1e-14)
        eig = np.linalg.eigvalsh(np.asarray(field))
        assert eig.min() >= -1e-12 * eig.max()


def test_non_circular_input_raises():
    _, _, kernel_fn = stax.serial(stax.Dense(4, W_pseudo=1.0), ModReLU(-0.5))
    with pytest.raises(NotImplementedError, match="ElementwiseNumerical"):
        kernel_fn(jnp.ones((2, 3)), None)


def test_apply_fn_definition():
    _, apply_fn, _ = ModReLU(-1.0)
    z = jnp.array([0.0, 0.5j, 3.0 + 4.0j])
    np.testing.assert_allclose(apply_fn((), z), [0, 0, 0.8 * (3 + 4j)], atol=1e-15)


def test_jit_matches_eager():
    x = _inputs()
    eager = _KERNEL_FN(x, None)
    assert eager.pseudo_nngp is None and eager.pseudo_ntk is None  # exactly circular
    jitted = _JIT_KERNEL_FN(x, None, ("nngp", "ntk"))
    np.testing.assert_allclose(jitted.nngp, eager.nngp, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(jitted.ntk, eager.ntk, rtol=1e-13, atol=1e-15)


# ----------------------------------------------------------------- Monte Carlo
def _network(activation, width=1024):
    return stax.serial(stax.Dense(width, b_std=0.3), activation,
                       stax.Dense(width, b_std=0.3), activation, stax.Dense(64))


def test_monte_carlo_wide_network():
    """Library kernels agree with 48 draws of the width-1024 network (NNGP
    averaged over 64 output channels); the same data reject the NTK computed
    without the `k_bb conj(Theta)` term (power check)."""
    init_fn, apply_fn, kernel_fn = _network(ModReLU(-0.5))
    k1, k2 = jax.random.split(jax.random.PRNGKey(3))
    x = jax.random.normal(k1, (3, 4)) + 1j * jax.random.normal(k2, (3, 4))
    x = x.at[1].set(0.9 * x[0] * np.exp(0.5j) + 0.3 * x[2])
    analytic = kernel_fn(x, None, FIELDS)._asdict()
    estimate = mc_kernels(init_fn, apply_fn, x, n_samples=48, seed=11)
    assert_within_se(estimate, analytic, n_se=4.0)

    full = _modrelu_moments(-0.5)
    without_b = activation_layer("ModReLUWithoutB", lambda z: z,
                                 lambda p, d: full(p, d)._replace(k_bb=None))
    wrong = _network(without_b)[2](x, None, FIELDS)._asdict()
    with pytest.raises(AssertionError):
        assert_within_se(estimate, wrong, n_se=4.0, fields=("ntk",))


# ------------------------------------- special functions (polyval / fori_loop)
def test_special_functions_against_scipy():
    """exp1 (series and continued fraction), AGM elliptic integrals, I_2e
    (power series / large-argument series; more in test_modrelu_near_one.py)
    and 2F1(1/2,1/2;c;m) (series and elliptic branch)."""
    x = np.array([1e-8, 0.1, 0.9, 1.5, 1.5000001, 2.0, 7.0, 40.0])
    np.testing.assert_allclose(mr.exp1(jnp.asarray(x)), special.exp1(x), rtol=2e-15)
    m = np.array([0.0, 0.3, 0.75, 0.999999])
    k, e = mr.ellipke(jnp.asarray(m))
    np.testing.assert_allclose(k, special.ellipk(m), rtol=2e-15)
    np.testing.assert_allclose(e, special.ellipe(m), rtol=2e-15)
    z = np.array([1e-6, 0.5, 1.9999, 2.0, 3.0, 50.0, 5e4])
    np.testing.assert_allclose(scaled_bessel(2, jnp.asarray(z)), special.ive(2, z), rtol=1e-13)
    mp.mp.dps = 20
    for mm in (0.2, 0.5, 0.6, 0.95):
        f1, f2, diff = (float(v) for v in mr._half_half_hypergeometric(jnp.array(mm)))
        r1, r2 = float(mp.hyp2f1(0.5, 0.5, 1, mm)), float(mp.hyp2f1(0.5, 0.5, 2, mm))
        assert abs(f1 - r1) <= 1e-14 * r1 and abs(f2 - r2) <= 1e-14 * r2
        assert abs(diff - (r1 - r2)) <= 1e-13 * (r1 - r2)


def test_series_covers_everything_below_the_quadrature_range():
    """The quadrature is validated for |rho| >= 0.98; the series' rigorous tail
    bound holds there for every depth c = -beta (so no entry below 0.98 needs it)."""
    c = jnp.array([1e-4, 1e-2, 0.1, 0.5, 1.0, 3.0, 10.0, 40.0])
    x = jnp.full_like(c, 0.98)
    _, bound = mr.modrelu_series(c, c, x)
    diag = mr.modrelu_diagonal(-c, -c)
    for bd, d in zip(bound, diag):
        assert np.all(np.asarray(bd) <= mr.SWITCH_TOL * np.asarray(d))


# --------------------------------------------------- new regimes, and vmap
_REGIMES = [(-3.0, 0.3), (-3.0, 1 - 1e-7), (-1.5, 0.97), (-0.2, 0.995), (-0.2, 1 - 1e-5),
            (-0.05, 0.999)]


def test_regimes_unequal_variances_under_vmap():
    """b in [-3, -0.05], |rho| in [0.3, 1 - 1e-7], q1 = 0.7 != q2 = 1.9, evaluated
    under jax.vmap (where the quadrature's block skipping becomes a select)
    against the scipy Bessel double integral; the vmapped values equal the
    unbatched ones."""
    q1, q2 = 0.7, 1.9
    bs = jnp.array([b for b, _ in _REGIMES])
    xs = jnp.array([x for _, x in _REGIMES])
    # kernels depend on (b, q) through beta = b/sqrt(q): scale q by b^2, b -> -1
    point = lambda s1, s2, x: mr.modrelu_kernels(-1.0, s1, s2, x)
    batched = jax.jit(jax.vmap(point))(q1 / bs ** 2, q2 / bs ** 2, xs)
    for i, (b, x) in enumerate(_REGIMES):
        single = mr.modrelu_kernels(-1.0, jnp.array(q1 / b ** 2), jnp.array(q2 / b ** 2),
                                    jnp.array(x))
        b1, b2 = b / np.sqrt(q1), b / np.sqrt(q2)
        for k, kind in enumerate(KINDS):
            got = float(batched[k][i])
            assert abs(got - float(single[k])) <= 1e-14 * abs(got), (b, x, kind)
            ref = _bessel_reference(kind, b1, b2, x)
            scale = _diag_scale(kind, b, q1, q2)
            assert abs(got - ref) <= 1e-10 * scale, (b, x, kind, got, ref)


def test_vmapped_grid_positive_bias_and_diagonal():
    """vmap over q of b = 0.5 (closed forms) and of |rho| = 1 (diagonal closed
    form) agree with mpmath."""
    qs = jnp.array([0.3, 1.0, 4.0])
    k_pos = jax.vmap(lambda q: mr.modrelu_kernels(0.5, q, 2 * q, jnp.array(0.999)))(qs)
    k_one = jax.vmap(lambda q: mr.modrelu_kernels(-0.5, q, 2 * q, jnp.array(1.0)))(qs)
    mp.mp.dps = 20
    for i, q in enumerate(np.asarray(qs)):
        b1, b2 = 0.5 / np.sqrt(q), 0.5 / np.sqrt(2 * q)
        ref_g = 0.999 * (1 + (b1 + b2) * np.sqrt(np.pi) / 2) + b1 * b2 * np.pi / 4 * 0.999 * float(
            mp.hyp2f1(0.5, 0.5, 2, mp.mpf(0.999) ** 2))
        assert abs(float(k_pos.g[i]) - ref_g) <= 1e-12 * ref_g
        for k, kind in enumerate(KINDS):
            ref = _mp_diagonal(kind, -0.5 / np.sqrt(q), -0.5 / np.sqrt(2 * q))
            assert abs(float(k_one[k][i]) - ref) <= 1e-12 * ref, (q, kind)


def test_vmap_keeps_block_skipping_and_grad_works():
    """Under vmap the near-1 rule stays behind a `cond` (the batching rule folds
    the batch into one compacted pass instead of a select of both branches);
    reverse-mode autodiff works through it: dG/d|rho| = A + B (the Wirtinger
    identity, checked against finite differences in
    test_derivative_kernels_are_derivatives_of_g) and dG/dq1 equals central
    differences. Series at 0.5; the rule at 0.995 and at shallow (c <= 0.2) and
    deep (c ~ 10) dead zones with c1 != c2 up to |rho| = 1 - 1e-9."""
    point = lambda x: mr.modrelu_kernels(-0.5, jnp.array(Q1), jnp.array(Q2), x).g
    jaxpr = str(jax.make_jaxpr(jax.vmap(jax.vmap(point)))(jnp.full((2, 3), 0.995)))
    assert "cond[" in jaxpr  # without the rule vmap turns it into select_n
    # b = -1, so c = 1/sqrt(q)
    cases = [(Q1 / 0.25, Q2 / 0.25, 0.5), (Q1 / 0.25, Q2 / 0.25, 0.995),
             (1e4, 2.5e4, 0.99), (25.0, 60.0, 1 - 1e-9), (0.01, 0.013, 0.995)]
    q1s, q2s, xs = (jnp.array(v) for v in zip(*cases))
    g_of = lambda q1, q2, x: mr.modrelu_kernels(-1.0, q1, q2, x).g
    slopes_q1, slopes_x = jax.jit(jax.vmap(jax.grad(g_of, argnums=(0, 2))))(q1s, q2s, xs)
    for i, (q1, q2, x) in enumerate(cases):
        h = 1e-6 * q1
        k, plus, minus = (_library(-1.0, x, q, q2) for q in (q1, q1 + h, q1 - h))
        assert abs(float(slopes_x[i]) - (k["a"] + k["b"])) <= 1e-9 * (k["a"] + k["b"]), (
            q1, q2, x, slopes_x[i], k)
        fd = (plus["g"] - minus["g"]) / (2 * h)
        assert abs(float(slopes_q1[i]) - fd) <= 1e-6 * abs(fd), (q1, q2, x, slopes_q1[i], fd)


# ------------------------------------------ hard cases of the near-1 rule
_HARD_CASES = [(c1, c2, x) for c1, c2 in ((0.01, 0.0063), (0.2, 0.13), (10.0, 8.77))
               for x in (0.985, 1 - 1e-12)] + [(0.2, 0.13, 1 - 1e-6)]  # c = -beta


def test_near_one_rule_hard_cases_relative_to_value():
    """Shallow dead zones (c <= 0.2), a deep one (c ~ 10, values ~ e^{-90}),
    c1 != c2, |rho| from 0.985 to 1 - 1e-12: the near-1 rule itself (every entry
    forced through it) and the library (series/rule switch) against the scipy
    Bessel double integral, relative to the value itself."""
    cases = _HARD_CASES
    c1s, c2s, xs = (jnp.array(v) for v in zip(*cases))
    rule = jax.jit(mr.modrelu_quadrature)(c1s, c2s, xs)
    for i, (c1, c2, x) in enumerate(cases):
        library = _library(-1.0, x, 1 / c1 ** 2, 1 / c2 ** 2)
        for k, kind in enumerate(KINDS):
            ref = _bessel_reference(kind, -c1, -c2, x)
            for got in (float(rule[k][i]), library[kind]):
                assert abs(got - ref) <= 1e-10 * ref, (c1, c2, x, kind, got, ref)



def test_slope_at_rho_one_is_a_plus_b():
    """`dG/d|rho| = A + B` also at `|rho| = 1` exactly and one ulp above (rounding),
    where the value is the closed-form diagonal: autodiff through a same-point
    entry (the phase module's generic path, e.g. a FanInConcat block, eagerly)
    saw 0 there, and `clip` halves a slope at its bound. Reference:
    `E|f_z|^2 + E|f_zb|^2` of a plain numpy f by the phase tests' polar
    quadrature of central-difference Wirtinger derivatives (for q1 = q2 = q,
    `G = K_f/q` and `A, B` are those moments)."""
    import phase_quadrature as pq

    def f(z):
        r = np.abs(z)
        return np.where(r > 0, np.maximum(r - 0.5, 0.0) / np.where(r > 0, r, 1), 0) * z

    qs = np.array([0.4, 0.4, 1.3, 1.3])
    xs = np.array([1.0, np.nextafter(1.0, 2.0)] * 2)
    slope = jax.jit(jax.vmap(jax.grad(lambda q, x: mr.modrelu_kernels(-0.5, q, q, x).g,
                                      argnums=1)))
    expected = [sum(pq.diagonal_moments(f, q, (0.5,))[1:]) for q in qs]
    np.testing.assert_allclose(np.asarray(slope(jnp.asarray(qs), jnp.asarray(xs))), expected,
                               rtol=1e-8)


def test_same_point_entries_trace_only_the_diagonal_form():
    """`cov1`/`cov2` entries (a `SamePointPair`) take the diagonal closed form
    alone: the general rule's values at |rho| = 1 (q = 0 included) and its
    slope `A + B` there, and a `cov1`-only kernel compiles no
    quadrature (whose blocks XLA compiles as conditionals)."""
    qs = jnp.array([0.0, 0.3, 1.0, 7.5])
    ones = jnp.ones_like(qs)

    def fields(same_point, q, x):
        return mr.modrelu_kernels(-0.5, q, q, x, same_point=same_point)

    general = jax.jit(functools.partial(fields, False)).lower(qs, ones).compile()
    fast = jax.jit(functools.partial(fields, True))(qs, ones)
    for got, want in zip(fast, general(qs, ones)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-14, atol=0)
    slope = jax.jit(jax.vmap(jax.grad(
        lambda q, x: mr.modrelu_kernels(-0.5, q, q, x, same_point=True).g, argnums=1)))
    np.testing.assert_allclose(slope(qs, ones), fast.a + fast.b, rtol=1e-14, atol=0)

    kernel_fn = stax.serial(stax.Dense(4), ModReLU(-0.5))[2]
    x = jnp.array([[1 + 1j, 0.5], [2j, -1.0]])
    cov1_only = jax.jit(lambda x: kernel_fn(x, None).cov1).lower(x).compile()
    assert " conditional(" in general.as_text()
    assert " conditional(" not in cov1_only.as_text()


def _near_one_images(shape, seed):
    """Small perturbations of one complex vector/image: after a Dense or Conv
    layer their correlations lie in the near-1 quadrature's range."""
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(seed), 4)
    base = jax.random.normal(k1, shape[1:]) + 1j * jax.random.normal(k2, shape[1:])
    noise = jax.random.normal(k3, shape) + 1j * jax.random.normal(k4, shape)
    return base + 0.02 * noise


@pytest.mark.parametrize("network", ["dense", "conv_global_pool"])
def test_gram_of_a_batch_integrates_only_the_upper_triangle(network, monkeypatch):
    """`kernel_fn(x, None)`: the near-1 quadrature runs on the entries on and
    above the batch diagonal only (counted where the quadrature is called), the
    rest are mirror images (NNGP and NTK exactly Hermitian where no spatial
    pooling sums the mirrored pairs in another order); they agree
    with `kernel_fn(x, x)`, which integrates every entry itself, to 1e-10 (the
    rule's accuracy) without and with spatial pairs (NTK on the Dense network
    only: each get compiles the rule again; the diagonal spatial layout's
    mirror image is checked in test_mirror_image_layouts)."""
    n = 6
    if network == "dense":
        x = _near_one_images((n, 8), 0)
        layers = [stax.Dense(64, b_std=0.1), ModReLU(-0.5), stax.Dense(1)]
    else:
        x = _near_one_images((n, 3, 3, 2), 1)
        layers = [stax.Conv(8, (2, 2), padding="SAME", b_std=0.1), ModReLU(-0.5),
                  stax.GlobalAvgPool(), stax.Dense(1)]
    kernel_fn = stax.serial(*layers)[2]
    integrated = []
    original = mr.modrelu_quadrature

    def counting(c1, c2, x, derivatives=True, where=None):
        jax.debug.callback(lambda w: integrated.append(int(np.sum(w))), where)
        return original(c1, c2, x, derivatives, where)

    monkeypatch.setattr(mr, "modrelu_quadrature", counting)
    # Retrace the activation's compiled kernel with the counting quadrature, and
    # drop the counting version afterwards (not jax.clear_caches(): the rest of
    # this worker would recompile everything).
    _kernel_of_activation.clear_cache()
    get = ("nngp", "ntk") if network == "dense" else ("nngp",)  # compile time
    try:
        gram = kernel_fn(x, None, get)
        upper = sum(integrated)
        integrated.clear()
        cross = kernel_fn(x, x, get)
        everything = sum(integrated)
    finally:
        _kernel_of_activation.clear_cache()
    if network == "conv_global_pool":  # pairs of positions: some within one example
        same_example = n * 9 * 9  # (i, i, p, p'), all integrated on both paths
        assert everything / 2 <= upper <= (everything + same_example) / 2, (upper, everything)
        assert upper < everything
    else:  # (i, j), i != j: the quadrature's entries; i = j is |rho| = 1
        assert everything == n * (n - 1), everything
        assert upper == everything // 2, (upper, everything)
    for got, full in zip(gram, cross):
        got, full = np.asarray(got), np.asarray(full)
        if network == "dense":  # pooling sums (p, p') and (p', p) in other orders
            assert np.array_equal(got, np.conj(got.T))
        np.testing.assert_allclose(got, full, rtol=1e-10, atol=0)


@pytest.mark.parametrize("diagonal_spatial", [True, False])
@pytest.mark.parametrize("hermitian", [True, False])
def test_mirror_image_layouts(diagonal_spatial, hermitian):
    """The entries below the batch diagonal of a kernel of a batch with itself
    are rebuilt from those above: `K[j, i, p', p] = conj K[i, j, p, p']` (or
    without `conj` for pseudo kernels), `K[j, i, p] = conj K[i, j, p]` in the
    diagonal spatial layout; the entries on and above it are kept."""
    rng = np.random.default_rng(3)
    shape = (4, 4, 3, 2) if diagonal_spatial else (4, 4, 3, 3, 2, 2)
    a = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    perm = (1, 0, 2, 3) if diagonal_spatial else (1, 0, 3, 2, 5, 4)
    image = np.transpose(a, perm)
    kernel = a + (np.conj(image) if hermitian else image)  # exactly (conj-)symmetric
    lower = np.arange(4)[:, None] > np.arange(4)[None, :]
    lower = lower.reshape((4, 4) + (1,) * (len(shape) - 2))
    garbage = np.where(lower, np.nan, kernel)
    got = _mirrored(jnp.asarray(garbage), hermitian, diagonal_spatial)
    assert np.array_equal(np.asarray(got), kernel)


def test_g_alone_differentiates_by_the_wirtinger_identity_or_by_autodiff():
    """`derivatives=False` (the phase module's c-map): at constant variances the
    |rho|-slope of G is `A + B` from their values (no autodiff through the series
    and the quadrature), checked against central differences of G itself on the
    series, in the near-1 rule and at 1; with a variance tangent the slope comes
    from autodiff, also checked against central differences."""
    q1, q2 = jnp.array([1.0, 0.7, 2.0]), jnp.array([1.0, 0.9, 2.0])
    xs = jnp.array([0.5, 0.9995, 1.0])
    g = jax.jit(lambda a, b, x: mr.modrelu_kernels(-0.5, a, b, x, False).g)
    slope_x = jax.jit(lambda x: jax.jvp(lambda y: g(q1, q2, y), (x,), (jnp.ones_like(x),))[1])
    slope_q = jax.jit(lambda a: jax.jvp(lambda p: g(p, q2, xs), (a,), (jnp.ones_like(a),))[1])
    # backward differences (|rho| <= 1), Richardson-combined to cancel the
    # sqrt(h) term of G's (1 - |rho|)^(3/2) kink term at 1: 2 D(h) - D(4h)
    h = 1e-7
    backward = lambda step: (g(q1, q2, xs) - g(q1, q2, xs - step)) / step
    expected = np.asarray(2 * backward(h) - backward(4 * h))
    np.testing.assert_allclose(np.asarray(slope_x(xs)), expected, rtol=1e-6)
    hq = 1e-6
    central = np.asarray((g(q1 + hq, q2, xs) - g(q1 - hq, q2, xs)) / (2 * hq))
    np.testing.assert_allclose(np.asarray(slope_q(q1)), central, rtol=1e-6)

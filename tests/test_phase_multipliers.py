"""q*, chi_1 (= chi_par) and chi_phase of every complex activation against an
independent polar quadrature of central-difference Wirtinger derivatives of a
plain numpy f (tests/phase_quadrature.py), to 1e-8 relative.

Convention checked: `q_star` is the block's output variance (post-activation),
`q_pre = W_var q* + b_var`; `chi_par = W_var (E|f_z|^2 + E|f_zb|^2)(q_pre)`,
`chi_phase = W_var (E|f_z|^2 - E|f_zb|^2)(q_pre)` (continuous f); for f that
jump (zReLU, modReLU b > 0) `chi_par = inf` and `chi_phase` is measured on a
rotated copy (`Im E[f(z) conj f(e^{-i eps} z)]`).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf, exp1

import nt_complex.stax as cstax
from nt_complex.phase import Status, phase_diagram
from nt_complex.stax.activations.split import erf_kernel

import phase_quadrature as pq

RTOL = 1e-8


def _relu(x):
    return np.maximum(x, 0.0)


def _modrelu(b):
    def f(z):
        r = np.abs(z)
        return np.where(r > 0, _relu(r + b) / np.where(r > 0, r, 1), 0) * z
    return f


def _half_erf_kernel(v1, v2, c):
    T, D = erf_kernel(v1, v2, c)
    return T / 4, D / 4


def _numerical_fn(z):
    return jnp.exp(z / 2) + 0.3 * jnp.conj(z) ** 2


POLY = [0.3, 1.0, 0.5j]

# name -> (layer factory, numpy f, radial kinks, (W_var, b_var) points, jumps)
CASES = {
    "CReLU": (cstax.CReLU, lambda z: _relu(z.real) + 1j * _relu(z.imag), (),
              [(0.8, 0.1), (1.2, 0.3), (1.9, 0.05)], False),
    "SplitErf": (cstax.SplitErf, lambda z: erf(z.real) + 1j * erf(z.imag), (),
                 [(0.8, 0.1), (1.5, 0.3), (3.0, 0.05)], False),
    "Split": (lambda: cstax.Split(lambda x: jax.scipy.special.erf(x) / 2, _half_erf_kernel),
              lambda z: erf(z.real) / 2 + 0.5j * erf(z.imag), (),
              [(1.0, 0.1), (4.0, 0.3), (6.0, 0.05)], False),
    "Polynomial": (lambda: cstax.Polynomial(POLY),
                   lambda z: POLY[0] + POLY[1] * z + POLY[2] * z ** 2, (),
                   [(0.2, 0.1), (0.4, 0.05), (0.6, 0.02)], False),
    "Exp": (cstax.Exp, np.exp, (), [(0.1, 0.05), (0.2, 0.1), (0.3, 0.02)], False),
    "Sinh": (cstax.Sinh, np.sinh, (), [(0.3, 0.05), (0.6, 0.1), (0.9, 0.02)], False),
    "Cosh": (cstax.Cosh, np.cosh, (), [(0.1, 0.05), (0.2, 0.1), (0.3, 0.02)], False),
    "ModReLU(-0.5)": (lambda: cstax.ModReLU(-0.5), _modrelu(-0.5), (0.5,),
                      [(1.2, 0.3), (1.6, 0.3), (1.0, 0.5)], False),
    "ModReLU(0)": (lambda: cstax.ModReLU(0.0), _modrelu(0.0), (),
                   [(0.5, 0.1), (0.8, 0.3), (0.95, 0.05)], False),
    "ModReLU(0.5)": (lambda: cstax.ModReLU(0.5), _modrelu(0.5), (),
                     [(0.3, 0.1), (0.5, 0.3), (0.7, 0.05)], True),
    "Cardioid": (cstax.Cardioid,
                 lambda z: 0.5 * (1 + np.real(z) / np.where(z == 0, 1, np.abs(z))) * z, (),
                 [(1.0, 0.1), (2.0, 0.3), (2.6, 0.05)], False),
    "ZReLU": (cstax.ZReLU, lambda z: np.where((z.real > 0) & (z.imag > 0), z, 0), (),
              [(1.5, 0.1), (2.5, 0.3), (3.9, 0.05)], True),
    "ElementwiseNumerical": (
        lambda: cstax.ElementwiseNumerical(_numerical_fn, smooth=True),
        lambda z: np.exp(z / 2) + 0.3 * np.conj(z) ** 2, (),
        [(0.1, 0.05), (0.2, 0.1), (0.3, 0.02)], False),
}


def _reference(f, kinks, W_var, b_var, jumps):
    q_pre = pq.pre_activation_q_star(f, W_var, b_var, kinks)
    v, a, b = pq.diagonal_moments(f, q_pre, kinks)
    q_post = v  # the block's output variance
    if jumps:
        return q_post, np.inf, W_var * pq.rotation_slope(f, q_pre, radial_kinks=kinks)
    return q_post, W_var * (a + b), W_var * (a - b)


@pytest.mark.parametrize("name", sorted(CASES))
def test_q_star_and_multipliers(name):
    layer, f, kinks, points, jumps = CASES[name]
    block = lambda w, b: cstax.serial(cstax.Dense(64, w, b), layer())  # noqa: E731
    W = np.array([[p[0]] for p in points])   # (n, 1): points, not a grid
    B = np.array([[p[1]] for p in points])
    pd = phase_diagram(block, W, B, correlation=False)
    q_star, chi_1, chi_phase = pd.q_star.ravel(), pd.chi_1.ravel(), pd.chi_phase.ravel()
    assert pd.status.ravel().tolist() == [Status.OK] * len(points)
    for i, (w, b) in enumerate(points):
        q_ref, par_ref, phase_ref = _reference(f, kinks, w, b, jumps)
        np.testing.assert_allclose(q_star[i], q_ref, rtol=RTOL, err_msg=f"q* at {w, b}")
        if jumps:
            assert chi_1[i] == np.inf
        else:
            np.testing.assert_allclose(chi_1[i], par_ref, rtol=RTOL, err_msg=f"chi_1 at {w, b}")
        np.testing.assert_allclose(chi_phase[i], phase_ref, rtol=RTOL,
                                   err_msg=f"chi_phase at {w, b}")


def test_issue_points_modrelu():
    """The issue's two points: chi_1 0.3378 and 0.4939 (was -2.4e-17)."""
    block = lambda w, b: cstax.serial(cstax.Dense(64, w, b), cstax.ModReLU(-0.5))  # noqa: E731
    pd = phase_diagram(block, [1.2, 1.6], [0.3], correlation=False)
    np.testing.assert_allclose(pd.chi_1[0], [0.3378, 0.4939], atol=1e-4)


def test_zrelu_q_star_closed_form():
    """zReLU is positively homogeneous with E|f|^2 = q/4: pre-activation
    q* = b_var/(1 - W_var/4), finite (status OK, not SCALE_FREE) for W_var < 4."""
    block = lambda w, b: cstax.serial(cstax.Dense(64, w, b), cstax.ZReLU())  # noqa: E731
    W = np.array([0.5, 1.5, 3.0])
    pd = phase_diagram(block, W, [0.1], correlation=False)
    q_pre = 0.1 / (1 - W / 4)
    np.testing.assert_allclose(pd.q_star[0], q_pre / 4, rtol=1e-12)
    assert pd.status[0].tolist() == [Status.OK] * 3
    beyond = phase_diagram(block, [4.5], [0.1], correlation=False)
    assert beyond.status[0, 0] == Status.SCALE_FREE and np.isnan(beyond.q_star[0, 0])


def test_math_section6_reference_values():
    """MATH.md section 6 values, re-derived from the independent quadrature."""
    crelu = lambda z: _relu(z.real) + 1j * _relu(z.imag)  # noqa: E731
    v, a, b = pq.diagonal_moments(crelu, 1.7)
    np.testing.assert_allclose([v / 1.7, a, b], [0.5, 3 / 8, 1 / 8], rtol=1e-9)
    cardioid = CASES["Cardioid"][1]
    v, a, b = pq.diagonal_moments(cardioid, 0.9)
    np.testing.assert_allclose([v / 0.9, a, b], [3 / 8, 13 / 32, 1 / 32], rtol=1e-9)
    # cardioid critical at W_var = 16/7 (chi_par = W (A + B) = 1), any b_var
    np.testing.assert_allclose(16 / 7 * (a + b), 1.0, rtol=1e-9)
    # split-erf critical point at pre-activation q* = 1: W (A + B)(1) = 1, b = 1 - W V(1)
    split_erf = CASES["SplitErf"][1]
    v, a, b = pq.diagonal_moments(split_erf, 1.0)
    w_crit = 1 / (a + b)
    np.testing.assert_allclose([w_crit, 1 - w_crit * v], [1.3604, 0.0931], atol=1e-4)
    np.testing.assert_allclose(v, (4 / np.pi) * np.arcsin(1 / 2), rtol=1e-9)
    # modReLU b < 0: chi_par = W [V/q + (beta^2/2) E1(beta^2)], chi_phase = 1 - b_var/q*
    W_var, b_var, bias = 1.2, 0.3, -0.5
    f = _modrelu(bias)
    q = pq.pre_activation_q_star(f, W_var, b_var, (0.5,))
    v, a, b = pq.diagonal_moments(f, q, (0.5,))
    beta2 = bias ** 2 / q
    np.testing.assert_allclose(W_var * (a + b), W_var * (v / q + beta2 / 2 * exp1(beta2)),
                               rtol=1e-8)
    np.testing.assert_allclose(W_var * (a - b), 1 - b_var / q, rtol=1e-8)
    # and the library agrees with these closed forms at that point
    block = lambda w, bb: cstax.serial(cstax.Dense(64, w, bb), cstax.ModReLU(bias))  # noqa: E731
    pd = phase_diagram(block, [W_var], [b_var], correlation=False)
    np.testing.assert_allclose(pd.chi_phase[0, 0], 1 - b_var / q, rtol=1e-8)

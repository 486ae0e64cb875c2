"""Analytic references for nt_complex.phase (MATH.md section 6, re-derived here)."""

import jax
import numpy as np
import pytest
import scipy.optimize
from neural_tangents import stax

import nt_complex.stax as cstax
from nt_complex.phase import Status, fixed_point, phase_diagram



W = np.array([0.5, 1.0, 1.5, 1.9, 2.0, 2.5, 3.0])
B = np.array([0.0, 0.05, 0.2])


def relu_block(W_std, b_std):
    return stax.serial(stax.Dense(1024, W_std, b_std), stax.Relu())


def test_fixed_point_scalar_and_vector():
    res = fixed_point(jax.numpy.cos, 1.0)
    ref = scipy.optimize.brentq(lambda x: np.cos(x) - x, 0, 1, xtol=1e-15)
    assert bool(res.converged) and abs(float(res.value) - ref) < 1e-12
    A = np.array([[0.5, 0.2], [0.1, 0.3]])
    vec = fixed_point(lambda x: A @ x + 1.0, np.zeros(2))
    np.testing.assert_allclose(vec.value, np.linalg.solve(np.eye(2) - A, np.ones(2)), atol=1e-12)
    diverging = fixed_point(lambda x: 2 * x + 1, 1.0, max_iter=20)  # repelling only
    assert not bool(diverging.converged)
    batched = jax.vmap(lambda a: fixed_point(lambda x: a * jax.numpy.cos(x), 1.0).value)(
        np.array([0.5, 1.0]))
    assert batched.shape == (2,)


def test_relu_chi_and_no_q_star_beyond_2():
    pd = phase_diagram(relu_block, W, B)
    # NT's arc-cosine kernel rounds sqrt(q^2 - K12^2) at c = 1: ~1e-8 relative
    np.testing.assert_allclose(pd.chi_1, np.broadcast_to(W / 2, pd.chi_1.shape), rtol=1e-7)
    beyond = W[None, :] >= 2
    assert np.all(np.isnan(pd.q_star[np.broadcast_to(beyond, pd.q_star.shape)]))
    assert np.all(pd.status[np.broadcast_to(beyond, pd.status.shape)] == Status.SCALE_FREE)
    # q* = sigma_b^2 / (2 - sigma_w^2) below the line (post-activation q: (s_w^2 q + s_b^2)/2)
    w, b = np.meshgrid(W, B)
    below = (w < 2) & (b > 0)
    np.testing.assert_allclose(pd.q_star[below], b[below] / (2 - w[below]), rtol=1e-9)
    assert np.all(pd.status[below] == Status.OK)
    assert np.all(np.isfinite(pd.c_star))


def test_erf_chi_formula():
    erf = lambda w, b: stax.serial(stax.Dense(1024, w, b), stax.Erf())
    pd = phase_diagram(erf, W, B[1:])
    w, b = np.meshgrid(W, B[1:])
    q_pre = w * pd.q_star + b  # block output is post-activation: pre = s_w^2 q + s_b^2
    np.testing.assert_allclose(pd.chi_1, (4 / np.pi) * w / np.sqrt(1 + 4 * q_pre), rtol=1e-10)


def test_crelu_chi_par_and_phase():
    crelu = lambda w, b: cstax.serial(cstax.Dense(1024, w, b), cstax.CReLU())
    pd = phase_diagram(crelu, W, B)
    assert pd.is_complex and np.iscomplexobj(pd.c_star)
    np.testing.assert_allclose(pd.chi_1, np.broadcast_to(W / 2, pd.chi_1.shape), rtol=1e-12)
    np.testing.assert_allclose(pd.chi_phase, np.broadcast_to(W / 4, pd.chi_1.shape), rtol=1e-12)
    assert np.all(np.isnan(pd.q_star[:, W >= 2]))


def test_cardioid_critical_line():
    Cardioid = getattr(cstax, "Cardioid", None)
    if Cardioid is None:
        pytest.skip("nt_complex.stax.Cardioid is not available yet (another issue).")
    block = lambda w, b: cstax.serial(cstax.Dense(1024, w, b), Cardioid())
    crit = 16 / 7
    pd = phase_diagram(block, np.array([crit * 0.999, crit, crit * 1.001]), B[1:])
    assert np.all(pd.chi_1[:, 0] < 1) and np.all(pd.chi_1[:, 2] > 1)
    np.testing.assert_allclose(pd.chi_1[:, 1], 1.0, atol=1e-9)

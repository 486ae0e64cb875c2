"""nt_complex.phase reproduces NT's phase-diagram notebook (Dense(1024) + Erf).

The reference is computed here, independently of the library: NT's own
kernel_fn on NT's Kernel, a plain Newton iteration as in the notebook
(q from 1.0, c from 0.1, chi_1 = d c-map / dc at c = 1), vmapped over the grid.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from neural_tangents import stax

from nt_complex import _nt
from nt_complex.phase import Status, phase_diagram



def erf_block(W_std, b_std):
    return stax.serial(stax.Dense(1024, W_std, b_std), stax.Erf())


def _kernel(K):
    return _nt.Kernel(nngp=K, ntk=None, cov1=jnp.diag(K), cov2=None, x1_is_x2=jnp.array(True),
                      is_gaussian=True, is_reversed=False, is_input=True, diagonal_batch=True,
                      diagonal_spatial=False, shape1=(K.shape[0], 1), shape2=(K.shape[0], 1),
                      batch_axis=0, channel_axis=1, mask1=None, mask2=None)


def _plain_newton(f, x0, n_iter=60):
    g = lambda x: f(x) - x
    def body(x, _):
        return x - g(x) / jax.grad(g)(x), None
    x = lax.scan(body, x0, None, length=n_iter)[0]
    return x, jnp.abs(g(x)) < 1e-12


def _reference(W_var, b_var):
    kernel_fn = erf_block(jnp.sqrt(W_var), jnp.sqrt(b_var))[2]
    q, q_ok = _plain_newton(lambda q: kernel_fn(_kernel(jnp.array([[q]]))).nngp[0, 0], 1.0)
    def c_map(c):
        K = jnp.array([[q, q * c], [q * c, q]])
        return kernel_fn(_kernel(K)).nngp[1, 0] / q
    c, c_ok = _plain_newton(c_map, 0.1)
    return c, jax.grad(c_map)(1.0), q_ok & c_ok


def test_reproduces_nt_notebook_grid():
    W_var = np.arange(0, 3, 0.01)[::7]
    b_var = np.arange(0, 0.25, 0.001)[::9]
    pd = phase_diagram(erf_block, W_var, b_var)
    assert pd.c_star.shape == pd.chi_1.shape == (b_var.size, W_var.size)
    ref = jax.jit(jax.vmap(jax.vmap(_reference, (0, None)), (None, 0)))
    c_ref, chi_ref, ok_ref = (np.asarray(x) for x in ref(W_var, b_var))
    both = (pd.status == Status.OK) & ok_ref & np.isfinite(c_ref)
    assert both.sum() > 0.9 * both.size - W_var.size  # all but the b = 0 row at most
    np.testing.assert_allclose(pd.c_star[both], c_ref[both], rtol=0, atol=1e-6)
    np.testing.assert_allclose(pd.chi_1[both], chi_ref[both], rtol=0, atol=1e-6)
    # chi_1 is defined wherever q* is, including q* = 0 (b = 0, ordered side)
    finite_q = np.isin(pd.status, [Status.OK, Status.Q_ZERO])
    np.testing.assert_allclose(pd.chi_1[finite_q & ok_ref], chi_ref[finite_q & ok_ref],
                               rtol=0, atol=1e-6)


def test_grid_shapes_and_scalars():
    pd = phase_diagram(erf_block, np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.2]))
    assert pd.q_star.shape == (2, 3) and pd.status.dtype == np.int8
    single = phase_diagram(erf_block, 1.5, 0.05)
    assert single.c_star.shape == () and single.chi_1.shape == ()
    same = phase_diagram(erf_block, np.array([[1.0, 2.0]]), np.array([0.1]))
    assert same.chi_1.shape == (1, 2)  # broadcasting for non-1-D inputs


def test_rejects_negative_variance():
    with pytest.raises(ValueError, match="W_var"):
        phase_diagram(erf_block, [-1.0], [0.1])

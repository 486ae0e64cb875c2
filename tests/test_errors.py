"""Bad input never gives a silent wrong answer: each raises a clear error
naming the argument."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nt_complex import stax

pytestmark = pytest.mark.smoke

X = np.ones((2, 3)) * (1 + 1j)


@pytest.mark.parametrize("kwargs,match", [
    (dict(W_std=-1.0), "W_std"),
    (dict(b_std=-0.1), "b_std"),
    (dict(W_std=float("nan")), "W_std"),
    (dict(W_pseudo=1.5), "W_pseudo"),
    (dict(b_pseudo=0.9 + 0.9j), "b_pseudo"),
    (dict(parameterization="mean-field"), "parameterization"),
])
def test_dense_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stax.Dense(4, **kwargs)


def test_conv_padding_error():
    with pytest.raises(ValueError, match="padding"):
        stax.Conv(4, (3, 3), padding="REFLECT")


def test_nan_and_inf_inputs():
    _, _, kernel_fn = stax.serial(stax.Dense(4), stax.CReLU())
    with pytest.raises(ValueError, match="x1 contains NaN or inf"):
        kernel_fn(np.array([[np.nan, 1.0]]), None)
    with pytest.raises(ValueError, match="x2 contains NaN or inf"):
        kernel_fn(np.ones((1, 2)), np.array([[np.inf, 1.0]]))


def test_mismatched_feature_sizes():
    _, _, kernel_fn = stax.Dense(4)
    with pytest.raises(ValueError, match="x1 and x2 must agree"):
        kernel_fn(np.ones((2, 3)), np.ones((2, 4)))


def test_unknown_get():
    _, _, kernel_fn = stax.Dense(4)
    with pytest.raises(ValueError, match="get: unknown field 'pseudo'"):
        kernel_fn(X, None, "pseudo")


def test_two_activations_in_a_row():
    _, _, kernel_fn = stax.serial(stax.Dense(4), stax.CReLU(), stax.Exp())
    with pytest.raises(ValueError, match="needs a Gaussian input kernel"):
        kernel_fn(X, None)


def test_non_array_and_rank_errors():
    _, _, kernel_fn = stax.Dense(4)
    with pytest.raises(TypeError, match="x1 must be a jax or numpy array"):
        kernel_fn([[1.0, 2.0]], None)
    with pytest.raises(ValueError, match="x1 must have a batch axis"):
        kernel_fn(np.ones(3), None)


def test_nan_check_is_skipped_under_jit_but_values_are_right():
    _, _, kernel_fn = stax.serial(stax.Dense(4), stax.CReLU())
    out = jax.jit(lambda x: kernel_fn(x, None, "nngp"))(jnp.asarray(X))
    np.testing.assert_allclose(out, kernel_fn(X, None, "nngp"), rtol=1e-6)


def test_constant_input_inside_jit_is_checked_not_traced():
    """A NumPy `x1` closed over by a jitted function is concrete: checked for
    NaN in NumPy (a `jnp` check would be a tracer there and fail to convert)."""
    _, _, kernel_fn = stax.serial(stax.Dense(4), stax.CReLU())
    out = jax.jit(lambda x2: kernel_fn(X, x2, "nngp"))(jnp.asarray(X))
    np.testing.assert_allclose(out, kernel_fn(X, X, "nngp"), rtol=1e-6)
    with pytest.raises(ValueError, match="x1 contains NaN"):
        jax.jit(lambda x2: kernel_fn(np.full_like(X, np.nan), x2, "nngp"))(jnp.asarray(X))


def test_infinite_diagonal_ntk_stays_inf_through_later_layers():
    """modReLU with b > 0 has an infinite diagonal NTK: reported as inf + 0j,
    never NaN, also after further Dense and activation layers."""
    x = np.array([[1 + 1j, 0.5, -1j], [0.2, 1j, 1.0]])
    net = stax.serial(stax.Dense(8), stax.ModReLU(0.5), stax.Dense(8), stax.CReLU(),
                      stax.Dense(1))
    ntk = np.asarray(net[2](x, None, "ntk"))
    assert np.all(np.isinf(np.diagonal(ntk).real)) and np.all(np.diagonal(ntk).imag == 0)
    assert np.all(np.isfinite(ntk[0, 1])) and not np.any(np.isnan(ntk))

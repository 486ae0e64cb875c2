"""The two speed paths of split activations: the vectorised `arctan2` of the
arc-cosine kernel, and the circular shortcut (two real-kernel evaluations instead
of three, from `g`'s parity). Each is checked against what it replaces."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nt_complex import stax
from nt_complex.special.trig import arctan2
from nt_complex.stax.activations.split import (Split, erf_kernel, erf_kernel_negated,
                                               relu_kernel, relu_kernel_negated)


LIFTS = [("relu", jax.nn.relu, relu_kernel, relu_kernel_negated),
         ("erf", jax.scipy.special.erf, erf_kernel, erf_kernel_negated)]


def _ulps(got, want):
    """Largest error in units of the last place; angles below 1e3 x the smallest
    normal number (XLA flushes subnormal ratios to zero) count absolutely."""
    info = np.finfo(want.dtype)
    floor = 1e3 * info.tiny
    assert not np.any(np.isnan(got))
    return np.max(np.abs(got - want) / np.maximum(np.abs(want), floor / info.eps)
                  / info.eps)


@pytest.mark.smoke
def test_arctan2_within_two_ulp_of_numpy_over_all_octants_and_scales():
    rng = np.random.default_rng(0)
    n = 100_000
    dtype = jnp.result_type(float)
    scale = 120 if dtype == np.float64 else 15
    y = rng.normal(size=n) * 10.0 ** rng.uniform(-scale, scale, n)
    x = rng.normal(size=n) * 10.0 ** rng.uniform(-scale, scale, n)
    near_axes = [(y, x), (np.abs(y) * 1e-7, x), (y, np.abs(x) * 1e-7), (y, -np.abs(x))]
    for yy, xx in near_axes:
        yy, xx = yy.astype(dtype), xx.astype(dtype)
        got = np.asarray(jax.jit(arctan2)(yy, xx))
        assert _ulps(got, np.arctan2(yy, xx)) <= 2.5
    special = np.array([[0.0, 0.0], [0.0, -1.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], dtype)
    got = np.asarray(arctan2(special[:, 0], special[:, 1]))
    np.testing.assert_array_equal(got, np.arctan2(special[:, 0], special[:, 1]))


def test_arctan2_derivative_is_exact():
    y, x = 0.3, -0.7
    dy, dx = jax.grad(arctan2, argnums=(0, 1))(y, x)
    norm = x * x + y * y
    np.testing.assert_allclose([dy, dx], [x / norm, -y / norm], rtol=1e-14)
    assert jax.grad(arctan2)(0.0, 0.0) == 0.0  # finite where the angle is undefined


@pytest.mark.parametrize("name, g, kernel, negated", LIFTS)
def test_negated_kernel_is_the_kernel_at_minus_c(name, g, kernel, negated):
    rng = np.random.default_rng(1)
    v1, v2 = rng.uniform(0.1, 3, 50), rng.uniform(0.1, 3, 50)
    c = rng.uniform(-1, 1, 50) * np.sqrt(v1 * v2)
    T, D = kernel(v1, v2, c)
    np.testing.assert_allclose(negated(c, T, D), kernel(v1, v2, -c), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, g, kernel, negated", LIFTS)
def test_circular_shortcut_equals_three_evaluations(name, g, kernel, negated):
    """A circular network (every pair circular) through `Split` with and without
    `negated`: every field of the output kernel agrees."""
    def net(act):
        return stax.serial(stax.Dense(8, 1.3, 0.2), act, stax.Dense(8, 1.1, 0.1), act,
                           stax.Dense(1))
    x = np.random.default_rng(2).normal(size=(5, 7, 2)).view(complex)[..., 0]
    fast = net(Split(g, kernel, name, negated))[2](x, None)
    slow = net(Split(g, kernel, name))[2](x, None)
    rtol = 1e-13
    for field in ("nngp", "ntk", "cov1"):
        np.testing.assert_allclose(getattr(fast, field), getattr(slow, field), rtol=rtol,
                                   atol=rtol * np.max(np.abs(getattr(slow, field))))

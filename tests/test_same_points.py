"""A point given in both `x1` and `x2` gets the kernel of `x2=None`: the
activations with an infinite slope at `|rho| = 1` (CReLU's arc-cosine, zReLU,
modReLU) would otherwise turn rounding into 1e-8..1e-4 errors on such entries
(`SAME_POINT_ULPS`); NT's real kernels agree exactly there."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nt_complex import stax

# name: (activation, hidden layers, jit). The costly kernels (zReLU's and
# modReLU's near |rho| = 1) run eagerly or with one hidden layer to keep the
# compile time down; CReLU and SplitErf cover two layers under jit.
ACTIVATIONS = {
    "CReLU": (stax.CReLU, 2, True), "SplitErf": (stax.SplitErf, 2, True),
    "Cardioid": (stax.Cardioid, 2, False), "ZReLU": (stax.ZReLU, 2, False),
    "ModReLU": (lambda: stax.ModReLU(-0.5), 1, True),
}


def _dense_net(act, hidden):
    layers = [stax.Dense(64, 1.4, 0.1), act(), stax.Dense(64, 1.3, 0.2), act()]
    return stax.serial(*layers[:2 * hidden], stax.Dense(1))


def _inputs(rng, shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_copies_in_x2_get_the_same_point_kernel(name):
    """x2 = (a permutation of x1's points, then new points), jitted: the entries
    pairing a point with its copy equal kernel_fn(x1, None)'s diagonal, the
    rest equal kernel_fn(x1 + new, None)'s entries."""
    rng = np.random.default_rng(0)
    x1 = _inputs(rng, (6, 50))
    new = _inputs(rng, (2, 50))
    order = rng.permutation(6)
    x2 = np.concatenate([x1[order], new])
    both = np.concatenate([x1, new])
    act, hidden, jit = ACTIVATIONS[name]
    kernel_fn = _dense_net(act, hidden)[2]
    if jit:
        kernel_fn = jax.jit(kernel_fn, static_argnames="get")
    cross = kernel_fn(x1, x2, ("nngp", "ntk"))
    full = kernel_fn(both, None, ("nngp", "ntk"))
    for field in ("nngp", "ntk"):
        got, want = getattr(cross, field), getattr(full, field)[:6][:, np.r_[order, 6:8]]
        scale = np.max(np.abs(want))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * scale, err_msg=field)


def test_non_circular_network_and_conv_with_spatial_covariances():
    """Real-valued first weights (pseudo-covariances) and a Conv network that
    keeps the full spatial covariance (global average pooling)."""
    rng = np.random.default_rng(1)
    x = _inputs(rng, (5, 50))
    kernel_fn = stax.serial(stax.Dense(64, 1.4, 0.1, W_pseudo=0.5), stax.CReLU(),
                            stax.Dense(64, 1.3, 0.2, W_pseudo=0.5), stax.CReLU())[2]
    for field in ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk"):
        np.testing.assert_allclose(getattr(kernel_fn(x, x), field),
                                   getattr(kernel_fn(x, None), field), rtol=1e-13, atol=0)
    images = _inputs(rng, (3, 4, 4, 2))
    conv = stax.serial(stax.Conv(16, (3, 3), padding="SAME", W_std=1.4, b_std=0.1),
                       stax.CReLU(), stax.Conv(16, (3, 3), padding="SAME"), stax.SplitErf(),
                       stax.GlobalAvgPool(), stax.Dense(1))[2]
    conv = jax.jit(conv, static_argnames="get")
    for field in ("nngp", "ntk"):
        np.testing.assert_allclose(conv(images, images, field), conv(images, None, field),
                                   rtol=1e-13, atol=0, err_msg=field)


def test_kernel_stays_differentiable_in_x2_at_copies_of_x1():
    """d/dx2 of the kernel at x2 = x1 (SplitErf: smooth, the derivative exists)
    equals a central finite difference, so the same-point substitution keeps
    the x2 dependence of those entries."""
    rng = np.random.default_rng(3)
    x = _inputs(rng, (3, 6))
    direction = _inputs(rng, (3, 6))
    kernel_fn = _dense_net(stax.SplitErf, 2)[2]

    def total(x2):
        k = kernel_fn(x, x2, ("nngp", "ntk"))
        return jnp.sum(jnp.abs(k.nngp) ** 2 + jnp.abs(k.ntk) ** 2)

    _, slope = jax.jvp(total, (x,), (direction,))
    step = 1e-5
    finite = (total(x + step * direction) - total(x - step * direction)) / (2 * step)
    np.testing.assert_allclose(slope, finite, rtol=1e-7)

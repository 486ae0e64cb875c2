"""Softmax: finite apply_fn, kernel_fn raising with the documented reason, and
empirical NTK blocks of a softmax classifier."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nt_complex import stax
from nt_complex.empirical import empirical_ntk_fn
from nt_complex.stax.softmax import SOFTMAX_KERNEL_MESSAGE, Softmax

N_CLASSES = 10


def _inputs(seed: int, shape=(4, 5)):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return jax.random.normal(k1, shape) + 1j * jax.random.normal(k2, shape)


def classifier(part: str = "abs"):
    return stax.serial(stax.Dense(32, b_std=0.1), stax.CReLU(), stax.Dense(N_CLASSES),
                       Softmax(part=part))


@pytest.mark.smoke
@pytest.mark.parametrize("part", ["abs", "real"])
def test_kernel_fn_raises_with_explanation(part):
    _, _, kernel_fn = classifier(part)
    with pytest.raises(NotImplementedError) as info:
        kernel_fn(_inputs(0), None, "ntk")
    message = str(info.value)
    assert message == SOFTMAX_KERNEL_MESSAGE
    for phrase in ("tends to the constant 0", "no known closed-form",
                   "monte_carlo_kernel_fn", "empirical_ntk_fn"):
        assert phrase in message


@pytest.mark.smoke
def test_apply_fn_parts():
    _, apply_fn, _ = Softmax(axis=-1, part="real")
    z = _inputs(1)
    np.testing.assert_allclose(apply_fn((), z), jax.nn.softmax(jnp.real(z), axis=-1), rtol=1e-6)
    _, apply_abs, _ = Softmax(axis=0)
    np.testing.assert_allclose(apply_abs((), z), jax.nn.softmax(jnp.abs(z), axis=0), rtol=1e-6)
    x = jnp.real(z)
    np.testing.assert_allclose(apply_abs((), x), jax.nn.softmax(x, axis=0), rtol=1e-6)
    init_fn = Softmax()[0]
    assert init_fn(jax.random.PRNGKey(0), (4, 5)) == ((4, 5), ())


def test_invalid_part():
    with pytest.raises(ValueError, match="part must be one of"):
        Softmax(part="phase")


def _direct_ntk(apply_fn, params, x):
    """Independent: J J^T over all real leaves (softmax outputs are real)."""
    jac = jax.jacrev(apply_fn)(params, x)
    flat = jnp.concatenate([j.reshape(x.shape[0], N_CLASSES, -1)
                            for j in jax.tree_util.tree_leaves(jac)], axis=-1)
    return jnp.einsum("akp,blp->abkl", flat, flat)


@pytest.mark.parametrize("implementation", [1, 2, 3])
def test_softmax_classifier_empirical_ntk_blocks(implementation):
    init_fn, apply_fn, _ = classifier()
    x = _inputs(2)
    _, params = init_fn(jax.random.PRNGKey(3), x.shape)
    blocks = empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0,
                              implementation=implementation)(x, None, params)
    traced = empirical_ntk_fn(apply_fn, implementation=implementation)(x, None, params)
    n = x.shape[0]
    assert blocks.shape == (n, n, N_CLASSES, N_CLASSES)
    assert not jnp.iscomplexobj(blocks)
    np.testing.assert_allclose(jnp.trace(blocks, axis1=2, axis2=3), N_CLASSES * traced,
                               rtol=1e-12, atol=1e-12 * float(jnp.abs(blocks).max()))
    reference = _direct_ntk(apply_fn, params, x)
    np.testing.assert_allclose(blocks, reference, rtol=0,
                               atol=1e-12 * float(jnp.abs(reference).max()))

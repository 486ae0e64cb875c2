"""Monte Carlo kernels: convergence to the analytic kernel_fn within the MC
standard error, list-form n_samples, determinism, batching, get forms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nt_complex import stax
from nt_complex.kernel import FIELDS
from nt_complex.empirical.monte_carlo import MonteCarloKernel, monte_carlo_kernel_fn
from nt_complex.stax.softmax import Softmax

N_SE = 4.0  # |error| of a complex mean exceeds 4 SE with probability exp(-16)


def _inputs(seed: int, shape=(3, 4)):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return (jax.random.normal(k1, shape) + 1j * jax.random.normal(k2, shape)) / np.sqrt(2)


def _samples_mean_se(mc_fn, x, n: int) -> tuple[dict, dict]:
    """Mean and SE per field, recovering each draw from the running means that
    the list form returns (draw_s = s m_s - (s - 1) m_{s-1})."""
    running = mc_fn(x, None, None)
    assert len(running) == n
    draws = {}
    for field in MonteCarloKernel._fields:
        if running[0]._asdict()[field] is None:
            continue
        means = np.stack([np.asarray(r._asdict()[field]) for r in running])
        counts = np.arange(1, n + 1).reshape((-1,) + (1,) * (means.ndim - 1))
        draws[field] = counts * means - np.concatenate([np.zeros_like(means[:1]),
                                                        (counts * means)[:-1]])
    mean = {f: d.mean(0) for f, d in draws.items()}
    se = {f: np.sqrt(np.mean(np.abs(d - d.mean(0)) ** 2, 0) / (n - 1)) for f, d in draws.items()}
    return mean, se


def _assert_converges(mean, se, analytic, floor):
    for field, value in mean.items():
        expected = np.asarray(analytic.get(field))
        scale = np.max(np.abs(np.asarray(analytic.get(field.replace("pseudo_", "")))))
        bound = N_SE * se[field] + floor * scale
        err = np.abs(value - expected)
        assert np.all(err <= bound), (field, float(np.max(err / bound)))
        assert np.max(np.abs(expected)) > 1e-3, field  # nothing trivially zero is checked


def test_one_hidden_layer_unbiased_all_fields():
    """One hidden layer: the first pre-activations are exactly Gaussian at any
    width, so E[empirical kernels] equals kernel_fn exactly; the floor only
    absorbs float64 rounding."""
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(512, W_std=1.3, b_std=0.4, W_pseudo=0.6, b_pseudo=0.3),
        stax.CReLU(), stax.Dense(4, W_pseudo=0.5, b_std=0.2, b_pseudo=-0.4))
    x = _inputs(0)
    n = 48
    mc = monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(1),
                               list(range(1, n + 1)), vmap_axes=0, progress=False)
    mean, se = _samples_mean_se(mc, x, n)
    assert set(mean) == {"nngp", "ntk", "cov1", "pseudo_nngp", "pseudo_ntk", "pseudo_cov1"}
    _assert_converges(mean, se, kernel_fn(x, None), floor=1e-10)


def test_two_hidden_layers_converge_within_se_and_width_floor():
    """Two hidden layers: E[empirical] - kernel_fn = O(depth / width)
    (finite-width corrections to the NNGP/NTK, e.g. Hanin & Nica 2019); the
    floor 2 * depth / width of the kernel scale (0.8% here) covers it."""
    width, depth = 512, 2
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(width, b_std=0.2, W_pseudo=0.5), stax.CReLU(),
        stax.Dense(width, W_std=1.4), stax.Exp(), stax.Dense(2, W_pseudo=0.3))
    x = 0.6 * _inputs(2)
    n = 24
    mc = monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(3),
                               list(range(1, n + 1)), vmap_axes=0, progress=False)
    mean, se = _samples_mean_se(mc, x, n)
    mean = {f: v for f, v in mean.items() if f in ("nngp", "ntk", "pseudo_nngp")}
    _assert_converges(mean, se, kernel_fn(x, None), floor=2 * depth / width)


def _small_net():
    return stax.serial(stax.Dense(16, b_std=0.1, W_pseudo=0.5), stax.CReLU(), stax.Dense(3))


def test_list_form_equals_separate_calls():
    init_fn, apply_fn, _ = _small_net()
    x = _inputs(4)
    key = jax.random.PRNGKey(5)
    as_list = monte_carlo_kernel_fn(init_fn, apply_fn, key, [2, 5], progress=False)(x)
    for n, estimate in zip((2, 5), as_list):
        alone = monte_carlo_kernel_fn(init_fn, apply_fn, key, n, progress=False)(x)
        for field in FIELDS:
            a, b = estimate._asdict()[field], alone._asdict()[field]
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)
    other = monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(6), 2,
                                  progress=False)(x, None, "ntk")
    assert np.max(np.abs(other - as_list[0].ntk)) > 1e-6


def test_batching_and_get_forms():
    init_fn, apply_fn, _ = _small_net()
    x1, x2 = _inputs(7, (4, 4)), _inputs(8, (2, 4))
    key = jax.random.PRNGKey(9)
    whole = monte_carlo_kernel_fn(init_fn, apply_fn, key, 3, progress=False)(x1, x2)
    batched = monte_carlo_kernel_fn(init_fn, apply_fn, key, 3, batch_size=2,
                                    progress=False)(x1, x2, ("ntk", "pseudo_nngp", "cov2"))
    assert batched._fields == ("ntk", "pseudo_nngp", "cov2")
    for field in batched._fields:
        np.testing.assert_allclose(batched._asdict()[field], whole._asdict()[field],
                                   rtol=1e-12, atol=1e-14)
    assert whole.ntk.shape == (4, 2) and whole.cov1.shape == (4,) and whole.cov2.shape == (2,)
    single = monte_carlo_kernel_fn(init_fn, apply_fn, key, 3, progress=False)(x1, None, "ntk")
    assert single.shape == (4, 4)


def test_softmax_network_monte_carlo_blocks():
    init_fn, apply_fn, _ = stax.serial(stax.Dense(16), stax.CReLU(), stax.Dense(5), Softmax())
    k = monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(10), 2, trace_axes=(),
                              progress=False)(_inputs(11), None, ("ntk", "pseudo_ntk"))
    assert k.ntk.shape == (3, 3, 5, 5)
    np.testing.assert_array_equal(k.ntk, k.pseudo_ntk)  # real outputs


@pytest.mark.parametrize("n_samples", [0, [3, 2], [], 2.5])
def test_invalid_n_samples(n_samples):
    init_fn, apply_fn, _ = _small_net()
    with pytest.raises(ValueError, match="n_samples"):
        monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(0), n_samples)


def test_unknown_get():
    init_fn, apply_fn, _ = _small_net()
    mc = monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(0), 1, progress=False)
    with pytest.raises(ValueError, match="get: unknown field 'ntk_blocks'"):
        mc(_inputs(0), None, "ntk_blocks")

"""Finite-width networks drawn from initializer families vs the iterated c-map.

Tolerances come from the spread over independent weight draws (seeds): each
component of the seed mean must lie within a Student-t (Bonferroni over
depths and components) multiple of its standard error of the prediction.
"""

import math

import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pytest
from scipy import stats

from nt_complex import initializers as ini
from nt_complex import stax
from nt_complex.finite_width import (correlation_vs_depth, measure_kernels, pair_of_inputs,
                                     predict_kernels)

SPECS = {s.name: s for s in ini.SPECS}
ALPHA = 0.01  # family-wise level of each test


def _components(a):
    a = np.asarray(a)
    return [a.real, a.imag] if np.iscomplexobj(a) else [a]


def assert_within_seed_spread(measured, predicted):
    """`measured`: (n_seeds, depth); every depth and real/imag component of the
    seed mean within t_(1 - ALPHA/(2m)) standard errors of `predicted`."""
    n = measured.shape[0]
    comps = list(zip(_components(measured), _components(predicted)))
    m = len(comps) * measured.shape[1]
    t = stats.t.ppf(1 - ALPHA / (2 * m), n - 1)
    for meas, pred in comps:
        se = np.maximum(meas.std(axis=0, ddof=1) / math.sqrt(n), 1e-12)
        z = np.abs(meas.mean(axis=0) - pred) / se
        assert np.all(z <= t), (np.round(z, 2), t)


CASES = [
    ("real erf, lecun_normal", nt.stax.Erf(), "lecun_normal", jnp.float64, 0.1),
    ("real relu, he_uniform", nt.stax.Relu(), "he_uniform", jnp.float64, 0.0),
    ("real erf, orthogonal", nt.stax.Erf(), "orthogonal", jnp.float64, 0.0),
    ("complex crelu, he_truncated_normal", stax.CReLU(), "he_truncated_normal",
     jnp.complex128, 0.0),
    ("complex split-erf, glorot_uniform", stax.SplitErf(), "glorot_uniform",
     jnp.complex128, 0.05),
]


@pytest.mark.parametrize("label,activation,name,dtype,b_var", CASES, ids=[c[0] for c in CASES])
def test_correlation_vs_depth_matches_iterated_cmap(label, activation, name, dtype, b_var):
    fam = ini.family(SPECS[name], 128, 128, dtype, key=7, n_draws=16)
    p = correlation_vs_depth(activation, fam, b_var=b_var, width=128, depth=10, n_seeds=16,
                             seed=3)
    assert p.measured.shape == (16, 10)
    assert np.iscomplexobj(p.measured) == np.issubdtype(np.dtype(dtype), np.complexfloating)
    assert_within_seed_spread(p.measured, p.predicted)
    assert_within_seed_spread(p.measured_q, p.predicted_q)


def test_measured_W_var_predicts_q_growth_but_intended_does_not():
    """CReLU is positively homogeneous, so E[q^{l+1}] = (W_var/2) E[q^l] exactly at
    any width: the seed mean of q^L is unbiased for the measured-W_var map,
    while jax's intended W_var = 2 misses the 1.87%-per-layer excess."""
    fam = ini.family(SPECS["he_truncated_normal"], 256, 256, jnp.complex128, key=8, n_draws=32)
    assert not fam.agrees
    kwargs = dict(width=256, depth=30, n_seeds=32, seed=5)
    p = correlation_vs_depth(stax.CReLU(), fam, **kwargs)
    x = pair_of_inputs(256, 0.5 * np.exp(0.5j), complex_inputs=True, seed=5)
    q_intended = predict_kernels(stax.CReLU(), fam.intended, x, depth=30)[-1, 0, 0].real
    q_last = p.measured_q[:, -1]
    se = q_last.std(ddof=1) / math.sqrt(q_last.size)
    t = stats.t.ppf(1 - ALPHA / 2, q_last.size - 1)
    assert abs(q_last.mean() - p.predicted_q[-1]) <= t * se
    assert abs(q_last.mean() - q_intended) > t * se
    assert q_intended == pytest.approx(2.0, rel=1e-10)  # critical: q^l = 2 for all l
    assert p.predicted_q[-1] == pytest.approx(fam.W_var * (fam.W_var / 2) ** 29, rel=1e-10)


@pytest.mark.parametrize("complex_inputs", [False, True])
def test_orthogonal_first_layer_is_exact(complex_inputs):
    dtype = jnp.complex128 if complex_inputs else jnp.float64
    fam = ini.family(SPECS["orthogonal"], 32, 32, dtype, n_draws=4)
    x = pair_of_inputs(32, 0.3 + 0.4j if complex_inputs else 0.3, complex_inputs, seed=1)
    emp = measure_kernels(stax.CReLU() if complex_inputs else nt.stax.Erf(), fam, x,
                          depth=1, width=32, key=0)
    pred = predict_kernels(stax.CReLU() if complex_inputs else nt.stax.Erf(), 1.0, x,
                           depth=1, W_pseudo=0.0)
    np.testing.assert_allclose(emp[0], pred[0], atol=1e-12)
    np.testing.assert_allclose(pred[0, 0, 1], 0.3 + (0.4j if complex_inputs else 0), atol=1e-12)


def test_pair_of_inputs_and_predictions_reduce_to_known_maps():
    x = pair_of_inputs(16, 0.0)
    k = predict_kernels(nt.stax.Relu(), 2.0, x, depth=4)
    # ReLU at sigma_w^2 = 2: q = 2 preserved; c-map at c = 0 gives 1/pi, then the arc-cosine map.
    np.testing.assert_allclose(k[:, 0, 0], 2.0, atol=1e-12)
    c1 = 1 / math.pi
    c2 = (math.sqrt(1 - c1 ** 2) + (math.pi - math.acos(c1)) * c1) / math.pi
    np.testing.assert_allclose(k[:3, 0, 1] / k[:3, 0, 0], [0.0, c1, c2], atol=1e-12)


def test_errors_name_the_argument():
    fam = ini.family(SPECS["delta_orthogonal"], 8, 8, n_draws=2)
    with pytest.raises(ValueError, match="delta_orthogonal"):
        measure_kernels(nt.stax.Erf(), fam, pair_of_inputs(8), depth=2, width=8)
    fam = ini.family(SPECS["lecun_normal"], 8, 8, n_draws=2)
    with pytest.raises(ValueError, match="depth"):
        measure_kernels(nt.stax.Erf(), fam, pair_of_inputs(8), depth=0, width=8)
    with pytest.raises(ValueError, match="c0"):
        pair_of_inputs(8, 0.5j)
    with pytest.raises(ValueError, match="x"):
        correlation_vs_depth(nt.stax.Erf(), fam, x=jnp.ones((3, 8)), width=8, depth=2)

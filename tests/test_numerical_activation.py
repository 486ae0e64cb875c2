"""`ElementwiseNumerical` against closed-form layers (Exp, CReLU, Cardioid),
exactness of the quadrature rule, degenerate covariances, the smoothness probe."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nt_complex import stax
from nt_complex.stax.activations.cardioid import Cardioid, cardioid
from nt_complex.stax.activations.numerical import (
    ElementwiseNumerical, gauss_hermite_4d, looks_non_smooth)
from nt_complex.stax.activations.zrelu import zrelu


FIELDS = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk", "cov1")


def _crelu(z):
    return jax.nn.relu(jnp.real(z)) + 1j * jax.nn.relu(jnp.imag(z))


def _split_tanh(z):
    return jnp.tanh(jnp.real(z)) + 1j * jnp.tanh(jnp.imag(z))


def _inputs(seed=0, n=3, d=3, scale=0.6):
    rng = np.random.default_rng(seed)
    return jnp.asarray((rng.normal(size=(n, d)) + 1j * rng.normal(size=(n, d))) * scale)


def _max_rel_error(numerical, closed, x, W_pseudo):
    net = lambda act: stax.serial(stax.Dense(8, W_pseudo=W_pseudo, b_std=0.3), act)  # noqa: E731
    k_ref = net(closed)[2](x, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k_num = net(numerical)[2](x, None)
    d = np.sqrt(np.abs(np.diagonal(np.asarray(k_ref.nngp))))
    scale = np.outer(d, d)
    out = {}
    for f in FIELDS:
        ref, got = np.asarray(k_ref.get(f)), np.asarray(k_num.get(f))
        assert np.all(np.isfinite(got)), f
        s = scale if f != "cov1" else d ** 2
        out[f] = float(np.max(np.abs(got - ref) / s))
    return out


def test_rule_exact_for_polynomials():
    nodes, weights = gauss_hermite_4d(4)
    # E[xi0^2 xi1^4 xi2^6] = 1 * 3 * 15, degree <= 2 deg - 1 per coordinate
    value = weights @ (nodes[:, 0] ** 2 * nodes[:, 1] ** 4 * nodes[:, 2] ** 6)
    assert abs(value - 45) < 1e-11


@pytest.mark.parametrize("W_pseudo", [0.0, 1.0])
def test_reproduces_exp(W_pseudo):
    """Entire fn: geometric convergence; deg = 16 within 1e-12 of the diagonal."""
    x = _inputs()
    err = _max_rel_error(ElementwiseNumerical(jnp.exp, deg=16, smooth=True), stax.Exp(), x, W_pseudo)
    assert max(err.values()) <= 1e-12, err


@pytest.mark.parametrize("fn,closed", [(_crelu, stax.CReLU), (cardioid, Cardioid)])
def test_reproduces_non_smooth_to_documented_accuracy(fn, closed):
    """Non-smooth fn: algebraic convergence; documented bound 1e-1 at deg = 12
    (the NTK, whose derivatives jump, is the worst field), errors decrease with deg."""
    x = _inputs(seed=1)
    errors = [_max_rel_error(ElementwiseNumerical(fn, deg=deg, smooth=False), closed(), x, 0.0)
              for deg in (6, 12)]
    assert max(errors[1].values()) <= 1e-1, errors
    assert errors[1]["nngp"] < errors[0]["nngp"] and errors[1]["ntk"] < errors[0]["ntk"]


def test_degenerate_covariance_real_weights_real_inputs():
    """Real inputs and real weights: Im z = 0 exactly (singular 4x4 covariance)."""
    x = jnp.asarray(np.random.default_rng(2).normal(size=(3, 4)) * 0.6)
    err = _max_rel_error(ElementwiseNumerical(jnp.exp, deg=16, smooth=True), stax.Exp(), x, 1.0)
    assert max(err.values()) <= 1e-12, err


def test_non_smooth_warning_and_probe():
    assert looks_non_smooth(_crelu) and looks_non_smooth(cardioid) and looks_non_smooth(zrelu)
    assert not looks_non_smooth(jnp.exp) and not looks_non_smooth(_split_tanh)
    with pytest.warns(UserWarning, match="not smooth"):
        ElementwiseNumerical(_crelu)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ElementwiseNumerical(_split_tanh)
        ElementwiseNumerical(_crelu, smooth=True)


def test_argument_errors():
    with pytest.raises(TypeError, match="fn must be a callable"):
        ElementwiseNumerical(3.0)
    with pytest.raises(ValueError, match="deg must be a positive integer"):
        gauss_hermite_4d(0)

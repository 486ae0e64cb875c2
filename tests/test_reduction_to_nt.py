"""Exact reductions: real inputs and real-valued weights (W_pseudo = b_pseudo = 1)
make every pre-activation real, so CReLU acts as ReLU and split-erf as erf, and
the complex kernels must reproduce NT's real ones (pseudo = Hermitian)."""

import jax
import numpy as np
import pytest
from precision import tolerance
from neural_tangents import stax as nt_stax

from nt_complex import stax

REAL = dict(W_pseudo=1.0, b_pseudo=1.0)


def _real_inputs(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


def _compare(ours, theirs, x1, x2):
    get = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")
    k = jax.jit(ours[2], static_argnums=2)(x1, x2, get)  # one compilation, not one per op
    ref = jax.jit(theirs[2], static_argnums=2)(x1, x2, ("nngp", "ntk"))
    scale = np.max(np.abs(ref.ntk))
    np.testing.assert_allclose(k.nngp, ref.nngp, rtol=0, atol=tolerance(1e-10) * scale)
    np.testing.assert_allclose(k.ntk, ref.ntk, rtol=0, atol=tolerance(1e-10) * scale)
    np.testing.assert_allclose(k.pseudo_nngp, ref.nngp, rtol=0, atol=tolerance(1e-10) * scale)
    np.testing.assert_allclose(k.pseudo_ntk, ref.ntk, rtol=0, atol=tolerance(1e-10) * scale)


@pytest.mark.smoke
@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
@pytest.mark.parametrize("ours_act,nt_act", [(stax.CReLU, nt_stax.Relu),
                                             (stax.SplitErf, nt_stax.Erf)])
def test_dense_network_reduces_to_nt(ours_act, nt_act, parameterization):
    x1, x2 = _real_inputs((4, 7), 0), _real_inputs((3, 7), 1)
    p = dict(parameterization=parameterization)
    ours = stax.serial(stax.Dense(64, 1.4, 0.3, **p, **REAL), ours_act(),
                       stax.Dense(64, 1.1, 0.2, **p, **REAL), ours_act(),
                       stax.Dense(1, 0.9, 0.1, **p, **REAL))
    theirs = nt_stax.serial(nt_stax.Dense(64, 1.4, 0.3, **p), nt_act(),
                            nt_stax.Dense(64, 1.1, 0.2, **p), nt_act(),
                            nt_stax.Dense(1, 0.9, 0.1, **p))
    _compare(ours, theirs, x1, x2)


@pytest.mark.parametrize("padding", ["SAME", "VALID", "CIRCULAR"])
def test_cnn_reduces_to_nt(padding):
    x1, x2 = _real_inputs((3, 6, 5, 2), 2), _real_inputs((2, 6, 5, 2), 3)
    ours = stax.serial(stax.Conv(8, (3, 2), (1, 1), padding, 1.3, 0.2, **REAL), stax.CReLU(),
                       stax.Conv(8, (2, 2), (2, 1), padding, 1.2, 0.1, **REAL), stax.CReLU(),
                       stax.AvgPool((2, 2), padding="SAME"), stax.GlobalAvgPool(),
                       stax.Dense(1, 1.0, 0.1, **REAL))
    theirs = nt_stax.serial(nt_stax.Conv(8, (3, 2), (1, 1), padding, 1.3, 0.2), nt_stax.Relu(),
                            nt_stax.Conv(8, (2, 2), (2, 1), padding, 1.2, 0.1), nt_stax.Relu(),
                            nt_stax.AvgPool((2, 2), padding="SAME"), nt_stax.GlobalAvgPool(),
                            nt_stax.Dense(1, 1.0, 0.1))
    _compare(ours, theirs, x1, x2)


def test_cnn_flatten_reduces_to_nt():
    x1 = _real_inputs((3, 5, 5, 2), 4)
    ours = stax.serial(stax.Conv(8, (3, 3), padding="SAME", W_std=1.5, b_std=0.1, **REAL),
                       stax.SplitErf(), stax.Flatten(), stax.Dense(1, **REAL))
    theirs = nt_stax.serial(nt_stax.Conv(8, (3, 3), padding="SAME", W_std=1.5, b_std=0.1),
                            nt_stax.Erf(), nt_stax.Flatten(), nt_stax.Dense(1))
    _compare(ours, theirs, x1, None)


def test_nt_ignores_imaginary_part_but_we_do_not():
    """The motivating defect: NT's NNGP of complex inputs is Re(x) Re(x)^T / d."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
    ours = stax.Dense(1)[2](x, None, "nngp")
    np.testing.assert_allclose(ours, x @ np.conj(x).T / 4, atol=tolerance(1e-13))
    theirs = nt_stax.Dense(1)[2](x, None, "nngp")
    assert np.max(np.abs(np.asarray(theirs) - ours)) > 0.1


def test_nt_layer_inside_complex_serial_raises():
    x = np.ones((2, 3)) * (1 + 1j)
    net = stax.serial(stax.Dense(4), nt_stax.Relu())
    with pytest.raises(TypeError, match="real-only nt.stax layer"):
        net[2](x, None, "nngp")
    _, params = net[0](jax.random.PRNGKey(0), x.shape)
    with pytest.raises(TypeError, match="received complex inputs"):
        net[1](params, x)

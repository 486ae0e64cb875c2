"""Monte Carlo: analytic kernels equal the mean empirical kernels of the
library's own wide networks (width 1024, 2 hidden layers, float64).

Tolerance per entry: 4 standard errors of the MC mean plus a floor of 1e-3
times the diagonal scale for the O(1/width) finite-width bias (1/1024 ~ 1e-3).
"""

import functools
import zlib

import numpy as np
import pytest
from mc_utils import assert_within_se, mc_kernels

from nt_complex import stax
from nt_complex.stax.activations._elementwise import activation_layer
from nt_complex.stax.activations.split import _split_moments, relu_kernel, relu_kernel_negated

pytestmark = pytest.mark.slow

WIDTH = 1024
N_SAMPLES = 48
X = np.array([[1 + 1j, 0.5j, 2.0], [0.3, -1j, 1 + 0.5j], [0.2 - 0.7j, 1.1, -0.4j]])
# An improper input: its pseudo-covariance x x^T / d is as large as x x^H / d.
X_IMPROPER = np.array([[1.0, -0.5, 0.8], [0.3, 1.2, -1.0], [0.7, 0.2, 0.4]]) * np.exp(0.6j)


def _network(activation, pseudo, output_width=16):
    mix = dict(W_pseudo=pseudo, b_pseudo=pseudo)
    return stax.serial(stax.Dense(WIDTH, 1.3, 0.2, **mix), activation(),
                       stax.Dense(WIDTH, 1.1, 0.1, **mix), activation(),
                       stax.Dense(output_width, 0.9, 0.1, **mix))


def _analytic(kernel_fn, x):
    k = kernel_fn(x, None)
    return {f: np.asarray(k.get(f)) for f in ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")}


CASES = {  # name: (activation, pseudo-variance of the weights, inputs, input scale)
    "crelu-circular": (stax.CReLU, 0.0, X, 1.0),
    "crelu-real-weights": (stax.CReLU, 1.0, X, 1.0),
    "crelu-improper-input": (stax.CReLU, 0.6 + 0.3j, X_IMPROPER, 1.0),
    "split-erf-real-weights": (stax.SplitErf, 1.0, X, 1.0),
    "exp-circular": (stax.Exp, 0.0, X, 0.4),
    "exp-improper": (stax.Exp, 1.0, X_IMPROPER, 0.4),
    "identity-real-weights": (stax.Identity, 1.0, X, 1.0),
}
# The power test below reuses this case's draws: same xdist worker, one estimate.
SHARED = "crelu-real-weights"


@functools.cache
def _estimate(name):
    activation, pseudo, x, scale = CASES[name]
    init_fn, apply_fn, _ = _network(activation, pseudo)
    return mc_kernels(init_fn, apply_fn, x * scale, N_SAMPLES, seed=zlib.crc32(name.encode()))


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xdist_group(SHARED)) if name == SHARED else name
    for name in CASES])
def test_analytic_kernel_matches_wide_networks(name):
    activation, pseudo, x, scale = CASES[name]
    kernel_fn = _network(activation, pseudo)[2]
    analytic = _analytic(kernel_fn, x * scale)
    if pseudo == 0.0:
        assert kernel_fn(x * scale, None).is_circular
    assert_within_se(_estimate(name), analytic)


def _crelu_without(field):
    moments = _split_moments(relu_kernel, relu_kernel_negated)

    def dropped(pair, derivatives):
        return moments(pair, derivatives)._replace(**{field: None})

    return activation_layer(f"CReLU-without-{field}", lambda z: stax.CReLU()[1]((), z), dropped)


@pytest.mark.xdist_group(SHARED)
@pytest.mark.parametrize("field", ["k_bb", "l_zb"])
def test_dropping_a_wirtinger_term_fails_the_monte_carlo_check(field):
    """Power: the same MC check (the same draws) rejects an NTK missing the
    conj(Theta) term (k_bb) or a pseudo term (l_zb), so the check above has teeth."""
    activation, pseudo, x, _ = CASES[SHARED]  # CReLU, real weights, unscaled X
    kernel_fn = _network(activation, pseudo)[2]
    estimate = _estimate(SHARED)
    wrong = _network(lambda: _crelu_without(field), pseudo)[2]
    analytic = _analytic(wrong, x)
    target = "ntk" if field == "k_bb" else "pseudo_ntk"
    with pytest.raises(AssertionError):
        assert_within_se(estimate, analytic, fields=(target,))
    assert_within_se(estimate, _analytic(kernel_fn, x), fields=(target,))

"""Infinite-width training dynamics vs. an ensemble of trained wide complex networks.

Wide finite networks from `nt_complex.stax` are trained by full-batch gradient
descent with NT's conventions (loss 1/(2 N_y) sum |f - y|^2, real parameters,
`params -= lr * grad`, t = number of steps). The ensemble mean of their test
outputs must match `gradient_descent_mse_ensemble` within 4 standard errors
(from the predicted covariance, Re and Im separately); with real-valued
weights, the prediction that drops the pseudo-NTK term must miss by far.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nt_complex import predict, stax


WIDTH, N_NETS, LR = 1024, 16, 0.05
STEPS = (0, 60, 250, 700)
N_SE = 4.0


def _task():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(12, 2)) + 1j * rng.normal(size=(12, 2))) / np.sqrt(2)
    # a phase-shifted complex signal of the inputs
    y = np.exp(1j * np.pi * x[:, 0].real) * (1 + 0.5 * x[:, 1])
    return jnp.asarray(x[:8]), jnp.asarray(x[8:]), jnp.asarray(y[:8, None])


def _network(real_weights):
    kw = dict(W_pseudo=1., b_pseudo=1.) if real_weights else {}
    return stax.serial(stax.Dense(WIDTH, 1.5, 0.2, **kw), stax.CReLU(),
                       stax.Dense(1, 1.5, 0.2, **kw))


def _train_ensemble(init_fn, apply_fn, x_train, y_train, x_test):
    keys = jax.random.split(jax.random.PRNGKey(1), N_NETS)
    params = jax.vmap(lambda k: init_fn(k, x_train.shape)[1])(keys)

    def loss(p):
        return 0.5 * jnp.mean(jnp.abs(apply_fn(p, x_train) - y_train) ** 2)

    def step(p, _):
        grads = jax.grad(loss)(p)
        return jax.tree_util.tree_map(lambda a, g: a - LR * g, p, grads), None

    @jax.jit
    def run(p):
        outputs = [apply_fn(p, x_test)]
        for previous, current in zip(STEPS[:-1], STEPS[1:]):
            p, _ = jax.lax.scan(step, p, None, length=current - previous)
            outputs.append(apply_fn(p, x_test))
        return jnp.stack(outputs)

    return jax.vmap(run)(params)  # (N_NETS, len(STEPS), N_test, 1)


def _z_scores(outputs, mean, covariance, pseudo):
    """Worst |z| of the ensemble mean vs `mean`, Re and Im parts separately,
    standard errors from the predicted covariance (Re: Re(K+P)/2, Im: Re(K-P)/2)."""
    diag_k = jnp.real(jnp.diagonal(covariance, axis1=-2, axis2=-1))[..., None]
    diag_p = 0. if pseudo is None else jnp.real(jnp.diagonal(pseudo, axis1=-2, axis2=-1))[..., None]
    se_re = jnp.sqrt((diag_k + diag_p) / 2 / N_NETS)
    se_im = jnp.sqrt((diag_k - diag_p) / 2 / N_NETS)
    d = outputs.mean(0) - mean
    z_re = jnp.where(se_re > 0, jnp.abs(d.real) / jnp.where(se_re > 0, se_re, 1.), 0.)
    z_im = jnp.where(se_im > 0, jnp.abs(d.imag) / jnp.where(se_im > 0, se_im, 1.), 0.)
    return float(jnp.max(jnp.maximum(z_re, z_im)))


@pytest.mark.parametrize("real_weights", [False, True], ids=["circular", "real_weights"])
def test_trained_ensemble_matches_infinite_width_dynamics(real_weights):
    x_train, x_test, y_train = _task()
    init_fn, apply_fn, kernel_fn = _network(real_weights)
    outputs = _train_ensemble(init_fn, apply_fn, x_train, y_train, x_test)
    t = jnp.array(STEPS, jnp.float64)

    full = predict.gradient_descent_mse_ensemble(kernel_fn, x_train, y_train, LR)(
        t, x_test, "ntk", compute_cov=True)
    z = _z_scores(outputs, full.mean, full.covariance, full.pseudo_covariance)
    assert z < N_SE, f"trained ensemble vs infinite width: |z| = {z:.2f}"

    def without_pseudo_ntk(x1, x2=None, get=None):
        return kernel_fn(x1, x2).replace(pseudo_ntk=None)

    dropped = predict.gradient_descent_mse_ensemble(without_pseudo_ntk, x_train, y_train, LR)(
        t, x_test, "ntk")
    z_dropped = _z_scores(outputs, dropped, full.covariance, full.pseudo_covariance)
    if real_weights:
        # the test has power: dropping Theta~ is rejected by a wide margin
        assert z_dropped > 5 * N_SE, f"dropping the pseudo-NTK gave |z| = {z_dropped:.2f}"
    else:
        # circular network: Theta~ is exactly zero, nothing to drop
        assert kernel_fn(x_train, None).pseudo_ntk is None

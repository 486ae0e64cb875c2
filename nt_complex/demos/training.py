"""Trained finite networks for the demos: full-batch gradient descent, many seeds."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def trained_predictions(init_fn: Callable, apply_fn: Callable, x_train: jnp.ndarray,
                        y_train: jnp.ndarray, x_test: jnp.ndarray, learning_rate: float,
                        steps: int, n_networks: int) -> jnp.ndarray:
    """Outputs on `x_test` of `n_networks` networks (keys split from
    `PRNGKey(0)`), each trained by `steps` steps of full-batch gradient descent
    on `1/2 mean |f(x_train) - y_train|^2` (a `lax.scan`; all networks in one
    `vmap`). Returns an array of shape `(n_networks,) + apply_fn(x_test).shape`.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, _ = stax.serial(stax.Dense(16), stax.CReLU(), stax.Dense(1))
      >>> x = jnp.linspace(-1, 1, 6)[:, None] * (1 + 1j)
      >>> out = trained_predictions(init_fn, apply_fn, x, jnp.exp(1j * x), x[:2], 0.5, 20, 3)
      >>> out.shape
      (3, 2, 1)
    """
    def loss(params):
        return 0.5 * jnp.mean(jnp.abs(apply_fn(params, x_train) - y_train) ** 2)

    @jax.jit
    def train(params):
        def step(p, _):
            grads = jax.grad(loss)(p)
            return jax.tree_util.tree_map(lambda a, g: a - learning_rate * g, p, grads), None
        return apply_fn(jax.lax.scan(step, params, None, length=steps)[0], x_test)

    params = jax.vmap(lambda key: init_fn(key, x_train.shape)[1])(
        jax.random.split(jax.random.PRNGKey(0), n_networks))
    return jax.vmap(train)(params)

"""The saddle-node line of a `serial(Dense, activation)` block.

With pre-activation variance `p = W_var q + b_var` the q-map is
`q -> V(W_var q + b_var)`, `V = E|f|^2` (the activation's diagonal rule). A
fixed point is born or dies (saddle node) where, in addition, the slope is 1:
`W_var V'(p) = 1`. Parametrised by `p`: `W_var = 1/V'(p)`,
`b_var = p - W_var V(p)`. For modReLU with `b < 0` (MATH.md section 6) this
is the edge of the ordered region for `W_var > 1`; beyond it there is no
finite attracting `q*` (status NO_FIXED_POINT).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from nt_complex.phase.maps import Block, BlockSpec, pair_kernel
from nt_complex.phase.structured import ActivationStep, LinearStep, split_block

__all__ = ["saddle_node_line"]


def _is_plain_dense(block: Block, layer: tuple) -> bool:
    """The linear layer (built with `W_std = 1.3, b_std = 0.2`) maps
    `q -> 1.69 q + 0.04` (checked at two points)."""
    spec = BlockSpec(block, (), True, False)

    def variance(q: float) -> float:
        kernel = layer[2](pair_kernel(spec, jnp.array(q), None))
        return float(jnp.real(kernel.nngp[0, 0]))

    return np.allclose([variance(1.0), variance(2.0)], [1.69 + 0.04, 3.38 + 0.04], rtol=1e-6)


def saddle_node_line(block: Block, q_pre) -> tuple[np.ndarray, np.ndarray]:
    """`(W_var, b_var)` of the saddle-node points at pre-activation variances `q_pre`.

    Points with `b_var < 0` are dropped (no such network). Needs a block
    `serial(Dense, activation)` whose activation reports its diagonal moments.

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> from nt_complex import stax
      >>> block = lambda w, b: stax.serial(stax.Dense(1, w, b), stax.ModReLU(-0.5))
      >>> W, b = saddle_node_line(block, [1.0])
      >>> round(float(W[0]), 3), round(float(b[0]), 3)   # MATH.md section 6
      (1.766, 0.375)
    """
    parts = split_block(block(1.3, 0.2))
    steps = () if parts is None else parts.steps
    single = (len(steps) == 2 and isinstance(steps[0], LinearStep)
              and isinstance(steps[1], ActivationStep))
    if not single or not _is_plain_dense(block, steps[0].layer):
        raise ValueError("saddle_node_line needs block(W_std, b_std) = serial(Dense(..., "
                         "W_std, b_std), activation) with an nt_complex activation.")
    p = jnp.asarray(np.asarray(q_pre, float))
    if p.ndim != 1 or not bool(jnp.all(p > 0)):
        raise ValueError(f"q_pre must be a 1-D array of positive variances; got {q_pre!r}.")
    W, b = _line(steps[1].rule, p)
    keep = np.asarray((b >= 0) & (W > 0))
    return np.asarray(W)[keep], np.asarray(b)[keep]


@functools.partial(jax.jit, static_argnums=0)
def _line(rule, p: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """`W = 1/V'(p)`, `b = p - W V(p)` (compiled once per rule; eager evaluation
    of the moments' loops cost seconds)."""
    variance, slope = jax.vmap(jax.value_and_grad(lambda x: rule(x).variance))(p)
    W = 1.0 / slope
    return W, p - W * variance

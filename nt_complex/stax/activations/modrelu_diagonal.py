"""modReLU's diagonal moments in closed form (the phase module's exact multipliers).

For `f(z) = ReLU(|z| + b) z/|z|` and `z ~ CN(0, q)`, `beta = b/sqrt(q)`
(MATH.md section 4):

* `b < 0`: `E|f|^2 = q e^{-beta^2} + b sqrt(pi q) erfc(-beta)`,
  `E|f_z|^2 = e^{-beta^2} + beta sqrt(pi) erfc(-beta) + (beta^2/4) E1(beta^2)`,
  `E|f_zb|^2 = (beta^2/4) E1(beta^2)`;
* `b = 0`: the identity (`E|f|^2 = q`, `E|f_z|^2 = 1`, `E|f_zb|^2 = 0`);
* `b > 0`: `E|f|^2 = q + b sqrt(pi q) + b^2`; `f` jumps at 0 (`|f| -> b`), so
  the derivative moments and `par` are infinite.

`phase = E|f_z|^2 - E|f_zb|^2` for `b <= 0`, which equals `E|f|^2/q`: `f`
commutes with rotations, so `K_f(q e^{i eps}) = e^{i eps} E|f|^2` exactly. For
`b > 0` Price's theorem fails at the jump and `phase = E|f|^2/q` (rotation).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.scipy.special import erfc, exp1

from nt_complex.stax.activations.diagonal import DiagonalMoments, DiagonalRule

__all__ = ["modrelu_diagonal_moments"]

#: `-beta` is clipped here (`e^{-1600}` underflows: `f = 0` almost surely).
_DEPTH_MAX = 40.0


@functools.lru_cache(maxsize=None)  # one rule (and compilation) per b
def modrelu_diagonal_moments(b: float) -> DiagonalRule:
    """`q -> DiagonalMoments` of modReLU with bias `b` (closed forms, jit/vmap safe).

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> import jax.numpy as jnp
      >>> d = modrelu_diagonal_moments(-0.5)(jnp.array(1.0))
      >>> round(float(d.variance), 9)   # e^{-1/4} - (1/2) sqrt(pi) erfc(1/2)
      0.353854864
    """
    b = float(b)

    def rule(q: jnp.ndarray) -> DiagonalMoments:
        q = jnp.asarray(q, float)
        positive = q > 0
        safe_q = jnp.where(positive, q, 1.0)
        if b == 0:
            one = jnp.ones_like(q)
            return DiagonalMoments(q, one, one)
        if b > 0:
            variance = q + b * jnp.sqrt(q) * math.sqrt(math.pi) + b * b
            phase = jnp.where(positive, variance / safe_q, jnp.inf)
            return DiagonalMoments(variance, jnp.full_like(q, jnp.inf), phase)
        # where, not sqrt(q): a finite (zero) derivative at q = 0, where the
        # signal dies (V = o(q^n)) and the q-map's slope is 0.
        root = jnp.where(positive, jnp.sqrt(safe_q), 0.0)
        depth = jnp.where(positive, jnp.minimum(-b / jnp.sqrt(safe_q), _DEPTH_MAX), _DEPTH_MAX)
        beta2 = depth * depth
        gauss = jnp.exp(-beta2)
        tail = math.sqrt(math.pi) * erfc(depth)
        variance = q * gauss + b * root * tail
        bar = beta2 / 4 * exp1(beta2)                 # E|f_zb|^2
        holo = gauss - depth * tail + bar              # E|f_z|^2
        return DiagonalMoments(variance, holo + bar, holo - bar)

    return jax.jit(rule)  # one compilation, not one per operation, when called eagerly


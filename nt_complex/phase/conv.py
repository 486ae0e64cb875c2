"""Spatial (Conv) blocks: linearisations over positions and their spectral radius.

For a Conv block the q- and c-maps act on arrays over spatial positions. The
multiplier chi is the spectral radius of the map's Jacobian at the fixed point
(for SAME/VALID padding border positions differ, so the Jacobian is not
translation invariant; for CIRCULAR padding it is, and its Perron vector is
constant, which makes the diagram equal to the Dense one, arXiv 1806.05393).
The Jacobians are small (positions x positions) and formed explicitly with
`jacfwd`; a Dense block is the one-position case.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

__all__ = ["jacobian", "spectral_radius", "multiplier"]


def jacobian(f: Callable[[jnp.ndarray], jnp.ndarray], x: jnp.ndarray,
             direction: complex = 1.0) -> jnp.ndarray:
    """`J[i, j] = d f_i / d x_j` of a map over positions (flat 1-D `x`).

    `direction` is the tangent's phase: `1j` perturbs `x` along the imaginary
    axis (the phase perturbation of a complex correlation). The real part of
    the output derivative is taken for `direction=1`, the imaginary part for
    `direction=1j` (`f(x + i eps) = f(x) + i eps J`).

    Example:
      >>> import jax.numpy as jnp
      >>> jacobian(lambda x: 2 * x, jnp.ones(2)).tolist()
      [[2.0, 0.0], [0.0, 2.0]]
    """
    n = x.shape[0]
    basis = jnp.eye(n, dtype=jnp.result_type(x, direction)) * direction
    xs = x.astype(basis.dtype)

    def column(t):
        return jax.jvp(f, (xs,), (t,))[1]

    cols = jax.vmap(column)(basis)  # (n_tangent, n_out)
    cols = jnp.imag(cols) if direction == 1j else jnp.real(cols)
    return cols.T


def spectral_radius(matrix: jnp.ndarray) -> jnp.ndarray:
    """Largest eigenvalue modulus of a square matrix (the value itself for 1x1).

    Example:
      >>> import jax.numpy as jnp
      >>> float(spectral_radius(jnp.array([[0., 2.], [0.5, 0.]])))
      1.0
    """
    if matrix.shape == (1, 1):
        return matrix[0, 0]
    return jnp.max(jnp.abs(jnp.linalg.eigvals(matrix)))


def multiplier(f: Callable[[jnp.ndarray], jnp.ndarray], x: jnp.ndarray,
               direction: complex = 1.0) -> jnp.ndarray:
    """Spectral radius of the Jacobian of `f` at `x` along `direction`.

    Example:
      >>> import jax.numpy as jnp
      >>> float(multiplier(lambda x: jnp.sin(x), jnp.zeros(1)))
      1.0
    """
    return spectral_radius(jacobian(f, x, direction))

"""Safeguarded Newton iteration for fixed points `x = f(x)` (jit/vmap-safe).

Each step proposes a Newton step for `g(x) = f(x) - x` (Levenberg-Marquardt
regularised for vector states, so a singular Jacobian — e.g. the phase
direction of a phase-equivariant map — gives a finite step). The step is
accepted only if it is finite, points the same way as plain iteration
(`f(x) - x`: this steers Newton towards *attracting* fixed points, the ones a
deep network actually reaches) and leaves a smaller residual than both the
current point and the plain step; otherwise the step is the plain iteration
`x <- f(x)` (so the loop never converges slower than plain iteration). The loop stops at `|f(x) - x| <= tol max(1, |x|)`,
at a non-finite value, or after `max_iter` steps, and reports which.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["FixedPointResult", "fixed_point"]


class FixedPointResult(NamedTuple):
    """`value`: the last iterate; `converged`: residual below tolerance and
    finite; `iterations`: steps taken; `residual`: `max |f(x) - x|`."""

    value: jnp.ndarray
    converged: jnp.ndarray
    iterations: jnp.ndarray
    residual: jnp.ndarray


def _newton_step(f: Callable, x: jnp.ndarray, residual: jnp.ndarray) -> jnp.ndarray:
    if x.ndim == 0:
        _, slope = jax.jvp(f, (x,), (jnp.ones_like(x),))
        return residual / (1 - slope)
    jac = jax.jacfwd(f)(x) - jnp.eye(x.size, dtype=x.dtype)
    normal = jac.T @ jac
    scale = jnp.trace(normal) / x.size
    damping = 1e-12 * scale + jnp.finfo(x.dtype).tiny
    return -jnp.linalg.solve(normal + damping * jnp.eye(x.size, dtype=x.dtype),
                             jac.T @ residual)


def fixed_point(f: Callable[[jnp.ndarray], jnp.ndarray], x0, *, tol: float = 1e-10,
                max_iter: int = 100) -> FixedPointResult:
    """Attracting fixed point of `f` (real scalar or 1-D real state) from `x0`.

    Args:
      f: real map, `f(x).shape == x.shape`; differentiable (Newton uses `jvp`).
      x0: starting point (scalar or 1-D array).
      tol: stop when `max |f(x) - x| <= tol * max(1, max |x|)`.
      max_iter: maximal number of steps.

    Returns:
      `FixedPointResult(value, converged, iterations, residual)`.

    Example:
      >>> import jax.numpy as jnp
      >>> res = fixed_point(jnp.cos, 1.0)
      >>> round(float(res.value), 10), bool(res.converged)
      (0.7390851332, True)
    """
    if tol <= 0:
        raise ValueError(f"tol must be > 0; got {tol!r}.")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be a positive integer; got {max_iter!r}.")
    x0 = jnp.asarray(x0)
    if x0.ndim > 1:
        raise ValueError(f"x0 must be a scalar or a 1-D array; got shape {x0.shape}.")
    x0 = x0.astype(jnp.result_type(x0, float))

    def size(r):
        return jnp.max(jnp.abs(r))

    def finite_or_inf(v):
        return jnp.where(jnp.isfinite(v), v, jnp.inf)

    def done(x, r):
        small = size(r) <= tol * jnp.maximum(1.0, size(x))
        return small | ~jnp.all(jnp.isfinite(x)) | ~jnp.all(jnp.isfinite(r))

    def cond(state):
        x, fx, it = state
        return (it < max_iter) & ~done(x, fx - x)

    def body(state):
        x, fx, it = state
        r = fx - x
        step = _newton_step(f, x, r)
        x_newton = x + step
        f_newton = f(x_newton)
        r_newton = f_newton - x_newton
        x_plain = fx
        f_plain = f(x_plain)
        # Newton must beat the plain step (not just the current residual): a
        # wrong Jacobian (e.g. autodiff of a kernel near a branch switch) gives
        # tiny steps that reduce the residual a little and would stall the loop.
        accept = (jnp.all(jnp.isfinite(x_newton)) & jnp.all(jnp.isfinite(f_newton))
                  & (jnp.vdot(step, r) > 0)
                  & (size(r_newton) < jnp.minimum(size(r), finite_or_inf(size(f_plain - x_plain)))))
        x_next = jnp.where(accept, x_newton, x_plain)
        f_next = jnp.where(accept, f_newton, f_plain)
        return x_next, f_next, it + 1

    x, fx, it = lax.while_loop(cond, body, (x0, f(x0), jnp.array(0)))
    r = fx - x
    converged = (size(r) <= tol * jnp.maximum(1.0, size(x))) & jnp.all(jnp.isfinite(x))
    return FixedPointResult(x, converged, it, size(r))

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

import functools
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


def _value_and_jacobian(f: Callable, x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """`f(x)` and its derivative (the Jacobian for a 1-D state)."""
    if x.ndim == 0:
        return jax.jvp(f, (x,), (jnp.ones_like(x),))
    fx, linear = jax.linearize(f, x)
    return fx, jax.vmap(linear)(jnp.eye(x.size, dtype=x.dtype)).T


def _newton_step(x: jnp.ndarray, fx: jnp.ndarray, jac: jnp.ndarray) -> jnp.ndarray:
    residual = fx - x
    if x.ndim == 0:
        return residual / (1 - jac)
    jac = jac - jnp.eye(x.size, dtype=x.dtype)
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

    # One call site of `f` (each is a copy of its program; modReLU's c-map
    # compiles for ~7 s per copy): every pass evaluates `f` and its derivative
    # at two points, first at x0 (twice), then at the Newton and plain candidates.
    evaluate = jax.vmap(functools.partial(_value_and_jacobian, f))

    def cond(state):
        x, fx, _, it, first = state
        return first | ((it < max_iter) & ~done(x, fx - x))

    def body(state):
        x, fx, jac, it, first = state
        step = _newton_step(x, fx, jac)
        candidates = jnp.where(first, jnp.stack([x, x]), jnp.stack([x + step, fx]))
        f_candidates, jac_candidates = evaluate(candidates)
        (x_newton, x_plain), (r_newton, r_plain) = candidates, f_candidates - candidates
        r = fx - x
        # Newton must beat the plain step (not just the current residual): a
        # wrong Jacobian (e.g. autodiff of a kernel near a branch switch) gives
        # tiny steps that reduce the residual a little and would stall the loop.
        accept = first | (jnp.all(jnp.isfinite(x_newton)) & jnp.all(jnp.isfinite(r_newton))
                          & (jnp.vdot(step, r) > 0)
                          & (size(r_newton) < jnp.minimum(size(r), finite_or_inf(size(r_plain)))))
        pick = jnp.where(accept, 0, 1)
        return (candidates[pick], f_candidates[pick], jac_candidates[pick],
                it + jnp.where(first, 0, 1), jnp.array(False))

    jac0 = jnp.zeros(x0.shape * 2, x0.dtype)  # a slope () or a Jacobian (n, n)
    x, fx, _, it, _ = lax.while_loop(cond, body, (x0, jnp.zeros_like(x0), jac0, jnp.array(0),
                                                  jnp.array(True)))
    r = fx - x
    converged = (size(r) <= tol * jnp.maximum(1.0, size(x))) & jnp.all(jnp.isfinite(x))
    return FixedPointResult(x, converged, it, size(r))

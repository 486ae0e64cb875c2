"""The fixed points and multipliers of one block at one `(W_var, b_var)`.

`solve_point` is a pure jax function of two scalars (vmapped and jitted by
`nt_complex.phase.diagram`). Steps: the attracting fixed point `q*` of the
q-map; the attracting fixed point `c*` of the normalised c-map
`c' = K'12 / K'11` at `q*` (from `c = 0.1`, as NT's notebook); the multipliers at
`c = 1`: `chi_par` (real perturbation of `c`; the usual chi_1) and, for complex
blocks, `chi_phase` (phase perturbation `c = e^{i eps}`), each the spectral
radius of `dK'12/dK12` over positions. Positively homogeneous blocks use the
scale-free map (bias negligible as q -> infinity) where `q*` is absent or 0,
and always for chi (which is scale free for them).
"""

from __future__ import annotations

import enum
from typing import NamedTuple

import jax.numpy as jnp

from nt_complex._dtypes import complex_dtype
from nt_complex.phase.conv import multiplier
from nt_complex.phase.fixed_point import fixed_point
from nt_complex.phase.maps import BlockSpec, pair_map, variance_map
from nt_complex.phase.structured import split_block, structured_maps

__all__ = ["Status", "PointResult", "solve_point", "C_START"]

#: Starting correlation of the c iteration (NT's notebook uses 0.1).
C_START = 0.1
#: Variance at which the q-map's secant slope decides whether q = 0 attracts (no bias).
_SECANT_EPS = 1e-6


class Status(enum.IntEnum):
    """Outcome at one grid point (stored as int8 in `PhaseDiagram.status`).

    OK: finite attracting q*, c*, chi all computed.
    SCALE_FREE: positively homogeneous block without a positive finite q*
      (q -> infinity or 0 with depth); q* is NaN (or 0 when b = 0), c* and chi
      come from the scale-free normalised map.
    NO_FIXED_POINT: no finite attracting q* (e.g. beyond modReLU's saddle-node
      line, exploding q-map): everything NaN.
    Q_ZERO: q* = 0 (no bias, signal dies out): c* undefined (NaN), chi at q = 0.
    C_NOT_CONVERGED: q* found but the c iteration did not converge: c* NaN.
    """

    OK = 0
    SCALE_FREE = 1
    NO_FIXED_POINT = 2
    Q_ZERO = 3
    C_NOT_CONVERGED = 4


class PointResult(NamedTuple):
    """Per-point outputs; `q_star`, `c_star` are flat over positions."""

    q_star: jnp.ndarray
    c_star: jnp.ndarray
    chi_par: jnp.ndarray
    chi_phase: jnp.ndarray
    status: jnp.ndarray


def _state(x: jnp.ndarray, n: int) -> jnp.ndarray:
    return x.reshape(()) if n == 1 else x.reshape(-1)


def _maps(spec: BlockSpec, W_std, b_std):
    """`(q_map, c_map, multipliers)`: the kernel_fn's own maps, or for a
    structured block the q-map and multipliers from the diagonal moments."""
    layer = spec.block(W_std, b_std)
    kernel_fn = layer[2]
    shape = spec.spatial_shape

    def q_map(q):
        return variance_map(spec, kernel_fn, q.reshape(shape)).reshape(-1)

    def k12_map(q, k12):
        return pair_map(spec, kernel_fn, q.reshape(shape), k12.reshape(shape))[1].reshape(-1)

    def c_map(q, c):
        q_out, k_out = pair_map(spec, kernel_fn, q.reshape(shape), (q * c).reshape(shape))
        return (k_out / q_out).reshape(-1)

    def multipliers(q):
        on_diagonal = q.astype(complex_dtype(q) if spec.is_complex
                               else q.dtype)
        chi_par = multiplier(lambda k: k12_map(q, k), on_diagonal, 1.0)
        chi_phase = (multiplier(lambda k: k12_map(q, k), on_diagonal, 1j)
                     if spec.is_complex else jnp.full((), jnp.nan))
        return chi_par, chi_phase

    if spec.structured:
        fast = structured_maps(spec, split_block(layer))
        return fast.q_map, c_map, fast.multipliers
    return q_map, c_map, multipliers


def _correlation_and_chi(spec: BlockSpec, maps, q, tol, max_iter, correlation=True):
    _, c_map, multipliers = maps
    n = spec.n_positions
    chi_par, chi_phase = multipliers(q)
    if not correlation:
        dtype = complex_dtype(q) if spec.is_complex else q.dtype
        return jnp.full(n, jnp.nan, dtype), jnp.array(True), chi_par, chi_phase
    if spec.is_complex:
        def c_state_map(s):
            c = s[:n] + 1j * s[n:]
            out = c_map(q, c)
            return jnp.concatenate([jnp.real(out), jnp.imag(out)])
        start = jnp.concatenate([jnp.full(n, C_START), jnp.zeros(n)])
        res = fixed_point(c_state_map, start, tol=tol, max_iter=max_iter)
        c_star = res.value[:n] + 1j * res.value[n:]
    else:
        res = fixed_point(lambda s: _state(c_map(q, s.reshape(-1)), n),
                          _state(jnp.full(n, C_START), n), tol=tol, max_iter=max_iter)
        c_star = res.value.reshape(-1)
    return c_star, res.converged, chi_par, chi_phase


def _scale_free_profile(spec: BlockSpec, q_map, tol, max_iter):
    """Per-position variance profile of the bias-free homogeneous q-map (its
    Perron vector, normalised to mean 1): the shape `q` takes as it grows."""
    n = spec.n_positions
    if n == 1:
        return jnp.ones(1)

    def normalised(q):
        out = q_map(q)
        return out / jnp.mean(out)

    return fixed_point(normalised, jnp.ones(n), tol=tol, max_iter=max_iter).value


def solve_point(spec: BlockSpec, W_var, b_var, *, tol: float = 1e-10,
                max_iter: int = 100, correlation: bool = True) -> PointResult:
    """Fixed points and multipliers of `spec.block` at one `(W_var, b_var)`.

    Example:
      >>> import jax.numpy as jnp
      >>> from neural_tangents import stax
      >>> from nt_complex.phase.maps import BlockSpec
      >>> spec = BlockSpec(lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Erf()),
      ...                  (), False, False)
      >>> r = solve_point(spec, jnp.array(1.5), jnp.array(0.05))
      >>> Status(int(r.status)).name
      'OK'
    """
    n = spec.n_positions
    W_var = jnp.asarray(W_var, float)
    b_var = jnp.asarray(b_var, float)
    W_std, b_std = jnp.sqrt(W_var), jnp.sqrt(b_var)
    maps = _maps(spec, W_std, b_std)
    q_map = maps[0]

    def attracting_q(start: float):
        res = fixed_point(lambda s: _state(q_map(s.reshape(-1)), n),
                          _state(jnp.full(n, start), n), tol=tol, max_iter=max_iter)
        q = res.value.reshape(-1)
        ok = (res.converged & jnp.all(jnp.isfinite(q)) & jnp.all(q >= 0)
              & (multiplier(q_map, q) < 1))
        return q, ok

    # From q = 1 (as NT's notebook); if that diverges or lands on a repelling
    # point, from q = 0, whose iterates climb to the least fixed point (e.g.
    # modReLU near its saddle-node line, where q = 1 lies above the repelling
    # fixed point although an attracting one exists below it).
    q_from_one, ok_from_one = attracting_q(1.0)
    # Without a bias q = 0 is itself a fixed point: accepted when it attracts
    # (modReLU with b < 0 and no bias: small signals die while q = 1 explodes),
    # judged by the secant slope q'(eps)/eps (autodiff at q = 0 is unreliable:
    # NT's ReLU kernel reports slope 0 there).
    q_from_zero, ok_from_zero = attracting_q(0.0)
    secant = jnp.max(q_map(jnp.full(n, _SECANT_EPS)) / _SECANT_EPS)
    ok_from_zero = ok_from_zero & ((b_var > 0) | (secant < 1))
    q = jnp.where(ok_from_one, q_from_one, q_from_zero)
    q_ok = ok_from_one | ok_from_zero
    q_zero = q_ok & (b_var == 0) & (jnp.max(q) < 1e-6)
    q_safe = jnp.where(q_ok, q, 1.0)
    c_star, c_ok, chi_par, chi_phase = _correlation_and_chi(spec, maps, q_safe, tol, max_iter,
                                                            correlation)

    status = jnp.where(~q_ok, Status.NO_FIXED_POINT,
                       jnp.where(q_zero, Status.Q_ZERO,
                                 jnp.where(c_ok, Status.OK, Status.C_NOT_CONVERGED)))
    if spec.homogeneous:
        free_maps = _maps(spec, W_std, jnp.zeros_like(b_std))
        profile = _scale_free_profile(spec, free_maps[0], tol, max_iter)
        c_free, c_free_ok, chi_par_free, chi_phase_free = _correlation_and_chi(
            spec, free_maps, profile, tol, max_iter, correlation)
        use_free = ~q_ok | (b_var == 0)
        c_star = jnp.where(use_free, c_free, c_star)
        # E|f'|^2 of a degree-1 homogeneous activation is scale free, so chi does
        # not depend on q or the bias: take it from the bias-free map, where c = 1
        # is exact (with a bias, rounding makes K'11 != K'12 and the kink's
        # (1 - c)^(3/2) term turns that into O(1) autodiff noise in NT's Relu).
        chi_par, chi_phase = chi_par_free, chi_phase_free
        c_ok = jnp.where(use_free, c_free_ok, c_ok)
        status = jnp.where(use_free, jnp.where(c_free_ok, Status.SCALE_FREE,
                                               Status.C_NOT_CONVERGED), status)
        q = jnp.where(q_ok, q, jnp.nan)
    else:
        nan = jnp.nan
        q = jnp.where(q_ok, q, nan)
        chi_par = jnp.where(q_ok, chi_par, nan)
        chi_phase = jnp.where(q_ok, chi_phase, nan)
        c_ok = c_ok & q_ok & ~q_zero
    c_star = jnp.where(c_ok, c_star, jnp.nan)
    return PointResult(q, c_star, chi_par, chi_phase, status.astype(jnp.int8))

"""Independent references for the phase multipliers (used by test_phase_multipliers.py).

Everything here is plain numpy/scipy on a plain numpy activation `f`: expectations
over `z ~ CN(0, q)` by a polar product rule (Gauss-Legendre panels in `r`, split at
the activation's radial kinks, up to `r^2 = 60 q`; Gauss-Legendre panels in
`theta` split at the quadrant edges), Wirtinger derivatives by central
differences (`f_z = (f_x - i f_y)/2`, `f_zb = (f_x + i f_y)/2`, step `1e-6 r`),
and the q-map's least fixed point by `scipy.optimize.brentq`. None of the
library's kernel code is used.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
from scipy.special import roots_legendre

_R_NODES, _R_PANELS = 48, 6
_T_NODES = 48
_STEP = 1e-6


def _panels(edges, nodes):
    t, w = roots_legendre(nodes)
    lo, hi = np.asarray(edges[:-1])[:, None], np.asarray(edges[1:])[:, None]
    return ((lo + hi) / 2 + (hi - lo) / 2 * t).ravel(), ((hi - lo) / 2 * w).ravel()


def polar_rule(q, radial_kinks=(), angle_edges=None):
    """Nodes `z` and weights `w` (sum 1) of a product rule for `E[h(z)]`, `z ~ CN(0, q)`."""
    top = np.sqrt(60 * q)
    kinks = sorted(k for k in radial_kinks if 0 < k < top)
    edges = np.unique(np.concatenate([[0.0], kinks, [top]]))
    fine = np.concatenate([np.linspace(a, b, _R_PANELS + 1)[:-1] for a, b in
                           zip(edges[:-1], edges[1:])] + [[top]])
    r, wr = _panels(fine, _R_NODES)
    wr = wr * 2 * r / q * np.exp(-r * r / q)
    if angle_edges is None:
        angle_edges = np.linspace(0, 2 * np.pi, 5)
    theta, wt = _panels(np.asarray(angle_edges, float), _T_NODES)
    wt = wt / (2 * np.pi)
    z = r[:, None] * np.exp(1j * theta[None, :])
    return z, wr[:, None] * wt[None, :]


def wirtinger(f, z):
    """Central-difference `(f_z, f_zb)`."""
    h = _STEP * np.maximum(np.abs(z), 1e-3)
    f_x = (f(z + h) - f(z - h)) / (2 * h)
    f_y = (f(z + 1j * h) - f(z - 1j * h)) / (2 * h)
    return (f_x - 1j * f_y) / 2, (f_x + 1j * f_y) / 2


def diagonal_moments(f, q, radial_kinks=()):
    """`(E|f|^2, E|f_z|^2, E|f_zb|^2)` for `z ~ CN(0, q)`."""
    z, w = polar_rule(q, radial_kinks)
    f_z, f_zb = wirtinger(f, z)
    return (float(np.sum(w * np.abs(f(z)) ** 2)), float(np.sum(w * np.abs(f_z) ** 2)),
            float(np.sum(w * np.abs(f_zb) ** 2)))


def variance(f, q, radial_kinks=()):
    """`E|f(z)|^2`, `z ~ CN(0, q)`."""
    z, w = polar_rule(q, radial_kinks)
    return float(np.sum(w * np.abs(f(z)) ** 2))


def _rotated_overlap(f, q, eps, radial_kinks):
    edges = np.unique(np.concatenate([np.arange(5) * np.pi / 2, eps + np.arange(4) * np.pi / 2]))
    z, w = polar_rule(q, radial_kinks, edges)
    return float(np.sum(w * np.imag(f(z) * np.conj(f(np.exp(-1j * eps) * z))))) / (q * eps)


def rotation_slope(f, q, eps=1e-3, radial_kinks=()):
    """`lim Im E[f(z) conj f(e^{-i eps} z)] / (q eps)`: the phase multiplier per
    unit `W_var` measured on rotated copies (no derivative of `f`; angle panels
    split at the quadrant edges and at their rotated images), Richardson
    extrapolated from `eps, 2 eps, 4 eps` (error O(eps^3))."""
    s1, s2, s4 = (_rotated_overlap(f, q, k * eps, radial_kinks) for k in (1, 2, 4))
    return (8 * s1 - 6 * s2 + s4) / 3


def pre_activation_q_star(f, W_var, b_var, radial_kinks=(), q_max=50.0):
    """Least fixed point of `q -> W_var E|f|^2(q) + b_var` (pre-activation), by brentq
    after a scan for the first sign change."""
    return _least_root(lambda q: W_var * variance(f, q, radial_kinks) + b_var - q, q_max)


def _least_root(h, q_max):
    """The first root of `h` where it crosses from above to below zero on a
    geometric scan of (1e-4, q_max), refined by brentq."""
    grid = np.geomspace(1e-4, q_max, 80)
    values = [h(g) for g in grid]
    for lo, hi, v_lo, v_hi in zip(grid[:-1], grid[1:], values[:-1], values[1:]):
        if v_lo > 0 >= v_hi:
            return scipy.optimize.brentq(h, lo, hi, xtol=1e-15, rtol=1e-14)
    raise ValueError("no fixed point in the scanned range")


def chain_q_map(steps, W_var, b_var, q):
    """The output variance of a chain `steps` for input variance `q`, and the
    pre-activation variance of each activation on the way. A step is `"linear"`
    (`q -> W_var q + b_var`) or an activation `(f, radial_kinks, jumps)`
    (`q -> E|f|^2(q)`)."""
    pre = []
    for step in steps:
        if step == "linear":
            q = W_var * q + b_var
        else:
            f, kinks, _ = step
            pre.append(q)
            q = variance(f, q, kinks)
    return q, pre


def chain_q_star(steps, W_var, b_var, q_max=50.0):
    """Least fixed point of `chain_q_map` (brentq after a scan for the first
    sign change from above to below the diagonal)."""
    return _least_root(lambda q: chain_q_map(steps, W_var, b_var, q)[0] - q, q_max)


def chain_multipliers(steps, W_var, b_var, q_star):
    """`(chi_par, chi_phase)` of the chain at its fixed point `q_star`: each
    linear step multiplies both by `W_var`; an activation with pre-activation
    variance `p` by `E|f_z|^2 + E|f_zb|^2` (par; `inf` if it jumps) and by
    `E|f_z|^2 - E|f_zb|^2` (phase; for a jump the rotated-copy slope
    `rotation_slope`), all at its own `p` along the fixed point."""
    _, pre = chain_q_map(steps, W_var, b_var, q_star)
    par = phase = 1.0
    activations = iter(pre)
    for step in steps:
        if step == "linear":
            par, phase = par * W_var, phase * W_var
            continue
        f, kinks, jumps = step
        p = next(activations)
        if jumps:
            par, phase = np.inf, phase * rotation_slope(f, p, radial_kinks=kinks)
        else:
            _, a, b = diagonal_moments(f, p, kinks)
            par, phase = par * (a + b), phase * (a - b)
    return par, phase

"""q*, chi_1 (= chi_par) and chi_phase of every complex activation against an
independent polar quadrature of central-difference Wirtinger derivatives of a
plain numpy f (tests/phase_quadrature.py), to 1e-8 relative.

Convention checked: `q_star` is the block's output variance (post-activation),
`q_pre = W_var q* + b_var`; `chi_par = W_var (E|f_z|^2 + E|f_zb|^2)(q_pre)`,
`chi_phase = W_var (E|f_z|^2 - E|f_zb|^2)(q_pre)` (continuous f); for f that
jump (zReLU, modReLU b > 0) `chi_par = inf` and `chi_phase` is measured on a
rotated copy (`Im E[f(z) conj f(e^{-i eps} z)]`).

Blocks with several activations (structured chains): q* of the composed map and
chi = the product over segments of the same per-activation quantities, each at
its own pre-activation variance along the chain's fixed point (see
`test_chain_q_star_and_multipliers`); the product formula is double-checked
against finite differences of the library's block c-map, and a Conv chain
against the generic (kernel_fn + autodiff) path.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf, exp1

import nt_complex.stax as cstax
from nt_complex.phase import Status, phase_diagram
from nt_complex.stax.activations.split import erf_kernel

import phase_quadrature as pq

RTOL = 1e-8


def _relu(x):
    return np.maximum(x, 0.0)


def _modrelu(b):
    def f(z):
        r = np.abs(z)
        return np.where(r > 0, _relu(r + b) / np.where(r > 0, r, 1), 0) * z
    return f


def _half_erf_kernel(v1, v2, c):
    T, D = erf_kernel(v1, v2, c)
    return T / 4, D / 4


def _numerical_fn(z):
    return jnp.exp(z / 2) + 0.3 * jnp.conj(z) ** 2


POLY = [0.3, 1.0, 0.5j]

# name -> (layer factory, numpy f, radial kinks, (W_var, b_var) points, jumps)
CASES = {
    "CReLU": (cstax.CReLU, lambda z: _relu(z.real) + 1j * _relu(z.imag), (),
              [(0.8, 0.1), (1.2, 0.3), (1.9, 0.05)], False),
    "SplitErf": (cstax.SplitErf, lambda z: erf(z.real) + 1j * erf(z.imag), (),
                 [(0.8, 0.1), (1.5, 0.3), (3.0, 0.05)], False),
    "Split": (lambda: cstax.Split(lambda x: jax.scipy.special.erf(x) / 2, _half_erf_kernel),
              lambda z: erf(z.real) / 2 + 0.5j * erf(z.imag), (),
              [(1.0, 0.1), (4.0, 0.3), (6.0, 0.05)], False),
    "Polynomial": (lambda: cstax.Polynomial(POLY),
                   lambda z: POLY[0] + POLY[1] * z + POLY[2] * z ** 2, (),
                   [(0.2, 0.1), (0.4, 0.05), (0.6, 0.02)], False),
    "Exp": (cstax.Exp, np.exp, (), [(0.1, 0.05), (0.2, 0.1), (0.3, 0.02)], False),
    "Sinh": (cstax.Sinh, np.sinh, (), [(0.3, 0.05), (0.6, 0.1), (0.9, 0.02)], False),
    "Cosh": (cstax.Cosh, np.cosh, (), [(0.1, 0.05), (0.2, 0.1), (0.3, 0.02)], False),
    "ModReLU(-0.5)": (lambda: cstax.ModReLU(-0.5), _modrelu(-0.5), (0.5,),
                      [(1.2, 0.3), (1.6, 0.3), (1.0, 0.5)], False),
    "ModReLU(0)": (lambda: cstax.ModReLU(0.0), _modrelu(0.0), (),
                   [(0.5, 0.1), (0.8, 0.3), (0.95, 0.05)], False),
    "ModReLU(0.5)": (lambda: cstax.ModReLU(0.5), _modrelu(0.5), (),
                     [(0.3, 0.1), (0.5, 0.3), (0.7, 0.05)], True),
    "Cardioid": (cstax.Cardioid,
                 lambda z: 0.5 * (1 + np.real(z) / np.where(z == 0, 1, np.abs(z))) * z, (),
                 [(1.0, 0.1), (2.0, 0.3), (2.6, 0.05)], False),
    "ZReLU": (cstax.ZReLU, lambda z: np.where((z.real > 0) & (z.imag > 0), z, 0), (),
              [(1.5, 0.1), (2.5, 0.3), (3.9, 0.05)], True),
    "ElementwiseNumerical": (
        lambda: cstax.ElementwiseNumerical(_numerical_fn, smooth=True),
        lambda z: np.exp(z / 2) + 0.3 * np.conj(z) ** 2, (),
        [(0.1, 0.05), (0.2, 0.1), (0.3, 0.02)], False),
}


def _reference(f, kinks, W_var, b_var, jumps):
    q_pre = pq.pre_activation_q_star(f, W_var, b_var, kinks)
    v, a, b = pq.diagonal_moments(f, q_pre, kinks)
    q_post = v  # the block's output variance
    if jumps:
        return q_post, np.inf, W_var * pq.rotation_slope(f, q_pre, radial_kinks=kinks)
    return q_post, W_var * (a + b), W_var * (a - b)


@pytest.mark.parametrize("name", sorted(CASES))
def test_q_star_and_multipliers(name):
    layer, f, kinks, points, jumps = CASES[name]
    block = lambda w, b: cstax.serial(cstax.Dense(64, w, b), layer())  # noqa: E731
    W = np.array([[p[0]] for p in points])   # (n, 1): points, not a grid
    B = np.array([[p[1]] for p in points])
    pd = phase_diagram(block, W, B, correlation=False)
    q_star, chi_1, chi_phase = pd.q_star.ravel(), pd.chi_1.ravel(), pd.chi_phase.ravel()
    assert pd.status.ravel().tolist() == [Status.OK] * len(points)
    for i, (w, b) in enumerate(points):
        q_ref, par_ref, phase_ref = _reference(f, kinks, w, b, jumps)
        np.testing.assert_allclose(q_star[i], q_ref, rtol=RTOL, err_msg=f"q* at {w, b}")
        if jumps:
            assert chi_1[i] == np.inf
        else:
            np.testing.assert_allclose(chi_1[i], par_ref, rtol=RTOL, err_msg=f"chi_1 at {w, b}")
        np.testing.assert_allclose(chi_phase[i], phase_ref, rtol=RTOL,
                                   err_msg=f"chi_phase at {w, b}")


def test_issue_points_modrelu():
    """The issue's two points: chi_1 0.3378 and 0.4939 (was -2.4e-17)."""
    block = lambda w, b: cstax.serial(cstax.Dense(64, w, b), cstax.ModReLU(-0.5))  # noqa: E731
    pd = phase_diagram(block, [1.2, 1.6], [0.3], correlation=False)
    np.testing.assert_allclose(pd.chi_1[0], [0.3378, 0.4939], atol=1e-4)


def test_zrelu_q_star_closed_form():
    """zReLU is positively homogeneous with E|f|^2 = q/4: pre-activation
    q* = b_var/(1 - W_var/4), finite (status OK, not SCALE_FREE) for W_var < 4."""
    block = lambda w, b: cstax.serial(cstax.Dense(64, w, b), cstax.ZReLU())  # noqa: E731
    W = np.array([0.5, 1.5, 3.0])
    pd = phase_diagram(block, W, [0.1], correlation=False)
    q_pre = 0.1 / (1 - W / 4)
    np.testing.assert_allclose(pd.q_star[0], q_pre / 4, rtol=1e-12)
    assert pd.status[0].tolist() == [Status.OK] * 3
    beyond = phase_diagram(block, [4.5], [0.1], correlation=False)
    assert beyond.status[0, 0] == Status.SCALE_FREE and np.isnan(beyond.q_star[0, 0])


def test_math_section6_reference_values():
    """MATH.md section 6 values, re-derived from the independent quadrature."""
    crelu = lambda z: _relu(z.real) + 1j * _relu(z.imag)  # noqa: E731
    v, a, b = pq.diagonal_moments(crelu, 1.7)
    np.testing.assert_allclose([v / 1.7, a, b], [0.5, 3 / 8, 1 / 8], rtol=1e-9)
    cardioid = CASES["Cardioid"][1]
    v, a, b = pq.diagonal_moments(cardioid, 0.9)
    np.testing.assert_allclose([v / 0.9, a, b], [3 / 8, 13 / 32, 1 / 32], rtol=1e-9)
    # cardioid critical at W_var = 16/7 (chi_par = W (A + B) = 1), any b_var
    np.testing.assert_allclose(16 / 7 * (a + b), 1.0, rtol=1e-9)
    # split-erf critical point at pre-activation q* = 1: W (A + B)(1) = 1, b = 1 - W V(1)
    split_erf = CASES["SplitErf"][1]
    v, a, b = pq.diagonal_moments(split_erf, 1.0)
    w_crit = 1 / (a + b)
    np.testing.assert_allclose([w_crit, 1 - w_crit * v], [1.3604, 0.0931], atol=1e-4)
    np.testing.assert_allclose(v, (4 / np.pi) * np.arcsin(1 / 2), rtol=1e-9)
    # modReLU b < 0: chi_par = W [V/q + (beta^2/2) E1(beta^2)], chi_phase = 1 - b_var/q*
    W_var, b_var, bias = 1.2, 0.3, -0.5
    f = _modrelu(bias)
    q = pq.pre_activation_q_star(f, W_var, b_var, (0.5,))
    v, a, b = pq.diagonal_moments(f, q, (0.5,))
    beta2 = bias ** 2 / q
    np.testing.assert_allclose(W_var * (a + b), W_var * (v / q + beta2 / 2 * exp1(beta2)),
                               rtol=1e-8)
    np.testing.assert_allclose(W_var * (a - b), 1 - b_var / q, rtol=1e-8)
    # and the library agrees with these closed forms at that point
    block = lambda w, bb: cstax.serial(cstax.Dense(64, w, bb), cstax.ModReLU(bias))  # noqa: E731
    pd = phase_diagram(block, [W_var], [b_var], correlation=False)
    np.testing.assert_allclose(pd.chi_phase[0, 0], 1 - b_var / q, rtol=1e-8)


# ---------------------------------------------------------------------------
# Blocks with several activations (structured chains, nt_complex.phase.structured)
# ---------------------------------------------------------------------------

_MOD = (_modrelu(-0.5), (0.5,), False)
_MOD_POS = (_modrelu(0.5), (), True)
_CRELU = (CASES["CReLU"][1], (), False)
_CARDIOID = (CASES["Cardioid"][1], (), False)
_ZRELU = (CASES["ZReLU"][1], (), True)
_SPLIT_ERF = (CASES["SplitErf"][1], (), False)
_LIN = "linear"

# name -> (block factory, steps of the independent chain, (W_var, b_var) points)
CHAINS = {
    "ModReLU+ModReLU": (
        lambda w, b: cstax.serial(cstax.Dense(64, w, b), cstax.ModReLU(-0.5),
                                  cstax.Dense(64, w, b), cstax.ModReLU(-0.5)),
        [_LIN, _MOD, _LIN, _MOD], [(1.2, 0.3), (1.6, 0.3), (1.0, 0.5)]),
    "CReLU+Cardioid": (
        lambda w, b: cstax.serial(cstax.Dense(64, w, b), cstax.CReLU(),
                                  cstax.Dense(64, w, b), cstax.Cardioid()),
        [_LIN, _CRELU, _LIN, _CARDIOID], [(0.8, 0.1), (1.5, 0.3), (2.0, 0.05)]),
    "ModReLU+ZReLU": (
        lambda w, b: cstax.serial(cstax.Dense(64, w, b), cstax.ModReLU(-0.5),
                                  cstax.Dense(64, w, b), cstax.ZReLU()),
        [_LIN, _MOD, _LIN, _ZRELU], [(1.2, 0.3), (1.6, 0.3), (2.0, 0.1)]),
    "ModReLU(0.5)+CReLU": (
        lambda w, b: cstax.serial(cstax.Dense(64, w, b), cstax.ModReLU(0.5),
                                  cstax.Dense(64, w, b), cstax.CReLU()),
        [_LIN, _MOD_POS, _LIN, _CRELU], [(0.3, 0.1), (0.5, 0.3), (0.7, 0.05)]),
    # trailing linear layer: q* is the output of the last Dense
    "SplitErf+CReLU+Dense": (
        lambda w, b: cstax.serial(cstax.Dense(64, w, b), cstax.SplitErf(),
                                  cstax.Dense(64, w, b), cstax.CReLU(),
                                  cstax.Dense(64, w, b)),
        [_LIN, _SPLIT_ERF, _LIN, _CRELU, _LIN], [(0.8, 0.1), (1.5, 0.3), (2.5, 0.05)]),
    # leading activation: its input is the previous block's Dense output
    "SplitErf+Dense": (
        lambda w, b: cstax.serial(cstax.SplitErf(), cstax.Dense(64, w, b)),
        [_SPLIT_ERF, _LIN], [(0.8, 0.1), (1.5, 0.3), (3.0, 0.05)]),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_q_star_and_multipliers(name):
    """A chain `serial(Dense, f_1, Dense, f_2, ...)` (q = the block's output
    variance): with `p_i` the pre-activation variance of `f_i` along the fixed
    point (`p_1 = W_var q* + b_var`, `p_{i+1} = W_var E|f_i|^2(p_i) + b_var`),
    a real perturbation `dK` of the block input grows to
    `prod_i W_var (E|f_z|^2 + E|f_zb|^2)(p_i) dK` (each Dense multiplies by
    `W_var`, each activation by its complex Price slope at its own `p_i`) and a
    phase perturbation to `prod_i W_var (E|f_z|^2 - E|f_zb|^2)(p_i)` (an extra
    `W_var` per trailing Dense): chi_par, chi_phase. A jumping f_i makes
    chi_par = inf (its phase slope is measured on a rotated copy). All from
    tests/phase_quadrature.py (plain numpy f, polar quadrature, brentq)."""
    block, steps, points = CHAINS[name]
    W = np.array([[p[0]] for p in points])
    B = np.array([[p[1]] for p in points])
    pd = phase_diagram(block, W, B, correlation=False)
    assert pd.status.ravel().tolist() == [Status.OK] * len(points)
    for i, (w, b) in enumerate(points):
        q_ref = pq.chain_q_star(steps, w, b)
        par_ref, phase_ref = pq.chain_multipliers(steps, w, b, q_ref)
        np.testing.assert_allclose(pd.q_star.ravel()[i], q_ref, rtol=RTOL,
                                   err_msg=f"q* at {w, b}")
        if np.isinf(par_ref):
            assert pd.chi_1.ravel()[i] == np.inf
        else:
            np.testing.assert_allclose(pd.chi_1.ravel()[i], par_ref, rtol=RTOL,
                                       err_msg=f"chi_1 at {w, b}")
        np.testing.assert_allclose(pd.chi_phase.ravel()[i], phase_ref, rtol=RTOL,
                                   err_msg=f"chi_phase at {w, b}")


def test_chain_formula_against_the_block_c_map():
    """The product formula for ModReLU+ModReLU at (1.2, 0.3) against finite
    differences of the library's own block NNGP c-map (`c' = K'12/K'11` at the
    reference q*): `(1 - c'(1 - d))/d` for d = 1e-2, 3e-3, 1e-3 approaches it
    monotonically with error ~ a sqrt(d) + b d (consistent with a
    (1 - c)^(3/2) term in the c-map); the fit of that form through the three values gives
    chi_par to 1e-4 (measured 9e-6), and the phase slope Im c'(e^{i d})/d likewise."""
    from nt_complex.phase.maps import BlockSpec, pair_kernel
    block, steps, _ = CHAINS["ModReLU+ModReLU"]
    W_var, b_var = 1.2, 0.3
    q = pq.chain_q_star(steps, W_var, b_var)
    par_ref, phase_ref = pq.chain_multipliers(steps, W_var, b_var, q)
    kernel_fn = block(W_var ** 0.5, b_var ** 0.5)[2]
    spec = BlockSpec(block, (), True, False)

    @jax.jit
    @jax.vmap
    def c_map(c):
        out = kernel_fn(pair_kernel(spec, jnp.asarray(q), q * c)).nngp
        return out[0, 1] / out[0, 0]

    d = np.array([1e-2, 3e-3, 1e-3])
    out = np.asarray(c_map(jnp.concatenate([1 - jnp.asarray(d), jnp.exp(1j * jnp.asarray(d))])))
    par_fd = (1 - np.real(out[:3])) / d
    phase_fd = np.imag(out[3:]) / d
    fit = np.stack([np.ones(3), np.sqrt(d), d], axis=1)
    assert np.all(np.diff(np.abs(par_fd - par_ref)) < 0)   # closer as d shrinks
    np.testing.assert_allclose(np.linalg.solve(fit, par_fd)[0], par_ref, rtol=1e-4)
    np.testing.assert_allclose(np.linalg.solve(fit, phase_fd)[0], phase_ref, rtol=1e-4)


def test_chain_dispatch():
    """`split_block` returns the steps of chains (activations, linear layers) and
    residual blocks, None for other layers; `check_activation_inputs` rejects
    blocks whose activations would not receive a circular Gaussian kernel
    (so they use the generic path)."""
    from nt_complex.phase.structured import (ActivationStep, ResidualStep,
                                             check_activation_inputs, split_block)
    from nt_complex.phase.maps import BlockSpec
    for name, (block, steps, _) in CHAINS.items():
        parts = split_block(block(1.0, 0.1))
        kinds = [isinstance(step, ActivationStep) for step in parts.steps]
        assert kinds == [step != _LIN for step in steps], name
    d, c = cstax.Dense(4), cstax.CReLU()
    residual = split_block(cstax.serial(d, cstax.FanOut(2),
                                        cstax.parallel(cstax.serial(d, c), cstax.Identity()),
                                        cstax.FanInSum()))
    assert isinstance(residual.steps[1], ResidualStep)
    assert [len(branch) for branch in residual.steps[1].branches] == [2, 1]
    assert split_block(cstax.serial(d, c, cstax.Softmax(), d, c)) is None  # not linear
    assert split_block(cstax.serial(d, cstax.FanOut(2), cstax.parallel(c, d),
                                    cstax.FanInConcat())) is None          # FanInConcat
    from neural_tangents import stax as nt_stax
    assert split_block(nt_stax.serial(nt_stax.Dense(4), nt_stax.Relu())) is None  # NT's
    spec = BlockSpec(lambda w, b: d, (), True, False)
    for bad in (cstax.serial(d, c, c),                                 # two in a row
                cstax.serial(c, d, c),                                 # reads its own output
                cstax.serial(d, c, cstax.Dense(4, W_pseudo=0.5), c)):  # pseudo kept
        with pytest.raises(ValueError, match="circular Gaussian"):
            check_activation_inputs(spec, bad)


# name -> (activation factory, numpy f, radial kinks, jumps, (W_var, b_var) points)
RESIDUAL = {
    "ModReLU(-0.5)": (lambda: cstax.ModReLU(-0.5), _modrelu(-0.5), (0.5,), False,
                      [(0.3, 0.1), (0.4, 0.3), (0.45, 0.05)]),
    "ZReLU": (cstax.ZReLU, CASES["ZReLU"][1], (), True, [(0.3, 0.1), (0.4, 0.3), (0.6, 0.05)]),
    "ModReLU(0.5)": (lambda: cstax.ModReLU(0.5), _modrelu(0.5), (), True,
                     [(0.3, 0.1), (0.35, 0.3), (0.4, 0.05)]),
}


@pytest.mark.parametrize("name", sorted(RESIDUAL))
def test_residual_q_star_and_multipliers(name):
    """`Dense -> FanOut(2) -> parallel(f, Identity) -> FanInSum`: the output
    variance is `E|f|^2(p) + p` with `p = W_var q + b_var` (FanInSum adds the
    branches' kernels), so the pre-activation fixed point solves
    `W_var (E|f|^2(p) + p) + b_var = p`, and a perturbation grows by
    `W_var (slope of f + 1)`: chi_par = `W_var (E|f_z|^2 + E|f_zb|^2 + 1)` (inf
    if f jumps), chi_phase = `W_var (E|f_z|^2 - E|f_zb|^2 + 1)` (rotated-copy
    slope for a jump). The generic path (autodiff through the block's
    kernel_fn at c = 1) gave q* = NaN for zReLU and NO_FIXED_POINT for
    modReLU(0.5) here, and chi_1 = W_var for modReLU(-0.5) when evaluated
    eagerly. References from tests/phase_quadrature.py (plain numpy f)."""
    act, f, kinks, jumps, points = RESIDUAL[name]

    def block(w, b):
        return cstax.serial(cstax.Dense(64, w, b), cstax.FanOut(2),
                            cstax.parallel(act(), cstax.Identity()), cstax.FanInSum())

    W = np.array([[p[0]] for p in points])
    B = np.array([[p[1]] for p in points])
    pd = phase_diagram(block, W, B, correlation=False)
    assert pd.status.ravel().tolist() == [Status.OK] * len(points)
    for i, (w, b) in enumerate(points):
        p = pq._least_root(lambda x: w * (pq.variance(f, x, kinks) + x) + b - x, 50.0)
        v, a, bb = pq.diagonal_moments(f, p, kinks)
        np.testing.assert_allclose(pd.q_star.ravel()[i], v + p, rtol=RTOL, err_msg=f"q* {w, b}")
        if jumps:
            assert pd.chi_1.ravel()[i] == np.inf
            phase_ref = w * (pq.rotation_slope(f, p, radial_kinks=kinks) + 1)
        else:
            np.testing.assert_allclose(pd.chi_1.ravel()[i], w * (a + bb + 1), rtol=RTOL)
            phase_ref = w * (a - bb + 1)
        np.testing.assert_allclose(pd.chi_phase.ravel()[i], phase_ref, rtol=RTOL)


def test_chain_conv_matches_generic_path():
    """Conv(3, SAME) + CReLU twice on 5 positions (position-dependent Jacobians
    at the borders): the structured q-map and chi_par, chi_phase (spectral
    radius of the composed positions x positions Jacobians) equal the generic
    path's (the block's own kernel_fn; autodiff at c = 1, exact for CReLU) to
    1e-10, at a non-uniform variance profile and three (W_var, b_var) points."""
    import dataclasses
    from nt_complex.phase.probe import inspect_block
    from nt_complex.phase.solve import _maps

    def block(w, b):
        conv = lambda: cstax.Conv(8, (3,), padding="SAME", W_std=w, b_std=b)  # noqa: E731
        return cstax.serial(conv(), cstax.CReLU(), conv(), cstax.CReLU())

    spec = inspect_block(block, (5,))
    assert spec.structured
    generic = dataclasses.replace(spec, structured=False)
    q = jnp.array([0.7, 1.3, 0.9, 2.1, 0.4])

    def evaluate(s):
        def point(w, b):
            q_map, _, multipliers = _maps(s, jnp.sqrt(w), jnp.sqrt(b))
            return (q_map(q),) + tuple(multipliers(q))
        return jax.jit(jax.vmap(point))(jnp.array([0.8, 1.5, 1.9]), jnp.array([0.1, 0.3, 0.05]))

    fast, slow = evaluate(spec), evaluate(generic)
    for name, a, b in zip(("q_map", "chi_par", "chi_phase"), fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=0, err_msg=name)
    assert np.ptp(np.asarray(fast[0])[0]) > 1e-2          # positions differ
    assert np.all(np.asarray(fast[1]) > 3 * np.asarray(fast[2]))  # par != phase

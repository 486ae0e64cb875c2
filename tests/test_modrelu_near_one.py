"""Scaled Bessel functions of the modReLU near-1 rule (`scaled_bessel`) against
scipy/mpmath, and the rule's large-argument blocks against the scipy Bessel
double integral of tests/test_modrelu.py."""

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
from scipy import special

from nt_complex.special import bessel_quadrature as bq
from nt_complex.special import modrelu as mr
from nt_complex.special import scaled_bessel as sb
from nt_complex.special.scaled_bessel import LARGE_ARGUMENT, scaled_bessel
from test_modrelu import KINDS, _bessel_reference

_EVAL = jax.jit(lambda z: jnp.stack([scaled_bessel(k, z) for k in range(3)]))
_EVAL_LARGE = jax.jit(lambda z: jnp.stack([scaled_bessel(k, z, True) for k in range(3)]))


def _mp_ive(order, z, dps=40):
    mp.mp.dps = dps
    z = mp.mpf(z)
    return float(mp.besseli(order, z) * mp.exp(-z))


def test_scaled_bessel_against_scipy_both_branches():
    """<= 5e-15 relative on [0, 1e6] (scipy's range), dense around z = 25
    where the power series hands over to the large-argument series."""
    rng = np.random.default_rng(0)
    z = np.concatenate([[0.0, 1e-300, 1e-8], np.geomspace(1e-6, 1e6, 400),
                        rng.uniform(0, 60, 400), LARGE_ARGUMENT * (1 + np.linspace(-1e-3, 1e-3, 41))])
    got = np.asarray(_EVAL(jnp.array(z)))
    for order in range(3):
        ref = special.ive(order, z)
        tiny = ref < 1e-290  # I_1e, I_2e underflow near z = 0: compare absolutely
        err = np.where(tiny, np.abs(got[order] - ref), np.abs(got[order] - ref) / np.where(tiny, 1, ref))
        assert err.max() <= 5e-15, (order, z[np.argmax(err)], err.max())


def test_large_argument_series_alone_from_the_threshold_to_1e12():
    """`large=True` (the branch the rule takes for a whole block): <= 1e-15
    relative from exactly z = LARGE_ARGUMENT up, against mpmath (40 digits).
    Fails if the threshold or the number of Hankel terms is lowered."""
    z = np.concatenate([[LARGE_ARGUMENT, LARGE_ARGUMENT * 1.01, 30.0, 50.0, 1e3, 1e8, 1e12]])
    got = np.asarray(_EVAL_LARGE(jnp.array(z)))
    for order in range(3):
        for i, zi in enumerate(z):
            ref = _mp_ive(order, zi)
            assert abs(got[order, i] - ref) <= 1e-15 * ref, (order, zi, got[order, i], ref)


def test_series_truncation_at_the_threshold_in_exact_arithmetic():
    """The library's coefficients summed in mpmath (no float rounding) at
    z = LARGE_ARGUMENT: both truncated series are within 3e-17 relative of
    `I_nu(z) e^{-z}` (fails with 18 Hankel terms, 5e-17, or a lower threshold)."""
    mp.mp.dps = 40
    z = mp.mpf(LARGE_ARGUMENT)
    for order in range(3):
        ref = mp.besseli(order, z) * mp.exp(-z)
        hankel = sb._HANKEL[order][::-1]  # lowest power first
        large = sum(mp.mpf(a) / z ** k for k, a in enumerate(hankel)) / mp.sqrt(2 * mp.pi * z)
        series = sb._SERIES[order][::-1]
        small = mp.exp(-z) * (z / 2) ** order * sum(mp.mpf(a) * (z * z / 4) ** k
                                                    for k, a in enumerate(series))
        for value in (large, small):
            assert abs(value - ref) <= 3e-17 * ref, (order, float(abs(value - ref) / ref))


@pytest.mark.parametrize("large", [False, True])
def test_scaled_bessel_derivative_against_mpmath(large):
    """The custom JVP (order recurrences) against mpmath's derivative of
    `I_nu(z) e^{-z}`, including z = 0 and both sides of the threshold, to
    5e-15 of the larger of the function's value and its slope (`I_0e - I_1e`
    cancels for large z; `I_1e, I_2e` vanish at 0 while slopes do not)."""
    z = np.array([25.0, 25.5, 40.0, 1e4]) if large else np.array([0.0, 1e-3, 0.7, 24.9, 25.0, 80.0])
    for order in range(3):
        slope = np.asarray(jax.vmap(jax.grad(lambda v: scaled_bessel(order, v, large)))(jnp.array(z)))
        for zi, got in zip(z, slope):
            mp.mp.dps = 40
            ref = float(mp.diff(lambda v: mp.besseli(order, v) * mp.exp(-v), mp.mpf(zi)))
            scale = max(_mp_ive(order, zi), abs(ref), 1e-30)  # mp.diff: ~1e-89 for 0
            assert abs(got - ref) <= 5e-15 * scale, (order, zi, got, ref)


# c = -beta per entry; each case's Bessel arguments are all >= LARGE_ARGUMENT
_LARGE_CASES = [(0.2, 0.13, 1 - 1e-6), (10.0, 8.77, 0.985), (10.0, 8.77, 1 - 1e-12),
                (0.5, 0.45, 0.9995), (0.45, 0.5, 1 - 1e-9)]


def test_large_argument_blocks_against_bessel_double_integral():
    """Entries whose window arguments all exceed LARGE_ARGUMENT (the sort key
    marks them, so they share a block that evaluates the large-argument series
    only) against the scipy double integral, <= 1e-10 relative to the value;
    the same entries evaluated together with a small-argument entry (both
    series, selected per node) agree to 1e-13."""
    c1s, c2s, xs = (jnp.array(v) for v in zip(*_LARGE_CASES))
    assert not np.any(np.asarray(bq._slow_bessel(c1s, c2s, xs)))
    alone = jax.jit(mr.modrelu_quadrature)(c1s, c2s, xs)
    mixed = jax.jit(mr.modrelu_quadrature)(*(jnp.append(v, w) for v, w in
                                              zip((c1s, c2s, xs), (0.01, 0.0063, 0.985))))
    for i, (c1, c2, x) in enumerate(_LARGE_CASES):
        for k, kind in enumerate(KINDS):
            ref = _bessel_reference(kind, -c1, -c2, x)
            got = float(alone[k][i])
            assert abs(got - ref) <= 1e-10 * ref, (c1, c2, x, kind, got, ref)
            assert abs(float(mixed[k][i]) - got) <= 1e-13 * ref, (c1, c2, x, kind)

"""Measured sigma_w^2 of jax.nn.initializers vs their analytic intent.

Every family must contain its intended value in its measured confidence
interval, except jax's complex truncated normal, whose excess factor is derived
here from the sampler's definition (mpmath) and asserted.
"""

import inspect
import math
import re

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from nt_complex import initializers as ini

SPECS = {s.name: s for s in ini.SPECS}
TRUNCATED = {"lecun_truncated_normal", "glorot_truncated_normal", "he_truncated_normal"}


def _jax_complex_truncation_divisor() -> float:
    """The divisor jax applies to its complex truncated-normal sampler, read
    from `variance_scaling`'s own source (the complex branch)."""
    src = inspect.getsource(jax.nn.initializers.variance_scaling)
    branch = src[src.index("_complex_truncated_normal") - 300:src.index("_complex_truncated_normal")]
    return float(re.findall(r"jnp\.array\(([0-9.]+), dtype\)", branch)[-1])


def _sampler_mean_square(upper: float) -> mpmath.mpf:
    """E|z|^2 of jax's `_complex_truncated_normal(upper)`: it draws
    t ~ U(0, 1 - e^{-upper^2}) and r = sqrt(-log(1 - t)), so
    E r^2 = (1/T) * integral_0^T -log(1 - t) dt, T = 1 - e^{-upper^2}."""
    mpmath.mp.dps = 40
    T = 1 - mpmath.e ** (-mpmath.mpf(upper) ** 2)
    return mpmath.quad(lambda t: -mpmath.log(1 - t), [0, T]) / T


def _sampler_source_is_the_one_integrated():
    sampler = jax.nn.initializers.variance_scaling.__globals__["_complex_truncated_normal"]
    src = inspect.getsource(sampler)
    return ("jnp.sqrt(-jnp.log(1 - t))" in src and "jnp.exp(jnp.array(-(upper ** 2)" in src
            and "random.uniform(key_r" in src)


def expected_truncated_ratio() -> float:
    """measured/intended for jax's complex truncated normal, from its definition."""
    assert _sampler_source_is_the_one_integrated(), "jax's complex sampler changed"
    divisor = _jax_complex_truncation_divisor()
    return float(_sampler_mean_square(2.0) / mpmath.mpf(divisor) ** 2)


def test_expected_truncated_ratio_is_one_over_one_minus_e4():
    ratio = expected_truncated_ratio()
    # The divisor is sqrt(E r^2 without the 1/T normalisation) = sqrt(1 - 5 e^-4)
    # (jax's 17-digit literal is itself off by 9e-14, hence 1e-12 below):
    assert abs(_jax_complex_truncation_divisor() - math.sqrt(1 - 5 * math.exp(-4))) < 1e-12
    assert abs(ratio - 1 / (1 - math.exp(-4))) < 1e-12
    assert abs(ratio - ini.COMPLEX_TRUNCATED_NORMAL_FACTOR) < 1e-12
    assert 0.0186 < ratio - 1 < 0.0187


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.complex128])
def test_every_family_agrees_with_its_intent_except_complex_truncated(dtype):
    fams = ini.families(fan_in=128, fan_out=128, dtype=dtype, key=1, n_draws=32)
    assert {f.name for f in fams} == set(SPECS)
    complex_dtype = np.issubdtype(np.dtype(dtype), np.complexfloating)
    for f in fams:
        if complex_dtype and f.name in TRUNCATED:
            continue
        assert f.agrees, (f.name, f.intended, f.ci_low, f.ci_high)
        assert f.ci_high - f.ci_low < 0.03 * f.intended  # the interval is informative


@pytest.mark.parametrize("dtype", [jnp.complex128, jnp.complex64])
def test_complex_truncated_normal_excess_is_the_derived_factor(dtype):
    ratio = expected_truncated_ratio()
    for name in sorted(TRUNCATED):
        f = ini.family(SPECS[name], 128, 128, dtype, key=2, n_draws=64)
        m = f.measurement
        assert not f.agrees, name
        expected = ratio * f.intended
        assert m.ci_low <= expected <= m.ci_high, (name, m.mean, expected)
        assert f"**DISAGREES** ({100 * f.discrepancy:+.2f}%)" in ini.report([f])


def test_real_truncated_normal_matches_in_single_precision():
    f = ini.family(SPECS["he_truncated_normal"], 128, 128, jnp.float32, key=3, n_draws=64)
    assert f.agrees and f.intended == 2.0


@pytest.mark.parametrize("shape", [(100, 300), (300, 100), (64, 64)])
@pytest.mark.parametrize("dtype", [jnp.float64, jnp.complex128])
def test_orthogonal_is_exact(shape, dtype):
    spec = SPECS["orthogonal"]
    m = ini.measure(spec.initializer(), shape, dtype, key=4, n_draws=4,
                    intended=ini.intended_W_var(spec, shape))
    rows, cols = shape
    assert abs(m.mean - rows / max(rows, cols)) < 1e-12
    assert m.agrees


@pytest.mark.parametrize("shape", [(3, 64, 128), (3, 3, 32, 32)])
@pytest.mark.parametrize("dtype", [jnp.float64, jnp.complex128])
def test_delta_orthogonal_is_exact(shape, dtype):
    spec = ini.FamilySpec("d", "delta_orthogonal", scale=1.5)
    m = ini.measure(spec.initializer(), shape, dtype, key=5, n_draws=4,
                    intended=ini.intended_W_var(spec, shape))
    assert abs(m.mean - 1.5 ** 2 * shape[-2] / shape[-1]) < 1e-12
    assert m.agrees


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_variance_scaling_modes_on_rectangular_shapes(mode, distribution):
    spec = ini.FamilySpec("v", "variance_scaling", 0.7, mode, distribution)
    for dtype in (jnp.float64, jnp.complex128):
        m = ini.measure(spec.initializer(), (60, 240), dtype, key=6, n_draws=32,
                        intended=ini.intended_W_var(spec, (60, 240)))
        n = {"fan_in": 60, "fan_out": 240, "fan_avg": 150, "fan_geo_avg": 120}[mode]
        assert m.intended == pytest.approx(0.7 * 60 / n, rel=1e-14)
        assert m.agrees, (mode, distribution, dtype, m)


def test_pseudo_variance_ratio_real_one_complex_zero():
    real = ini.family(SPECS["glorot_uniform"], 64, 64, jnp.float64, n_draws=16)
    assert real.measurement.pseudo_ratio == 1
    for name in ("glorot_uniform", "lecun_normal", "he_truncated_normal", "orthogonal"):
        m = ini.family(SPECS[name], 64, 64, jnp.complex128, n_draws=16).measurement
        assert abs(m.pseudo_ratio) < 5 * m.pseudo_ratio_se, name


def test_families_drawing_attributes_and_report():
    fams = ini.families(fan_in=32, fan_out=64, dtype=jnp.complex128, n_draws=8, b_var=0.1)
    for f in fams:
        assert isinstance(f.name, str) and isinstance(f.W_var, float)
        assert f.b_var == 0.1 and isinstance(f.marker, str)
    table = ini.report(fams)
    assert table.count("\n") == len(fams) + 1
    assert len(ini.families(fan_in=64, fan_out=32, n_draws=4)) == len(SPECS) - 1


def test_errors_name_the_argument():
    init = jax.nn.initializers.lecun_normal()
    with pytest.raises(ValueError, match="n_draws"):
        ini.measure(init, (4, 4), n_draws=1)
    with pytest.raises(ValueError, match="dtype"):
        ini.measure(init, (4, 4), dtype=jnp.int32)
    with pytest.raises(ValueError, match="shape"):
        ini.measure(init, (4,))
    with pytest.raises(ValueError, match="fan_in"):
        ini.family(SPECS["delta_orthogonal"], 8, 4)
    with pytest.raises(ValueError, match="mode"):
        ini.FamilySpec("x", "variance_scaling", 1.0, "fan_max", "normal")
    with pytest.raises(ValueError, match="intended"):
        ini.measure(init, (4, 4), n_draws=2).agrees

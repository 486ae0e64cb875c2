"""Tolerances for tests that also run in the float32 smoke pass (`make test`
runs the whole suite in float64, then the `smoke` subset with x64 off)."""

import jax


def tolerance(float64_tolerance: float) -> float:
    """`float64_tolerance` in float64; in float32, 2e-5 (about 170 float32 ulps,
    room for the accumulated rounding of covariance sums over ~10-100 terms)."""
    return float64_tolerance if jax.config.jax_enable_x64 else max(float64_tolerance, 2e-5)

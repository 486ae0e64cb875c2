"""Activation rules evaluated in blocks of rows (`_row_blocks`) equal the
unblocked evaluation, for every activation, `x2` given (with copies of `x1`
points, the same-point mask) or not, non-circular inputs, full spatial
covariances, and derivatives. The blocks are made tiny here (2 rows, a padded
last block) so that the small test networks are blocked at all."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nt_complex import stax
from nt_complex.stax.activations import _row_blocks
from nt_complex.stax.activations.numerical import ElementwiseNumerical

N1, N2, D = 7, 5, 6
FIELDS = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")
# name: (activation, W_pseudo of the first layer; 0 for circular-only rules).
# ModReLU(b < 0) shares ModReLU(0.5)'s rule and output layout (and compiles 10x longer).
ACTIVATIONS = {
    "CReLU": (stax.CReLU, 0.5), "SplitErf": (stax.SplitErf, 0.5),
    "Exp": (stax.Exp, 0.5), "Cardioid": (stax.Cardioid, 0.),
    "ZReLU": (stax.ZReLU, 0.), "ModReLU(0.5)": (lambda: stax.ModReLU(0.5), 0.),
    "Numerical": (lambda: ElementwiseNumerical(jnp.sin, deg=12, smooth=True), 0.3),
}


def _inputs(seed):
    rng = np.random.default_rng(seed)
    x1 = (rng.normal(size=(N1, D)) + 1j * rng.normal(size=(N1, D))) / 2
    new = (rng.normal(size=(N2 - 2, D)) + 1j * rng.normal(size=(N2 - 2, D))) / 2
    return x1, np.concatenate([x1[[4, 1]], new])  # x2 holds copies of two x1 points


def _blocked_and_not(monkeypatch, kernel, entries_per_block):
    """`kernel()` unblocked and with `entries_per_block`; `kernel` must jit
    anew (a jitted function reuses its trace, blocked or not)."""
    monkeypatch.setattr(_row_blocks, "ENTRIES_PER_BLOCK", 10 ** 9)
    whole = kernel()
    monkeypatch.setattr(_row_blocks, "ENTRIES_PER_BLOCK", entries_per_block)
    return kernel(), whole


def _assert_equal_kernels(blocked, whole):
    for field in FIELDS:
        a, b = getattr(blocked, field), getattr(whole, field)
        if b is None:
            assert a is None, field
            continue
        scale = np.max(np.abs(np.where(np.isfinite(b), b, 0)))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14 * scale, err_msg=field)


def _dense_kernel_fn(act, w_pseudo):
    return jax.jit(stax.serial(stax.Dense(16, 1.3, 0.2, W_pseudo=w_pseudo), act(),
                               stax.Dense(1, 1.1, 0.1))[2])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_blocked_rows_equal_whole_kernel(monkeypatch, name):
    """x2 given (same-point mask from the pairs' moments); 2 rows per block,
    the last one padded."""
    act, w_pseudo = ACTIVATIONS[name]
    x1, x2 = _inputs(0)
    blocked, whole = _blocked_and_not(
        monkeypatch, lambda: _dense_kernel_fn(act, w_pseudo)(x1, x2), 2 * N2)
    _assert_equal_kernels(blocked, whole)


def test_blocked_rows_equal_whole_kernel_without_x2(monkeypatch):
    """x2 = None: the same-point mask from each block's row numbers."""
    x1, _ = _inputs(0)
    blocked, whole = _blocked_and_not(
        monkeypatch, lambda: _dense_kernel_fn(stax.CReLU, 0.5)(x1, None), 2 * N1)
    _assert_equal_kernels(blocked, whole)


def test_blocking_happens_only_above_the_block_size(monkeypatch):
    x1, x2 = _inputs(1)
    def jaxpr():
        kernel_fn = stax.serial(stax.Dense(4), stax.CReLU())[2]
        return str(jax.make_jaxpr(lambda a, b: kernel_fn(a, b, "ntk"))(x1, x2))
    blocked, whole = _blocked_and_not(monkeypatch, jaxpr, 2 * N2)
    assert blocked.count("scan[") == whole.count("scan[") + 1


def test_conv_with_spatial_covariances(monkeypatch):
    """Non-circular Conv network keeping the full spatial covariance (global
    average pooling), jitted."""
    rng = np.random.default_rng(2)
    x1 = rng.normal(size=(N1, 3, 3, 2)) + 1j * rng.normal(size=(N1, 3, 3, 2))
    x2 = rng.normal(size=(N2, 3, 3, 2)) + 1j * rng.normal(size=(N2, 3, 3, 2))

    def kernel_fn():
        return stax.serial(stax.Conv(8, (3, 3), padding="SAME", W_pseudo=0.5, b_std=0.1),
                           stax.CReLU(), stax.Conv(8, (2, 2)), stax.GlobalAvgPool(),
                           stax.Dense(1))[2]
    entries_per_row = N2 * 3 ** 4  # (x2 point, 3 x 3 positions against 3 x 3)
    blocked, whole = _blocked_and_not(
        monkeypatch, lambda: jax.jit(kernel_fn())(x1, x2), 3 * entries_per_row)
    _assert_equal_kernels(blocked, whole)


def test_gradient_in_x2_through_blocks(monkeypatch):
    x1, x2 = _inputs(3)

    def grad():
        f = stax.serial(stax.Dense(16, 1.3, 0.2, W_pseudo=0.5), stax.CReLU(),
                        stax.Dense(1, 1.1, 0.1))[2]
        return jax.jit(jax.grad(lambda b: jnp.sum(jnp.abs(f(x1, b, "ntk")) ** 2)))(x2)
    blocked, whole = _blocked_and_not(monkeypatch, grad, 2 * N2)
    np.testing.assert_allclose(blocked, whole, rtol=0, atol=1e-13 * np.max(np.abs(whole)))

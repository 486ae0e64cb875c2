"""`nt_complex.batch` (NT's `nt.batch` for complex kernel_fns) returns full
ComplexKernels equal to the unbatched kernel to 1e-12, diagonals included, on
2 simulated host devices (a subprocess: XLA_FLAGS must be set before jax starts).

The reference is the jitted unbatched kernel_fn: NT's batching always jits, and
for some networks eager and jitted kernels differ by ~2e-9 on the diagonal (a
pre-existing arc-cosine rounding effect, independent of batching)."""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import os
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_force_host_platform_device_count=2")
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import nt_complex  # first: NT needs its compatibility layer on current jax
    import neural_tangents as nt
    from nt_complex import ComplexKernel, stax
    from nt_complex.kernel import FIELDS
    assert jax.device_count() == 2
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4, 4, 2)) + 1j * rng.normal(size=(8, 4, 4, 2))
    x2 = rng.normal(size=(4, 4, 4, 2)) + 1j * rng.normal(size=(4, 4, 4, 2))
    xf = rng.normal(size=(8, 5)) + 1j * rng.normal(size=(8, 5))

    def conv(wp):
        return stax.serial(
            stax.Conv(8, (2, 2), padding="SAME", W_pseudo=wp, b_std=0.1, b_pseudo=1.0),
            stax.CReLU(), stax.Flatten(), stax.Dense(8, W_pseudo=wp), stax.CReLU(),
            stax.Dense(1, W_pseudo=wp))[2]

    def dense(wp):
        return stax.serial(stax.Dense(16, 1.4, 0.1, W_pseudo=wp, b_pseudo=0.5), stax.CReLU(),
                           stax.Dense(16, 1.4, 0.1, W_pseudo=wp), stax.CReLU(),
                           stax.Dense(1, W_pseudo=wp))[2]

    def check(a, b, what):
        if b is None:
            assert a is None, what
            return
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (what, a.shape, b.shape)
        err = float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))
        assert err < 1e-12, (what, err)

    tuple_get = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk", "cov1", "pseudo_cov2")
    n_checked = 0
    # Each network circular and not, x2 None and given, store_on_device both ways,
    # device_count 2, -1 (all) and 0 (no pmap); the last flag also checks tuple and
    # string `get` (each case and get form is a compilation: one case checks them).
    cases = [(dense, 0.0, xf, xf[:4] * 0.7j, 2, -1, True, False),
             (dense, 0.5, xf, None, 2, 2, False, True),
             (conv, 0.5, x, x2, 2, 2, False, False),
             (conv, 0.0, x, None, 4, 0, True, False)]
    for make, wp, xa, xb, batch_size, device_count, store, gets in cases:
        kernel_fn = make(wp)
        full = jax.jit(lambda a, b: kernel_fn(a, b))(xa, xb)
        batched = nt_complex.batch(kernel_fn, batch_size, device_count, store)
        k = batched(xa, xb)
        assert isinstance(k, ComplexKernel) and k.is_circular == full.is_circular
        for name in FIELDS:
            check(getattr(k, name), getattr(full, name), (name, wp, xb is None))
        for meta in ("shape1", "shape2", "is_reversed", "diagonal_spatial",
                     "is_gaussian", "is_input", "batch_axis", "channel_axis"):
            assert getattr(k, meta) == getattr(full, meta), meta
        assert bool(k.x1_is_x2) == (xb is None)
        if xb is None:
            check(np.diagonal(np.asarray(k.ntk)), np.diagonal(np.asarray(full.ntk)), "diagonal")
        n_checked += 1
        if not gets:
            continue
        out = batched(xa, xb, tuple_get)
        assert type(out).__name__ == "ComplexAnalyticKernel"
        for name, value in zip(tuple_get, out):
            expected = None if (name == "pseudo_cov2" and xb is None) else full.get(name)
            check(value, expected, (name, "tuple"))
        check(batched(xa, xb, "ntk"), full.ntk, "str get")
    print("ok", n_checked)
""")


@pytest.mark.slow
def test_batch_returns_full_complex_kernels_on_two_devices():
    env = dict(os.environ, JAX_ENABLE_X64="1", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            env=env, timeout=900)
    assert result.returncode == 0 and "ok 4" in result.stdout, result.stderr[-3000:]


def test_batch_rejects_kernels_and_nt_kernel_fns():
    import numpy as np

    import nt_complex  # first: NT needs its compatibility layer on current jax
    import neural_tangents as nt
    from nt_complex import stax
    x = np.ones((4, 3)) * (1 + 1j)
    _, _, kernel_fn = stax.serial(stax.Dense(4), stax.CReLU(), stax.Dense(1))
    with pytest.raises(TypeError, match="input arrays"):
        nt_complex.batch(kernel_fn, 2, 0)(nt_complex.input_kernel(x))
    _, _, nt_kernel_fn = nt.stax.serial(nt.stax.Dense(4), nt.stax.Relu(), nt.stax.Dense(1))
    with pytest.raises(TypeError, match="Use nt.batch"):
        nt_complex.batch(nt_kernel_fn, 2, 0)(np.ones((4, 3)))

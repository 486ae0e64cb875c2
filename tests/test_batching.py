"""`nt.batch` splits kernel computations over batches and (simulated) devices.

NT's batching rebuilds a plain `Kernel` when `get=None`, so it cannot carry the
pseudo fields in a `ComplexKernel`; with a `get` tuple (arrays only) it works,
pseudo fields included. Runs in a subprocess to simulate 2 host devices.
"""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import neural_tangents as nt
    from nt_complex import stax
    assert jax.device_count() == 2
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4, 4, 2)) + 1j * rng.normal(size=(8, 4, 4, 2))
    _, _, kernel_fn = stax.serial(
        stax.Conv(8, (2, 2), padding="SAME", W_pseudo=0.5, b_std=0.1, b_pseudo=1.0),
        stax.CReLU(), stax.Flatten(), stax.Dense(1))
    get = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")
    full = kernel_fn(x, None, get)
    for batch_size, device_count in [(2, 0), (2, 2), (4, -1)]:
        batched = nt.batch(kernel_fn, batch_size=batch_size, device_count=device_count)
        out = batched(x, None, get)
        for name, a, b in zip(get, out, full):
            err = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            assert err < 1e-12, (name, batch_size, device_count, err)
    print("ok")
""")


@pytest.mark.slow
def test_nt_batch_on_two_simulated_devices():
    env = dict(os.environ, JAX_ENABLE_X64="1", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]

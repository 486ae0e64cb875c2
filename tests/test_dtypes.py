"""float64 stays float64: a weakly typed float64 (`jnp.full(n, 1.0)`, as the
phase module's fixed-point starts are) once promoted with `complex64` to
`complex64` and dropped kernels to single precision."""

import jax.numpy as jnp
import numpy as np
import pytest

from conftest import X64
from nt_complex import stax
from nt_complex._dtypes import complex_dtype
from nt_complex.phase.maps import BlockSpec, pair_kernel, variance_map

pytestmark = pytest.mark.skipif(not X64, reason="float64 behaviour")


def test_complex_dtype_keeps_the_precision_of_weak_floats():
    weak = jnp.full(3, 1.0)
    assert weak.weak_type
    assert complex_dtype(weak) == jnp.complex128
    assert complex_dtype(jnp.float32) == jnp.complex64
    assert complex_dtype(np.dtype("float64")) == jnp.complex128
    assert complex_dtype(jnp.zeros(2, jnp.complex64)) == jnp.complex64


def test_weakly_typed_variance_gives_a_float64_kernel():
    """zReLU residual block, `q -> V(p) + p`, `p = 0.4 q + 0.3`, `V(p) = p/4`:
    at `q = 1` exactly 0.875 (was 0.8750000596, single precision)."""
    def block(w, b):
        return stax.serial(stax.Dense(8, w, b), stax.FanOut(2),
                           stax.parallel(stax.ZReLU(), stax.Identity()), stax.FanInSum())
    spec = BlockSpec(block, (), True, False)
    q = jnp.full((), 1.0)
    assert q.weak_type
    assert pair_kernel(spec, q, None).nngp.dtype == jnp.complex128
    out = variance_map(spec, block(0.4 ** 0.5, 0.3 ** 0.5)[2], q)
    np.testing.assert_allclose(float(out), 0.875, rtol=1e-15)

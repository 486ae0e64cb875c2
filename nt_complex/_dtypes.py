"""The complex dtype matching an array's precision."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

__all__ = ["complex_dtype"]


def complex_dtype(x: Any) -> np.dtype:
    """`complex128` for float64/complex128 `x` (array or dtype), `complex64` for
    float32 or narrower.

    Not `jnp.result_type(x, jnp.complex64)`: a *weakly typed* float64 (e.g.
    `jnp.full(n, 1.0)`, `jnp.array(1.0)`) promotes with `complex64` to
    `complex64`, which would silently drop a float64 computation to single
    precision.

    Example:
      >>> import jax; jax.config.update('jax_enable_x64', True)
      >>> import jax.numpy as jnp
      >>> str(complex_dtype(jnp.full(2, 1.0))), str(jnp.result_type(jnp.full(2, 1.0), jnp.complex64))
      ('complex128', 'complex64')
      >>> str(complex_dtype(jnp.float32))
      'complex64'
    """
    dtype = x if isinstance(x, (np.dtype, type)) else jnp.result_type(x)
    return jnp.promote_types(dtype, jnp.complex64)

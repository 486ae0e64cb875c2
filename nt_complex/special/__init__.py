"""Special functions and kernel integrals implemented for `jax.jit` (static shapes)."""

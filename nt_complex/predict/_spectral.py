"""Eigendecomposition of a working kernel matrix, with the checks that keep
`predict` from returning silent garbage (non-Hermitian, non-PSD, targets in
directions of zero prior variance)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from nt_complex._validation import is_concrete


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """``W = V diag(evals) V^H`` with eigenvalues clipped at 0.

    ``kept`` marks eigenvalues above ``cutoff = D * eps * max(evals)`` (numpy's
    rank tolerance); the others are treated as exactly zero prior variance.
    """

    evals: jnp.ndarray
    evecs: jnp.ndarray
    kept: jnp.ndarray

    def apply(self, weights: jnp.ndarray, vectors: jnp.ndarray) -> jnp.ndarray:
        """``V diag(w_t) V^H v`` for every row ``w_t`` of ``weights (T, D)``;
        ``vectors`` is ``(D, ...)``; returns ``(T, D, ...)``."""
        projected = jnp.tensordot(self.evecs.conj().T, vectors, axes=1)
        scaled = weights.reshape(weights.shape + (1,) * (vectors.ndim - 1)) * projected
        return jnp.moveaxis(jnp.tensordot(self.evecs, scaled, axes=[[1], [1]]), 0, 1)

    def pseudo_inverse_weights(self) -> jnp.ndarray:
        """``1/evals`` on kept directions, 0 on the null space, shape ``(1, D)``."""
        safe = jnp.where(self.kept, self.evals, 1.0)
        return jnp.where(self.kept, 1.0 / safe, 0.0)[None]

    def solve(self, vectors: jnp.ndarray) -> jnp.ndarray:
        """``W^+ v`` (pseudo-inverse on the kept directions)."""
        return self.apply(self.pseudo_inverse_weights(), vectors)[0]

    def null_fraction(self, vectors: jnp.ndarray) -> float:
        """Relative norm of the part of ``vectors`` in the null space."""
        null = self.apply(jnp.where(self.kept, 0.0, 1.0)[None], vectors)[0]
        total = float(jnp.linalg.norm(vectors))
        return float(jnp.linalg.norm(null)) / total if total > 0 else 0.0


def spectrum(matrix: jnp.ndarray, name: str) -> Spectrum:
    """Hermitian eigendecomposition of a working kernel ``matrix`` (checked).

    Raises `ValueError` naming `name` if the (concrete) matrix is not
    Hermitian or has an eigenvalue below ``-sqrt(eps) * max|eval|``.
    """
    eps = float(jnp.finfo(matrix.dtype).eps)
    if is_concrete(matrix):
        scale = float(jnp.max(jnp.abs(matrix)))
        asymmetry = float(jnp.max(jnp.abs(matrix - matrix.conj().T)))
        if asymmetry > np.sqrt(eps) * max(scale, np.finfo(float).tiny):
            raise ValueError(
                f"{name}: the train-train kernel is not Hermitian (max |K - K^H| = "
                f"{asymmetry:.3g}, max |K| = {scale:.3g}), or its pseudo-kernel is not "
                f"symmetric. Pass k(x_train, x_train), not a test-train block.")
    evals, evecs = jnp.linalg.eigh(matrix)
    largest = jnp.max(jnp.abs(evals))
    if is_concrete(evals):
        lowest = float(evals[0])
        if lowest < -np.sqrt(eps) * float(largest):
            raise ValueError(
                f"{name}: the train-train kernel is not positive semi-definite "
                f"(smallest eigenvalue {lowest:.3g}, largest {float(largest):.3g}). "
                f"Check the kernel, use float64 (JAX_ENABLE_X64=1), or add a "
                f"diagonal regularizer diag_reg > 0 (e.g. 1e-6).")
    cutoff = evals.shape[0] * eps * largest
    return Spectrum(jnp.maximum(evals, 0.0), evecs, evals > cutoff)


def check_targets_in_range(spec: Spectrum, targets: jnp.ndarray, name: str) -> None:
    """Raise if ``targets`` have a non-negligible part (relative norm above
    ``sqrt(eps)``) where the prior variance is zero: the data would have
    probability zero under the prior."""
    if not (is_concrete(targets) and is_concrete(spec.evals)):
        return
    eps = float(jnp.finfo(spec.evals.dtype).eps)
    fraction = spec.null_fraction(targets)
    if fraction > np.sqrt(eps):
        raise ValueError(
            f"{name}: the train-train kernel is singular or ill-conditioned and "
            f"y_train has a part (relative norm {fraction:.3g}) along directions "
            f"of (numerically) zero prior variance - e.g. complex targets for a "
            f"real-valued network (pseudo-kernel equal to the kernel). Add a "
            f"diagonal regularizer diag_reg > 0 (observation noise), e.g. 1e-6.")

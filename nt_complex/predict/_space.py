"""The working representation of complex Gaussian vectors used by `predict`.

A complex Gaussian vector ``f`` with Hermitian covariance ``K = E[f f^H]`` and
pseudo-covariance ``P = E[f f^T]`` is handled in one of two real-structured
forms:

* **circular** (``P`` exactly zero): ``f`` itself, with the Hermitian matrix
  ``W = K / 2``. This is the realification below restricted to circular
  processes, written with complex numbers: no doubled dimension.
* **real** (a real network, ``P = K`` real): ``Re f`` with ``W = K``, NT's
  own coordinates; ``Im f`` has zero variance and never moves.
* **realified** (``P`` non-zero): the real vector ``[Re f; Im f]`` of length
  ``2N`` with its real covariance

      Sigma = 1/2 [[Re(K + P), Im(P - K)],
                   [Im(K + P), Re(K - P)]].

  This is the widely linear (augmented) form in real coordinates: with
  ``M = [[I, iI], [I, -iI]]`` (``M M^H = 2 I``) the augmented vector is
  ``[f; conj f] = M [Re f; Im f]`` and the augmented covariance
  ``[[K, P], [conj P, conj K]] = M Sigma M^H``. Real arithmetic on ``2N``
  coordinates is cheaper than complex arithmetic on the ``2N`` augmented ones.

Why ``W`` is symmetric PSD (and why the same ``W`` drives training): for a
kernel built from real-parameter Jacobians ``g = dh/dtheta = a + i b``,
``Theta = g g^H`` and ``Theta~ = g g^T``, so ``Re(Theta + Theta~) = 2 a a^T``,
``Re(Theta - Theta~) = 2 b b^T``, ``Im(Theta~ - Theta) = 2 a b^T`` and
``Im(Theta + Theta~) = 2 b a^T``: ``Sigma = [a; b] [a; b]^T``, the ordinary
(real) NTK of the real network ``theta -> [Re h; Im h]``. It is symmetric
(``Theta`` Hermitian, ``Theta~`` symmetric) and PSD. The same holds for any
valid complex covariance pair (``Sigma`` is the covariance of ``[Re f; Im f]``).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import jax.numpy as jnp

from nt_complex._dtypes import complex_dtype


MODES = ("circular", "realified", "real")


@dataclasses.dataclass(frozen=True)
class Space:
    """Working coordinates of the outputs.

    * ``'circular'``: complex ``f``, matrix ``W = K / 2``;
    * ``'realified'``: ``[Re f; Im f]``, matrix ``Sigma`` above;
    * ``'real'``: a real network (``P = K`` real): ``Re f`` alone with
      ``W = K``, NT's coordinates (``Im f`` has zero variance and never moves).
    """

    mode: str

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"Space mode must be one of {MODES}; got {self.mode!r}.")

    @property
    def circular(self) -> bool:
        return self.mode == "circular"

    def matrix(self, pair) -> jnp.ndarray:
        """The working matrix of a (cross-)covariance `Pair` ``(K, P)``."""
        hermitian, pseudo = pair.hermitian, pair.pseudo
        if self.mode == "real":
            return hermitian
        if self.mode == "circular":
            return hermitian / 2
        if pair.real_network:
            pseudo = hermitian
        elif pseudo is None:
            pseudo = jnp.zeros_like(hermitian)
        plus, minus = hermitian + pseudo, hermitian - pseudo
        top = jnp.concatenate([plus.real, -minus.imag], axis=1)
        bottom = jnp.concatenate([plus.imag, minus.real], axis=1)
        return jnp.concatenate([top, bottom], axis=0) / 2

    def vector(self, y: jnp.ndarray) -> jnp.ndarray:
        """Working coordinates of values ``y`` of shape ``(N, K)`` (``Re y`` in
        the real space: the only part a real network's outputs can move)."""
        y = jnp.asarray(y)
        if self.mode == "real":
            return jnp.real(y)
        if self.mode == "circular":
            return y.astype(complex_dtype(y.dtype))
        return jnp.concatenate([y.real, y.imag], axis=-2)

    def complex_vector(self, v: jnp.ndarray) -> jnp.ndarray:
        """Output values from working coordinates ``(..., D, K)`` (real in the
        real space)."""
        if self.mode != "realified":
            return v
        n = v.shape[-2] // 2
        return v[..., :n, :] + 1j * v[..., n:, :]

    def covariance(self, c: jnp.ndarray) -> tuple[jnp.ndarray, Optional[jnp.ndarray]]:
        """``(K, P)`` from a working covariance ``(..., D, D)``; ``P`` is
        ``None`` (exactly zero) in circular coordinates and ``K`` in the real
        space (real outputs)."""
        if self.mode == "real":
            return c, c
        if self.mode == "circular":
            return 2 * c, None
        n = c.shape[-1] // 2
        uu, uv = c[..., :n, :n], c[..., :n, n:]
        vu, vv = c[..., n:, :n], c[..., n:, n:]
        return uu + vv + 1j * (vu - uv), uu - vv + 1j * (uv + vu)

    def regularizer(self, dimension: int, strength: jnp.ndarray) -> jnp.ndarray:
        """Working matrix of observation noise of variance ``strength`` on each
        of ``dimension`` outputs: circular complex noise (``strength/2`` per
        real coordinate), or real noise (NT's ``strength I``) in the real space."""
        if self.mode == "real":
            return strength * jnp.eye(dimension)
        size = dimension if self.circular else 2 * dimension
        return strength / 2 * jnp.eye(size)

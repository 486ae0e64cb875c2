"""Argument handling for `predict`: kernels given as `ComplexKernel`s, NT
kernels / namedtuples, or arrays with keyword pseudo-kernels; targets; `get`."""

from __future__ import annotations

import collections
from typing import Any, Optional, Union

import jax.numpy as jnp
import numpy as np

from nt_complex._validation import check_finite, is_concrete
from nt_complex.predict._space import Space
from nt_complex.predict._spectral import Spectrum, spectrum

Pair = tuple  # (hermitian (N1, N2) array, pseudo array or None = exactly zero)
KERNEL_NAMES = ("nngp", "ntk")


def is_array(x: Any) -> bool:
    return isinstance(x, (jnp.ndarray, np.ndarray))


def kernel_pair(kernel: Any, field: str, pseudo: Optional[jnp.ndarray],
                name: str) -> Pair:
    """``(K, P)`` for kernel ``field`` (``'nngp'`` or ``'ntk'``) of `kernel`.

    An array `kernel` is used for any field, with `pseudo` its pseudo-kernel
    (``None``: exactly zero). Otherwise `kernel` must have the attribute
    `field` (a `ComplexKernel`, NT `Kernel` or namedtuple) and its pseudo part
    is ``pseudo_<field>`` if present (``None``/absent: exactly zero).
    """
    if is_array(kernel):
        hermitian = kernel
    else:
        if pseudo is not None:
            raise ValueError(
                f"pseudo-kernel keywords go with array kernels only; {name} is a "
                f"{type(kernel).__name__}, whose pseudo fields are used instead.")
        hermitian = getattr(kernel, field, None)
        if hermitian is None:
            raise ValueError(
                f"{name} has no {field!r} kernel; compute it (e.g. kernel_fn(..., "
                f"get=None)) or choose get accordingly.")
        pseudo = getattr(kernel, "pseudo_" + field, None)
    hermitian = _as_matrix(hermitian, name)
    if pseudo is not None:
        pseudo = _as_matrix(pseudo, "pseudo part of " + name)
        if pseudo.shape != hermitian.shape:
            raise ValueError(
                f"the pseudo-kernel of {name} has shape {pseudo.shape}, but the "
                f"kernel has shape {hermitian.shape}; they must agree.")
    return hermitian, pseudo


def _as_matrix(x: Any, name: str) -> jnp.ndarray:
    x = jnp.asarray(x)
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (N1, N2) kernel matrix (outputs traced, as "
            f"kernel_fn returns for a network ending in a Dense readout); got shape "
            f"{x.shape}.")
    check_finite(x, name)
    return x


def as_targets(y: Any, n_train: int, name: str = "y_train") -> jnp.ndarray:
    """Targets of shape ``(N, K)`` (complex or real)."""
    if not is_array(y):
        raise TypeError(f"{name} must be an array of shape (N, K); got {type(y).__name__}.")
    y = jnp.asarray(y)
    if y.ndim != 2 or y.shape[0] != n_train:
        raise ValueError(
            f"{name} must have shape (N, K) with N = {n_train} (the kernel size) and "
            f"K outputs sharing the kernel; got shape {y.shape}.")
    check_finite(y, name)
    return y


def check_diag_reg(diag_reg: Any) -> None:
    if is_concrete(diag_reg):
        value = np.asarray(diag_reg)
        if value.ndim != 0 or np.iscomplexobj(value) or not np.isfinite(value) or value < 0:
            raise ValueError(f"diag_reg must be a finite real number >= 0; got {diag_reg!r}.")


def canonical_get(get: Union[None, str, tuple]) -> tuple[tuple[str, ...], bool]:
    """``(names, single)`` with NT's convention: ``None`` means both."""
    if get is None:
        return KERNEL_NAMES, False
    single = isinstance(get, str)
    names = (get,) if single else tuple(get)
    for g in names:
        if g not in KERNEL_NAMES:
            raise ValueError(f"get must be 'nngp', 'ntk' or a tuple of them; got {g!r}.")
    return names, single


def pack(out: dict, single: bool) -> Any:
    """One value for a string `get`, else a namedtuple keyed by kernel name."""
    if single:
        return next(iter(out.values()))
    return collections.namedtuple("Predictions", tuple(out))(**out)


def regularized_spectrum(space: Space, pair: Pair, diag_reg: Any,
                         absolute: bool, name: str) -> tuple[Spectrum, jnp.ndarray]:
    """Spectrum of the working matrix of ``K + lambda I`` (pseudo unchanged),
    ``lambda = diag_reg`` (absolute) or ``diag_reg * mean(Re diag K)`` (NT's
    relative convention). Returns the spectrum and the regularized matrix."""
    hermitian, pseudo = pair
    strength = diag_reg if absolute else diag_reg * jnp.mean(jnp.real(jnp.diagonal(hermitian)))
    matrix = space.matrix(hermitian, pseudo)
    matrix = matrix + space.regularizer(hermitian.shape[0], strength)
    return spectrum(matrix, name), matrix

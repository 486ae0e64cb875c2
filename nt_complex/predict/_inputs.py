"""Argument handling for `predict`: kernels given as `ComplexKernel`s, NT
kernels / namedtuples, or arrays with keyword pseudo-kernels; targets; `get`."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any, NamedTuple, Optional, Union

import jax.numpy as jnp
import numpy as np

from nt_complex._validation import check_finite, is_concrete
from nt_complex.kernel import ComplexKernel, is_field_tuple
from nt_complex.predict._space import Space
from nt_complex.predict._spectral import Spectrum, spectrum

KERNEL_NAMES = ("nngp", "ntk")


class Pair(NamedTuple):
    """A (cross-)covariance ``(K, P)`` of complex outputs.

    ``pseudo is None`` means ``P`` is exactly zero (a circular network) unless
    `real_network`, which means ``P = K`` with ``K`` real: the outputs of a
    real network (an NT kernel or a real array given without a pseudo part).
    """

    hermitian: jnp.ndarray
    pseudo: Optional[jnp.ndarray]
    real_network: bool = False


def is_array(x: Any) -> bool:
    return isinstance(x, (jnp.ndarray, np.ndarray))


def kernel_pair(kernel: Any, field: str, pseudo: Any, name: str) -> Pair:
    """The `Pair` for kernel ``field`` (``'nngp'`` or ``'ntk'``) of `kernel`.

    The rule (``docs/conventions.md``, "Kernels without a pseudo part"):

    * a `ComplexKernel`: its ``pseudo_<field>`` (``None``: exactly zero);
    * an array with a `pseudo` keyword: that pseudo-kernel (``0``: circular);
    * an NT `Kernel`, a namedtuple / object without ``pseudo_<field>``, or an
      array without `pseudo`: a REAL network (``P = K``) if the kernel is real,
      else a `ValueError` saying how to pass the pseudo part. The same holds
      for the field tuples of nt_complex's ``kernel_fn(..., get=(...))``
      without pseudo fields, which raise even when real (a circular complex
      network on real inputs has a real ``K`` but ``P = 0``).
    """
    if is_array(kernel):
        hermitian = _as_matrix(kernel, name)
        if pseudo is None:
            return _without_pseudo(hermitian, name, f"pass pseudo_{_keyword(name)}=")
        if not is_array(pseudo):
            if np.ndim(pseudo) == 0 and not isinstance(pseudo, bool) and pseudo == 0:
                return Pair(hermitian, None)
            raise ValueError(
                f"the pseudo part of {name} must be an array of its shape or 0 "
                f"(a circular network); got {pseudo!r}.")
        return Pair(hermitian, _pseudo_matrix(pseudo, hermitian, name))
    if pseudo is not None:
        raise ValueError(
            f"pseudo-kernel keywords go with array kernels only; {name} is a "
            f"{type(kernel).__name__}, whose pseudo fields are used instead.")
    hermitian = getattr(kernel, field, None)
    if hermitian is None:
        raise ValueError(
            f"{name} has no {field!r} kernel; compute it (e.g. kernel_fn(..., "
            f"get=None)) or choose get accordingly.")
    hermitian = _as_matrix(hermitian, name)
    pseudo = getattr(kernel, "pseudo_" + field, None)
    if pseudo is not None:
        return Pair(hermitian, _pseudo_matrix(pseudo, hermitian, name))
    if isinstance(kernel, ComplexKernel):
        return Pair(hermitian, None)
    if is_field_tuple(kernel):
        raise ValueError(
            f"{name} is an nt_complex field tuple without 'pseudo_{field}': request "
            f"it too, e.g. kernel_fn(x1, x2, get=('nngp', 'ntk', 'pseudo_nngp', "
            f"'pseudo_ntk')), or pass the full ComplexKernel (get=None).")
    return _without_pseudo(hermitian, name,
                           f"give {name} a 'pseudo_{field}' attribute (0 for a circular "
                           f"network), e.g. a ComplexKernel from kernel_fn(..., get=None), or ")


def _keyword(name: str) -> str:
    return name[len("k_"):] if name.startswith("k_") else name


def _without_pseudo(hermitian: jnp.ndarray, name: str, how: str) -> Pair:
    """No pseudo information: a real kernel is a real network's, else raise."""
    if not jnp.iscomplexobj(hermitian):
        return Pair(hermitian, None, real_network=True)
    raise ValueError(
        f"{name} is complex but comes without a pseudo-kernel, so it is ambiguous: "
        f"a non-circular network (e.g. W_pseudo != 0, or CReLU before the readout "
        f"with non-circular weights) trains and conditions differently from a "
        f"circular one. To fix it, {how}"
        f"the pseudo-kernel (kernel_fn(..., get=('ntk', 'pseudo_ntk'))), or 0 for a "
        f"circular network. A real {name} without a pseudo part means a real "
        f"network (NT's kernels).")


def _pseudo_matrix(pseudo: Any, hermitian: jnp.ndarray, name: str) -> jnp.ndarray:
    pseudo = _as_matrix(pseudo, "pseudo part of " + name)
    if pseudo.shape != hermitian.shape:
        raise ValueError(
            f"the pseudo-kernel of {name} has shape {pseudo.shape}, but the "
            f"kernel has shape {hermitian.shape}; they must agree.")
    return pseudo


def space_of(pairs: Sequence[Pair]) -> Space:
    """Working coordinates for kernel pairs used together: real if all are a
    real network's, circular if every pseudo part is exactly zero, else the
    realified ``[Re; Im]`` ones."""
    if all(p.real_network for p in pairs):
        return Space("real")
    if all(p.pseudo is None and not p.real_network for p in pairs):
        return Space("circular")
    return Space("realified")


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
    """Spectrum of the working matrix plus observation noise of variance
    ``lambda = diag_reg`` (absolute) or ``diag_reg * mean(Re diag K)`` (NT's
    relative convention): circular complex noise, or real noise in the real
    space (NT's ``K + lambda I``). Returns the spectrum and the regularized
    matrix."""
    hermitian = pair.hermitian
    strength = diag_reg if absolute else diag_reg * jnp.mean(jnp.real(jnp.diagonal(hermitian)))
    matrix = space.matrix(pair)
    matrix = matrix + space.regularizer(hermitian.shape[0], strength)
    return spectrum(matrix, name), matrix

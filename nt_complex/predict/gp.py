"""Complex (widely linear) Gaussian-process inference with NNGP / NTK kernels."""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple, Optional, Union

import jax.numpy as jnp
import numpy as np

from nt_complex._dtypes import complex_dtype
from nt_complex._validation import is_concrete
from nt_complex.predict import _inputs
from nt_complex.predict._space import Space
from nt_complex.predict._spectral import check_targets_in_range


class ComplexGaussian(NamedTuple):
    """A complex Gaussian: ``mean``, Hermitian ``covariance`` E[d d^H] and
    ``pseudo_covariance`` E[d d^T] of ``d = f - mean`` (``None``: exactly 0)."""

    mean: jnp.ndarray
    covariance: jnp.ndarray
    pseudo_covariance: Optional[jnp.ndarray]


def gp_inference(k_train_train: Any, y_train: jnp.ndarray, diag_reg: float = 0.,
                 diag_reg_absolute_scale: bool = False, *,
                 pseudo_train_train: Optional[jnp.ndarray] = None) -> Callable:
    """Posterior of the complex GP given by an NNGP (or NTK) and its pseudo-kernel.

    The prior of ``f`` has Hermitian covariance ``K`` and pseudo-covariance
    ``P``. If ``P`` is non-zero the posterior is widely linear: it conditions
    ``[f; conj f]`` on ``[y; conj y]`` with the augmented covariance
    ``[[K, P], [conj P, conj K]]`` (computed in the equivalent real
    ``[Re f; Im f]`` coordinates). If every pseudo-kernel involved is exactly
    zero (a circular `ComplexKernel`, or arrays with pseudo keywords ``0``)
    the ordinary Hermitian formulas on ``N x N`` matrices are used. Real
    kernels without a pseudo part (NT `Kernel`s, real arrays) are a real
    network's (``P = K``): the result is then NT's, real noise included.
    A complex array without a pseudo part raises (``docs/conventions.md``).
    With ``get='ntk'`` the result is NT's: the infinite-time distribution of an
    infinite ensemble of networks trained by gradient flow on MSE.

    Args:
      k_train_train: ``(N, N)`` array, or a `ComplexKernel` / NT `Kernel` /
        namedtuple with ``nngp`` (and ``ntk``) and, for complex kernels,
        ``pseudo_*`` fields.
      y_train: targets ``(N, K)``, real or complex; the K outputs share the kernel.
      diag_reg: observation noise of variance ``lambda = diag_reg *
        mean(diag K)`` as in NT, or ``diag_reg`` if `diag_reg_absolute_scale`:
        ``K + lambda I``, circular (pseudo-kernel unchanged) for complex
        networks, real (NT's) for a real network.
      diag_reg_absolute_scale: see `diag_reg`.
      pseudo_train_train: pseudo-kernel for an array `k_train_train` (``0``:
        a circular network; ``None``: a real network, for real arrays only).

    Returns:
      ``predict_fn(get=None, k_test_train=None, nngp_test_test=None, *,
      pseudo_test_train=None, pseudo_nngp_test_test=None)`` returning, per
      ``get`` in ``'nngp'``/``'ntk'`` (``None``: both, as a namedtuple), the
      posterior mean ``(N_test, K)``, or a `ComplexGaussian` (mean, covariance,
      pseudo-covariance ``(N_test, N_test)``) when `nngp_test_test` (the prior
      NNGP on the test inputs) is given. ``k_test_train=None`` gives the
      training set, ``N(y_train, 0)``, as in NT.

    Raises:
      ValueError: non-Hermitian or non-PSD train kernel, or targets along
        directions of zero prior variance (add `diag_reg`).

    Example:
      >>> import jax.numpy as jnp
      >>> k = jnp.array([[2., 1j], [-1j, 2.]])
      >>> y = jnp.array([[1. + 1j], [0.5j]])
      >>> predict_fn = gp_inference(k, y, pseudo_train_train=0)  # circular
      >>> bool(jnp.allclose(predict_fn('nngp', k, pseudo_test_train=0), y))
      True
    """
    _inputs.check_diag_reg(diag_reg)

    @functools.lru_cache(maxsize=4)
    def factor(g: str, mode: str):
        pair = _inputs.kernel_pair(k_train_train, g, pseudo_train_train, "k_train_train")
        space = Space(mode)
        spec, _ = _inputs.regularized_spectrum(
            space, pair, diag_reg, diag_reg_absolute_scale, f"gp_inference[{g}]")
        if mode == "real":
            _check_real_targets(y_train, f"gp_inference[{g}]")
        y = space.vector(y_train)
        check_targets_in_range(spec, y, f"gp_inference[{g}]")
        return space, spec, spec.solve(y)

    n_train = _inputs.kernel_pair(k_train_train, _first_field(k_train_train),
                                  pseudo_train_train, "k_train_train")[0].shape[0]
    y_train = _inputs.as_targets(y_train, n_train)

    def predict_fn(get: Union[None, str, tuple] = None, k_test_train: Any = None,
                   nngp_test_test: Any = None, *,
                   pseudo_test_train: Optional[jnp.ndarray] = None,
                   pseudo_nngp_test_test: Optional[jnp.ndarray] = None) -> Any:
        names, single = _inputs.canonical_get(get)
        out = {}
        for g in names:
            if k_test_train is None:
                out[g] = _train_set(y_train, nngp_test_test is not None, pseudo_train_train,
                                    k_train_train, g)
                continue
            pairs = {"dd": _inputs.kernel_pair(k_train_train, g, pseudo_train_train,
                                               "k_train_train"),
                     "td": _inputs.kernel_pair(k_test_train, g, pseudo_test_train,
                                               "k_test_train")}
            if nngp_test_test is not None:
                pairs["tt"] = _inputs.kernel_pair(nngp_test_test, "nngp",
                                                  pseudo_nngp_test_test, "nngp_test_test")
                if g == "ntk":
                    _require_nngp_with_ntk(k_train_train, "k_train_train")
                    _require_nngp_with_ntk(k_test_train, "k_test_train")
                    pairs["nngp_dd"] = _inputs.kernel_pair(
                        k_train_train, "nngp", pseudo_train_train, "k_train_train")
                    pairs["nngp_td"] = _inputs.kernel_pair(
                        k_test_train, "nngp", pseudo_test_train, "k_test_train")
            space, spec, weights = factor(g, _inputs.space_of(pairs.values()).mode)
            w = {key: space.matrix(pair) for key, pair in pairs.items()}
            mean = space.complex_vector(w["td"] @ weights)
            if nngp_test_test is None:
                out[g] = mean
                continue
            if g == "nngp":
                cov = w["tt"] - w["td"] @ spec.solve(w["td"].conj().T)
            else:
                gain = spec.solve(w["td"].conj().T).conj().T  # Theta_td Theta^+
                cross = gain @ w["nngp_td"].conj().T
                cov = w["tt"] - cross - cross.conj().T + gain @ w["nngp_dd"] @ gain.conj().T
            out[g] = ComplexGaussian(mean, *space.covariance(cov))
        return _inputs.pack(out, single)

    return predict_fn


def _require_nngp_with_ntk(kernel: Any, name: str) -> None:
    """The NTK posterior covariance needs the NNGP of the same inputs: an array
    carries one kernel only, so using it for both would be silently wrong."""
    if _inputs.is_array(kernel):
        raise ValueError(
            f"get='ntk' with nngp_test_test asks for the NTK posterior covariance, which "
            f"needs the NNGP of {name} as well as its NTK; an array carries one kernel. "
            f"Pass kernels with both fields (a ComplexKernel or NT Kernel from "
            f"kernel_fn(..., get=None)), or leave out nngp_test_test for the mean alone.")


def _first_field(kernel: Any) -> str:
    if _inputs.is_array(kernel) or getattr(kernel, "nngp", None) is not None:
        return "nngp"
    return "ntk"


def _train_set(y_train, with_cov: bool, pseudo, kernel, g) -> Any:
    """Training-set outputs: ``N(y_train, 0)`` (non-regularized), as in NT."""
    pair = _inputs.kernel_pair(kernel, g, pseudo, "k_train_train")
    if pair.real_network:
        _check_real_targets(y_train, f"gp_inference[{g}]")
        mean = jnp.real(y_train)
    else:
        mean = y_train.astype(complex_dtype(y_train.dtype))
    if not with_cov:
        return mean
    zeros = jnp.zeros((y_train.shape[0],) * 2, mean.dtype)
    exactly_zero = pair.pseudo is None and not pair.real_network
    return ComplexGaussian(mean, zeros, None if exactly_zero else zeros)


def _check_real_targets(y_train: jnp.ndarray, name: str) -> None:
    """A real network's outputs are real: complex targets have probability 0."""
    if not (jnp.iscomplexobj(y_train) and is_concrete(y_train)):
        return
    eps = float(jnp.finfo(jnp.real(y_train).dtype).eps)
    if float(jnp.max(jnp.abs(y_train.imag))) > np.sqrt(eps) * float(jnp.max(jnp.abs(y_train))):
        raise ValueError(
            f"{name}: y_train is complex, but the kernel is a real network's (a real "
            f"kernel without a pseudo part, e.g. from nt.stax), whose outputs are real. "
            f"For a complex network pass its pseudo-kernel (a ComplexKernel, or "
            f"pseudo_train_train=..., 0 if circular).")

"""Infinite-width GP predictors of held-out S-parameters from training frequencies.

* Infinite-width GPs (NNGP and infinite-time NTK) of a one-hidden-layer
  network ``Dense(512) -> activation -> Dense(1)`` with hyperparameters
  ``(W_std, b_std, diag_reg)`` chosen on the training points by the marginal
  likelihood (`select_hyperparameters`):

  * complex networks (`nt_complex.stax`, CReLU) on the complex features
    ``[x, exp(i pi c x)]`` (``c`` in `GRID_PHASE`, ``c = 0``: ``[x]`` alone;
    chosen with the other hyperparameters) with circular (``W_pseudo = 0``) or real-valued
    (``W_pseudo = 1``) weights, predicted by `nt_complex.predict.gp_inference`
    (widely linear: the pseudo-kernels are passed explicitly);
  * NT's real network (ReLU) on the same features in real coordinates
    ``[x, cos pi c x, sin pi c x]`` with two outputs ``(Re S, Im S)``: two
    independent real GPs sharing a kernel, by `nt.predict.gp_inference`.

The baselines (vector fitting, trained finite networks, linear
interpolation) are in `nt_complex.demos.measured_baselines`.

Targets are standardised with training statistics only
(``(s - mean) / rms``); predictions are mapped back.
"""

from __future__ import annotations

import itertools
import time
from typing import Callable, NamedTuple, Optional

import jax.numpy as jnp
import numpy as np

from nt_complex.demos.measured_metrics import realified_covariance

WIDTH = 512

#: Default hyperparameter grid (W_std x b_std x diag_reg).
GRID_W_STD = (0.5, 1.0, 1.5, 2.0, 3.0)
GRID_B_STD = (0.05, 0.2, 0.5, 1.0)
GRID_DIAG_REG = tuple(float(r) for r in 10.0 ** np.arange(-7.0, -0.5, 0.5))
#: Phase rates ``c`` of the input feature ``exp(i pi c x)`` (0: no such feature).
GRID_PHASE = (0.0, 0.5, 1.0)


class Hyperparameters(NamedTuple):
    """Network hyperparameters; ``diag_reg`` is relative (NT's convention);
    ``phase`` is the rate ``c`` of the input feature ``exp(i pi c x)``."""

    W_std: float
    b_std: float
    diag_reg: float
    phase: float = 0.5


class Kernels(NamedTuple):
    """Train/test blocks of a kernel with explicit pseudo parts (zeros if circular)."""

    nngp: np.ndarray
    ntk: np.ndarray
    pseudo_nngp: np.ndarray
    pseudo_ntk: np.ndarray


class Prediction(NamedTuple):
    """Predicted held-out values (original units), optionally Gaussian.

    ``covariance`` / ``pseudo_covariance`` describe a new *observation*
    (latent posterior plus the fitted circular noise); ``None`` for point
    predictors.
    """

    mean: np.ndarray
    covariance: Optional[np.ndarray]
    pseudo_covariance: Optional[np.ndarray]
    seconds: float
    detail: str
    hyperparameters: Optional["Hyperparameters"] = None


class Standardiser(NamedTuple):
    """Affine map ``(s - offset) / scale`` fitted on training targets."""

    offset: complex
    scale: float

    @classmethod
    def fit(cls, s_train: np.ndarray) -> "Standardiser":
        """Training mean and root-mean-square deviation.

        Example:
          >>> Standardiser.fit(np.array([1 + 1j, 3 + 1j]))
          Standardiser(offset=(2+1j), scale=1.0)
        """
        offset = complex(np.mean(s_train))
        scale = float(np.sqrt(np.mean(np.abs(s_train - offset) ** 2)))
        if not scale > 0:
            raise ValueError("s_train must not be constant (zero spread).")
        return cls(offset, scale)


def complex_features(x: np.ndarray, phase: float) -> np.ndarray:
    """Network input ``[x, exp(i pi phase x)]`` of normalised frequencies
    ``x`` (``[x]`` alone, as a complex array, if ``phase == 0``).

    Example:
      >>> complex_features(np.array([0.]), 1.).tolist()
      [[0j, (1+0j)]]
    """
    x = np.asarray(x, float)
    if phase == 0:
        return x[:, None] + 0j
    return np.stack([x + 0j, np.exp(1j * np.pi * phase * x)], -1)


def real_features(x: np.ndarray, phase: float) -> np.ndarray:
    """The same input in real coordinates: ``[x, cos pi phase x, sin pi phase x]``
    (``[x]`` if ``phase == 0``).

    Example:
      >>> real_features(np.array([0.]), 1.).tolist()
      [[0.0, 1.0, 0.0]]
    """
    x = np.asarray(x, float)
    if phase == 0:
        return x[:, None]
    return np.stack([x, np.cos(np.pi * phase * x), np.sin(np.pi * phase * x)], -1)


def complex_network(hyper: Hyperparameters, W_pseudo: float, width: int = WIDTH):
    """``Dense(width) -> CReLU -> Dense(1)`` of `nt_complex.stax` (weights and
    biases with pseudo-variance `W_pseudo`).

    Example:
      >>> _, _, kernel_fn = complex_network(Hyperparameters(1., 0.1, 0.), 0.)
      >>> kernel_fn(complex_features(np.zeros(2), 1.), None, 'nngp').shape
      (2, 2)
    """
    from nt_complex import stax

    def dense(n):
        return stax.Dense(n, hyper.W_std, hyper.b_std, W_pseudo=W_pseudo, b_pseudo=W_pseudo)
    return stax.serial(dense(width), stax.CReLU(), dense(1))


def real_network(hyper: Hyperparameters, width: int = WIDTH):
    """NT's ``Dense(width) -> Relu -> Dense(1)``.

    Example:
      >>> _, _, kernel_fn = real_network(Hyperparameters(1., 0.1, 0.))
      >>> kernel_fn(real_features(np.zeros(2), 1.), None, 'nngp').shape
      (2, 2)
    """
    import neural_tangents as nt

    dense = lambda n: nt.stax.Dense(n, hyper.W_std, hyper.b_std)  # noqa: E731
    return nt.stax.serial(dense(width), nt.stax.Relu(), dense(1))


def complex_kernels(x: np.ndarray, hyper: Hyperparameters, W_pseudo: float) -> Kernels:
    """NNGP/NTK and their pseudo-kernels of `complex_network` on ``x`` (all pairs).

    Example:
      >>> k = complex_kernels(np.zeros(3), Hyperparameters(1., 0.1, 0.), 0.)
      >>> k.ntk.shape, float(np.abs(k.pseudo_nngp).max())
      ((3, 3), 0.0)
    """
    kernel = complex_network(hyper, W_pseudo)[2](
        jnp.asarray(complex_features(x, hyper.phase)), None, None)
    fields = {}
    for name in ("nngp", "ntk"):
        hermitian = np.asarray(kernel.nngp if name == "nngp" else kernel.ntk)
        pseudo = getattr(kernel, "pseudo_" + name)
        fields[name] = hermitian
        fields["pseudo_" + name] = (np.zeros_like(hermitian) if pseudo is None
                                    else np.asarray(pseudo))
    return Kernels(**fields)


def real_kernels(x: np.ndarray, hyper: Hyperparameters) -> Kernels:
    """NT's NNGP/NTK of `real_network` on ``x``, written as the complex kernel
    of the pair ``(Re, Im)`` of two independent outputs: ``K = 2 k``, ``P = 0``
    (so ``realified_covariance(K, P) = blockdiag(k, k)``).

    Example:
      >>> k = real_kernels(np.zeros(2), Hyperparameters(1., 0.1, 0.))
      >>> bool(np.all(k.pseudo_ntk == 0))
      True
    """
    kernel = real_network(hyper)[2](jnp.asarray(real_features(x, hyper.phase)), None,
                                    ("nngp", "ntk"))
    nngp, ntk = 2 * np.asarray(kernel.nngp), 2 * np.asarray(kernel.ntk)
    return Kernels(nngp, ntk, np.zeros_like(nngp), np.zeros_like(ntk))


def neg_log_marginal_likelihood(sigma: np.ndarray, v: np.ndarray,
                                diag_regs: np.ndarray) -> np.ndarray:
    """``-log N(v; 0, sigma + noise I)`` for each relative ``diag_reg``,
    ``noise = diag_reg * mean(diag sigma)`` (one eigendecomposition).

    `sigma` is the real ``(2N, 2N)`` covariance of ``v = [Re y; Im y]``
    (`realified_covariance`); circular noise ``E|eps|^2 = lambda`` on the
    complex kernel with NT's ``lambda = diag_reg * mean(diag K)`` is exactly
    this (``lambda / 2`` per real coordinate).

    Example:
      >>> nll = neg_log_marginal_likelihood(np.eye(2), np.zeros(2), np.array([0.]))
      >>> bool(np.isclose(nll[0], np.log(2 * np.pi)))
      True
    """
    eigenvalues, vectors = np.linalg.eigh(sigma)
    projections = vectors.T @ v
    noise = np.asarray(diag_regs, float)[:, None] * np.mean(np.diag(sigma))
    total = eigenvalues[None, :] + noise
    with np.errstate(divide="ignore", invalid="ignore"):
        nll = 0.5 * np.sum(projections ** 2 / total + np.log(2 * np.pi * total), axis=1)
    return np.where(np.all(total > 0, axis=1), nll, np.inf)


def select_hyperparameters(kernels_of: Callable[[Hyperparameters], np.ndarray],
                           y_train: np.ndarray,
                           grid_w: tuple = GRID_W_STD, grid_b: tuple = GRID_B_STD,
                           grid_reg: tuple = GRID_DIAG_REG, grid_phase: tuple = GRID_PHASE
                           ) -> tuple[Hyperparameters, float]:
    """Grid search of the complex (augmented) marginal likelihood on the
    training points: `kernels_of(hyper)` returns the training `Kernels`; the
    NNGP ``(K, P)`` gives the prior of ``[Re y; Im y]``. All
    ``W_std x b_std x phase`` combinations are tried; ``diag_reg`` is
    optimised on its grid for each (one eigendecomposition).

    Returns the best hyperparameters and their negative log-likelihood.

    Example:
      >>> x = np.linspace(-1, 1, 6)
      >>> hyper, nll = select_hyperparameters(
      ...     lambda h: complex_kernels(x, h, 0.), np.exp(2j * x), (1.,), (0.2,), (1e-4, 1e-2), (1.,))
      >>> hyper.W_std, hyper.diag_reg in (1e-4, 1e-2)
      (1.0, True)
    """
    v = np.concatenate([y_train.real, y_train.imag])
    best = (None, np.inf)
    regs = np.asarray(grid_reg, float)
    for w_std, b_std, phase in itertools.product(grid_w, grid_b, grid_phase):
        k = kernels_of(Hyperparameters(w_std, b_std, 0., phase))
        nll = neg_log_marginal_likelihood(realified_covariance(k.nngp, k.pseudo_nngp), v, regs)
        i = int(np.argmin(nll))
        if nll[i] < best[1]:
            best = (Hyperparameters(w_std, b_std, float(regs[i]), phase), float(nll[i]))
    if best[0] is None:
        raise ValueError("no hyperparameters on the grid give a finite marginal likelihood.")
    return best


def _observation_noise(k_train_nngp: np.ndarray, diag_reg: float) -> float:
    """Circular noise ``E|eps|^2 = diag_reg * mean(diag K)`` of the NNGP."""
    return diag_reg * float(np.mean(np.real(np.diag(k_train_nngp))))


def _blocks(k: Kernels, rows: np.ndarray, cols: np.ndarray) -> Kernels:
    return Kernels(*(a[np.ix_(rows, cols)] for a in k))


def complex_gp_predict(x: np.ndarray, s: np.ndarray, train: np.ndarray, test: np.ndarray,
                       W_pseudo: float, grid: Optional[tuple] = None) -> dict[str, Prediction]:
    """Complex NNGP and NTK predictions at ``x[test]`` from ``(x, s)[train]``.

    Example:
      >>> x = np.linspace(-1, 1, 9)
      >>> out = complex_gp_predict(x, np.exp(2j * x), np.arange(0, 9, 2), np.arange(1, 9, 2),
      ...                          0., ((1.,), (0.2,), (1e-4,), (1.,)))
      >>> sorted(out), out['nngp'].mean.shape
      (['nngp', 'ntk'], (4,))
    """
    from nt_complex import predict

    start = time.perf_counter()
    standard = Standardiser.fit(s[train])
    y = (s[train] - standard.offset) / standard.scale
    hyper, _ = select_hyperparameters(
        lambda h: complex_kernels(x[train], h, W_pseudo), y, *(grid or ()))
    k = complex_kernels(x, hyper, W_pseudo)
    search = time.perf_counter() - start
    predict_fn = predict.gp_inference(_blocks(k, train, train), jnp.asarray(y[:, None]),
                                      hyper.diag_reg)
    noise = _observation_noise(k.nngp[np.ix_(train, train)], hyper.diag_reg)
    out = {}
    for get in ("nngp", "ntk"):
        start = time.perf_counter()
        posterior = predict_fn(get, _blocks(k, test, train), k.nngp[np.ix_(test, test)],
                               pseudo_nngp_test_test=k.pseudo_nngp[np.ix_(test, test)])
        out[get] = _to_observation(posterior.mean[:, 0], posterior.covariance,
                                   posterior.pseudo_covariance, noise, standard,
                                   search + time.perf_counter() - start, hyper)
    return out


def real_gp_predict(x: np.ndarray, s: np.ndarray, train: np.ndarray, test: np.ndarray,
                    grid: Optional[tuple] = None) -> dict[str, Prediction]:
    """Two independent real GPs (NT's real network, outputs ``Re s``, ``Im s``).

    Example:
      >>> x = np.linspace(-1, 1, 9)
      >>> out = real_gp_predict(x, np.exp(2j * x), np.arange(0, 9, 2), np.arange(1, 9, 2),
      ...                       ((1.,), (0.2,), (1e-4,), (1.,)))
      >>> out['ntk'].pseudo_covariance is None
      True
    """
    import neural_tangents as nt

    start = time.perf_counter()
    standard = Standardiser.fit(s[train])
    y = (s[train] - standard.offset) / standard.scale
    hyper, _ = select_hyperparameters(lambda h: real_kernels(x[train], h), y, *(grid or ()))
    k = real_kernels(x, hyper)
    search = time.perf_counter() - start
    halved = Kernels(*(a / 2 for a in k))  # NT's kernel k of each real output
    train_k = _blocks(halved, train, train)
    predict_fn = nt.predict.gp_inference(_nt_kernels(train_k), np.stack([y.real, y.imag], -1),
                                         hyper.diag_reg)
    noise = 2 * _observation_noise(train_k.nngp, hyper.diag_reg)  # per output: half of it
    out = {}
    for get in ("nngp", "ntk"):
        start = time.perf_counter()
        posterior = predict_fn(get, _nt_kernels(_blocks(halved, test, train)),
                               halved.nngp[np.ix_(test, test)])
        mean = np.asarray(posterior.mean[:, 0] + 1j * posterior.mean[:, 1])
        out[get] = _to_observation(mean, 2 * np.asarray(posterior.covariance), None, noise,
                                   standard, search + time.perf_counter() - start, hyper)
    return out


def _nt_kernels(k: Kernels):
    import collections
    return collections.namedtuple("NTKernels", ("nngp", "ntk"))(k.nngp, k.ntk)


def _to_observation(mean, covariance, pseudo, noise: float, standard: Standardiser,
                    seconds: float, hyper: Hyperparameters) -> Prediction:
    """Latent posterior (standardised units) -> observation distribution."""
    covariance = np.asarray(covariance) + noise * np.eye(len(mean))
    scale2 = standard.scale ** 2
    return Prediction(
        np.asarray(mean) * standard.scale + standard.offset, covariance * scale2,
        None if pseudo is None else np.asarray(pseudo) * scale2, seconds,
        f"W_std={hyper.W_std:g}, b_std={hyper.b_std:g}, diag_reg={hyper.diag_reg:.0e}, "
        f"phase={hyper.phase:g}", hyper)

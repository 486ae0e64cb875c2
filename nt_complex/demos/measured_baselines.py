"""Baselines for the measured S-parameter demo: scikit-rf's vector fitting,
trained finite complex networks, linear interpolation (`docs/measured.md`).

* `vector_fit_predict`: `skrf.vectorFitting.VectorFitting`, pole counts chosen
  by 5-fold cross-validation on the training points.
* `finite_networks_predict`: the complex networks of
  `nt_complex.demos.measured_models` at width 512 trained by full-batch
  gradient descent (mean of the seeds' predictions).
* `linear_interpolation`: of Re and Im between training frequencies.
"""

from __future__ import annotations

import time
import warnings

import jax.numpy as jnp
import numpy as np

from nt_complex.demos.measured_data import import_skrf
from nt_complex.demos.measured_metrics import realified_covariance
from nt_complex.demos.training import trained_predictions
from nt_complex.demos.measured_models import (WIDTH, Hyperparameters, Prediction, Standardiser,
                                              complex_features, complex_network)


#: Pole counts (n_poles_real, n_poles_cmplx) tried by `vector_fit_predict`.
VF_POLES = tuple((r, c) for r in (0, 1, 2) for c in (0, 1, 2, 3, 4) if r + c > 0)


def _vector_fit(freq: np.ndarray, s: np.ndarray, poles: tuple[int, int]):
    """A fitted `skrf.VectorFitting` of the one-port trace ``s(freq)``."""
    skrf = import_skrf()
    network = skrf.Network(frequency=skrf.Frequency.from_f(freq, unit="hz"),
                           s=s.reshape(-1, 1, 1))
    fit = skrf.vectorFitting.VectorFitting(network)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit.vector_fit(n_poles_real=poles[0], n_poles_cmplx=poles[1])
    return fit


def vector_fit_predict(freq: np.ndarray, s: np.ndarray, train: np.ndarray, test: np.ndarray,
                       seed: int = 0, folds: int = 5, candidates: tuple = VF_POLES) -> Prediction:
    """Vector fitting (scikit-rf) of the training points; the pole counts are
    the candidate with the smallest `folds`-fold cross-validated squared error
    on the training points (band edges never held out inside the CV).

    Example:
      >>> f = np.linspace(1e9, 2e9, 40)
      >>> s = 1 / (1 + 1j * f / 1.5e9)
      >>> p = vector_fit_predict(f, s, np.arange(0, 40, 2), np.arange(1, 40, 2),
      ...                        candidates=((1, 0), (0, 1)))
      >>> bool(np.max(np.abs(p.mean - s[1::2])) < 1e-6)
      True
    """
    start = time.perf_counter()
    inner = np.arange(1, len(train) - 1)
    fold_of = np.random.default_rng(seed).permutation(len(inner)) % folds
    errors = []
    for poles in candidates:
        error = 0.
        for fold in range(folds):
            out = train[inner[fold_of == fold]]
            keep = np.setdiff1d(train, out)
            try:
                model = _vector_fit(freq[keep], s[keep], poles)
                error += float(np.sum(np.abs(model.get_model_response(0, 0, freq[out])
                                             - s[out]) ** 2))
            except (np.linalg.LinAlgError, ValueError):
                error = np.inf
        errors.append(error if np.isfinite(error) else np.inf)
    poles = candidates[int(np.argmin(errors))]
    model = _vector_fit(freq[train], s[train], poles)
    mean = np.asarray(model.get_model_response(0, 0, freq[test]))
    return Prediction(mean, None, None, time.perf_counter() - start,
                      f"n_poles_real={poles[0]}, n_poles_cmplx={poles[1]}")


def linear_interpolation(x: np.ndarray, s: np.ndarray, train: np.ndarray,
                         test: np.ndarray) -> Prediction:
    """Piecewise-linear interpolation of Re and Im between training frequencies.

    Example:
      >>> x = np.linspace(-1, 1, 3)
      >>> linear_interpolation(x, np.array([0, 5, 2j]), np.array([0, 2]), np.array([1])).mean
      array([0.+1.j])
    """
    start = time.perf_counter()
    mean = (np.interp(x[test], x[train], s[train].real)
            + 1j * np.interp(x[test], x[train], s[train].imag))
    return Prediction(mean, None, None, time.perf_counter() - start, "")


def finite_networks_predict(x: np.ndarray, s: np.ndarray, train: np.ndarray, test: np.ndarray,
                            hyper: Hyperparameters, W_pseudo: float, seeds: int = 8,
                            steps: int = 2000, width: int = WIDTH) -> Prediction:
    """Mean prediction of `seeds` width-`width` complex networks trained by
    full-batch gradient descent on ``1/(2N) sum |f - y|^2`` (standardised
    targets, no regulariser) for `steps` steps with learning rate
    ``N / lambda_max`` of the realified infinite-width NTK (half the stability limit).

    Example:
      >>> x = np.linspace(-1, 1, 9)
      >>> p = finite_networks_predict(x, np.exp(2j * x), np.arange(0, 9, 2), np.arange(1, 9, 2),
      ...                             Hyperparameters(1., 0.2, 0.), 0., seeds=2, steps=10)
      >>> p.mean.shape
      (4,)
    """
    start = time.perf_counter()
    standard = Standardiser.fit(s[train])
    y = jnp.asarray(((s[train] - standard.offset) / standard.scale)[:, None])
    x_train, x_test = (jnp.asarray(complex_features(x[i], hyper.phase)) for i in (train, test))
    init_fn, apply_fn, kernel_fn = complex_network(hyper, W_pseudo, width)
    ntk = kernel_fn(x_train, None, None)
    pseudo_ntk = ntk.pseudo_ntk
    sigma = realified_covariance(np.asarray(ntk.ntk),
                                 None if pseudo_ntk is None else np.asarray(pseudo_ntk))
    learning_rate = y.size / float(np.linalg.eigvalsh(sigma)[-1])

    predictions = trained_predictions(init_fn, apply_fn, x_train, y, x_test, learning_rate,
                                      steps, seeds)
    mean = np.asarray(jnp.mean(predictions[:, :, 0], axis=0))
    return Prediction(mean * standard.scale + standard.offset, None, None,
                      time.perf_counter() - start, f"{seeds} seeds, {steps} steps, lr={learning_rate:.3g}")

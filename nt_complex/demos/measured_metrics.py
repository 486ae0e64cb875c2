"""Held-out metrics of complex predictions: relative RMSE, and for Gaussian
predictions the negative log-likelihood and 95 % coverage.

A complex Gaussian prediction of ``y`` has Hermitian covariance ``K`` and
pseudo-covariance ``P``; the augmented vector ``[y; conj y]`` has covariance
``[[K, P], [conj P, conj K]]``. Its density on ``(Re y, Im y)`` is the real
Gaussian with covariance

    Sigma = 1/2 [[Re(K + P), Im(P - K)], [Im(K + P), Re(K - P)]]

(the same realification as `nt_complex.predict`). The metrics are pointwise:
each held-out point ``i`` uses its own ``2 x 2`` marginal ``Sigma_i``.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

#: 95 % quantile of chi-square with 2 degrees of freedom, ``-2 log 0.05``.
CHI2_2DOF_95 = -2 * np.log(0.05)


def relative_rmse(prediction: np.ndarray, truth: np.ndarray) -> float:
    """``||prediction - truth||_2 / ||truth||_2`` over complex values.

    Example:
      >>> relative_rmse(np.array([1 + 1j, 0.]), np.array([1 + 0j, 0.]))
      1.0
    """
    prediction, truth = np.asarray(prediction), np.asarray(truth)
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction and truth must have the same shape; got "
                         f"{prediction.shape} and {truth.shape}.")
    return float(np.linalg.norm(prediction - truth) / np.linalg.norm(truth))


def realified_covariance(covariance: np.ndarray, pseudo: Optional[np.ndarray]) -> np.ndarray:
    """Real covariance of ``[Re y; Im y]`` from ``(K, P)`` (``P=None``: zero).

    Example:
      >>> realified_covariance(np.array([[2.]]), np.array([[2j]])).tolist()
      [[1.0, 1.0], [1.0, 1.0]]
    """
    covariance = np.asarray(covariance)
    pseudo = np.zeros_like(covariance) if pseudo is None else np.asarray(pseudo)
    plus, minus = covariance + pseudo, covariance - pseudo
    return 0.5 * np.block([[plus.real, -minus.imag], [plus.imag, minus.real]])


def _pointwise(mean, covariance, pseudo, truth):
    """Residuals ``(N, 2)`` and per-point ``2 x 2`` covariances ``(N, 2, 2)``."""
    mean, truth = np.asarray(mean), np.asarray(truth)
    k = np.real(np.diagonal(np.asarray(covariance)))
    p = np.zeros_like(k, complex) if pseudo is None else np.diagonal(np.asarray(pseudo))
    sigma = 0.5 * np.stack([np.stack([k + p.real, p.imag], -1),
                            np.stack([p.imag, k - p.real], -1)], -2)
    residual = np.stack([(truth - mean).real, (truth - mean).imag], -1)
    return residual, sigma


def _mahalanobis_and_logdet(residual, sigma):
    det = sigma[:, 0, 0] * sigma[:, 1, 1] - sigma[:, 0, 1] * sigma[:, 1, 0]
    inverse = np.stack([np.stack([sigma[:, 1, 1], -sigma[:, 0, 1]], -1),
                        np.stack([-sigma[:, 1, 0], sigma[:, 0, 0]], -1)], -2)
    with np.errstate(divide="ignore", invalid="ignore"):
        quad = np.einsum("ni,nij,nj->n", residual, inverse, residual) / det
    valid = (det > 0) & (sigma[:, 0, 0] > 0)
    # A singular marginal is flagged by an infinite distance (and log-det 0).
    return np.where(valid, quad, np.inf), np.log(np.where(valid, det, 1))


def mean_nll(mean: np.ndarray, covariance: np.ndarray, pseudo: Optional[np.ndarray],
             truth: np.ndarray) -> float:
    """Mean over points of ``-log p(truth_i)`` (nats, density on ``(Re, Im)``)
    under the pointwise complex Gaussian marginals; ``inf`` if a marginal is
    singular.

    Example:
      >>> nll = mean_nll(np.zeros(1), 2 * np.eye(1), None, np.zeros(1))
      >>> bool(np.isclose(nll, np.log(2 * np.pi)))
      True
    """
    quad, logdet = _mahalanobis_and_logdet(*_pointwise(mean, covariance, pseudo, truth))
    return float(np.mean(0.5 * quad + 0.5 * logdet + np.log(2 * np.pi)))


def coverage95(mean: np.ndarray, covariance: np.ndarray, pseudo: Optional[np.ndarray],
               truth: np.ndarray) -> float:
    """Fraction of points inside their 95 % ellipse: whitened squared distance
    ``<= chi2_2.ppf(0.95)``.

    Example:
      >>> coverage95(np.zeros(2), 2 * np.eye(2), None, np.array([0.1, 10.]))
      0.5
    """
    quad, _ = _mahalanobis_and_logdet(*_pointwise(mean, covariance, pseudo, truth))
    return float(np.mean(quad <= CHI2_2DOF_95))

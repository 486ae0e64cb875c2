"""Measured S-parameter demo (`nt_complex.demos.measured*`, docs/measured.md):
loading of scikit-rf's bundled measurements, splits, and the GP predictions and
held-out metrics against independent numpy/scipy computations (float64)."""

import functools
import os

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("skrf", reason="needs the 'measured' extra (scikit-rf)")

from nt_complex.demos import measured_data as data  # noqa: E402
from nt_complex.demos import measured_metrics as metrics  # noqa: E402
from nt_complex.demos import measured_models as models  # noqa: E402

SMALL_GRID = ((1.0, 2.0), (0.5, 1.0), (1e-4, 1e-3, 1e-2), (0.5, 1.0))


def _read_touchstone_ri_ghz(path):
    """Independent reader: '# GHz S RI' one-port files, '!' comments."""
    with open(path) as f:
        header = [line for line in f if line.startswith("#")]
    assert header[0].split()[1:4] == ["GHz", "S", "RI"], header
    table = np.loadtxt(path, comments=("!", "#"))
    return table[:, 0] * 1e9, table[:, 1] + 1j * table[:, 2]


@pytest.mark.parametrize("name", sorted(data.MEASURED_FILES))
def test_loading_matches_the_touchstone_file(name):
    m = data.load_measurement(name)
    freq, s = _read_touchstone_ri_ghz(
        os.path.join(data.skrf_data_dir(), data.MEASURED_FILES[name][0]))
    order = np.argsort(freq)
    expected_n = 101 if name == "ring slot measured" else 201
    assert m.freq_hz.shape == m.x.shape == m.s.shape == (expected_n,)
    assert m.parameter == "S11"
    assert np.all(np.diff(m.freq_hz) > 0)
    assert np.all(np.isfinite(m.s)) and np.all(np.isfinite(m.x))
    assert m.x[0] == -1 and m.x[-1] == 1 and np.all(np.diff(m.x) > 0)
    np.testing.assert_allclose(m.freq_hz, freq[order], rtol=1e-12)
    np.testing.assert_allclose(m.s, s[order], rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.x, np.interp(m.freq_hz, freq[order][[0, -1]], [-1, 1]),
                               atol=1e-12)


def test_unknown_measurement_and_split_raise():
    with pytest.raises(ValueError, match="name must be one of"):
        data.load_measurement("wr2p2,line")
    with pytest.raises(ValueError, match="kind must be one of"):
        data.split_indices(10, "random50")


@pytest.mark.parametrize("n", [101, 201])
def test_splits_partition_the_frequencies(n):
    train, held_out = data.split_indices(n, "random80", seed=3)
    assert len(held_out) == round(0.8 * n) and {0, n - 1} <= set(train)
    assert sorted(np.concatenate([train, held_out]).tolist()) == list(range(n))
    train, held_out = data.split_indices(n, "band20")
    assert len(held_out) == round(0.2 * n)
    assert np.all(np.diff(held_out) == 1)
    assert abs((held_out[0] + held_out[-1]) / 2 - (n - 1) / 2) <= 0.5
    assert sorted(np.concatenate([train, held_out]).tolist()) == list(range(n))


def _problem():
    m = data.load_measurement("ring slot measured")
    train, held_out = data.split_indices(len(m.x), "random80")
    return m, train, held_out


@functools.lru_cache(maxsize=None)
def _complex_gp(W_pseudo):
    """Predictions at [train, held_out] (one hyperparameter search per model)."""
    m, train, held_out = _problem()
    return models.complex_gp_predict(m.x, m.s, train, np.concatenate([train, held_out]),
                                     W_pseudo, SMALL_GRID)


def _part(p, rows):
    return models.Prediction(p.mean[rows], p.covariance[np.ix_(rows, rows)],
                             p.pseudo_covariance[np.ix_(rows, rows)], p.seconds, p.detail,
                             p.hyperparameters)


def test_marginal_likelihood_equals_scipy():
    m, train, _ = _problem()
    standard = models.Standardiser.fit(m.s[train])
    y = (m.s[train] - standard.offset) / standard.scale
    k = models.complex_kernels(m.x[train], models.Hyperparameters(1.5, 0.5, 0., 1.), 1.)
    assert np.abs(k.pseudo_nngp).max() > 0.1  # real weights: non-circular prior
    regs = np.array([1e-3, 1e-1])
    ours = models.neg_log_marginal_likelihood(
        metrics.realified_covariance(k.nngp, k.pseudo_nngp), np.concatenate([y.real, y.imag]),
        regs)
    # Independent: the augmented complex density on C^N, N(y; Gamma) with
    # Gamma = [[K, P], [conj P, conj K]], is |det Gamma|^(-1/2) pi^-N exp(-1/2 ya^H Gamma^-1 ya).
    n = len(y)
    for reg, value in zip(regs, ours):
        lam = reg * np.mean(np.real(np.diag(k.nngp)))
        K = k.nngp + lam * np.eye(n)
        gamma = np.block([[K, k.pseudo_nngp], [k.pseudo_nngp.conj(), K.conj()]])
        ya = np.concatenate([y, y.conj()])
        sign, logdet = np.linalg.slogdet(gamma)
        expected = 0.5 * np.real(ya.conj() @ np.linalg.solve(gamma, ya)) + 0.5 * logdet \
            + n * np.log(np.pi)
        assert sign.real > 0
        np.testing.assert_allclose(value, expected, rtol=1e-9)


@pytest.mark.parametrize("W_pseudo", [0., 1.])
def test_posterior_mean_interpolates_training_points_within_noise(W_pseudo):
    m, train, _ = _problem()
    gp = _part(_complex_gp(W_pseudo)["nngp"], np.arange(len(train)))
    hyper = gp.hyperparameters
    standard = models.Standardiser.fit(m.s[train])
    k = models.complex_kernels(m.x[train], hyper, W_pseudo)
    noise = hyper.diag_reg * np.mean(np.real(np.diag(k.nngp)))
    # Independent widely linear posterior mean at the training points:
    # [m; conj m] = [[K, P], [P*, K*]] (Gamma + noise I)^-1 [y; conj y].
    y = (m.s[train] - standard.offset) / standard.scale
    gamma = np.block([[k.nngp, k.pseudo_nngp], [k.pseudo_nngp.conj(), k.nngp.conj()]])
    aug = gamma @ np.linalg.solve(gamma + noise * np.eye(2 * len(y)), np.concatenate([y, y.conj()]))
    expected = aug[:len(y)] * standard.scale + standard.offset
    np.testing.assert_allclose(gp.mean, expected, rtol=0, atol=1e-8 * standard.scale)
    residual_rms = np.sqrt(np.mean(np.abs(gp.mean - m.s[train]) ** 2))
    noise_std = np.sqrt(noise) * standard.scale  # E|eps|^2 = noise (standardised units)
    if W_pseudo == 0.:
        # The circular model fits the data: its noise is well below the signal and
        # the mean passes within it. (Real weights cannot: Im f depends on sin(pi x)
        # only, see docs/measured.md, so their residual is misfit, not noise.)
        assert noise_std < 0.1 * standard.scale
        assert residual_rms <= noise_std


@pytest.mark.parametrize("W_pseudo", [0., 1.])
@pytest.mark.parametrize("get", ["nngp", "ntk"])
def test_predictive_covariance_and_metrics(W_pseudo, get):
    m, train, held_out = _problem()
    p = _part(_complex_gp(W_pseudo)[get], np.arange(len(train), len(train) + len(held_out)))
    K, P = p.covariance, p.pseudo_covariance
    assert P is not None  # the pseudo part is passed and returned explicitly
    gamma = np.block([[K, P], [P.conj(), K.conj()]])
    np.testing.assert_allclose(gamma, gamma.conj().T, atol=1e-12 * np.abs(gamma).max())
    eigenvalues = np.linalg.eigvalsh((gamma + gamma.conj().T) / 2)
    assert eigenvalues.min() >= -1e-9 * eigenvalues.max()
    if W_pseudo == 1.:  # real weights: a non-circular prediction, so the checks below use P
        assert np.abs(P).max() > 1e-3 * np.abs(K).max()

    truth = m.s[held_out]
    error = p.mean - truth
    assert metrics.relative_rmse(p.mean, truth) == pytest.approx(
        np.sqrt(np.sum(error.real ** 2 + error.imag ** 2) / np.sum(np.abs(truth) ** 2)),
        rel=1e-12)
    # Real 2x2 covariance of (Re, Im) per point from the augmented 2x2 block:
    # [y; conj y] = M [Re y; Im y], M = [[1, i], [1, -i]] => Sigma = M^-1 Gamma M^-H.
    M_inv = np.linalg.inv(np.array([[1, 1j], [1, -1j]]))
    nll, inside = [], []
    for i in range(len(truth)):
        block = np.array([[K[i, i], P[i, i]], [np.conj(P[i, i]), np.conj(K[i, i])]])
        sigma = M_inv @ block @ M_inv.conj().T
        assert np.abs(sigma.imag).max() < 1e-12 * np.abs(sigma).max()
        sigma = sigma.real
        point = np.array([truth[i].real, truth[i].imag])
        centre = np.array([p.mean[i].real, p.mean[i].imag])
        nll.append(-stats.multivariate_normal.logpdf(point, centre, sigma))
        d = point - centre
        inside.append(d @ np.linalg.solve(sigma, d) <= stats.chi2.ppf(0.95, 2))
    assert metrics.mean_nll(p.mean, K, P, truth) == pytest.approx(np.mean(nll), rel=1e-9)
    assert metrics.coverage95(p.mean, K, P, truth) == np.mean(inside)


def test_real_gps_are_nt_per_output():
    m, train, held_out = _problem()
    p = models.real_gp_predict(m.x, m.s, train, held_out, SMALL_GRID)["nngp"]
    hyper = p.hyperparameters
    standard = models.Standardiser.fit(m.s[train])
    y = (m.s[train] - standard.offset) / standard.scale
    feats = models.real_features(m.x, hyper.phase)
    kernel_fn = models.real_network(hyper)[2]
    k_tt = np.asarray(kernel_fn(feats[train], None, "nngp"))
    k_st = np.asarray(kernel_fn(feats[held_out], feats[train], "nngp"))
    k_ss = np.asarray(kernel_fn(feats[held_out], None, "nngp"))
    lam = hyper.diag_reg * np.mean(np.diag(k_tt))
    solve = np.linalg.solve(k_tt + lam * np.eye(len(y)), np.stack([y.real, y.imag], -1))
    mean = (k_st @ solve) * standard.scale
    np.testing.assert_allclose(p.mean, mean[:, 0] + 1j * mean[:, 1] + standard.offset, atol=1e-9)
    cov = k_ss - k_st @ np.linalg.solve(k_tt + lam * np.eye(len(y)), k_st.T) + lam * np.eye(
        len(held_out))
    # Re and Im each have covariance `cov`: complex K = 2 cov, P = 0.
    np.testing.assert_allclose(p.covariance, 2 * cov * standard.scale ** 2, atol=1e-9)
    assert p.pseudo_covariance is None


def test_metrics_flag_singular_predictions():
    assert metrics.mean_nll(np.zeros(1), np.zeros((1, 1)), None, np.ones(1)) == np.inf
    with pytest.raises(ValueError, match="same shape"):
        metrics.relative_rmse(np.zeros(2), np.zeros(3))

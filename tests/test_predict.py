"""nt_complex.predict: exact reductions to NT, independent augmented-vector GP
formulas, numerical ODE integration, Monte Carlo over initialisations."""

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from nt_complex import ComplexKernel, predict

TOL_NT = 1e-10


# ----------------------------------------------------------------- fixtures
def _nt_kernels():
    """Real NNGP/NTK of a small NT ReLU network (train 6, test 4)."""
    _, _, kernel_fn = nt.stax.serial(nt.stax.Dense(1, 1.5, 0.2), nt.stax.Relu(),
                                     nt.stax.Dense(1, 1.2, 0.1))
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(6, 3)), rng.normal(size=(4, 3))
    y_train = jnp.asarray(rng.normal(size=(6, 2)))
    return kernel_fn, x_train, x_test, y_train


def _complex_pair(rows, rng, circular=False, rank=None):
    """Hermitian K = A A^H + B B^H and pseudo P = A A^T + B B^T of
    f = A xi + B eta (xi, eta real standard normal): a valid complex covariance."""
    rank = rank or 2 * rows
    a = rng.normal(size=(rows, rank)) + 1j * rng.normal(size=(rows, rank))
    b = rng.normal(size=(rows, rank)) + 1j * rng.normal(size=(rows, rank))
    if circular:  # f = (xi + i eta)/sqrt2 times a complex matrix: P = 0
        c = a / 2
        return c @ c.conj().T * 2, None
    return (a @ a.conj().T + b @ b.conj().T) / rank, (a @ a.T + b @ b.T) / rank


def _augmented(k, p):
    return np.block([[k, p], [p.conj(), k.conj()]])


def _max_diff(a, b):
    return float(jnp.max(jnp.abs(jnp.asarray(a) - jnp.asarray(b))))


# ------------------------------------------------------- reduction to NT
# NT kernels, NT kernel_fns and real arrays given WITHOUT a pseudo part are a
# real network's (pseudo = kernel): the results must be NT's, same diag_reg.
KINDS = ["nt_kernel", "real_array"]


def _as_kind(k, kind, g):
    return k if kind == "nt_kernel" else getattr(k, g)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("diag_reg,absolute", [(0., False), (1e-2, False), (0.3, True)])
def test_gp_inference_nt_kernels_equal_nt(kind, diag_reg, absolute):
    kernel_fn, x_train, x_test, y = _nt_kernels()
    k_dd, k_td = kernel_fn(x_train, None), kernel_fn(x_test, x_train)
    nngp_tt = kernel_fn(x_test, None, "nngp")
    ref = nt.predict.gp_inference(k_dd, y, diag_reg, absolute)(None, k_td, nngp_tt)
    for g in ("nngp", "ntk"):
        fn = predict.gp_inference(_as_kind(k_dd, kind, g), y, diag_reg, absolute)
        if kind == "real_array" and g == "ntk":
            # one array cannot carry the NNGP the NTK covariance needs: an error
            with pytest.raises(ValueError, match="needs the NNGP of k_train_train"):
                fn(g, _as_kind(k_td, kind, g), nngp_tt)
            assert _max_diff(fn(g, _as_kind(k_td, kind, g)), getattr(ref, g).mean) < TOL_NT
            continue
        ours = fn(g, _as_kind(k_td, kind, g), nngp_tt)
        assert _max_diff(ours.mean, getattr(ref, g).mean) < TOL_NT
        assert _max_diff(ours.covariance, getattr(ref, g).covariance) < TOL_NT
        # real outputs: pseudo-covariance = covariance
        assert _max_diff(ours.pseudo_covariance, getattr(ref, g).covariance) < TOL_NT
    if kind == "nt_kernel":
        both = predict.gp_inference(k_dd, y, diag_reg, absolute)(None, k_td)
        for g in ("nngp", "ntk"):
            assert _max_diff(getattr(both, g), getattr(ref, g).mean) < TOL_NT


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_descent_mse_nt_kernels_equal_nt(kind):
    kernel_fn, x_train, x_test, y = _nt_kernels()
    k_dd, k_td = kernel_fn(x_train, None), kernel_fn(x_test, x_train)
    rng = np.random.default_rng(1)
    f0, ft0 = rng.normal(size=y.shape), rng.normal(size=(4, 2))
    ts = jnp.array([0.5, 3., 40., jnp.inf])
    for diag_reg in (0., 1e-2):
        ours = predict.gradient_descent_mse(_as_kind(k_dd, kind, "ntk"), y, 1.3, diag_reg)
        ref = nt.predict.gradient_descent_mse(k_dd.ntk, y, 1.3, diag_reg)
        for t in (ts, 3., None):
            a = ours(t, f0, ft0, _as_kind(k_td, kind, "ntk"))
            b = ref(t, f0, ft0, k_td.ntk)
            for x, z in zip(a, b):
                assert x.shape == z.shape
                assert _max_diff(x, z) < TOL_NT, (t, diag_reg)


def test_gradient_descent_mse_circular_trains_at_half_rate():
    """The same real NTK declared circular (pseudo 0) is NT at lr / 2."""
    kernel_fn, x_train, x_test, y = _nt_kernels()
    ntk_dd, ntk_td = kernel_fn(x_train, None, "ntk"), kernel_fn(x_test, x_train, "ntk")
    rng = np.random.default_rng(1)
    f0, ft0 = rng.normal(size=y.shape), rng.normal(size=(4, 2))
    ours = predict.gradient_descent_mse(ntk_dd, y, 1.0, 1e-2, pseudo_train_train=0)
    ref = nt.predict.gradient_descent_mse(ntk_dd, y, 0.5, 1e-2)
    for t in (jnp.array([0.5, 3., 40.]), None):
        for x, z in zip(ours(t, f0, ft0, ntk_td, pseudo_test_train=0), ref(t, f0, ft0, ntk_td)):
            assert _max_diff(x, z) < TOL_NT


@pytest.mark.parametrize("circular", [False, True])
def test_gradient_descent_mse_ensemble_equals_nt(circular):
    """An nt.stax kernel_fn as is (a real network) equals NT; the same kernels
    declared circular (pseudo fields 0) equal NT at lr / 2."""
    kernel_fn, x_train, x_test, y = _nt_kernels()

    def circular_fn(x1, x2=None, get=None):  # a ComplexKernel: pseudo None = 0
        return ComplexKernel(**kernel_fn(x1, x2).asdict())

    ours_fn = circular_fn if circular else kernel_fn
    lr_nt = 0.65 if circular else 1.3
    ts = jnp.array([[0.5, 3.], [10., jnp.inf]])
    for diag_reg in (0., 1e-2):
        ours = predict.gradient_descent_mse_ensemble(ours_fn, x_train, y, 1.3, diag_reg)
        ref = nt.predict.gradient_descent_mse_ensemble(kernel_fn, x_train, y, lr_nt, diag_reg)
        for t in (ts, 3., None):
            for x_test_ in (x_test, None):
                a = ours(t, x_test_, None, compute_cov=True)
                b = ref(t, x_test_, None, compute_cov=True)
                for g in ("nngp", "ntk"):
                    ga, gb = getattr(a, g), getattr(b, g)
                    assert _max_diff(ga.mean, gb.mean) < TOL_NT, (g, t, diag_reg)
                    assert _max_diff(ga.covariance, gb.covariance) < TOL_NT, (g, t, diag_reg)
                    if circular:
                        assert ga.pseudo_covariance is None
                    else:  # real outputs: pseudo-covariance = covariance
                        assert _max_diff(ga.pseudo_covariance, gb.covariance) < TOL_NT
                mean = ours(t, x_test_, "ntk")
                assert _max_diff(mean, b.ntk.mean) < TOL_NT


# ------------------------------------------ GP vs direct augmented formulas
def _split(m, n):
    return m[:n, :n], m[n:, :n], m[n:, n:]


@pytest.mark.parametrize("noise", [0., 0.2])
def test_gp_inference_equals_augmented_vector_formulas(noise):
    rng = np.random.default_rng(2)
    n, nt_ = 5, 3
    k, p = _complex_pair(n + nt_, rng)
    theta, theta_p = _complex_pair(n + nt_, rng)
    y = rng.normal(size=(n, 2)) + 1j * rng.normal(size=(n, 2))
    kdd, ktd, ktt = _split(k, n)
    pdd, ptd, ptt = _split(p, n)
    tdd, ttd, _ = _split(theta, n)
    qdd, qtd, _ = _split(theta_p, n)
    fn = predict.gp_inference(
        {"nngp": kdd, "ntk": tdd, "pseudo_nngp": pdd, "pseudo_ntk": qdd}.get("nngp"), y, noise,
        True, pseudo_train_train=pdd)
    post = fn("nngp", ktd, ktt, pseudo_test_train=ptd, pseudo_nngp_test_test=ptt)

    # direct widely linear conditioning of [f; conj f] on [y; conj y]
    noise_aug = noise * np.eye(2 * n)
    a_dd = _augmented(kdd, pdd) + noise_aug
    a_td = _augmented(ktd, ptd)
    a_tt = _augmented(ktt, ptt)
    gain = a_td @ np.linalg.inv(a_dd)
    mean = (gain @ np.concatenate([y, y.conj()]))[:nt_]
    cov = a_tt - gain @ a_td.conj().T
    assert _max_diff(post.mean, mean) < 1e-10
    assert _max_diff(post.covariance, cov[:nt_, :nt_]) < 1e-10
    assert _max_diff(post.pseudo_covariance, cov[:nt_, nt_:]) < 1e-10

    # NTK posterior: f_t = f_t0 + B (y - f_0), B = Theta_td Theta_dd^-1 (augmented)
    from types import SimpleNamespace as Kernel
    train = Kernel(nngp=kdd, ntk=tdd, pseudo_nngp=pdd, pseudo_ntk=qdd)
    test = Kernel(nngp=ktd, ntk=ttd, pseudo_nngp=ptd, pseudo_ntk=qtd)
    tt = Kernel(nngp=ktt, pseudo_nngp=ptt)
    post = predict.gp_inference(train, y, noise, True)("ntk", test, tt)
    b = _augmented(ttd, qtd) @ np.linalg.inv(_augmented(tdd, qdd) + noise_aug)
    mean = (b @ np.concatenate([y, y.conj()]))[:nt_]
    cross = b @ a_td.conj().T
    cov = a_tt - cross - cross.conj().T + b @ _augmented(kdd, pdd) @ b.conj().T
    assert _max_diff(post.mean, mean) < 1e-10
    assert _max_diff(post.covariance, cov[:nt_, :nt_]) < 1e-10
    assert _max_diff(post.pseudo_covariance, cov[:nt_, nt_:]) < 1e-10


def test_circular_prior_gives_circular_posterior():
    rng = np.random.default_rng(3)
    n, nt_ = 5, 3
    k, _ = _complex_pair(n + nt_, rng, circular=True)
    kdd, ktd, ktt = _split(k, n)
    y = rng.normal(size=(n, 1)) + 1j * rng.normal(size=(n, 1))
    hermitian = predict.gp_inference(kdd, y, 1e-3, pseudo_train_train=0)(
        "nngp", ktd, ktt, pseudo_test_train=0, pseudo_nngp_test_test=0)
    assert hermitian.pseudo_covariance is None  # cheap path, exactly circular
    zeros = np.zeros_like(kdd)
    forced = predict.gp_inference(kdd, y, 1e-3, pseudo_train_train=zeros)(
        "nngp", ktd, ktt, pseudo_test_train=np.zeros_like(ktd),
        pseudo_nngp_test_test=np.zeros_like(ktt))
    assert _max_diff(forced.mean, hermitian.mean) < 1e-12
    assert _max_diff(forced.covariance, hermitian.covariance) < 1e-12
    assert float(jnp.max(jnp.abs(forced.pseudo_covariance))) < 1e-12

    # Samples of the posterior (drawn from its real [Re; Im] covariance built
    # here from K and P) have an empirical pseudo-covariance within 5 standard
    # errors of 0, whereas a non-circular prior's posterior is clearly improper.
    def sample_pseudo(post, n_samples=20000):
        kk, pp = np.asarray(post.covariance), np.asarray(post.pseudo_covariance)
        real_cov = 0.5 * np.block([[np.real(kk + pp), np.imag(pp - kk)],
                                   [np.imag(kk + pp), np.real(kk - pp)]])
        z = np.random.default_rng(4).multivariate_normal(np.zeros(2 * nt_), real_cov, n_samples)
        d = z[:, :nt_] + 1j * z[:, nt_:]
        emp = d.T @ d / n_samples
        se = np.sqrt(np.outer(np.diag(kk).real, np.diag(kk).real) / n_samples)
        return np.max(np.abs(emp) / se)

    assert sample_pseudo(forced) < 5.0
    k2, p2 = _complex_pair(n + nt_, rng)
    improper = predict.gp_inference(k2[:n, :n], y, 1e-3, pseudo_train_train=p2[:n, :n])(
        "nngp", k2[n:, :n], k2[n:, n:], pseudo_test_train=p2[n:, :n],
        pseudo_nngp_test_test=p2[n:, n:])
    assert sample_pseudo(improper) > 20.0


# ------------------------------------------- dynamics vs numerical ODE
def _integrate(theta, theta_p, y, f0, ft0, lr, ts):
    """Integrate df/dt = -(lr/(2 N_y)) [Theta e + Theta~ conj e] for the
    train outputs and the test outputs driven by the train residual."""
    n, k = y.shape
    rate = lr / (2 * y.size)
    tdd, ttd = theta[:n, :n], theta[n:, :n]
    qdd, qtd = theta_p[:n, :n], theta_p[n:, :n]

    def rhs(_, state):
        z = state[: state.size // 2] + 1j * state[state.size // 2:]
        f, ft = z[: n * k].reshape(n, k), z[n * k:].reshape(-1, k)
        e = f - y
        df = -rate * (tdd @ e + qdd @ e.conj())
        dft = -rate * (ttd @ e + qtd @ e.conj())
        dz = np.concatenate([df.ravel(), dft.ravel()])
        return np.concatenate([dz.real, dz.imag])

    z0 = np.concatenate([f0.ravel(), ft0.ravel()])
    sol = solve_ivp(rhs, (0, max(ts)), np.concatenate([z0.real, z0.imag]), method="DOP853",
                    t_eval=ts, rtol=1e-12, atol=1e-13)
    z = sol.y[: z0.size] + 1j * sol.y[z0.size:]
    return z[: n * k].T.reshape(len(ts), n, k), z[n * k:].T.reshape(len(ts), -1, k)


@pytest.mark.parametrize("case", ["improper", "circular", "real_network"])
def test_gradient_descent_mse_equals_ode_integration(case):
    rng = np.random.default_rng(5)
    n, nt_ = 5, 3
    theta, theta_p = _complex_pair(n + nt_, rng, circular=(case == "circular"))
    if case == "circular":
        theta_p = None
    if case == "real_network":  # Im f frozen: singular real operator
        theta = np.real(theta)
        theta_p = theta
    y = rng.normal(size=(n, 2)) + 1j * rng.normal(size=(n, 2))
    f0 = rng.normal(size=(n, 2)) + 1j * rng.normal(size=(n, 2))
    ft0 = rng.normal(size=(nt_, 2)) + 1j * rng.normal(size=(nt_, 2))
    ts = np.array([0.3, 2.0, 15.0, 400.0])
    lr = 1.7
    p_full = np.zeros_like(theta) if theta_p is None else theta_p
    f_ode, ft_ode = _integrate(theta, p_full, y, f0, ft0, lr, ts)
    pd = 0 if theta_p is None else theta_p[:n, :n]
    pt = 0 if theta_p is None else theta_p[n:, :n]
    fn = predict.gradient_descent_mse(theta[:n, :n], y, lr, pseudo_train_train=pd)
    f_t, ft_t = fn(ts, f0, ft0, theta[n:, :n], pseudo_test_train=pt)
    scale = np.max(np.abs(f_ode))
    assert _max_diff(f_t, f_ode) < 1e-9 * scale
    assert _max_diff(ft_t, ft_ode) < 1e-9 * scale
    # t = None: the t -> infinity limit, reached by the ODE at t = 400 here
    f_inf, ft_inf = fn(None, f0, ft0, theta[n:, :n], pseudo_test_train=pt)
    assert _max_diff(f_inf, f_ode[-1]) < 1e-7 * scale
    assert _max_diff(ft_inf, ft_ode[-1]) < 1e-7 * scale
    if case == "real_network":
        assert _max_diff(f_inf.imag, f0.imag) < 1e-12  # Im f never moves


def test_ensemble_covariance_matches_monte_carlo_over_initialisations():
    """Sample f(0) jointly on train+test from the (improper) NNGP, push each
    sample through gradient_descent_mse, compare moments within 5 SE."""
    rng = np.random.default_rng(6)
    n, nt_, n_samples = 4, 3, 20000
    k, p = _complex_pair(n + nt_, rng)
    theta, theta_p = _complex_pair(n + nt_, rng)
    y = rng.normal(size=(n, 1)) + 1j * rng.normal(size=(n, 1))

    class Kernel:
        def __init__(self, sl1, sl2):
            self.nngp, self.pseudo_nngp = k[sl1, sl2], p[sl1, sl2]
            self.ntk, self.pseudo_ntk = theta[sl1, sl2], theta_p[sl1, sl2]

    train, test = slice(0, n), slice(n, n + nt_)

    def kernel_fn(x1, x2=None, get=None):
        return Kernel(x1, x1 if x2 is None else x2)

    t = 3.0
    ens = predict.gradient_descent_mse_ensemble(kernel_fn, train, y, 1.0)(
        t, test, "ntk", compute_cov=True)
    real_cov = 0.5 * np.block([[np.real(k + p), np.imag(p - k)], [np.imag(k + p), np.real(k - p)]])
    z = rng.multivariate_normal(np.zeros(2 * (n + nt_)), real_cov, n_samples)
    f0 = (z[:, : n + nt_] + 1j * z[:, n + nt_:]).T
    fn = predict.gradient_descent_mse(theta[:n, :n], np.repeat(y, n_samples, 1), 1.0 * n_samples,
                                      pseudo_train_train=theta_p[:n, :n])
    # learning_rate scaled by the number of columns: N_y normalisation per column
    _, ft = fn(t, f0[:n], f0[n:], theta[n:, :n], pseudo_test_train=theta_p[n:, :n])
    d = np.asarray(ft) - np.asarray(ens.mean)
    var = np.real(np.diag(ens.covariance))
    se_mean = np.sqrt(var / n_samples)
    assert np.max(np.abs(np.mean(d, 1)) / se_mean) < 5
    se_cov = np.sqrt(np.outer(var, var) / n_samples)
    assert np.max(np.abs(d @ d.conj().T / n_samples - ens.covariance) / se_cov) < 5
    assert np.max(np.abs(d @ d.T / n_samples - ens.pseudo_covariance) / se_cov) < 5


# ------------------------------------------------------------------ errors
def test_clear_errors():
    kernel_fn, x_train, _, y = _nt_kernels()
    k = kernel_fn(x_train, None, "nngp")
    with pytest.raises(ValueError, match="positive semi-definite.*diag_reg"):
        predict.gp_inference(k - 2 * jnp.eye(6) * jnp.max(k), y)("nngp", k)
    with pytest.raises(ValueError, match="zero prior variance.*diag_reg"):
        predict.gp_inference(k, y * 1j + y, pseudo_train_train=k)("nngp", k,
                                                                 pseudo_test_train=k)
    with pytest.raises(ValueError, match="not Hermitian"):
        predict.gp_inference(k + 0.5j * jnp.triu(k), y, pseudo_train_train=0)("nngp", k)
    with pytest.raises(ValueError, match=r"shape \(N, K\)"):
        predict.gradient_descent_mse(k, y[:, 0])
    with pytest.raises(ValueError, match="diag_reg"):
        predict.gradient_descent_mse(k, y, diag_reg=-1.)
    with pytest.raises(ValueError, match="get must be"):
        predict.gp_inference(k, y)("ntkgp", k)


def test_kernels_without_pseudo_part_are_never_taken_as_circular():
    """Complex kernels without pseudo information are ambiguous: they raise,
    saying how to pass it (the pseudo-kernel, or 0 for a circular network)."""
    rng = np.random.default_rng(7)
    k, _ = _complex_pair(4, rng)
    y = rng.normal(size=(4, 1)) + 0j
    with pytest.raises(ValueError, match="pseudo_train_train=.*or 0 for a circular"):
        predict.gp_inference(k, y)
    with pytest.raises(ValueError, match="pseudo_train_train=.*or 0 for a circular"):
        predict.gradient_descent_mse(k, y)
    with pytest.raises(ValueError, match="pseudo_test_train="):
        predict.gradient_descent_mse(k, y, pseudo_train_train=0)(1., 0., 0., k[:2])
    with pytest.raises(ValueError, match="array of its shape or 0"):
        predict.gradient_descent_mse(k, y, pseudo_train_train=1.)
    # nt_complex's field tuples without pseudo fields raise even when real (a
    # circular network on real inputs has a real K and P = 0)
    from nt_complex import stax
    _, _, kernel_fn = stax.serial(stax.Dense(4), stax.CReLU(), stax.Dense(1))
    x = rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match="request it too"):
        predict.gp_inference(kernel_fn(x, None, ("nngp", "ntk")), y)
    with pytest.raises(ValueError, match="request it too"):
        predict.gradient_descent_mse_ensemble(
            lambda a, b=None, get=None: kernel_fn(a, b, ("nngp", "ntk")), x, y)
    # a real network cannot output complex targets
    nt_fn, x_train, _, y_real = _nt_kernels()
    with pytest.raises(ValueError, match="y_train is complex.*real network"):
        predict.gp_inference(nt_fn(x_train, None), y_real + 1j)("nngp", nt_fn(x_train, None))

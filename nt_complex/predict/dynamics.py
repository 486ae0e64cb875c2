"""Infinite-width gradient-descent dynamics of complex networks on MSE.

Convention (NT's, extended): loss ``L = 1/(2 N_y) sum |f - y|^2`` with
``N_y = y_train.size`` (number of complex targets) and gradient flow
``dtheta/dt = -learning_rate * dL/dtheta`` on the REAL parameters; ``t`` counts
gradient-descent steps. Then, with ``e = f - y`` and ``s = learning_rate / N_y``,

    df/dt = -(s/2) [Theta e + Theta~ conj(e)],

equivalently, in real coordinates ``[Re f; Im f]``, ``d/dt = -s Sigma(Theta,
Theta~)`` with the symmetric PSD matrix of `nt_complex.predict._space` (the
real NTK of ``theta -> [Re f; Im f]``). For a real network (``Theta~ = Theta``
real, real data) this is exactly NT's ``df/dt = -s Theta Re(e)`` (what real
kernels without a pseudo part, e.g. NT's, get); a circular network
(``Theta~ = 0``) trains like NT with ``learning_rate / 2``, because each of
``Re f`` and ``Im f`` carries half of ``Theta``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Union

import jax.numpy as jnp

from nt_complex.predict import _inputs
from nt_complex.predict._space import Space
from nt_complex.predict._spectral import Spectrum
from nt_complex.predict.gp import ComplexGaussian


def _time_weights(spec: Spectrum, t: Optional[Any], rate: float
                  ) -> tuple[jnp.ndarray, jnp.ndarray, tuple[int, ...]]:
    """Eigenvalue functions at times `t`: ``expm1(-s t lam)`` (train) and
    ``expm1(-s t lam) / lam`` (test, limit ``-s t`` at ``lam = 0``), shape
    ``(T, D)``. ``t=None`` or ``inf``: ``-1`` and ``-1/lam`` on kept directions,
    0 on the null space (those components never move)."""
    lam = spec.evals[None]
    if t is None:
        return -spec.kept[None].astype(lam.dtype), -spec.pseudo_inverse_weights(), ()
    t = jnp.asarray(t, lam.dtype)
    shape = t.shape
    s = (t.reshape(-1, 1) * rate)
    infinite = jnp.isinf(s)
    s_finite = jnp.where(infinite, 0.0, s)
    positive = lam > 0
    decay = jnp.expm1(-s_finite * lam)
    train = jnp.where(infinite, -spec.kept[None].astype(lam.dtype), decay)
    test = jnp.where(positive, decay / jnp.where(positive, lam, 1.0), -s_finite)
    test = jnp.where(infinite, -spec.pseudo_inverse_weights(), test)
    return train, test, shape


def _reshape(x: jnp.ndarray, t_shape: tuple[int, ...]) -> jnp.ndarray:
    return x.reshape(t_shape + x.shape[1:])


def gradient_descent_mse(k_train_train: Any, y_train: jnp.ndarray,
                         learning_rate: float = 1., diag_reg: float = 0.,
                         diag_reg_absolute_scale: bool = False, *,
                         pseudo_train_train: Optional[jnp.ndarray] = None,
                         get: str = "ntk") -> Callable:
    """Closed-form outputs of a linearised complex network trained on MSE.

    Solves ``df/dt = -(lr / (2 N_y)) [Theta (f - y) + Theta~ conj(f - y)]``
    (module docstring: loss ``1/(2 N_y) sum |f - y|^2``, gradient flow over
    real parameters, NT's time units) through a symmetric eigendecomposition
    of the real ``2N x 2N`` operator, or of the ``N x N`` Hermitian ``Theta``
    when the pseudo-NTK is exactly zero.

    Args:
      k_train_train: ``(N, N)`` NTK array (pseudo-NTK in `pseudo_train_train`),
        or a `ComplexKernel` / NT `Kernel` / namedtuple (field `get` and, for
        complex kernels, ``pseudo_<get>``). Real kernels without a pseudo part
        are a real network's (``Theta~ = Theta``): NT's dynamics exactly.
      y_train: targets ``(N, K)``.
      learning_rate: step size; time is ``learning_rate * t``.
      diag_reg: ``Theta + lambda I`` with NT's scaling (see `gp_inference`).
      diag_reg_absolute_scale: ``lambda = diag_reg`` if True.
      pseudo_train_train: pseudo-NTK for an array `k_train_train` (``0``: a
        circular network; ``None``: a real network, for real arrays only).
      get: kernel field to use for non-array kernels.

    Returns:
      ``predict_fn(t=None, fx_train_0=0., fx_test_0=0., k_test_train=None, *,
      pseudo_test_train=None)``: train outputs ``t.shape + (N, K)``; with
      `k_test_train` ``(N_test, N)`` also test outputs (a tuple; train omitted
      if ``fx_train_0 is None``). ``t=None`` is infinite time.

    Example:
      >>> import jax.numpy as jnp
      >>> ntk = jnp.array([[2., 1.], [1., 2.]])
      >>> y = jnp.array([[1j], [1.]])
      >>> predict_fn = gradient_descent_mse(ntk, y, pseudo_train_train=0.5 * ntk)
      >>> bool(jnp.allclose(predict_fn(None, 0.), y))
      True
    """
    _inputs.check_diag_reg(diag_reg)
    train_pair = _inputs.kernel_pair(k_train_train, get, pseudo_train_train, "k_train_train")
    y_train = _inputs.as_targets(y_train, train_pair[0].shape[0])
    rate = learning_rate / y_train.size

    @functools.lru_cache(maxsize=2)
    def factor(mode: str):
        space = Space(mode)
        spec, _ = _inputs.regularized_spectrum(
            space, train_pair, diag_reg, diag_reg_absolute_scale, "gradient_descent_mse")
        return space, spec

    def predict_fn(t: Optional[Any] = None, fx_train_0: Any = 0., fx_test_0: Any = 0.,
                   k_test_train: Any = None, *,
                   pseudo_test_train: Optional[jnp.ndarray] = None) -> Any:
        test_pair = None
        if k_test_train is not None:
            test_pair = _inputs.kernel_pair(k_test_train, get, pseudo_test_train,
                                            "k_test_train")
        space, spec = factor(_inputs.space_of(
            [train_pair] + ([] if test_pair is None else [test_pair])).mode)
        f0 = 0. if fx_train_0 is None else fx_train_0
        e0 = space.vector(jnp.broadcast_to(f0, y_train.shape) - y_train)
        train_w, test_w, t_shape = _time_weights(spec, t, rate)
        outputs = []
        if fx_train_0 is not None:
            delta = space.complex_vector(spec.apply(train_w, e0))
            outputs.append(_reshape(fx_train_0 + delta, t_shape))
        if test_pair is not None:
            delta = jnp.einsum("ij,tj...->ti...", space.matrix(test_pair),
                               spec.apply(test_w, e0))
            outputs.append(_reshape(fx_test_0 + space.complex_vector(delta), t_shape))
        if not outputs:
            raise ValueError("predict_fn: fx_train_0=None and k_test_train=None; nothing to predict.")
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    return predict_fn


def gradient_descent_mse_ensemble(kernel_fn: Callable, x_train: jnp.ndarray,
                                  y_train: jnp.ndarray, learning_rate: float = 1.,
                                  diag_reg: float = 0.,
                                  diag_reg_absolute_scale: bool = False) -> Callable:
    """Mean and covariance over random initialisations of infinitely wide
    complex networks trained by gradient descent on MSE (NT's function, with
    pseudo-kernels).

    Each network evolves as ``f_t = f_t(0) + B(t) (f(0) - y)`` (the dynamics
    of `gradient_descent_mse`); the initial outputs are a complex GP with the
    NNGP and pseudo-NNGP, so the outputs at time t are complex Gaussian with
    mean ``-B y`` and covariance ``K_tt + B K_dt + K_td B^H + B K_dd B^H``
    (in the real ``[Re; Im]`` coordinates when pseudo-kernels are non-zero,
    which yields the pseudo-covariance too). ``get='nngp'`` trains with the
    NNGP in place of the NTK (NT's convention, regularized NNGP in the middle).

    Args:
      kernel_fn: ``kernel_fn(x1, x2, get=None)`` returning a `ComplexKernel`
        (nt_complex) or an NT `Kernel` (a real network: NT's result).
      x_train: training inputs; y_train: targets ``(N, K)``.
      learning_rate, diag_reg, diag_reg_absolute_scale: as `gradient_descent_mse`.

    Returns:
      ``predict_fn(t=None, x_test=None, get=None, compute_cov=False)``: per
      ``get`` the mean ``t.shape + (N_test, K)``, or a `ComplexGaussian` with
      covariances ``t.shape + (N_test, N_test)`` if `compute_cov`.
      ``x_test=None``: the training set.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, _, kernel_fn = stax.serial(stax.Dense(8), stax.CReLU(), stax.Dense(1))
      >>> x = jnp.array([[1. + 1j, 0.], [0.5j, 1.]])
      >>> y = jnp.array([[1j], [1.]])
      >>> predict_fn = gradient_descent_mse_ensemble(kernel_fn, x, y)
      >>> bool(jnp.allclose(predict_fn(None, None, 'ntk'), y))
      True
    """
    _inputs.check_diag_reg(diag_reg)
    k_dd = kernel_fn(x_train, None, get=None)
    y_train = _inputs.as_targets(
        y_train, _inputs.kernel_pair(k_dd, "nngp", None, "kernel_fn(x_train)")[0].shape[0])
    rate = learning_rate / y_train.size

    @functools.lru_cache(maxsize=4)
    def factor(g: str, mode: str):
        space = Space(mode)
        pair = _inputs.kernel_pair(k_dd, g, None, "kernel_fn(x_train)")
        spec, matrix = _inputs.regularized_spectrum(
            space, pair, diag_reg, diag_reg_absolute_scale, f"gradient_descent_mse_ensemble[{g}]")
        return space, spec, matrix

    def predict_fn(t: Optional[Any] = None, x_test: Optional[jnp.ndarray] = None,
                   get: Union[None, str, tuple] = None, compute_cov: bool = False) -> Any:
        names, single = _inputs.canonical_get(get)
        k_td = None if x_test is None else kernel_fn(x_test, x_train, get=None)
        k_tt = kernel_fn(x_test, None, get=None) if (compute_cov and x_test is not None) else None
        out = {}
        for g in names:
            pairs = {"dd": _inputs.kernel_pair(k_dd, g, None, "kernel_fn(x_train)")}
            if k_td is not None:
                pairs["td"] = _inputs.kernel_pair(k_td, g, None, "kernel_fn(x_test, x_train)")
            if compute_cov:
                pairs["nngp_dd"] = _inputs.kernel_pair(k_dd, "nngp", None, "kernel_fn(x_train)")
                if k_td is not None:
                    pairs["nngp_td"] = _inputs.kernel_pair(k_td, "nngp", None,
                                                           "kernel_fn(x_test, x_train)")
                    pairs["nngp_tt"] = _inputs.kernel_pair(k_tt, "nngp", None,
                                                           "kernel_fn(x_test)")
            space, spec, regularized = factor(g, _inputs.space_of(pairs.values()).mode)
            w = {key: space.matrix(pair) for key, pair in pairs.items() if key != "dd"}
            train_w, test_w, t_shape = _time_weights(spec, t, rate)
            y = space.vector(y_train)
            middle = regularized if g == "nngp" else w.get("nngp_dd")
            if k_td is None:
                # f(t) = (I + C) f(0) - C y,  C = V expm1(-s t lam) V^H.
                mean = -spec.apply(train_w, y)
                if compute_cov:
                    eye = jnp.eye(y.shape[0], dtype=spec.evecs.dtype)
                    gain = eye + spec.apply(train_w, eye)
                    cov = jnp.einsum("tij,jk,tlk->til", gain, middle, gain.conj())
            else:
                # f_t(t) = f_t(0) + B (f(0) - y),  B = W_td V psi V^H.
                mean = -jnp.einsum("ij,tj...->ti...", w["td"], spec.apply(test_w, y))
                if compute_cov:
                    gain = jnp.einsum("ij,tjk->tik", w["td"],
                                      spec.apply(test_w, jnp.eye(y.shape[0], dtype=spec.evecs.dtype)))
                    cross = jnp.einsum("tij,kj->tik", gain, w["nngp_td"].conj())
                    cov = (w["nngp_tt"][None] + cross + jnp.swapaxes(cross.conj(), 1, 2)
                           + jnp.einsum("tij,jk,tlk->til", gain, middle, gain.conj()))
            mean = _reshape(space.complex_vector(mean), t_shape)
            if compute_cov:
                covariance, pseudo = space.covariance(cov)
                pseudo = None if pseudo is None else _reshape(pseudo, t_shape)
                out[g] = ComplexGaussian(mean, _reshape(covariance, t_shape), pseudo)
            else:
                out[g] = mean
        return _inputs.pack(out, single)

    return predict_fn

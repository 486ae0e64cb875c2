"""Linear layers against explicit loops of E[y conj(y)] and E[y y] over the
weights (exact: for a linear layer on fixed inputs the expectation is a finite
sum over the receptive field, since distinct weights are independent)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from precision import tolerance

from nt_complex import stax

pytestmark = pytest.mark.smoke


def _inputs(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def _padded_index(i, f, size, filter_size, stride, padding):
    """Input index read by output position i, filter tap f (None = zero pad)."""
    if padding == "VALID":
        return i * stride + f
    total = max((int(np.ceil(size / stride)) - 1) * stride + filter_size - size, 0)
    j = i * stride + f - total // 2
    if padding == "CIRCULAR":
        return j % size
    return j if 0 <= j < size else None


def _out_size(size, filter_size, stride, padding):
    if padding == "VALID":
        return (size - filter_size) // stride + 1
    return int(np.ceil(size / stride))


def conv_covariance_loop(x1, x2, filter_shape, strides, padding, W_std, b_std,
                         W_pseudo, b_pseudo):
    """E[y1(s) conj y2(s')] and E[y1(s) y2(s')] for y = conv(x, W)/sqrt(fan_in) W_std + b_std b."""
    n1, h, w, c = x1.shape
    n2 = x2.shape[0]
    fh, fw = filter_shape
    sh, sw = strides
    oh, ow = _out_size(h, fh, sh, padding), _out_size(w, fw, sw, padding)
    fan_in = c * fh * fw
    herm = np.zeros((n1, n2, oh, oh, ow, ow), complex)
    pseudo = np.zeros_like(herm)
    for a, b, i, i2, j, j2 in itertools.product(range(n1), range(n2), range(oh), range(oh),
                                                range(ow), range(ow)):
        total_h = total_p = 0
        for p, q in itertools.product(range(fh), range(fw)):
            r1, r2 = _padded_index(i, p, h, fh, sh, padding), _padded_index(i2, p, h, fh, sh, padding)
            c1, c2 = _padded_index(j, q, w, fw, sw, padding), _padded_index(j2, q, w, fw, sw, padding)
            if None in (r1, r2, c1, c2):
                continue
            total_h += np.sum(x1[a, r1, c1] * np.conj(x2[b, r2, c2]))
            total_p += np.sum(x1[a, r1, c1] * x2[b, r2, c2])
        herm[a, b, i, i2, j, j2] = W_std ** 2 * total_h / fan_in + b_std ** 2
        pseudo[a, b, i, i2, j, j2] = W_pseudo * W_std ** 2 * total_p / fan_in + b_pseudo * b_std ** 2
    return herm, pseudo


@pytest.mark.parametrize("padding", ["VALID", "SAME", "CIRCULAR"])
@pytest.mark.parametrize("strides", [(1, 1), (2, 1)])
def test_conv_matches_explicit_loop(padding, strides):
    x1, x2 = _inputs((2, 5, 4, 3), 0), _inputs((3, 5, 4, 3), 1)
    kw = dict(W_std=1.3, b_std=0.4, W_pseudo=0.3 - 0.4j, b_pseudo=0.5j)
    _, _, kernel_fn = stax.Conv(7, (3, 2), strides, padding, **kw)
    k = kernel_fn(x1, x2, ("nngp", "pseudo_nngp"), diagonal_spatial=False)
    herm, pseudo = conv_covariance_loop(x1, x2, (3, 2), strides, padding, **kw)
    scale = np.max(np.abs(herm))
    np.testing.assert_allclose(k.nngp, herm, rtol=0, atol=tolerance(1e-12) * scale)
    np.testing.assert_allclose(k.pseudo_nngp, pseudo, rtol=0, atol=tolerance(1e-12) * scale)


def test_two_stacked_convs_match_loop_composition():
    """Conv(SAME) then Conv(VALID, stride 2): the kernel of the second layer is
    the explicit loop applied to the first layer's covariance."""
    x = _inputs((2, 5, 5, 2), 2)
    first = dict(W_std=1.1, b_std=0.2, W_pseudo=0.0, b_pseudo=0.0)
    second = dict(W_std=0.9, b_std=0.3, W_pseudo=0.0, b_pseudo=0.0)
    net = stax.serial(stax.Conv(4, (3, 3), None, "SAME", **first),
                      stax.Conv(4, (2, 2), (2, 2), "VALID", **second))
    k = net[2](x, None, "nngp", diagonal_spatial=False)
    herm1, _ = conv_covariance_loop(x, x, (3, 3), (1, 1), "SAME", **first)
    # Second layer: E[y2(s) conj y2(s')] = W^2 mean_taps K1(s + f, s' + f) + b^2.
    n, oh = 2, 2
    expected = np.zeros((n, n, oh, oh, oh, oh), complex)
    for a, b, i, i2, j, j2 in itertools.product(range(n), range(n), range(oh), range(oh),
                                                range(oh), range(oh)):
        taps = [herm1[a, b, 2 * i + p, 2 * i2 + p, 2 * j + q, 2 * j2 + q]
                for p in range(2) for q in range(2)]
        expected[a, b, i, i2, j, j2] = 0.81 * np.mean(taps) + 0.09
    np.testing.assert_allclose(k, expected, rtol=0, atol=tolerance(1e-12) * np.max(np.abs(expected)))


def test_dense_matches_explicit_sum():
    x1, x2 = _inputs((3, 6), 3), _inputs((2, 6), 4)
    W_pseudo, b_pseudo = 0.2 + 0.5j, -0.7
    _, _, kernel_fn = stax.Dense(5, 1.7, 0.3, W_pseudo=W_pseudo, b_pseudo=b_pseudo)
    k = kernel_fn(x1, x2, ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk"))
    herm = 1.7 ** 2 * x1 @ np.conj(x2).T / 6 + 0.09
    pseudo = W_pseudo * 1.7 ** 2 * x1 @ x2.T / 6 + b_pseudo * 0.09
    np.testing.assert_allclose(k.nngp, herm, atol=tolerance(1e-13))
    np.testing.assert_allclose(k.pseudo_nngp, pseudo, atol=tolerance(1e-13))
    # NTK of one layer w.r.t. its own parameters equals its NNGP (ntk param).
    np.testing.assert_allclose(k.ntk, herm, atol=tolerance(1e-13))
    np.testing.assert_allclose(k.pseudo_ntk, pseudo, atol=tolerance(1e-13))


def test_dense_standard_parameterization_ntk():
    """Standard parameterization: Theta = fan_in K_x + 1 (bias), pseudo scaled."""
    x = _inputs((3, 4), 5)
    _, _, kernel_fn = stax.Dense(5, 1.5, 0.2, parameterization="standard",
                                 W_pseudo=0.5, b_pseudo=0.25)
    k = kernel_fn(x, None, ("ntk", "pseudo_ntk"))
    np.testing.assert_allclose(k.ntk, x @ np.conj(x).T + 1, atol=tolerance(1e-13))
    np.testing.assert_allclose(k.pseudo_ntk, 0.5 * x @ x.T + 0.25, atol=tolerance(1e-13))


@pytest.mark.parametrize("padding", ["VALID", "SAME", "CIRCULAR"])
def test_avg_pool_matches_loop(padding):
    x = _inputs((2, 5, 4, 3), 6)
    k = stax.AvgPool((2, 2), (2, 1), padding)[2](x, None, ("nngp", "pseudo_nngp"),
                                                 diagonal_spatial=False)
    n, h, w, c = x.shape
    oh, ow = _out_size(h, 2, 2, padding), _out_size(w, 2, 1, padding)
    herm = np.zeros((n, n, oh, oh, ow, ow), complex)
    pseudo = np.zeros_like(herm)
    for a, b, i, i2, j, j2 in itertools.product(range(n), range(n), range(oh), range(oh),
                                                range(ow), range(ow)):
        for p, q, p2, q2 in itertools.product(range(2), repeat=4):
            r1, r2 = _padded_index(i, p, h, 2, 2, padding), _padded_index(i2, p2, h, 2, 2, padding)
            c1, c2 = _padded_index(j, q, w, 2, 1, padding), _padded_index(j2, q2, w, 2, 1, padding)
            if None in (r1, r2, c1, c2):
                continue
            herm[a, b, i, i2, j, j2] += np.sum(x[a, r1, c1] * np.conj(x[b, r2, c2])) / c / 16
            pseudo[a, b, i, i2, j, j2] += np.sum(x[a, r1, c1] * x[b, r2, c2]) / c / 16
    np.testing.assert_allclose(k.nngp, herm, atol=tolerance(1e-13))
    np.testing.assert_allclose(k.pseudo_nngp, pseudo, atol=tolerance(1e-13))


def test_flatten_and_global_avg_pool():
    x = _inputs((3, 4, 3, 2), 7)
    flat = stax.Flatten()[2](x, None, ("nngp", "pseudo_nngp"))
    xf = x.reshape(3, -1)
    np.testing.assert_allclose(flat.nngp, xf @ np.conj(xf).T / xf.shape[1], atol=tolerance(1e-13))
    np.testing.assert_allclose(flat.pseudo_nngp, xf @ xf.T / xf.shape[1], atol=tolerance(1e-13))
    gap = stax.GlobalAvgPool()[2](x, None, ("nngp", "pseudo_nngp"))
    xm = x.mean(axis=(1, 2))
    np.testing.assert_allclose(gap.nngp, xm @ np.conj(xm).T / 2, atol=tolerance(1e-13))
    np.testing.assert_allclose(gap.pseudo_nngp, xm @ xm.T / 2, atol=tolerance(1e-13))


def test_fan_in_sum_and_concat():
    """Two independent Dense branches: sum adds kernels, concat averages them
    weighted by channel counts; pseudo fields likewise."""
    x = _inputs((3, 4), 8)
    branch1 = stax.Dense(6, 1.2, 0.1, W_pseudo=1.0, b_pseudo=1.0)
    branch2 = stax.Dense(2, 0.8, None, W_pseudo=0.0)
    k1 = branch1[2](x, None, ("nngp", "pseudo_nngp"))
    k2 = branch2[2](x, None, ("nngp", "pseudo_nngp"))
    same_width = stax.Dense(6, 0.8, None, W_pseudo=0.0)
    summed = stax.serial(stax.FanOut(2), stax.parallel(branch1, same_width), stax.FanInSum())
    ks = summed[2](x, None, ("nngp", "pseudo_nngp"))
    np.testing.assert_allclose(ks.nngp, k1.nngp + k2.nngp, atol=tolerance(1e-13))
    np.testing.assert_allclose(ks.pseudo_nngp, k1.pseudo_nngp + k2.pseudo_nngp, atol=tolerance(1e-13))
    concat = stax.serial(stax.FanOut(2), stax.parallel(branch1, branch2), stax.FanInConcat())
    kc = concat[2](x, None, ("nngp", "pseudo_nngp"))
    np.testing.assert_allclose(kc.nngp, (6 * k1.nngp + 2 * k2.nngp) / 8, atol=tolerance(1e-13))
    np.testing.assert_allclose(kc.pseudo_nngp, (6 * k1.pseudo_nngp + 2 * k2.pseudo_nngp) / 8,
                               atol=tolerance(1e-13))


def test_circular_pseudo_fields_are_exact_zeros_and_not_allocated():
    x = _inputs((3, 5, 5, 2), 9)
    net = stax.serial(stax.Conv(8, (3, 3), padding="SAME", b_std=0.1), stax.Flatten(),
                      stax.Dense(1))
    k = net[2](x, None)
    assert k.is_circular and k.pseudo_nngp is None and k.pseudo_ntk is None
    assert np.all(k.get("pseudo_ntk") == 0)


def test_conv_diagonal_spatial_matches_full():
    """Conv + Flatten may use diagonal spatial covariances (as NT); both agree."""
    x = _inputs((3, 5, 4, 2), 10)
    net = stax.serial(stax.Conv(8, (3, 3), padding="SAME", W_pseudo=0.5, b_std=0.2),
                      stax.CReLU(), stax.Conv(8, (2, 2), padding="CIRCULAR"),
                      stax.Flatten(), stax.Dense(1))
    get = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")
    diag = net[2](x, None, get)
    full = net[2](x, None, get, diagonal_spatial=False)
    for a, b in zip(diag, full):
        np.testing.assert_allclose(a, b, atol=tolerance(1e-12))


def test_jit_matches_eager():
    x = _inputs((3, 4, 4, 2), 11)
    net = stax.serial(stax.Conv(4, (2, 2), padding="SAME", W_pseudo=1.0, b_pseudo=1.0,
                                b_std=0.3),
                      stax.CReLU(), stax.AvgPool((2, 2)), stax.Flatten(), stax.Dense(1))
    kernel_fn = net[2]
    get = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")
    eager = kernel_fn(x, None, get)
    jitted = jax.jit(kernel_fn, static_argnames="get")(x, None, get=get)
    for a, b in zip(eager, jitted):
        np.testing.assert_allclose(a, b, rtol=tolerance(1e-12), atol=tolerance(1e-13))


def test_kernel_methods_keep_pseudo_fields_consistent():
    """NT's Kernel methods touch only the base fields; ComplexKernel's versions
    slice/reverse the pseudo fields too, and refuse NT's arithmetic."""
    x = _inputs((4, 3, 2, 2), 12)
    k = stax.Conv(4, (2, 1), padding="SAME", W_pseudo=0.5)[2](x, None, diagonal_spatial=False)
    part = k.slice(slice(0, 2), slice(1, 4))
    np.testing.assert_array_equal(part.pseudo_nngp, k.pseudo_nngp[0:2, 1:4])
    np.testing.assert_array_equal(part.pseudo_cov2, k.pseudo_cov1[1:4])
    np.testing.assert_array_equal(part.nngp, k.nngp[0:2, 1:4])
    flipped = k.reverse()
    np.testing.assert_array_equal(flipped.pseudo_nngp, np.transpose(k.pseudo_nngp, (0, 1, 4, 5, 2, 3)))
    np.testing.assert_array_equal(flipped.reverse().pseudo_cov1, k.pseudo_cov1)
    with pytest.raises(NotImplementedError, match="pseudo"):
        k * 2.0

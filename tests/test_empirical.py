"""Empirical NNGP/NTK and pseudo-kernels vs an independent direct computation.

The reference materialises `d f / d r` for every real coordinate `r` of the
parameters with `jax.jacrev` of Re f and Im f (complex leaves split by hand
here, independently of `nt_complex.empirical`), and applies `trace_axes` /
`diagonal_axes` with one explicit `einsum` (not NT's code). Agreement is
required to 1e-12 relative (float64).
"""

from __future__ import annotations

import functools
import itertools
import string

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pytest

from nt_complex import stax
from nt_complex.empirical.kernels import (_realified, empirical_kernel_fn, empirical_nngp_fn,
                                          empirical_ntk_fn, split_complex_leaves)
from nt_complex.empirical.jaxpr_probe import probed
from nt_complex.empirical.probe import PROBE_KWARG, Probe
from precision import tolerance

RTOL = 1e-12
IMPLEMENTATIONS = (1, 2, 3)


def _complex_normal(seed: int, shape) -> jnp.ndarray:
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return (jax.random.normal(k1, shape) + 1j * jax.random.normal(k2, shape)) / np.sqrt(2)


def _jacobian(f, params, x) -> np.ndarray:
    """`d f(x) / d r` as a complex array `(*out_shape, P)` over real coordinates."""
    leaves, treedef = jax.tree_util.tree_flatten(params)
    coords = []  # (leaf index, part) for every real coordinate block
    for i, leaf in enumerate(leaves):
        coords.append((i, "re"))
        if jnp.iscomplexobj(leaf):
            coords.append((i, "im"))

    def f_of_coords(blocks):
        rebuilt = [b for b in leaves]
        for (i, part), block in zip(coords, blocks):
            if part == "re":
                rebuilt[i] = block if not jnp.iscomplexobj(leaves[i]) else block + 0j
        for (i, part), block in zip(coords, blocks):
            if part == "im":
                rebuilt[i] = rebuilt[i] + 1j * block
        out = f(jax.tree_util.tree_unflatten(treedef, rebuilt), x)
        return jnp.real(out), jnp.imag(out)

    blocks = [jnp.real(leaves[i]) if p == "re" else jnp.imag(leaves[i]) for i, p in coords]
    jac_re, jac_im = jax.jacrev(f_of_coords)(blocks)
    out_ndim = jnp.ndim(f(params, x))

    def flat(js):
        return np.concatenate([np.asarray(j).reshape(j.shape[:out_ndim] + (-1,)) for j in js], -1)
    return flat(jac_re) + 1j * flat(jac_im)


def _reduce(a: np.ndarray, b: np.ndarray, trace_axes, diagonal_axes) -> np.ndarray:
    """`sum_r a[..., r] b[..., r]` with NT's trace/diagonal layout, via einsum."""
    ndim = a.ndim - 1
    trace = {ax % ndim for ax in trace_axes}
    diag = {ax % ndim for ax in diagonal_axes}
    left, right, out = string.ascii_letters[:ndim], list(string.ascii_letters[ndim:2 * ndim]), ""
    scale = 1.0
    for ax in range(ndim):
        if ax in trace or ax in diag:
            right[ax] = left[ax]
        if ax in trace:
            scale *= a.shape[ax]
            continue
        out += left[ax] if ax in diag else left[ax] + right[ax]
    right = "".join(right)
    return np.einsum(f"{left}z,{right}z->{out}", a, b) / scale


_JACOBIANS: dict = {}


def _jacobian_and_output(f, params, x) -> tuple[np.ndarray, np.ndarray]:
    key = (id(f), id(params), id(x))  # the entry keeps (f, params, x) alive: ids stay unique
    if key not in _JACOBIANS:
        _JACOBIANS[key] = ((f, params, x), _jacobian(f, params, x),
                           np.asarray(f(params, x))[..., None])
    return _JACOBIANS[key][1:]


def _reference(f, params, x1, x2, trace_axes, diagonal_axes) -> dict:
    j1, y1 = _jacobian_and_output(f, params, x1)
    j2, y2 = _jacobian_and_output(f, params, x2)
    return {"ntk": _reduce(j1, np.conj(j2), trace_axes, diagonal_axes),
            "pseudo_ntk": _reduce(j1, j2, trace_axes, diagonal_axes),
            "nngp": _reduce(y1, np.conj(y2), trace_axes, diagonal_axes),
            "pseudo_nngp": _reduce(y1, y2, trace_axes, diagonal_axes)}


def _assert_close(actual, expected, name: str, scale: float) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
    err = np.max(np.abs(actual - expected)) / scale
    assert err <= RTOL, f"{name}: relative error {err:.2e} > {RTOL}"


def _check_all(f, params, x1, x2, trace_axes, diagonal_axes, vmap_axes, implementation,
               x2_arg="same"):
    ref = _reference(f, params, x1, x2, trace_axes, diagonal_axes)
    kernel_fn = empirical_kernel_fn(f, trace_axes, diagonal_axes, vmap_axes, implementation)
    got = kernel_fn(x1, None if x2_arg is None else x2, None, params)
    for name in ("ntk", "pseudo_ntk", "nngp", "pseudo_nngp"):
        scale = np.max(np.abs(ref[name.replace("pseudo_", "")]))
        _assert_close(getattr(got, name), ref[name], name, scale)
    return got, ref


def _axes_combinations(ndim: int):
    """Every (trace_axes, diagonal_axes) pair over the output axes, disjoint,
    with negative spellings mixed in."""
    combos = []
    axes = range(ndim)
    for n_trace in range(ndim):
        for trace in itertools.combinations(range(1, ndim), n_trace):
            rest = [a for a in axes if a not in trace]
            for n_diag in range(len(rest) + 1):
                for diag in itertools.combinations(rest, n_diag):
                    combos.append((tuple(a - ndim if a % 2 else a for a in trace), diag))
    return combos


# ---------------------------------------------------------------- networks
def complex_mlp():
    init_fn, apply_fn, _ = stax.serial(
        stax.Dense(6, b_std=0.3, W_pseudo=0.4), stax.CReLU(),
        stax.Dense(3, W_std=1.2, b_std=0.1, W_pseudo=0.3j))
    x1, x2 = _complex_normal(0, (3, 4)), _complex_normal(1, (3, 4))
    _, params = init_fn(jax.random.PRNGKey(2), x1.shape)
    return apply_fn, params, x1, x2


def circular_mlp():
    init_fn, apply_fn, _ = stax.serial(stax.Dense(6, b_std=0.3), stax.CReLU(), stax.Dense(3))
    x1, x2 = _complex_normal(39, (3, 4)), _complex_normal(40, (3, 4))
    _, params = init_fn(jax.random.PRNGKey(41), x1.shape)
    return apply_fn, params, x1, x2


def complex_cnn():
    init_fn, apply_fn, _ = stax.serial(
        stax.Conv(3, (2, 2), padding="SAME", b_std=0.2, W_pseudo=0.5), stax.CReLU(),
        stax.Conv(2, (2, 1), padding="VALID"))
    x1, x2 = _complex_normal(3, (2, 3, 2, 2)), _complex_normal(4, (2, 3, 2, 2))
    _, params = init_fn(jax.random.PRNGKey(5), x1.shape)
    return apply_fn, params, x1, x2


def holomorphic_net():
    init_fn, apply_fn, _ = stax.serial(stax.Dense(5, b_std=0.5), stax.Exp(), stax.Dense(2))
    x1, x2 = 0.5 * _complex_normal(6, (3, 4)), 0.5 * _complex_normal(7, (3, 4))
    _, params = init_fn(jax.random.PRNGKey(8), x1.shape)
    return apply_fn, params, x1, x2


def complex_leaf_net():
    """Plain JAX: complex leaves W1, W2, a real leaf b."""
    def apply_fn(p, x):
        h = x @ p["W1"] + p["b"]
        h = jax.nn.relu(jnp.real(h)) + 1j * jnp.tanh(jnp.imag(h))
        return h @ p["W2"]
    x1, x2 = _complex_normal(9, (3, 4)), _complex_normal(10, (3, 4))
    params = {"W1": _complex_normal(11, (4, 5)), "W2": _complex_normal(12, (5, 2)),
              "b": jax.random.normal(jax.random.PRNGKey(13), (5,))}
    return apply_fn, params, x1, x2


def shared_weight_net():
    """Plain JAX: W used by two layers (not structured: reverse mode for W)."""
    def apply_fn(p, x):
        h = jnp.tanh(x @ p["W"])
        return (h @ p["W"].T) @ p["V"]
    x1, x2 = _complex_normal(25, (3, 4)), _complex_normal(26, (3, 4))
    return apply_fn, {"W": _complex_normal(27, (4, 4)), "V": _complex_normal(28, (4, 2))}, x1, x2


def plain_conv_net():
    """Plain JAX: lax.conv, a broadcast bias, a weight on the left of a matmul,
    a layer inside a jitted function."""
    @jax.jit
    def scaled_layer(w, h):
        return jnp.sin(h @ (w * 0.5))

    def apply_fn(p, x):
        h = jax.lax.conv_general_dilated(x, p["K"], (2,), "SAME",
                                         dimension_numbers=("NWC", "WIO", "NWC"))
        h = jnp.tanh(h + p["c"]).reshape(x.shape[0], -1)
        return scaled_layer(p["A"], (p["V"] @ h.T).T)
    x1, x2 = _complex_normal(29, (3, 5, 2)), _complex_normal(30, (3, 5, 2))
    params = {"K": _complex_normal(31, (3, 2, 4)), "c": _complex_normal(32, (4,)),
              "V": _complex_normal(33, (3, 12)),
              "A": jax.random.normal(jax.random.PRNGKey(34), (3, 2))}
    return apply_fn, params, x1, x2


def real_part_weight_net():
    """Plain JAX: a layer uses Re of a complex leaf (its Im part is unused)."""
    def apply_fn(p, x):
        return jnp.tanh(x @ (jnp.real(p["W"]) * 2.)) @ p["V"]
    x1, x2 = _complex_normal(35, (3, 4)), _complex_normal(36, (3, 4))
    return apply_fn, {"W": _complex_normal(37, (4, 3)), "V": _complex_normal(38, (3, 2))}, x1, x2


def jitted_and_direct_use_net():
    """Plain JAX: W used inside a jitted layer and again directly (not structured)."""
    @jax.jit
    def layer(w, h):
        return jnp.tanh(h @ w)

    def apply_fn(p, x):
        return (layer(p["W"], x) + x @ p["W"]) @ p["V"]
    x1, x2 = _complex_normal(44, (3, 4)), _complex_normal(45, (3, 4))
    return apply_fn, {"W": _complex_normal(46, (4, 4)), "V": _complex_normal(47, (4, 2))}, x1, x2


def real_weights_mixed_inputs():
    """Real weights: real outputs on the real x1, complex ones on the complex x2."""
    init_fn, apply_fn, _ = stax.serial(
        stax.Dense(5, W_pseudo=1., b_std=0.2, b_pseudo=1.), stax.CReLU(),
        stax.Conv(2, (2,), padding="CIRCULAR", W_pseudo=1.), stax.Flatten(),
        stax.Dense(2, W_pseudo=1.))
    x1 = jax.random.normal(jax.random.PRNGKey(22), (3, 3, 4))
    x2 = _complex_normal(23, (3, 3, 4))
    _, params = init_fn(jax.random.PRNGKey(24), x1.shape)
    return apply_fn, params, x1, x2


(complex_mlp, circular_mlp, complex_cnn, holomorphic_net, complex_leaf_net, shared_weight_net,
 plain_conv_net, real_part_weight_net, jitted_and_direct_use_net, real_weights_mixed_inputs) = (
    functools.lru_cache(maxsize=None)(net)
    for net in (complex_mlp, circular_mlp, complex_cnn, holomorphic_net, complex_leaf_net,
                shared_weight_net, plain_conv_net, real_part_weight_net,
                jitted_and_direct_use_net, real_weights_mixed_inputs))
NETWORKS = {"complex_mlp": complex_mlp, "circular_mlp": circular_mlp,
            "complex_cnn": complex_cnn, "holomorphic": holomorphic_net,
            "complex_leaves": complex_leaf_net, "shared_weight": shared_weight_net,
            "plain_conv": plain_conv_net, "real_part_weight": real_part_weight_net,
            "jitted_and_direct_use": jitted_and_direct_use_net,
            "real_weights_mixed_inputs": real_weights_mixed_inputs}
#: CNN output (N, H, W, C): a representative subset of the 54 disjoint
#: (trace_axes, diagonal_axes) pairs (every axis traced, diagonal, or kept at
#: least once, negative spellings, batch diagonal).
CNN_AXES = [((-1,), ()), ((), ()), ((1, -1), ()), ((-3, 2, 3), ()), ((), (0, 1, 2)),
            ((-1,), (0, 2)), ((2,), (1,)), ((1, 2), (0, 3))]


# ------------------------------------------------------------------- tests
def _mlp_cases():
    """Every axes combination with every implementation; vmap_axes None and 0
    alternate for implementations 1 and 2 (so each implementation and each axes
    combination meets both), implementation 3 ignores vmap_axes (it evaluates
    examples one at a time: both values are the same program)."""
    return [axes + (vmap, implementation)
            for i, axes in enumerate(_axes_combinations(2))
            for implementation, vmap in ((1, (None, 0)[i % 2]), (2, (0, None)[i % 2]),
                                         (3, None))]


@pytest.mark.parametrize("trace_axes,diagonal_axes,vmap_axes,implementation", _mlp_cases())
def test_complex_mlp_every_axes_combination(trace_axes, diagonal_axes, vmap_axes,
                                            implementation):
    f, params, x1, x2 = complex_mlp()
    got, ref = _check_all(f, params, x1, x2, trace_axes, diagonal_axes, vmap_axes,
                          implementation)
    assert np.max(np.abs(ref["pseudo_ntk"])) > 1e-2  # non-circular: pseudo-NTK is non-zero


@pytest.mark.parametrize("implementation,vmap_axes", [(1, 0), (2, None), (3, None)])
@pytest.mark.parametrize("trace_axes,diagonal_axes", CNN_AXES)
def test_complex_cnn_every_axes_combination(trace_axes, diagonal_axes, vmap_axes,
                                            implementation):
    f, params, x1, x2 = complex_cnn()
    _check_all(f, params, x1, x2, trace_axes, diagonal_axes, vmap_axes, implementation)


def _rotated(cases, implementations, axes):
    """Every case with every implementation, the axes rotating through `axes` so
    that each (case, axes) and (implementation, axes) pair also occurs (the
    full product is 3x the compilations for no new code path)."""
    return [(case, impl) + axes[(i + j) % len(axes)]
            for i, case in enumerate(cases) for j, impl in enumerate(implementations)]


@pytest.mark.parametrize("name,implementation,trace_axes,diagonal_axes", _rotated(
    sorted(NETWORKS), IMPLEMENTATIONS, [((-1,), ()), ((), (0,)), ((0,), ())]))
def test_networks_against_direct_jacobian(name, trace_axes, diagonal_axes, implementation):
    f, params, x1, x2 = NETWORKS[name]()
    _check_all(f, params, x1, x2, trace_axes, diagonal_axes, 0, implementation)


def test_circular_weights_seen_through_the_jaxpr_have_no_pseudo_term():
    """alpha^2 + beta^2 of the circular mixing is 0 only up to rounding (2e-16):
    the jaxpr route must still treat it as 0 (else it computes the cross Grams)."""
    init_fn, apply_fn, _ = stax.serial(stax.Dense(4, b_std=0.1), stax.CReLU(),
                                       stax.Conv(2, (1,)), stax.Flatten(), stax.Dense(2))
    x = _complex_normal(42, (1, 3, 5))
    _, params = init_fn(jax.random.PRNGKey(43), x.shape)
    probe = Probe()
    plain = _realified(lambda p, x: apply_fn(p, x), True)
    probed(plain)(split_complex_leaves(params), x, **{PROBE_KWARG: probe})
    assert len(probe.records) == 4  # Dense (matmul, bias), Conv, Dense
    for record in probe.records:
        assert record.structure.weight_pseudo == 0 and record.structure.bias_pseudo == 0


@pytest.mark.smoke
@pytest.mark.parametrize("name", ["complex_mlp", "complex_cnn", "plain_conv"])
@pytest.mark.parametrize("same_inputs", [True, False])
def test_structured_equals_jacobian_contraction_in_current_precision(name, same_inputs):
    """Also run in float32 (`make test`'s smoke pass): the structured route's
    Grams and sign conventions hold at the default precision."""
    f, params, x1, x2 = NETWORKS[name]()
    x2 = None if same_inputs else x2
    get = ("ntk", "pseudo_ntk")
    structured = empirical_kernel_fn(f, (), vmap_axes=0, implementation=3)(x1, x2, get, params)
    contraction = empirical_kernel_fn(f, (), vmap_axes=0, implementation=1)(x1, x2, get, params)
    scale = float(np.max(np.abs(contraction.ntk)))
    for a, b in zip(structured, contraction):
        assert np.max(np.abs(np.asarray(a) - np.asarray(b))) <= tolerance(1e-12) * scale


@pytest.mark.parametrize("name", ["circular_mlp", "complex_cnn", "complex_leaves",
                                  "real_weights_mixed_inputs"])
@pytest.mark.parametrize("trace_axes,diagonal_axes", [((), ()), ((-1,), ()), ((0,), ())])
@pytest.mark.parametrize("same_inputs", [True, False])
def test_structured_ntk_alone(name, trace_axes, diagonal_axes, same_inputs):
    """`empirical_ntk_fn` asks for no pseudo-NTK: the structured route then skips
    the cross Grams (circular layers); it must still match the reference."""
    f, params, x1, x2 = NETWORKS[name]()
    x2 = x1 if same_inputs else x2
    ref = _reference(f, params, x1, x2, trace_axes, diagonal_axes)["ntk"]
    got = empirical_ntk_fn(f, trace_axes, diagonal_axes, vmap_axes=0, implementation=3)(
        x1, None if same_inputs else x2, params)
    _assert_close(got, ref, "ntk", np.max(np.abs(ref)))


@pytest.mark.parametrize("network,implementation,trace_axes,diagonal_axes", _rotated(
    [complex_mlp, complex_cnn, holomorphic_net], IMPLEMENTATIONS,
    [((), ()), ((-1,), ()), ((), (0, -1)), ((0,), ())]))
def test_x2_none_means_x1(network, trace_axes, diagonal_axes, implementation):
    f, params, x1, _ = network()
    _check_all(f, params, x1, x1, trace_axes, diagonal_axes, None, implementation,
               x2_arg=None)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_holomorphic_network_has_zero_pseudo_ntk(implementation):
    f, params, x1, x2 = holomorphic_net()
    k = empirical_kernel_fn(f, trace_axes=(), implementation=implementation)(
        x1, x2, None, params)
    assert np.max(np.abs(k.pseudo_ntk)) <= RTOL * np.max(np.abs(k.ntk))
    assert np.max(np.abs(k.pseudo_nngp)) > 1e-3  # outputs themselves are not circular


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_complex_leaf_counts_twice_vs_real_leaf_convention(implementation):
    """A stax net with leaves (A, B), W = (A + iB)/sqrt2, vs the same function
    of the complex leaf W: every derivative is sqrt2 larger, kernels 2x."""
    init_fn, apply_fn, _ = stax.serial(stax.Dense(5), stax.CReLU(), stax.Dense(2))
    x1, x2 = _complex_normal(14, (3, 4)), _complex_normal(15, (3, 4))
    _, params = init_fn(jax.random.PRNGKey(16), x1.shape)
    as_complex = [{"W": (layer["W"][0] + 1j * layer["W"][1]) / np.sqrt(2)}
                  if layer else layer for layer in params]

    def complex_leaf_apply(p, x):
        h = x @ p[0]["W"] / np.sqrt(x.shape[-1])
        h = jax.nn.relu(jnp.real(h)) + 1j * jax.nn.relu(jnp.imag(h))
        return h @ p[2]["W"] / np.sqrt(h.shape[-1])

    np.testing.assert_allclose(complex_leaf_apply(as_complex, x1), apply_fn(params, x1),
                               rtol=1e-13)
    kernel = lambda f: empirical_kernel_fn(f, (), implementation=implementation)
    real_leaves = kernel(apply_fn)(x1, x2, ("ntk", "pseudo_ntk"), params)
    complex_leaves = empirical_kernel_fn(complex_leaf_apply, (), vmap_axes=0,
                                         implementation=implementation)(
        x1, x2, ("ntk", "pseudo_ntk"), as_complex)
    scale = np.max(np.abs(real_leaves.ntk))
    _assert_close(complex_leaves.ntk, 2 * real_leaves.ntk, "ntk", 2 * scale)
    _assert_close(complex_leaves.pseudo_ntk, 2 * real_leaves.pseudo_ntk, "pseudo_ntk",
                  2 * scale)


@pytest.mark.parametrize("implementation,vmap_axes", [(1, 0), (2, None), (3, 0)])
@pytest.mark.parametrize("trace_axes,diagonal_axes", [((-1,), ()), ((), ()), ((), (0,))])
def test_real_nt_stax_network_equals_nt(trace_axes, diagonal_axes, vmap_axes, implementation):
    init_fn, apply_fn, _ = nt.stax.serial(nt.stax.Dense(7, b_std=0.1), nt.stax.Relu(),
                                          nt.stax.Dense(3))
    x1 = jax.random.normal(jax.random.PRNGKey(17), (3, 4))
    x2 = jax.random.normal(jax.random.PRNGKey(18), (3, 4))
    _, params = init_fn(jax.random.PRNGKey(19), x1.shape)
    nt_ntk = nt.empirical_ntk_fn(apply_fn, trace_axes, diagonal_axes, vmap_axes,
                                 implementation=1)(x1, x2, params)
    nt_nngp = nt.empirical_nngp_fn(apply_fn, trace_axes, diagonal_axes)(x1, x2, params)
    got = empirical_kernel_fn(apply_fn, trace_axes, diagonal_axes, vmap_axes,
                              implementation)(x1, x2, None, params)
    scale = np.max(np.abs(nt_ntk))
    for name, value in (("ntk", nt_ntk), ("pseudo_ntk", nt_ntk)):
        assert not jnp.iscomplexobj(getattr(got, name))
        _assert_close(getattr(got, name), value, name, scale)
    _assert_close(got.nngp, nt_nngp, "nngp", np.max(np.abs(nt_nngp)))
    _check_all(apply_fn, params, x1, x2, trace_axes, diagonal_axes, vmap_axes,
               implementation)


@pytest.mark.parametrize("name", ["complex_mlp", "holomorphic", "complex_leaves"])
def test_ntk_gram_is_hermitian_psd(name):
    f, params, x1, x2 = NETWORKS[name]()
    x = jnp.concatenate([x1, x2])
    traced = empirical_ntk_fn(f)(x, None, params)
    blocks = empirical_ntk_fn(f, trace_axes=())(x, None, params)
    n, k = blocks.shape[0], blocks.shape[-1]
    full = np.asarray(blocks).transpose(0, 2, 1, 3).reshape(n * k, n * k)
    for gram in (np.asarray(traced), full):
        np.testing.assert_allclose(gram, gram.conj().T, rtol=0, atol=RTOL * np.abs(gram).max())
        eigenvalues = np.linalg.eigvalsh(gram)
        assert eigenvalues.min() >= -RTOL * eigenvalues.max()


def test_nngp_fn_and_ntk_fn_match_kernel_fn():
    f, params, x1, x2 = complex_mlp()
    k = empirical_kernel_fn(f, trace_axes=())(x1, x2, None, params)
    np.testing.assert_array_equal(empirical_ntk_fn(f, trace_axes=())(x1, x2, params), k.ntk)
    np.testing.assert_array_equal(empirical_nngp_fn(f, trace_axes=())(x1, x2, params), k.nngp)


def test_get_forms():
    f, params, x1, x2 = complex_mlp()
    kernel_fn = empirical_kernel_fn(f)
    both = kernel_fn(x1, x2, ("pseudo_ntk", "nngp"), params)
    assert both._fields == ("pseudo_ntk", "nngp")
    np.testing.assert_array_equal(kernel_fn(x1, x2, "pseudo_ntk", params), both.pseudo_ntk)
    with pytest.raises(ValueError, match="get: unknown field 'cov1'"):
        kernel_fn(x1, x2, "cov1", params)


@pytest.mark.parametrize("implementation", [4, -1, "fast"])
def test_rejects_unknown_implementations(implementation):
    with pytest.raises(ValueError, match="implementation must be 0"):
        empirical_ntk_fn(lambda p, x: p * x, implementation=implementation)


def test_structured_needs_independent_examples():
    with pytest.raises(ValueError, match="implementation=3 .* vmap_axes=0"):
        empirical_ntk_fn(lambda p, x: p * x, implementation=3)
    mixed = stax.serial(stax.Dense(3), nt.stax.Relu(), stax.Dense(1))[1]  # foreign layer
    with pytest.raises(ValueError, match="implementation=3"):
        empirical_ntk_fn(mixed, implementation=3)


def test_auto_picks_structured_when_examples_are_independent():
    f, params, x1, x2 = complex_mlp()
    auto = empirical_kernel_fn(f, ())(x1, x2, ("ntk", "pseudo_ntk"), params)
    structured = empirical_kernel_fn(f, (), implementation=3)(x1, x2, ("ntk", "pseudo_ntk"),
                                                                params)
    for a, b in zip(auto, structured):
        np.testing.assert_array_equal(a, b)
    g, p, y1, y2 = complex_leaf_net()
    np.testing.assert_array_equal(empirical_ntk_fn(g)(y1, y2, p),
                                  empirical_ntk_fn(g, implementation=2)(y1, y2, p))
    np.testing.assert_array_equal(empirical_ntk_fn(g, vmap_axes=0)(y1, y2, p),
                                  empirical_ntk_fn(g, vmap_axes=0, implementation=3)(y1, y2, p))


@pytest.mark.parametrize("name,expected", [
    ("complex_leaves", [(1, 5), (1, 5), (1, 2)]),  # x @ W1, + b, h @ W2
    ("shared_weight", [(1, 2)]),  # only V: W has two uses
    ("real_part_weight", [(1, 3), (1, 2)]),  # x @ (2 Re W), h @ V
    ("jitted_and_direct_use", [(1, 2)]),  # only V: W is used inside and outside a jit
    ("plain_conv", [(1, 3, 4), (1, 3, 4), (3, 1), (1, 2)])])  # conv, + c, V @ h^T, A
def test_layers_found_in_plain_jax(name, expected):
    f, params, x1, _ = NETWORKS[name]()
    probe = Probe()
    probed(_realified(f, True))(split_complex_leaves(params), x1[:1], **{PROBE_KWARG: probe})
    assert [r.out.shape for r in probe.records] == expected


def test_structured_rejects_batch_softmax():
    init_fn, apply_fn, _ = stax.serial(stax.Dense(3), stax.Softmax(axis=0))
    x = _complex_normal(20, (2, 4))
    _, params = init_fn(jax.random.PRNGKey(21), x.shape)
    with pytest.raises(ValueError, match="batch axis"):
        empirical_ntk_fn(apply_fn)(x, None, params)
    assert empirical_ntk_fn(apply_fn, implementation=1)(x, None, params).shape == (2, 2)


def test_rejects_tuple_outputs():
    f = lambda p, x: (p * x, p * x)
    with pytest.raises(TypeError, match="single"):
        empirical_ntk_fn(f)(jnp.ones((2, 3)), None, 1.0)

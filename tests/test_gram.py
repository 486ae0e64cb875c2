"""The input Grams at their arithmetic floor (`nt_complex.kernel.gram`: for
x2=None two real products' work for the Hermitian Gram and three with the
pseudo Gram; three and four for x1 != x2) against plain complex products
written here with np.conj, `input_kernel`'s fields, and the work XLA compiles
against NT's on the realified inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from neural_tangents import stax as nt_stax

from nt_complex import input_kernel, stax
from nt_complex.kernel import gram

REL = 1e-13


def _inputs(shape, seed, proper):
    """Complex inputs; improper ones have correlated real and imaginary parts
    of different variance (non-zero pseudo Gram)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=shape), rng.normal(size=shape)
    return a + 1j * b if proper else 1.5 * a + 1j * (0.7 * a + 0.2 * b)


def _reference(x1, x2, diagonal_spatial, same_batch):
    """Plain complex products: x1 x2^H / C and x1 x2^T / C in NT's layout."""
    n_sp = x1.ndim - 2
    s1 = "abcd"[:n_sp]
    s2 = s1 if diagonal_spatial else "efgh"[:n_sp]
    pairs = s1 if diagonal_spatial else "".join(a + b for a, b in zip(s1, s2))
    batch = "n" if same_batch else "nm"
    spec = f"n{s1}c,{'n' if same_batch else 'm'}{s2}c->{batch}{pairs}"
    c = x1.shape[-1]
    return np.einsum(spec, x1, np.conj(x2)) / c, np.einsum(spec, x1, x2) / c


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("proper", [True, False])
@pytest.mark.parametrize("shape,diagonal_spatial", [((5, 7), False), ((4, 3, 2, 3), False),
                                                    ((4, 3, 2, 3), True)])
def test_gram_equals_plain_complex_products(shape, diagonal_spatial, proper):
    x1 = _inputs(shape, 0, proper)
    x2 = _inputs((3,) + shape[1:], 1, proper)
    cases = [(x1, None, False), (x1, x2, False), (x1, None, True), (x2, None, True)]
    for a, b, same_batch in cases:
        k, p = gram(jnp.asarray(a), None if b is None else jnp.asarray(b),
                    diagonal_spatial=diagonal_spatial, same_batch=same_batch)
        k_ref, p_ref = _reference(a, a if b is None else b, diagonal_spatial, same_batch)
        assert k.shape == k_ref.shape
        assert _rel(k, k_ref) < REL and _rel(p, p_ref) < REL
    k, p = gram(jnp.asarray(x1), None, diagonal_spatial=diagonal_spatial)
    k_swapped = np.moveaxis(np.asarray(k), 0, 1)
    if not diagonal_spatial:
        order = [0, 1] + [a for i in range(2, k.ndim, 2) for a in (i + 1, i)]
        k_swapped = np.transpose(k_swapped, order)
    assert np.array_equal(k_swapped, np.conj(k))  # Hermitian by construction


def test_real_inputs_need_one_product_and_give_equal_grams():
    x = np.random.default_rng(2).normal(size=(4, 6))
    k, p = gram(jnp.asarray(x), None)
    assert not jnp.iscomplexobj(k) and k is p
    assert _rel(k, x @ x.T / 6) < REL


@pytest.mark.parametrize("proper", [True, False])
def test_input_kernel_fields(proper):
    x = _inputs((6, 5), 3, proper)
    x2 = np.concatenate([x[4:0:-2], _inputs((2, 5), 4, proper)])  # x[4], x[2], 2 new
    k = input_kernel(jnp.asarray(x), jnp.asarray(x2))
    k_ref, p_ref = _reference(x, x2, False, False)
    assert _rel(k.nngp, k_ref) < REL and _rel(k.pseudo_nngp, p_ref) < REL
    assert _rel(k.cov1, np.sum(np.abs(x) ** 2, -1) / 5) < REL
    assert _rel(k.pseudo_cov2, np.sum(x2 ** 2, -1) / 5) < REL
    full = input_kernel(jnp.asarray(x), None)
    assert _rel(full.pseudo_nngp, _reference(x, x, False, False)[1]) < REL
    # x2=None: entries pairing an input with itself are bit-identical to cov1
    assert np.array_equal(np.diagonal(full.nngp), full.cov1)
    assert np.array_equal(np.diagonal(full.pseudo_nngp), full.pseudo_cov1)


def _flops(fn, *args) -> float:
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    return (cost[0] if isinstance(cost, (list, tuple)) else cost)["flops"]


@pytest.mark.parametrize("cross", [False, True])
def test_compiled_work_in_units_of_nt_on_realified_inputs(cross):
    """XLA's flop count of a Dense layer's kernel, in units of NT's Dense on
    `[Re x, Im x]` (one real product of depth 2C): a circular layer never reads
    the pseudo Gram, so its product is dropped under jit (x2=None: 1 unit, the
    Hermitian Gram from `R (R + I)^T + I (I - R)^T`; x1 != x2: 1.5, Gauss); a
    non-circular layer pays for the pseudo Gram (1.5 and 2 units)."""
    rng = np.random.default_rng(5)
    x1, x2 = (rng.normal(size=(n, 1024)) + 1j * rng.normal(size=(n, 1024)) for n in (256, 192))
    args = (x1, x2) if cross else (x1,)
    nt_kernel = nt_stax.Dense(8)[2]
    realified = [np.concatenate([x.real, x.imag], -1) for x in args]
    nt_unit = _flops(lambda a, b=None: nt_kernel(a, b, "nngp"), *realified)
    expected = {0.0: 1.5 if cross else 1.0, 0.5: 2.0 if cross else 1.5}
    for w_pseudo, units in expected.items():
        kernel_fn = stax.Dense(8, W_pseudo=w_pseudo)[2]
        ours = _flops(lambda a, b=None: kernel_fn(a, b, ("nngp", "pseudo_nngp")), *args)
        assert ours / nt_unit == pytest.approx(units, rel=0.03), (w_pseudo, ours / nt_unit)

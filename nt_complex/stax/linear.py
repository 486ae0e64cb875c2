"""Linear layers: `Dense`, `Conv`, `AvgPool`, `GlobalAvgPool`, `Flatten`, `Identity`.

Weights are complex with a chosen pseudo-variance ratio
`W_pseudo = E[W^2]/E[|W|^2]` (0: circular, the default; 1: real-valued), and
are stored as *real* standard-normal leaves `A` (and `B`):
`W = alpha A + beta B` with `|alpha|^2 + |beta|^2 = 1`, `alpha^2 + beta^2 = W_pseudo`.
So `jax.grad`/optax see ordinary real parameters, and the NTK is NT's NTK over
them. A linear map with real coefficients acts identically on Hermitian and
pseudo covariances; the weights scale the first by `W_std^2` and the second by
`W_pseudo W_std^2` (biases likewise with `b_pseudo`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax, random
from neural_tangents import stax as nt_stax

from nt_complex import _nt
from nt_complex._dtypes import complex_dtype
from nt_complex._validation import check_choice, check_pseudo_ratio, check_std
from nt_complex.empirical.probe import LinearStructure, probed_layer
from nt_complex.gaussian import times
from nt_complex.kernel import ComplexKernel
from nt_complex.stax._layer import complex_layer

__all__ = ["Dense", "Conv", "AvgPool", "GlobalAvgPool", "Flatten", "Identity",
           "weight_mixing"]

_PARAMETERIZATIONS = ("ntk", "standard")
_PADDINGS = ("VALID", "SAME", "CIRCULAR")


def weight_mixing(pseudo_ratio: complex) -> tuple[complex, complex]:
    """`(alpha, beta)` with `|alpha|^2 + |beta|^2 = 1` and `alpha^2 + beta^2 = pseudo_ratio`.

    A weight `alpha A + beta B` with real `A, B ~ N(0, 1)` then has
    `E|w|^2 = 1` and `E[w^2] = pseudo_ratio`.

    Example:
      >>> a, b = weight_mixing(0.)
      >>> round(abs(a) ** 2, 12), round(abs(b) ** 2, 12), abs(a ** 2 + b ** 2) < 1e-15
      (0.5, 0.5, True)
    """
    ratio = complex(pseudo_ratio)
    theta = 0.5 * math.acos(min(abs(ratio), 1.0))
    phase = np.exp(0.5j * np.angle(ratio))
    return complex(phase * math.cos(theta)), complex(1j * phase * math.sin(theta))


def _real_if_possible(value: complex):
    return value.real if value.imag == 0 else value


class _Mixing:
    """Real leaves <-> complex weights for one pseudo-variance ratio."""

    def __init__(self, pseudo_ratio: complex):
        self.ratio = _real_if_possible(pseudo_ratio)
        self.alpha, self.beta = weight_mixing(pseudo_ratio)
        self.n_leaves = 1 if self.beta == 0 else 2

    def sample(self, rng, shape, scale: float = 1.0) -> tuple:
        keys = random.split(rng, self.n_leaves)
        return tuple(scale * random.normal(key, shape) for key in keys)

    def combine(self, leaves: tuple) -> jnp.ndarray:
        if self.n_leaves == 1:
            return _real_if_possible(self.alpha) * leaves[0]
        return self.alpha * leaves[0] + self.beta * leaves[1]


def _linear_kernel(k: ComplexKernel, linear_map: Callable, W_std: float,
                   b_std: Optional[float], W_mix: _Mixing, b_mix: _Mixing,
                   parameterization: str, fan_in: int) -> dict:
    """Fields of `z = W x + b` given `linear_map(mat, batch_ndim)`, the
    (unscaled, real-coefficient) covariance map of the layer's structure.

    ntk: `nngp' = s_w^2 L(nngp) + s_b^2`, `ntk' = nngp' + s_w^2 L(ntk)`;
    standard: `ntk' = fan_in L(nngp) + s_w^2 L(ntk) + [bias]`. Pseudo fields:
    every weight term times `W_pseudo`, every bias term times `b_pseudo`.
    """
    W_var = W_std ** 2
    b_var = 0.0 if b_std is None else b_std ** 2
    has_bias = b_std is not None
    mapped = k.map_fields(linear_map, pseudo=not k.is_circular and W_mix.ratio != 0)

    def affine(mat, w_scale, b_shift):
        return None if mat is None else w_scale * mat + b_shift

    def ntk_of(nngp_out, mapped_nngp, mapped_ntk, w_ratio, b_ratio):
        if mapped_ntk is None:
            return None
        if parameterization == "ntk":
            return nngp_out + times(w_ratio * W_var, mapped_ntk)
        out = times(w_ratio, fan_in * mapped_nngp + times(W_var, mapped_ntk))
        return out + b_ratio if has_bias else out

    nngp = affine(mapped.nngp, W_var, b_var)
    out = dict(
        cov1=affine(mapped.cov1, W_var, b_var), nngp=nngp,
        cov2=affine(mapped.cov2, W_var, b_var),
        ntk=ntk_of(nngp, mapped.nngp, mapped.ntk, 1.0, 1.0),
        is_gaussian=True, is_input=False)

    b_pseudo_shift = b_mix.ratio * b_var
    ntk_bias = b_mix.ratio if (has_bias and parameterization == "standard") else 0.0
    if W_mix.ratio == 0 or k.is_circular:
        if (b_mix.ratio == 0 or not has_bias) and ntk_bias == 0:  # static: b_std may be traced
            out.update(pseudo_nngp=None, pseudo_ntk=None, pseudo_cov1=None, pseudo_cov2=None)
            return out

        def constant(like, value):
            return None if like is None else jnp.full(
                jnp.shape(like), value, complex_dtype(like))

        pseudo_nngp = constant(nngp, b_pseudo_shift)
        pseudo_ntk = None
        if out["ntk"] is not None:
            ntk_shift = b_pseudo_shift if parameterization == "ntk" else ntk_bias
            pseudo_ntk = constant(out["ntk"], ntk_shift)
        out.update(pseudo_nngp=pseudo_nngp, pseudo_ntk=pseudo_ntk,
                   pseudo_cov1=constant(out["cov1"], b_pseudo_shift),
                   pseudo_cov2=constant(out["cov2"], b_pseudo_shift))
        return out

    w_scale = W_mix.ratio * W_var
    pseudo_nngp = affine(mapped.pseudo_nngp, w_scale, b_pseudo_shift)
    out.update(
        pseudo_nngp=pseudo_nngp,
        pseudo_cov1=affine(mapped.pseudo_cov1, w_scale, b_pseudo_shift),
        pseudo_cov2=affine(mapped.pseudo_cov2, w_scale, b_pseudo_shift),
        pseudo_ntk=ntk_of(pseudo_nngp, mapped.pseudo_nngp, mapped.pseudo_ntk,
                          W_mix.ratio, b_mix.ratio))
    if out["pseudo_ntk"] is not None:
        out["pseudo_ntk"] = jnp.broadcast_to(out["pseudo_ntk"], jnp.shape(nngp))
    if out["ntk"] is not None:
        out["ntk"] = jnp.broadcast_to(out["ntk"], jnp.shape(nngp))
    return out


def _check_linear_args(W_std, b_std, W_pseudo, b_pseudo, parameterization):
    check_std(W_std, "W_std")
    check_std(b_std, "b_std", allow_none=True)
    W_pseudo = check_pseudo_ratio(W_pseudo, "W_pseudo")
    b_pseudo = check_pseudo_ratio(b_pseudo, "b_pseudo")
    parameterization = check_choice(parameterization, "parameterization",
                                    _PARAMETERIZATIONS).lower()
    return _Mixing(W_pseudo), _Mixing(b_pseudo), parameterization


def _linear_structure(W_std, b_std, W_mix: _Mixing, b_mix: _Mixing, parameterization: str,
                      fan_in: int, patches) -> LinearStructure:
    """The structured empirical NTK's view of a Dense/Conv layer (`nt_complex.empirical.probe`)."""
    weight = W_std ** 2 / fan_in if parameterization == "ntk" else 1.0
    bias = 0.0 if b_std is None else (b_std ** 2 if parameterization == "ntk" else 1.0)
    return LinearStructure(weight, weight * W_mix.ratio, bias, bias * b_mix.ratio, patches)


def _complex_matmul_dtype(x, w):
    dtype = jnp.result_type(x.dtype, w.dtype)
    return x.astype(dtype), w.astype(dtype)


@complex_layer
def Dense(out_dim: int, W_std: float = 1.0, b_std: Optional[float] = None,
          parameterization: str = "ntk", W_pseudo: complex = 0.0,
          b_pseudo: complex = 0.0):
    """Fully connected layer on the trailing (channel) axis.

    `ntk` parameterization: `z = W_std/sqrt(n) W x + b_std b`; `standard`:
    the leaves carry the scale, `z = W x + b` (as NT). `W` has
    `E|W|^2 = 1`, `E[W^2] = W_pseudo` (0: circular complex, 1: real).

    Example:
      >>> import jax.numpy as jnp
      >>> from jax import random
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, kernel_fn = stax.Dense(3, W_std=1.5, b_std=0.1)
      >>> _, params = init_fn(random.PRNGKey(0), (2, 4))
      >>> apply_fn(params, jnp.ones((2, 4), jnp.complex64)).shape
      (2, 3)
      >>> kernel_fn(jnp.ones((2, 4)) * 1j, None, 'nngp').shape
      (2, 2)
    """
    if not isinstance(out_dim, (int, np.integer)) or out_dim <= 0:
        raise ValueError(f"out_dim must be a positive integer; got {out_dim!r}.")
    W_mix, b_mix, parameterization = _check_linear_args(
        W_std, b_std, W_pseudo, b_pseudo, parameterization)

    def init_fn(rng, input_shape):
        fan_in = input_shape[-1]
        k_w, k_b = random.split(rng)
        w_scale = 1.0 if parameterization == "ntk" else W_std / math.sqrt(fan_in)
        b_scale = 1.0 if parameterization == "ntk" else b_std
        params = {"W": W_mix.sample(k_w, (fan_in, out_dim), w_scale)}
        if b_std is not None:
            params["b"] = b_mix.sample(k_b, (out_dim,), b_scale)
        return tuple(input_shape[:-1]) + (out_dim,), params

    def compute(params, inputs):
        x, w = _complex_matmul_dtype(inputs, W_mix.combine(params["W"]))
        out = jnp.matmul(x, w, precision=lax.Precision.HIGHEST)
        if parameterization == "ntk":
            out = out * (W_std / math.sqrt(inputs.shape[-1]))
        if b_std is not None:
            b = b_mix.combine(params["b"])
            out = out + (b_std * b if parameterization == "ntk" else b)
        return out

    def apply_fn(params, inputs, **kwargs):
        structure = _linear_structure(W_std, b_std, W_mix, b_mix, parameterization,
                                      fan_in=inputs.shape[-1], patches=lambda x: x)
        return probed_layer(kwargs, compute, params, inputs, structure)

    @nt_stax.requires(batch_axis=0, channel_axis=-1, diagonal_spatial=nt_stax.Diagonal())
    def rule(k: ComplexKernel, **kwargs) -> ComplexKernel:
        fields = _linear_kernel(k, lambda mat, batch_ndim: mat, W_std, b_std, W_mix,
                                b_mix, parameterization, fan_in=k.shape1[-1])
        return k.replace(**fields)

    return init_fn, apply_fn, rule


def _spatial_tuple(value, n: int, name: str, default: int) -> tuple[int, ...]:
    if value is None:
        return (default,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n or any(v <= 0 for v in value):
        raise ValueError(f"{name} must be {n} positive integers; got {value!r}.")
    return value


def _dimension_numbers(n_spatial: int):
    letters = "DHW"[-n_spatial:] if n_spatial <= 3 else None
    if letters is None:
        raise ValueError("Conv supports 1 to 3 spatial dimensions.")
    return ("N" + letters + "C", letters + "IO", "N" + letters + "C")


def _window_padding(x, filter_shape, strides, padding: str):
    """Apply CIRCULAR padding by wrapping; return (x, lax padding name)."""
    if padding == "CIRCULAR":
        axes = tuple(range(1, x.ndim - 1))
        return _nt.pad_circular(x, filter_shape, strides, axes), "VALID"
    return x, padding


def _real_linear(fn: Callable) -> Callable:
    """Apply a real-coefficient linear map to Re and Im in one real call."""
    def mapped(mat, batch_ndim):
        if not jnp.iscomplexobj(mat):
            return fn(mat, batch_ndim)
        both = fn(jnp.stack([jnp.real(mat), jnp.imag(mat)]), batch_ndim + 1)
        return lax.complex(both[0], both[1])
    return mapped


@complex_layer
def Conv(out_chan: int, filter_shape: Sequence[int],
         strides: Optional[Sequence[int]] = None, padding: str = "VALID",
         W_std: float = 1.0, b_std: Optional[float] = None,
         parameterization: str = "ntk", W_pseudo: complex = 0.0,
         b_pseudo: complex = 0.0):
    """Weight-shared convolution on `(N, *spatial, C)` inputs (NHWC).

    Padding `VALID`, `SAME` or `CIRCULAR` (periodic). The kernel uses NT's own
    convolution-of-covariance maths; weights as in `Dense`.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> init_fn, apply_fn, kernel_fn = stax.serial(
      ...     stax.Conv(8, (3, 3), padding='SAME'), stax.CReLU(), stax.Flatten(),
      ...     stax.Dense(1))
      >>> x = jnp.ones((2, 5, 5, 3)) * (1 + 1j)
      >>> kernel_fn(x, None, ('nngp', 'ntk')).nngp.shape
      (2, 2)
    """
    if not isinstance(out_chan, (int, np.integer)) or out_chan <= 0:
        raise ValueError(f"out_chan must be a positive integer; got {out_chan!r}.")
    filter_shape = tuple(int(f) for f in filter_shape)
    n_spatial = len(filter_shape)
    if n_spatial == 0 or any(f <= 0 for f in filter_shape):
        raise ValueError(f"filter_shape must be positive integers; got {filter_shape!r}.")
    strides = _spatial_tuple(strides, n_spatial, "strides", 1)
    padding = check_choice(padding, "padding", _PADDINGS)
    W_mix, b_mix, parameterization = _check_linear_args(
        W_std, b_std, W_pseudo, b_pseudo, parameterization)
    dimension_numbers = _dimension_numbers(n_spatial)
    filter_size = math.prod(filter_shape)

    def init_fn(rng, input_shape):
        if len(input_shape) != n_spatial + 2:
            raise ValueError(f"Conv with filter_shape={filter_shape} needs inputs of rank "
                             f"{n_spatial + 2}; got shape {tuple(input_shape)}.")
        fan_in = input_shape[-1] * filter_size
        k_w, k_b = random.split(rng)
        w_scale = 1.0 if parameterization == "ntk" else W_std / math.sqrt(fan_in)
        b_scale = 1.0 if parameterization == "ntk" else b_std
        params = {"W": W_mix.sample(k_w, filter_shape + (input_shape[-1], out_chan), w_scale)}
        if b_std is not None:
            params["b"] = b_mix.sample(k_b, (out_chan,), b_scale)
        shape = jax.eval_shape(
            lambda x: _conv(x, jnp.zeros(filter_shape + (input_shape[-1], out_chan))),
            jax.ShapeDtypeStruct(tuple(input_shape), jnp.float32)).shape
        return shape, params

    def _conv(x, w):
        x, w = _complex_matmul_dtype(x, w)
        x, lax_padding = _window_padding(x, filter_shape, strides, padding)
        return lax.conv_general_dilated(x, w, strides, lax_padding,
                                        dimension_numbers=dimension_numbers,
                                        precision=lax.Precision.HIGHEST)

    def compute(params, inputs):
        out = _conv(inputs, W_mix.combine(params["W"]))
        if parameterization == "ntk":
            out = out * (W_std / math.sqrt(inputs.shape[-1] * filter_size))
        if b_std is not None:
            b = b_mix.combine(params["b"])
            out = out + (b_std * b if parameterization == "ntk" else b)
        return out

    def patches(x):
        x, lax_padding = _window_padding(x, filter_shape, strides, padding)
        return lax.conv_general_dilated_patches(
            x, filter_shape, strides, lax_padding, dimension_numbers=dimension_numbers,
            precision=lax.Precision.HIGHEST)

    def apply_fn(params, inputs, **kwargs):
        structure = _linear_structure(W_std, b_std, W_mix, b_mix, parameterization,
                                      fan_in=inputs.shape[-1] * filter_size, patches=patches)
        return probed_layer(kwargs, compute, params, inputs, structure)

    @nt_stax.requires(batch_axis=0, channel_axis=-1,
                      diagonal_spatial=nt_stax.Diagonal(output=nt_stax.Bool.NO))
    def rule(k: ComplexKernel, **kwargs) -> ComplexKernel:
        if len(k.shape1) != n_spatial + 2:
            raise ValueError(f"Conv with filter_shape={filter_shape} needs inputs of rank "
                             f"{n_spatial + 2}; got shape {k.shape1}.")
        reverse = k.is_reversed and not k.diagonal_spatial
        kernel_filter = filter_shape[::-1] if reverse else filter_shape
        kernel_strides = strides[::-1] if reverse else strides

        def conv_map(mat, batch_ndim):
            return _nt.conv_kernel(mat, kernel_filter, kernel_strides,
                                   _nt.Padding(padding), k.diagonal_spatial, batch_ndim)

        fields = _linear_kernel(k, _real_linear(conv_map), W_std, b_std, W_mix, b_mix,
                                parameterization, fan_in=k.shape1[-1] * filter_size)
        if not k.diagonal_spatial:
            fields["is_reversed"] = not k.is_reversed
        return k.replace(**fields)

    return init_fn, apply_fn, rule


@complex_layer
def AvgPool(window_shape: Sequence[int], strides: Optional[Sequence[int]] = None,
            padding: str = "VALID", normalize_edges: bool = False):
    """Average pooling over spatial windows (NT's semantics, complex inputs).

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, apply_fn, _ = stax.AvgPool((2, 2))
      >>> apply_fn((), jnp.ones((1, 4, 4, 1)) * 1j).shape
      (1, 3, 3, 1)
    """
    window_shape = tuple(int(w) for w in window_shape)
    n_spatial = len(window_shape)
    if n_spatial == 0 or any(w <= 0 for w in window_shape):
        raise ValueError(f"window_shape must be positive integers; got {window_shape!r}.")
    strides = _spatial_tuple(strides, n_spatial, "strides", 1)
    padding = check_choice(padding, "padding", _PADDINGS)
    window = (1,) + window_shape + (1,)
    steps = (1,) + strides + (1,)

    def _pool(x):
        x, lax_padding = _window_padding(x, window_shape, strides, padding)
        total = lax.reduce_window(x, jnp.zeros((), x.dtype), lax.add, window, steps, lax_padding)
        if normalize_edges and lax_padding == "SAME":
            ones = jnp.ones(x.shape[1:-1], jnp.real(x).dtype)[None, ..., None]
            count = lax.reduce_window(ones, jnp.zeros((), ones.dtype), lax.add, window,
                                      steps, lax_padding)
            return total / count
        return total / math.prod(window_shape)

    def init_fn(rng, input_shape):
        shape = jax.eval_shape(_pool, jax.ShapeDtypeStruct(tuple(input_shape), jnp.float32))
        return shape.shape, ()

    def apply_fn(params, inputs, **kwargs):
        return _pool(inputs)

    @nt_stax.requires(batch_axis=0, channel_axis=-1,
                      diagonal_spatial=nt_stax.Diagonal(input=nt_stax.Bool.MAYBE))
    def rule(k: ComplexKernel, **kwargs) -> ComplexKernel:
        reverse = k.is_reversed and not k.diagonal_spatial
        kernel_window = window_shape[::-1] if reverse else window_shape
        kernel_strides = strides[::-1] if reverse else strides

        def pool_map(mat, batch_ndim):
            return _nt.pool_kernel(mat, kernel_window, kernel_strides, _nt.Padding(padding),
                                   normalize_edges, k.diagonal_spatial, batch_ndim)

        return k.map_fields(_real_linear(pool_map))

    return init_fn, apply_fn, rule


def _spatial_mean(mat, batch_ndim: int, diagonal_spatial: bool, diagonal_only: bool):
    """Average a covariance over its spatial axes: all pairs (global pooling)
    or only the same-position pairs (flattening)."""
    axes = tuple(range(batch_ndim, mat.ndim))
    if diagonal_spatial:
        mean = jnp.mean(mat, axes)
        return mean / math.prod(mat.shape[batch_ndim:]) if not diagonal_only else mean
    if diagonal_only:
        while mat.ndim > batch_ndim:
            mat = jnp.diagonal(mat, axis1=batch_ndim, axis2=batch_ndim + 1)
            mat = jnp.moveaxis(mat, -1, batch_ndim)
            mat = jnp.mean(mat, batch_ndim)
        return mat
    return jnp.mean(mat, axes)


def _spatial_reduction(name: str, diagonal_only: bool, output_shape: Callable):
    def init_fn(rng, input_shape):
        return output_shape(tuple(input_shape)), ()

    def apply_fn(params, inputs, **kwargs):
        if diagonal_only:
            return inputs.reshape((inputs.shape[0], -1))
        return jnp.mean(inputs, axis=tuple(range(1, inputs.ndim - 1)))

    @nt_stax.requires(batch_axis=0, channel_axis=-1 if not diagonal_only else None,
                      diagonal_spatial=nt_stax.Diagonal(
                          input=nt_stax.Bool.YES if diagonal_only else nt_stax.Bool.MAYBE,
                          output=nt_stax.Bool.YES))
    def rule(k: ComplexKernel, **kwargs) -> ComplexKernel:
        ds = k.diagonal_spatial
        out = k.map_fields(lambda mat, nd: _spatial_mean(mat, nd, ds, diagonal_only))
        return out.replace(is_reversed=False, batch_axis=0, channel_axis=1)

    rule.__name__ = name
    return init_fn, apply_fn, rule


@complex_layer
def GlobalAvgPool():
    """Average over all spatial positions: `(N, *spatial, C) -> (N, C)`.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, apply_fn, _ = stax.GlobalAvgPool()
      >>> apply_fn((), jnp.ones((2, 3, 3, 4)) * 1j).shape
      (2, 4)
    """
    return _spatial_reduction("GlobalAvgPool", False, lambda s: (s[0], s[-1]))


@complex_layer
def Flatten():
    """Flatten all non-batch axes: `(N, *spatial, C) -> (N, prod(spatial) C)`.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, apply_fn, _ = stax.Flatten()
      >>> apply_fn((), jnp.ones((2, 3, 3, 4))).shape
      (2, 36)
    """
    return _spatial_reduction("Flatten", True, lambda s: (s[0], math.prod(s[1:])))


@complex_layer
def Identity():
    """The identity layer (and the identity activation: `K_f = K`, `P_f = P`).

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex import stax
      >>> _, apply_fn, _ = stax.Identity()
      >>> complex(apply_fn((), jnp.array([1j]))[0])
      1j
    """
    def init_fn(rng, input_shape):
        return input_shape, ()

    def apply_fn(params, inputs, **kwargs):
        return inputs

    @nt_stax.requires(diagonal_spatial=nt_stax.Diagonal())
    def rule(k: ComplexKernel, **kwargs) -> ComplexKernel:
        return k

    return init_fn, apply_fn, rule

"""Finite-width check of the c-map: correlation of two inputs vs depth.

Two inputs are pushed through a deep finite network of `Dense -> activation`
blocks whose weights are drawn *from an initialization family's own
`jax.nn.initializers` initializer*, and the correlation of the two
pre-activation vectors is recorded after every Dense layer:

    K_ab^l = h_a^l . conj(h_b^l) / width,   c^l = K_12^l / sqrt(K_11^l K_22^l).

The prediction iterates the analytic `kernel_fn` of the same blocks, layer by
layer, on the same two inputs, with the family's *measured* `W_var`
(`nt_complex.initializers`). Real inputs use `nt.stax` (activation from
`nt.stax`); complex inputs use `nt_complex.stax` (activation from
`nt_complex.stax`, `W_pseudo` = the family's measured pseudo-variance ratio:
0 for complex dtypes, 1 for real ones). Biases are `sqrt(b_var) N(0, 1)`, real
for real networks and circular complex for complex ones.

The forward pass is the plain standard-parameterised network
`h^{l+1} = f(h^l) @ W_l + b_l` (the activation's own `apply_fn`), which has the
same forward kernel as NT's ntk-parameterised Dense with `W_std^2 = W_var`.

Example:
  >>> import jax.numpy as jnp, neural_tangents as nt
  >>> from nt_complex import initializers as ini
  >>> fam = ini.family(ini.SPECS[0], 64, 64, n_draws=4)            # lecun_normal
  >>> p = correlation_vs_depth(nt.stax.Erf(), fam, b_var=0.1, width=64, depth=5, n_seeds=2)
  >>> p.measured.shape, p.predicted.shape, bool(p.max_abs_error < 0.3)
  ((2, 5), (5,), True)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Optional

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np

from nt_complex import stax as cstax
from nt_complex.initializers import Family

__all__ = ["DepthProfile", "pair_of_inputs", "measure_kernels", "predict_kernels",
           "correlation_vs_depth"]

Layer = tuple[Any, Any, Any]
_ROUNDING_EPS = 1e3


@dataclasses.dataclass(frozen=True)
class DepthProfile:
    """Measured vs predicted correlation after each of `depth` Dense layers.

    `measured` is `(n_seeds, depth)` (complex for complex networks),
    `predicted` `(depth,)`; `measured_q`/`predicted_q` are the first input's
    variance `K_11` likewise. Agreement: `mean`, `se` (seed spread / sqrt(n)),
    `abs_error` (`|mean - predicted|` per depth), `max_abs_error`,
    `max_z` (`max |mean - predicted| / se`), `seed_max_errors` (each seed's
    `max_l |c_s^l - predicted^l|`).

    Example:
      >>> p = DepthProfile("f", 1.0, 0.0, np.ones((2, 3)) * 0.5, np.full(3, 0.5),
      ...                  np.ones((2, 3)), np.ones(3), 16)
      >>> float(p.max_abs_error), p.depths.tolist()
      (0.0, [1, 2, 3])
    """
    family: str
    W_var: float
    b_var: float
    measured: np.ndarray
    predicted: np.ndarray
    measured_q: np.ndarray
    predicted_q: np.ndarray
    width: int

    @property
    def depths(self) -> np.ndarray:
        """Layer indices 1..depth."""
        return np.arange(1, self.predicted.shape[0] + 1)

    @property
    def mean(self) -> np.ndarray:
        """Seed mean of the measured correlation, per depth."""
        return self.measured.mean(axis=0)

    @property
    def se(self) -> np.ndarray:
        """Standard error of `mean` from the seed spread, per depth."""
        n = self.measured.shape[0]
        if n < 2:
            return np.full(self.predicted.shape, np.inf)
        var = np.sum(np.abs(self.measured - self.mean) ** 2, axis=0) / (n - 1)
        # Floor: rounding of the width-long sums (exactly reproducible layers,
        # e.g. the first layer of an orthogonal network, have zero spread).
        floor = _ROUNDING_EPS * np.finfo(self.measured.dtype).eps
        return np.maximum(np.sqrt(var / n), floor)

    @property
    def abs_error(self) -> np.ndarray:
        """`|mean - predicted|` per depth."""
        return np.abs(self.mean - self.predicted)

    @property
    def max_abs_error(self) -> float:
        """`max over depth of |mean - predicted|`."""
        return float(self.abs_error.max())

    @property
    def max_z(self) -> float:
        """`max over depth of |mean - predicted| / se`."""
        return float(np.max(self.abs_error / self.se))

    @property
    def seed_max_errors(self) -> np.ndarray:
        """Per seed, `max over depth of |measured - predicted|`."""
        return np.abs(self.measured - self.predicted).max(axis=1)


def pair_of_inputs(dim: int, c0: complex = 0.5, complex_inputs: bool = False,
                   seed: int = 0) -> jnp.ndarray:
    """Two inputs of dimension `dim` with `|x|^2/dim = 1` and correlation exactly `c0`.

    `x_2 = c0* x_1 + sqrt(1 - |c0|^2) u` with `u` orthogonal to `x_1`, so
    `x_1 . conj(x_2) / dim = c0`.

    Example:
      >>> x = pair_of_inputs(8, 0.3 + 0.4j, complex_inputs=True)
      >>> bool(abs(x[0] @ jnp.conj(x[1]) / 8 - (0.3 + 0.4j)) < 1e-12)
      True
    """
    if abs(c0) > 1:
        raise ValueError(f"c0: expected |c0| <= 1, got {c0}")
    if not complex_inputs and complex(c0).imag != 0:
        raise ValueError(f"c0: real inputs need a real correlation, got {c0}")
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((2, dim))
    if complex_inputs:
        v = v + 1j * rng.standard_normal((2, dim))
    x1 = v[0] / np.linalg.norm(v[0])
    u = v[1] - (np.vdot(x1, v[1])) * x1
    u = u / np.linalg.norm(u)
    c = complex(c0) if complex_inputs else float(np.real(c0))
    x2 = np.conj(c) * x1 + math.sqrt(1 - abs(c) ** 2) * u
    return jnp.asarray(np.stack([x1, x2]) * math.sqrt(dim))


def _correlation(k: np.ndarray) -> np.ndarray:
    """`K_12 / sqrt(K_11 K_22)` over leading axes of `(..., 2, 2)` kernels."""
    return k[..., 0, 1] / np.sqrt(np.real(k[..., 0, 0]) * np.real(k[..., 1, 1]))


def measure_kernels(activation: Layer, family: Family, x: jnp.ndarray, *, depth: int,
                    width: int, b_var: float = 0.0, key: Any = 0) -> np.ndarray:
    """Empirical `(depth, 2, 2)` pre-activation kernels of one finite network.

    Layer 1 is `x @ W_0 + b_0`; layer `l + 1` is `f(h^l) @ W_l + b_l`, every
    `W_l` drawn by `family.spec.initializer()` with its dtype and shape
    `(fan_in, width)`.

    Example:
      >>> import neural_tangents as nt
      >>> from nt_complex import initializers as ini
      >>> fam = ini.family(ini.SPECS[0], 16, 16, n_draws=4)
      >>> measure_kernels(nt.stax.Relu(), fam, pair_of_inputs(16), depth=3, width=16).shape
      (3, 2, 2)
    """
    if family.spec.kind == "delta_orthogonal":
        raise ValueError("family: delta_orthogonal is a conv initializer; use "
                         "'orthogonal' for Dense networks")
    _check_depth_width(depth, width)
    x = jnp.asarray(x)
    is_complex = bool(np.issubdtype(np.dtype(family.dtype), np.complexfloating)
                      or jnp.iscomplexobj(x))
    network = _network(family.spec, family.dtype, activation[1], int(x.shape[-1]),
                       int(depth), int(width), float(b_var), is_complex)
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    return np.asarray(network(key, x.astype(jnp.result_type(x.dtype, family.dtype))))


@functools.lru_cache(maxsize=64)
def _network(spec, dtype: str, apply_fn, d_in: int, depth: int, width: int, b_var: float,
             is_complex: bool):
    """Jitted `(key, x) -> (depth, 2, 2)` kernels; weights sampled layer by layer
    inside the scan, so memory stays O(width^2)."""
    init = spec.initializer()
    b_std = math.sqrt(b_var)

    def bias(key):
        if not is_complex:
            return b_std * jax.random.normal(key, (width,))
        re_im = jax.random.normal(key, (2, width))
        return b_std * (re_im[0] + 1j * re_im[1]) / math.sqrt(2)

    def kernel(h):
        return h @ jnp.conj(h).T / width

    def run(key, x):
        k_first, k_bias, k_rest = jax.random.split(key, 3)
        h = x @ init(k_first, (d_in, width), dtype) + bias(k_bias)

        def step(h, layer_key):
            k_w, k_b = jax.random.split(layer_key)
            h_next = apply_fn((), h) @ init(k_w, (width, width), dtype) + bias(k_b)
            return h_next, kernel(h_next)

        _, ks = jax.lax.scan(step, h, jax.random.split(k_rest, depth - 1))
        return jnp.concatenate([kernel(h)[None], ks], axis=0)

    return jax.jit(run)


def predict_kernels(activation: Layer, W_var: float, x: jnp.ndarray, *, depth: int,
                    b_var: float = 0.0, W_pseudo: float = 0.0) -> np.ndarray:
    """Analytic `(depth, 2, 2)` NNGP kernels: the block's `kernel_fn` iterated.

    Real `x`: `nt.stax.Dense` and an `nt.stax` activation; complex `x`:
    `nt_complex.stax.Dense(W_pseudo=W_pseudo)` (circular bias) and an
    `nt_complex.stax` activation.

    Example:
      >>> import neural_tangents as nt
      >>> k = predict_kernels(nt.stax.Relu(), 2.0, pair_of_inputs(4, 0.0), depth=2)
      >>> [round(float(k[l, 0, 0]), 12) for l in range(2)]
      [2.0, 2.0]
    """
    _check_depth_width(depth, 1)
    W_std, b_std = math.sqrt(W_var), (math.sqrt(b_var) if b_var > 0 else None)
    if jnp.iscomplexobj(x):
        def dense():
            return cstax.Dense(1, W_std, b_std, W_pseudo=W_pseudo)
        serial = cstax.serial
    else:
        def dense():
            return nt.stax.Dense(1, W_std, b_std)
        serial = nt.stax.serial
    _, _, first = dense()
    _, _, block = serial(activation, dense())
    k = first(x, None)
    out = [np.asarray(k.nngp)]
    for _ in range(depth - 1):
        k = block(k)
        out.append(np.asarray(k.nngp))
    return np.stack(out)


def correlation_vs_depth(activation: Layer, family: Family, *, b_var: float = 0.0,
                         width: int = 512, depth: int = 30, n_seeds: int = 4,
                         x: Optional[jnp.ndarray] = None, c0: complex = 0.5,
                         seed: int = 0, W_var: Optional[float] = None) -> DepthProfile:
    """Measured (finite nets, `n_seeds` weight draws) vs predicted correlation.

    The network is complex iff the family's dtype is complex or `x` is complex;
    default inputs: `pair_of_inputs(width, c0)` (complex `c0 e^{0.5 i}` phase for
    complex networks). The prediction uses `W_var` (default: the family's
    measured `W_var`).

    Example:
      >>> from nt_complex import initializers as ini, stax
      >>> import jax.numpy as jnp
      >>> fam = ini.family(ini.SPECS[8], 32, 32, jnp.complex128, n_draws=4)   # he_truncated
      >>> p = correlation_vs_depth(stax.CReLU(), fam, width=32, depth=4, n_seeds=2)
      >>> p.measured.dtype.kind, p.family
      ('c', 'he_truncated_normal')
    """
    is_complex = np.issubdtype(np.dtype(family.dtype), np.complexfloating)
    if x is None:
        c = complex(c0) * (np.exp(0.5j) if is_complex else 1)
        x = pair_of_inputs(width, c, complex_inputs=is_complex, seed=seed)
    if x.shape[0] != 2 or x.ndim != 2:
        raise ValueError(f"x: expected two flat inputs of shape (2, dim), got {x.shape}")
    is_complex = is_complex or jnp.iscomplexobj(x)
    W_var = family.W_var if W_var is None else W_var
    # jax's complex samplers are circular (uniform phase); real weights have ratio 1.
    W_pseudo = 0.0 if np.issubdtype(np.dtype(family.dtype), np.complexfloating) else 1.0
    ks = np.stack([measure_kernels(activation, family, x, depth=depth, width=width,
                                   b_var=b_var, key=jax.random.PRNGKey(seed * 1000 + s))
                   for s in range(n_seeds)])
    pred = predict_kernels(activation, W_var, x, depth=depth, b_var=b_var, W_pseudo=W_pseudo)
    measured, predicted = _correlation(ks), _correlation(pred)
    if not is_complex:
        measured, predicted = np.real(measured), np.real(predicted)
    return DepthProfile(family=family.name, W_var=W_var, b_var=b_var, measured=measured,
                        predicted=predicted, measured_q=np.real(ks[..., 0, 0]),
                        predicted_q=np.real(pred[..., 0, 0]), width=width)


def _check_depth_width(depth: int, width: int) -> None:
    if int(depth) != depth or depth < 1:
        raise ValueError(f"depth: expected a positive integer, got {depth}")
    if int(width) != width or width < 1:
        raise ValueError(f"width: expected a positive integer, got {width}")

"""Initialization families of `jax.nn.initializers`, measured.

For each initializer — glorot/lecun/he x normal/uniform/truncated_normal,
`variance_scaling` with any mode and distribution, `orthogonal` and
`delta_orthogonal`, in real and complex dtypes — this module reports the
*effective* weight variance the infinite-width kernels see, measured by sampling
the initializer itself with a fixed key, together with the value the
initializer intends and a confidence interval from the sample.

Convention (what a Dense layer's NNGP sees in NT's ntk-normalised form): a
weight matrix `W` of shape `(fan_in, fan_out)` applied as `x @ W` has

    sigma_w^2 = fan_in * E|W_ij|^2,

i.e. the `W_std**2` of `nt.stax.Dense` / `nt_complex.stax.Dense` giving the same
forward kernel. For a conv kernel of shape `(*filter, in_chan, out_chan)`
`fan_in = prod(filter) * in_chan` (as in `jax.nn.initializers`), and
`E|W|^2` averages over every entry, including the zeros of
`delta_orthogonal`. The pseudo-variance ratio `W_pseudo = E[W^2] / E|W|^2`
(`nt_complex.stax.Dense(W_pseudo=...)`) is measured as well: 1 for real
dtypes, 0 for the circular complex samplers of `jax.nn.initializers`.

The complex truncated normal of `jax.nn.initializers` (behind complex
`lecun_normal`, `glorot_normal`, `he_normal`) overshoots its target by the
factor `1/(1 - e^-4) = 1.0187`: see `docs/initializers.md`. Families are
therefore placed on phase diagrams at their *measured* `W_var`.

Example:
  >>> import jax.numpy as jnp
  >>> from nt_complex import initializers as ini
  >>> fam = {f.name: f for f in ini.families(fan_in=128, fan_out=128, dtype=jnp.complex128,
  ...                                         n_draws=16)}
  >>> f = fam["lecun_truncated_normal"]
  >>> f.intended, round(f.W_var, 2), f.agrees
  (1.0, 1.02, False)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Measurement", "Family", "FamilySpec", "SPECS", "measure", "intended_W_var",
           "family", "families", "report", "COMPLEX_TRUNCATED_NORMAL_FACTOR"]

Initializer = Callable[..., jnp.ndarray]

#: `E|W|^2` of jax's complex truncated normal over its target: its sampler draws
#: `|z|^2 ~ Exp(1)` truncated to `[0, 4]` (mean `(1 - 5e^-4)/(1 - e^-4)`) but the
#: initializer divides by `sqrt(1 - 5e^-4)` only. Derived again, independently,
#: in `tests/test_initializers.py`.
COMPLEX_TRUNCATED_NORMAL_FACTOR = 1.0 / (1.0 - math.exp(-4.0))

_SCHEMES = {"lecun": (1.0, "fan_in"), "glorot": (1.0, "fan_avg"), "he": (2.0, "fan_in")}
_DISTRIBUTIONS = ("normal", "uniform", "truncated_normal")
_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_KINDS = ("variance_scaling", "orthogonal", "delta_orthogonal")
_MARKERS = {"lecun": "o", "glorot": "s", "he": "^", "orthogonal": "D", "delta_orthogonal": "*"}
_FILLS = {"normal": "full", "uniform": "none", "truncated_normal": "left"}
#: Relative rounding floor of a confidence half-width (in units of the dtype's
#: eps): the only uncertainty left for deterministic norms (orthogonal).
_ROUNDING_EPS = 1e3


@dataclasses.dataclass(frozen=True)
class Measurement:
    """Effective `sigma_w^2 = fan_in E|W|^2` measured from samples.

    `mean` is the sample estimate, `[ci_low, ci_high]` its two-sided confidence
    interval at level `confidence` (Student t over `n_draws` independent weight
    matrices, floored at `1e3 eps` relative rounding), `intended` the analytic
    value (None if unknown), `pseudo_ratio` the measured `E[W^2]/E|W|^2` and
    `pseudo_ratio_se` its standard error.

    Example:
      >>> m = Measurement(1.02, 1.01, 1.03, 1.0, 8, 0.999, 0j, 0.)
      >>> m.agrees, round(m.ratio, 2)
      (False, 1.02)
    """
    mean: float
    ci_low: float
    ci_high: float
    intended: Optional[float]
    n_draws: int
    confidence: float
    pseudo_ratio: complex
    pseudo_ratio_se: float

    @property
    def agrees(self) -> bool:
        """Whether `intended` lies inside the confidence interval."""
        if self.intended is None:
            raise ValueError("agrees: this measurement has no intended value")
        return bool(self.ci_low <= self.intended <= self.ci_high)

    @property
    def ratio(self) -> float:
        """`mean / intended`."""
        if self.intended is None:
            raise ValueError("ratio: this measurement has no intended value")
        return self.mean / self.intended


def _fans(shape: Sequence[int]) -> tuple[int, int]:
    """jax's fans for in_axis=-2, out_axis=-1: receptive field times channels."""
    if len(shape) < 2:
        raise ValueError(f"shape: expected at least 2 dimensions (..., fan_in, fan_out), "
                         f"got {tuple(shape)}")
    receptive = math.prod(shape[:-2])
    return receptive * shape[-2], receptive * shape[-1]


def _check_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if not (np.issubdtype(dt, np.floating) or np.issubdtype(dt, np.complexfloating)):
        raise ValueError(f"dtype: expected a real or complex floating dtype, got {dt}")
    if np.finfo(dt).bits > 32 and not jax.config.read("jax_enable_x64"):
        raise ValueError(f"dtype: {dt} needs jax_enable_x64=True "
                         "(jax would silently sample in single precision)")
    return dt


def measure(initializer: Initializer, shape: Sequence[int], dtype: Any = jnp.float64,
            key: Any = 0, n_draws: int = 64, intended: Optional[float] = None,
            confidence: float = 0.999) -> Measurement:
    """Measure `sigma_w^2 = fan_in E|W|^2` of `initializer(key, shape, dtype)`.

    Draws `n_draws` independent matrices (keys split from `key`), takes each
    one's `fan_in * mean |W|^2`, and builds a Student-t confidence interval over
    the draws — valid also when entries within a matrix are dependent
    (orthogonal). `fan_in = prod(shape[:-2]) * shape[-2]` as in jax.

    Example:
      >>> import jax
      >>> m = measure(jax.nn.initializers.lecun_uniform(), (128, 128), intended=1.0)
      >>> m.agrees, abs(m.mean - 1) < 0.01
      (True, True)
    """
    shape = tuple(int(s) for s in shape)
    fan_in, _ = _fans(shape)
    dt = _check_dtype(dtype)
    if n_draws < 2:
        raise ValueError(f"n_draws: expected at least 2 independent draws, got {n_draws}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a level in (0, 1), got {confidence}")
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    keys = jax.random.split(key, n_draws)
    weights = jax.vmap(lambda k: initializer(k, shape, dt))(keys)
    if weights.shape != (n_draws,) + shape or weights.dtype != dt:
        raise ValueError(f"initializer: returned {weights.dtype}{weights.shape[1:]}, "
                         f"expected {dt}{shape}")
    w = np.asarray(weights).reshape(n_draws, -1)
    per_draw = fan_in * np.mean(np.abs(w) ** 2, axis=1)
    pseudo = np.sum(w ** 2, axis=1) / np.sum(np.abs(w) ** 2, axis=1)
    mean = float(np.mean(per_draw))
    from scipy import special  # here, not at module level: keeps `import nt_complex` fast
    t = special.stdtrit(n_draws - 1, 0.5 + confidence / 2)  # Student t quantile
    half = t * float(np.std(per_draw, ddof=1)) / math.sqrt(n_draws)
    half = float(max(half, _ROUNDING_EPS * float(np.finfo(dt).eps) * abs(mean)))
    pseudo_se = math.sqrt((np.var(pseudo.real, ddof=1) + np.var(pseudo.imag, ddof=1)) / n_draws)
    return Measurement(mean=mean, ci_low=mean - half, ci_high=mean + half,
                       intended=None if intended is None else float(intended),
                       n_draws=n_draws, confidence=confidence,
                       pseudo_ratio=complex(np.mean(pseudo)), pseudo_ratio_se=pseudo_se)


@dataclasses.dataclass(frozen=True)
class FamilySpec:
    """One initializer of `jax.nn.initializers`, described by its parameters.

    `kind` is `variance_scaling` (with `scale`, `mode`, `distribution`),
    `orthogonal` or `delta_orthogonal` (with `scale`, the matrix multiplier).

    Example:
      >>> s = FamilySpec("he_uniform", "variance_scaling", 2.0, "fan_in", "uniform")
      >>> s.jax_call
      "variance_scaling(2.0, 'fan_in', 'uniform')"
    """
    name: str
    kind: str
    scale: float = 1.0
    mode: Optional[str] = None
    distribution: Optional[str] = None

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"kind: expected one of {_KINDS}, got {self.kind!r}")
        if self.kind == "variance_scaling":
            if self.mode not in _MODES:
                raise ValueError(f"mode: expected one of {_MODES}, got {self.mode!r}")
            if self.distribution not in _DISTRIBUTIONS:
                raise ValueError(f"distribution: expected one of {_DISTRIBUTIONS}, "
                                 f"got {self.distribution!r}")
        if not self.scale > 0:
            raise ValueError(f"scale: expected a positive number, got {self.scale}")

    @property
    def jax_call(self) -> str:
        """The `jax.nn.initializers` call this spec stands for."""
        if self.kind == "variance_scaling":
            return f"variance_scaling({self.scale}, {self.mode!r}, {self.distribution!r})"
        return f"{self.kind}(scale={self.scale})"

    def initializer(self) -> Initializer:
        """The `jax.nn.initializers` initializer itself."""
        init = jax.nn.initializers
        if self.kind == "variance_scaling":
            return init.variance_scaling(self.scale, self.mode, self.distribution)
        return getattr(init, self.kind)(scale=self.scale)

    def shape(self, fan_in: int, fan_out: int, filter_size: int = 3) -> tuple[int, ...]:
        """Weight shape: `(fan_in, fan_out)`, or `(filter_size, fan_in, fan_out)`
        (channels) for `delta_orthogonal`."""
        if self.kind == "delta_orthogonal":
            if fan_in > fan_out:
                raise ValueError(f"fan_in: delta_orthogonal needs fan_in <= fan_out "
                                 f"(channels), got {fan_in} > {fan_out}")
            return (filter_size, fan_in, fan_out)
        return (fan_in, fan_out)


SPECS: tuple[FamilySpec, ...] = tuple(
    FamilySpec(f"{scheme}_{dist}", "variance_scaling", scale, mode, dist)
    for scheme, (scale, mode) in _SCHEMES.items() for dist in _DISTRIBUTIONS
) + (FamilySpec("orthogonal", "orthogonal"), FamilySpec("delta_orthogonal", "delta_orthogonal"))
"""The standard families. jax's `lecun_normal`, `glorot_normal`, `he_normal` are
the `*_truncated_normal` entries here; `*_normal` is untruncated."""


def intended_W_var(spec: FamilySpec, shape: Sequence[int]) -> float:
    """Analytic `sigma_w^2 = fan_in E|W|^2` that `spec` intends for `shape`.

    variance_scaling: `scale * fan_in / n` with `n` = fan_in, fan_out, their
    mean or geometric mean (jax's documented intent: `Var W = scale / n`).
    orthogonal on `(rows, cols)`: `scale^2 rows / max(rows, cols)` (exact).
    delta_orthogonal on `(*filter, c_in, c_out)`: `scale^2 c_in / c_out` (exact).

    Example:
      >>> intended_W_var(FamilySpec("g", "variance_scaling", 1.0, "fan_avg", "normal"), (100, 300))
      0.5
    """
    fan_in, fan_out = _fans(shape)
    if spec.kind == "variance_scaling":
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
             "fan_geo_avg": math.sqrt(fan_in * fan_out)}[spec.mode]
        return spec.scale * fan_in / n
    if spec.kind == "orthogonal":
        rows, cols = math.prod(shape[:-1]), shape[-1]
        return spec.scale ** 2 * fan_in / max(rows, cols)
    c_in, c_out = shape[-2], shape[-1]
    return spec.scale ** 2 * c_in / c_out


@dataclasses.dataclass(frozen=True)
class Family:
    """An initializer placed on a phase diagram at its measured `W_var`.

    Drawing attributes: `name`, `W_var` (measured `sigma_w^2`), `b_var` (None:
    jax's weight initializers say nothing about biases), `marker`, `fillstyle`.
    Provenance: `intended`, `ci_low`, `ci_high`, `dtype`, `spec`, `shape`,
    `measurement`.

    Example:
      >>> f = family(SPECS[0], 32, 32, n_draws=8)
      >>> f.name, f.marker, f.b_var
      ('lecun_normal', 'o', None)
    """
    name: str
    W_var: float
    b_var: Optional[float]
    marker: str
    fillstyle: str
    intended: float
    ci_low: float
    ci_high: float
    dtype: str
    spec: FamilySpec
    shape: tuple
    measurement: Measurement

    @property
    def agrees(self) -> bool:
        """Whether the intended value lies in the measured confidence interval."""
        return self.measurement.agrees

    @property
    def discrepancy(self) -> float:
        """Relative excess `W_var / intended - 1`."""
        return self.measurement.ratio - 1.0


def family(spec: FamilySpec, fan_in: int, fan_out: int, dtype: Any = jnp.float64,
           key: Any = 0, n_draws: int = 64, b_var: Optional[float] = None,
           confidence: float = 0.999) -> Family:
    """Measure one `spec` at `(fan_in, fan_out)` and wrap it as a `Family`.

    Example:
      >>> f = family(SPECS[-2], 64, 64, n_draws=4)
      >>> f.name, round(f.W_var, 12), f.agrees
      ('orthogonal', 1.0, True)
    """
    shape = spec.shape(fan_in, fan_out)
    m = measure(spec.initializer(), shape, dtype, key, n_draws,
                intended_W_var(spec, shape), confidence)
    base = spec.name.split("_")[0] if spec.kind == "variance_scaling" else spec.kind
    return Family(name=spec.name, W_var=m.mean, b_var=b_var, marker=_MARKERS[base],
                  fillstyle=_FILLS.get(spec.distribution, "full"), intended=m.intended,
                  ci_low=m.ci_low, ci_high=m.ci_high, dtype=np.dtype(dtype).name,
                  spec=spec, shape=shape, measurement=m)


def families(fan_in: int = 256, fan_out: int = 256, dtype: Any = jnp.float64,
             key: Any = 0, n_draws: int = 64, specs: Optional[Sequence[FamilySpec]] = None,
             b_var: Optional[float] = None, confidence: float = 0.999) -> list[Family]:
    """All standard families (`SPECS`, or `specs`) measured at one size and dtype.

    `delta_orthogonal` is measured on a `(3, fan_in, fan_out)` conv kernel
    (channels) and left out when `fan_in > fan_out` (jax requires
    `fan_in <= fan_out` for it).

    Example:
      >>> fams = families(fan_in=32, fan_out=32, n_draws=8)
      >>> len(fams), sorted({f.marker for f in fams})
      (11, ['*', 'D', '^', 'o', 's'])
    """
    chosen = SPECS if specs is None else tuple(specs)
    return [family(s, fan_in, fan_out, dtype, key, n_draws, b_var, confidence)
            for s in chosen if not (s.kind == "delta_orthogonal" and fan_in > fan_out)]


def report(fams: Sequence[Family]) -> str:
    """Markdown table of intended vs measured `sigma_w^2` with disagreements flagged.

    Example:
      >>> print(report(families(16, 16, specs=SPECS[-2:-1], n_draws=4)).splitlines()[0])
      | family | dtype | shape | intended | measured | CI | ratio | W_pseudo | status |
    """
    lines = ["| family | dtype | shape | intended | measured | CI | ratio | W_pseudo | status |",
             "|---|---|---|---|---|---|---|---|---|"]
    for f in fams:
        m = f.measurement
        status = "ok" if f.agrees else f"**DISAGREES** ({100 * f.discrepancy:+.2f}%)"
        lines.append(
            f"| {f.name} | {f.dtype} | {'x'.join(map(str, f.shape))} | {f.intended:.6g} "
            f"| {f.W_var:.6g} | [{f.ci_low:.6g}, {f.ci_high:.6g}] | {m.ratio:.5f} "
            f"| {abs(m.pseudo_ratio):.3g} | {status} |")
    return "\n".join(lines)

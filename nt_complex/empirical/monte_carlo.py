"""Monte Carlo estimates of the NNGP, NTK and pseudo-kernels of a complex
network: the average of the empirical kernels (`nt_complex.empirical`) over
independent initialisations. They converge to the analytic `kernel_fn` of an
`nt_complex.stax` network as width and `n_samples` grow, and work for any
network (e.g. with a `Softmax` head, whose `kernel_fn` raises).

Sample `s` (0-based) is drawn with `jax.random.fold_in(key, s)`, so it does not
depend on how many samples are requested: the estimate after `n` samples is the
same whether `n_samples=n` or `n` is one entry of a list.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
from tqdm import tqdm

from nt_complex.empirical.kernels import (DEFAULT_IMPLEMENTATION, Axes, Implementation,
                                          empirical_kernel_fn)
from nt_complex.kernel import FIELDS, canonical_get, kernel_namedtuple

__all__ = ["MonteCarloKernel", "monte_carlo_kernel_fn"]

_PAIR_FIELDS = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")
_COV_OF = {"cov1": "nngp", "pseudo_cov1": "pseudo_nngp",
           "cov2": "nngp", "pseudo_cov2": "pseudo_nngp"}


class MonteCarloKernel(NamedTuple):
    """Monte Carlo estimate of every field of a `ComplexKernel` (`get=None`).

    Layouts as NT's empirical kernels (`cov1` is the `x1`-batch diagonal of the
    NNGP, `(N1, ...)`); `cov2`, `pseudo_cov2` are `None` when `x2` is `None`,
    as in `ComplexKernel`.
    """

    nngp: jnp.ndarray
    ntk: jnp.ndarray
    cov1: jnp.ndarray
    cov2: Optional[jnp.ndarray]
    pseudo_nngp: jnp.ndarray
    pseudo_ntk: jnp.ndarray
    pseudo_cov1: jnp.ndarray
    pseudo_cov2: Optional[jnp.ndarray]


def _canonical_n_samples(n_samples) -> tuple[tuple[int, ...], bool]:
    single = isinstance(n_samples, (int, np.integer))
    is_sequence = isinstance(n_samples, Sequence) and not isinstance(n_samples, str)
    counts = (int(n_samples),) if single else tuple(n_samples) if is_sequence else ()
    if not counts or not all(isinstance(n, (int, np.integer)) and n > 0 for n in counts):
        raise ValueError("n_samples must be a positive int or a non-empty increasing "
                         f"sequence of positive ints; got {n_samples!r}.")
    if any(b <= a for a, b in zip(counts, counts[1:])):
        raise ValueError(f"n_samples must be strictly increasing; got {n_samples!r}.")
    return tuple(int(n) for n in counts), single


def _canonical_get(get) -> tuple[tuple[str, ...], Optional[str]]:
    names = canonical_get(get)
    if names is None:
        return FIELDS, None
    return names, ("str" if isinstance(get, str) else "tuple")


def _with_batch_diagonal(diagonal_axes: Axes) -> tuple[int, ...]:
    axes = (diagonal_axes,) if isinstance(diagonal_axes, int) else tuple(diagonal_axes)
    return axes if 0 in axes else (0,) + axes


def monte_carlo_kernel_fn(
        init_fn: Callable, apply_fn: Callable, key: jax.Array,
        n_samples: Union[int, Sequence[int]], batch_size: int = 0,
        device_count: int = -1, store_on_device: bool = True,
        trace_axes: Axes = (-1,), diagonal_axes: Axes = (), vmap_axes=None,
        implementation: Union[int, Implementation] = DEFAULT_IMPLEMENTATION,
        progress: bool = True) -> Callable:
    """Monte Carlo NNGP / NTK / pseudo-kernel estimator of a (complex) network.

    Returns `mc_kernel_fn(x1, x2=None, get=None, **apply_fn_kwargs)`. `get` is
    a field of `nt_complex.kernel.FIELDS` (-> array), a tuple of them
    (-> namedtuple `MonteCarloKernel` of those fields) or `None` (->
    `MonteCarloKernel` with all eight fields). With a sequence `n_samples`
    (increasing), a list holding the estimate after each count is returned
    (one pass over `max(n_samples)` draws); with an int, one estimate.

    Args:
      init_fn, apply_fn: the network (`init_fn(key, input_shape)`).
      key: PRNG key; sample `s` uses `jax.random.fold_in(key, s)`.
      n_samples: number of draws, or an increasing sequence of counts.
      batch_size, device_count, store_on_device: as `nt.batch` (applied to
        the `(x1, x2)` fields; `batch_size` must divide both batch sizes).
      trace_axes, diagonal_axes, vmap_axes, implementation: as
        `nt_complex.empirical_kernel_fn`.
      progress: show a tqdm bar (only when stderr is a terminal).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from nt_complex import stax
      >>> from nt_complex.empirical.monte_carlo import monte_carlo_kernel_fn
      >>> init_fn, apply_fn, _ = stax.serial(stax.Dense(64), stax.CReLU(), stax.Dense(1))
      >>> mc = monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(0), [2, 4],
      ...                            progress=False)
      >>> [k.shape for k in mc(jnp.ones((3, 2)) * 1j, None, 'ntk')]
      [(3, 3), (3, 3)]
    """
    counts, single = _canonical_n_samples(n_samples)
    pair_kernel = empirical_kernel_fn(apply_fn, trace_axes, diagonal_axes, vmap_axes,
                                      implementation)
    cov_kernel = empirical_kernel_fn(apply_fn, trace_axes,
                                     _with_batch_diagonal(diagonal_axes))

    def params_of(x1, sample_key):
        return init_fn(sample_key, jax.tree_util.tree_map(jnp.shape, x1))[1]

    def pair_sample(x1, x2, sample_key, names, **kwargs):
        return pair_kernel(x1, x2, names, params_of(x1, sample_key), **kwargs)

    batched_pairs = nt.batch(pair_sample, batch_size, device_count, store_on_device)

    @functools.partial(jax.jit, static_argnames=("names",))
    def cov_sample(x, x1, sample_key, names, **kwargs):
        return cov_kernel(x, None, names, params_of(x1, sample_key), **kwargs)

    def one_sample(x1, x2, sample_key, names, kwargs) -> dict:
        out = {}
        pairs = tuple(n for n in _PAIR_FIELDS if n in names)
        if pairs:
            out.update(batched_pairs(x1, x2, sample_key, pairs, **kwargs)._asdict())
        for which, x in (("1", x1), ("2", x2)):
            covs = tuple(n for n in names if n in _COV_OF and n.endswith(which))
            if covs and x is not None:
                fields = tuple(sorted({_COV_OF[n] for n in covs}))
                values = cov_sample(x, x1, sample_key, fields, **kwargs)._asdict()
                out.update({n: values[_COV_OF[n]] for n in covs})
        return out

    def package(total: dict, n: int, names, kind):
        mean = {name: None if total.get(name) is None else total[name] / n for name in names}
        if kind == "str":
            return mean[names[0]]
        if kind is None:
            return MonteCarloKernel(**mean)
        return kernel_namedtuple(names)(*(mean[name] for name in names))

    def mc_kernel_fn(x1, x2=None, get=None, **apply_fn_kwargs) -> Any:
        names, kind = _canonical_get(get)
        total: dict = {}
        estimates = []
        show = progress and counts[-1] > 1 and sys.stderr.isatty()
        for s in tqdm(range(counts[-1]), desc="Monte Carlo kernels", disable=not show):
            sample = one_sample(x1, x2, jax.random.fold_in(key, s), names, apply_fn_kwargs)
            total = {n: v if n not in total else total[n] + v for n, v in sample.items()}
            if s + 1 in counts:
                estimates.append(package(total, s + 1, names, kind))
        return estimates[0] if single else estimates

    return mc_kernel_fn

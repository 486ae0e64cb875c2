"""The one place where nt_complex touches Neural Tangents' and JAX's private names.

Neural Tangents 0.6.5 is the last release (the repository is archived). Its
linear kernel maths (convolution and pooling of covariance tensors, circular
padding) is correct on complex Hermitian and pseudo covariances, so we call it
rather than copy it. Every private name we rely on is imported here and only
here: a future NT (or jax) change touches this file alone.

This module also makes NT 0.6.5 importable on current JAX, without TensorFlow
(`_make_neural_tangents_importable`, run before NT is first imported). Every
step is feature-detected, never version-sniffed, and is a no-op where nothing is
missing (jax 0.5.3):

* names NT imports from `jax.core` that moved to `jax.extend.core`
  (`Jaxpr`, `JaxprEqn`, `Literal`, `Primitive`, `Var`, `ClosedJaxpr`);
* `jax.util.safe_map` / `safe_zip` (made private; NT imports them as `map`/`zip`);
* `jax.interpreters.ad.zeros_like_p` (removed; NT only registers rules for it);
* `jax.interpreters.ad.source_info_util` and `.config`, which NT's structured
  empirical NTK (its implementation 3) looks up there (gone since jax 0.4.30; with
  them it runs again, on both stacks, and equals its implementation 1);
* `neural_tangents.experimental`, NT's TensorFlow bridge, becomes lazy: importing
  NT (hence nt_complex) never imports TensorFlow, on either stack; touching the
  bridge imports it then, or raises an ImportError that says TensorFlow is missing.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
import warnings

_TF_BRIDGE = "neural_tangents.experimental"


class _LazyTensorFlowBridge(types.ModuleType):
    """Stands in for `neural_tangents.experimental` until it is touched."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if importlib.util.find_spec("tensorflow") is None:
            raise ImportError(
                f"{_TF_BRIDGE}.{name} is Neural Tangents' TensorFlow bridge and needs "
                "TensorFlow and tf2jax, which nt_complex's default stack does not install "
                "(nt_complex never uses the bridge). Install them (the legacy lock, "
                "locks/legacy.txt, has versions that work with jax 0.5.3) to use it.")
        package = sys.modules["neural_tangents"]
        spec = importlib.machinery.PathFinder.find_spec(_TF_BRIDGE, package.__path__)
        bridge = importlib.util.module_from_spec(spec)
        sys.modules[_TF_BRIDGE] = bridge
        spec.loader.exec_module(bridge)
        package.experimental = bridge
        return getattr(bridge, name)


def _make_neural_tangents_importable() -> None:
    """Fill in what NT 0.6.5 imports from JAX and is gone; make NT's TF bridge lazy."""
    import jax
    import jax.core
    import jax.extend.core
    from jax.interpreters import ad

    for name in ("Jaxpr", "JaxprEqn", "Literal", "Primitive", "Var", "ClosedJaxpr"):
        if not hasattr(jax.core, name):
            setattr(jax.core, name, getattr(jax.extend.core, name))
    try:
        import jax.util as jax_util
    except ImportError:
        jax_util = types.ModuleType("jax.util")
        sys.modules["jax.util"] = jax_util
        jax.util = jax_util
    for name in ("safe_map", "safe_zip"):
        if not hasattr(jax_util, name):
            from jax._src import util as private_util  # where jax keeps them today
            setattr(jax_util, name, getattr(private_util, name))
    # A plain attribute (jax 0.7 serves it behind a deprecation): NT reads it silently.
    ad.zeros_like_p = getattr(ad, "zeros_like_p", None) or jax.extend.core.Primitive("zeros_like")
    if not hasattr(ad, "source_info_util"):
        from jax._src import source_info_util
        ad.source_info_util = source_info_util
    if not hasattr(ad, "config"):
        ad.config = jax.config
    if "neural_tangents" not in sys.modules:
        sys.modules.setdefault(_TF_BRIDGE, _LazyTensorFlowBridge(_TF_BRIDGE))


with warnings.catch_warnings():  # feature detection touches names jax serves deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    _make_neural_tangents_importable()

from collections.abc import Callable, Sequence  # noqa: E402  (after the shim above)
from typing import Any  # noqa: E402

import jax.numpy as jnp  # noqa: E402
from neural_tangents._src.stax import linear as _linear  # noqa: E402
from neural_tangents._src.stax import requirements as _requirements  # noqa: E402
from neural_tangents._src.utils import dataclasses as _dataclasses  # noqa: E402
from neural_tangents._src.utils.kernel import Kernel  # noqa: E402

__all__ = [
    "Kernel",
    "Padding",
    "conv_kernel",
    "dataclass",
    "field",
    "fused_input_requirements",
    "pad_circular",
    "pool_kernel",
]

Padding = _linear.Padding
dataclass = _dataclasses.dataclass
field = _dataclasses.field


def fused_input_requirements(kernel_fn: Callable, **user_reqs: Any) -> dict:
    """Requirements on the input kernel of `kernel_fn` (NT's `requires`), fused
    with NT's defaults and the user's overrides (e.g. `diagonal_spatial`)."""
    reqs = _requirements.get_req(kernel_fn, {})
    fused = _requirements._fuse_requirements(
        reqs, _requirements._DEFAULT_INPUT_REQ, **user_reqs)
    return dict(fused)


def conv_kernel(mat: jnp.ndarray, filter_shape: Sequence[int],
                strides: Sequence[int], padding: Padding,
                diagonal_spatial: bool, batch_ndim: int) -> jnp.ndarray:
    """Covariance of a weight-shared convolution's outputs (unscaled: the
    average over the receptive field), for a covariance tensor `mat` with
    `batch_ndim` leading batch axes. Full spatial covariances come out with the
    spatial axis pairs in reversed order (NT's `is_reversed` convention)."""
    if diagonal_spatial:
        return _linear._conv_kernel_diagonal_spatial(
            mat, filter_shape, strides, padding, batch_ndim)
    return _linear._conv_kernel_full_spatial_shared(
        mat, filter_shape, strides, padding, batch_ndim)


def pool_kernel(mat: jnp.ndarray, window_shape: Sequence[int],
                strides: Sequence[int], padding: Padding, normalize_edges: bool,
                diagonal_spatial: bool, batch_ndim: int) -> jnp.ndarray:
    """Covariance of average-pooling outputs for a covariance tensor `mat`.

    `window_shape` and `strides` are per spatial axis in the order of `mat`'s
    spatial axes (already reversed by the caller if the kernel is reversed).
    With diagonal spatial covariances only the diagonal terms of the window
    average survive, hence NT's second normalisation.
    """
    if diagonal_spatial:
        out = _linear._pool_kernel(mat, _linear._Pooling.AVG, window_shape,
                                   strides, padding, normalize_edges,
                                   batch_ndim)
        window = (1,) * batch_ndim + tuple(window_shape)
        steps = (1,) * batch_ndim + tuple(strides)
        return _linear._normalize(mat, out, normalize_edges, padding, steps,
                                  window)
    return _linear._pool_kernel(mat, _linear._Pooling.AVG,
                                tuple(w for w in window_shape for _ in (0, 1)),
                                tuple(s for s in strides for _ in (0, 1)),
                                padding, normalize_edges, batch_ndim)


def pad_circular(x: jnp.ndarray, filter_shape: Sequence[int],
                 strides: Sequence[int], axes: Sequence[int]) -> jnp.ndarray:
    """Wrap-pad `x` so that a VALID window op equals a CIRCULAR (SAME-sized) one."""
    return _linear._same_pad_for_filter_shape(x, filter_shape, strides, axes,
                                              mode="wrap")

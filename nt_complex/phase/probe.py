"""Inspect a block once, on concrete values, before vectorising over a grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from nt_complex.phase.maps import Block, BlockSpec, is_complex_block, pair_kernel
from nt_complex.phase.structured import check_activation_inputs, split_block, structured_maps

__all__ = ["inspect_block"]

_PROBE_W_STD = 1.3
_PROBE_C = 0.3
_HOMOGENEITY_RTOL = 1e-9


def _spatial_shape(input_shape: Optional[Sequence[int]]) -> tuple[int, ...]:
    if input_shape is None:
        return ()
    shape = tuple(int(s) for s in input_shape)
    if not 1 <= len(shape) <= 3 or any(s <= 0 for s in shape):
        raise ValueError(
            f"input_shape must be 1 to 3 positive spatial sizes, e.g. (H, W), without "
            f"batch or channel axes; got {input_shape!r}.")
    return shape


def _output_fields(spec: BlockSpec, W_std: float, b_std: float, q: float, c: float,
                   fields: tuple[str, ...]) -> dict:
    """`fields` of the block's output kernel for two inputs of variance `q` and
    correlation `c` (None for a field the kernel lacks), compiled with only
    those fields live: XLA drops the rest, so probing modReLU's variance does
    not compile its off-diagonal series and near-1 quadrature."""
    q_arr = jnp.full(spec.spatial_shape, q)
    kernel = pair_kernel(spec, q_arr, q_arr * c)
    kernel_fn = spec.block(W_std, b_std)[2]

    def selected(k):
        out = kernel_fn(k)
        if out.nngp.shape != k.nngp.shape:
            raise ValueError(
                f"the block maps a kernel of shape {k.nngp.shape} to "
                f"{out.nngp.shape}: a phase diagram needs a block that can be repeated "
                f"(same input and output structure). Drop readout layers (Flatten, "
                f"GlobalAvgPool, a final Dense): they act once and do not change the "
                f"diagram. For convolutional blocks pass input_shape=(H, W, ...).")
        return {name: getattr(out, name, None) for name in fields}

    return jax.jit(selected)(kernel)


def _check_pseudo_is_irrelevant(spec: BlockSpec, out: dict) -> None:
    """A complex block may output a pseudo-covariance (CReLU does: its outputs
    are not centred) as long as the next block ignores it (a circular Dense or
    Conv first). Feed it back and require the same output covariance."""
    shape = spec.spatial_shape
    q_arr = jnp.full(shape, 1.0)
    circular = pair_kernel(spec, q_arr, q_arr * _PROBE_C)
    improper = circular.replace(pseudo_nngp=out["pseudo_nngp"], pseudo_cov1=out["pseudo_cov1"])
    kernel_fn = spec.block(_PROBE_W_STD, 0.2)[2]
    plain = np.asarray(kernel_fn(circular).nngp)
    fed = np.asarray(kernel_fn(improper).nngp)
    if not np.allclose(plain, fed, rtol=1e-12, atol=0.0):
        raise NotImplementedError(
            "the block's output covariance depends on its input pseudo-covariance "
            "(e.g. it starts with an activation or with real-valued weights, "
            "W_pseudo != 0), and it produces one: its phase diagram would need the "
            "pseudo-covariance as extra state, which nt_complex.phase does not track "
            "yet. Start the block with a circular Dense/Conv layer.")


def inspect_block(block: Block, input_shape: Optional[Sequence[int]] = None,
                  homogeneous: Optional[bool] = None) -> BlockSpec:
    """Probe `block` and return its `BlockSpec`.

    Checks that the block is repeatable (output kernel shaped like its input),
    that a complex block maps circular kernels to circular ones (the phase
    maps track `(q, c)` only), and detects positive homogeneity numerically
    (`K'(s K) = s K'(K)` without bias) unless `homogeneous` is given.

    Example:
      >>> from neural_tangents import stax
      >>> spec = inspect_block(lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Relu()))
      >>> spec.homogeneous, spec.is_complex
      (True, False)
    """
    if not callable(block):
        raise TypeError("block must be a callable block(W_std, b_std) -> "
                        "(init_fn, apply_fn, kernel_fn).")
    layer = block(1.0, 0.0)
    if not (isinstance(layer, tuple) and len(layer) == 3):
        raise TypeError("block(W_std, b_std) must return (init_fn, apply_fn, kernel_fn); "
                        f"got {type(layer).__name__}.")
    spec = BlockSpec(block, _spatial_shape(input_shape), is_complex_block(block), False)
    out = _output_fields(spec, _PROBE_W_STD, 0.2, 1.0, _PROBE_C,
                         ("cov1", "pseudo_nngp", "pseudo_cov1"))
    if spec.is_complex and out["pseudo_nngp"] is not None:
        _check_pseudo_is_irrelevant(spec, out)
    structured = _is_structured(spec, out["cov1"])
    if homogeneous is None and structured:
        # the bias-free structured q-map (activations' E|f|^2): Q(s q) = s Q(q)?
        free = spec.block(_PROBE_W_STD, 0.0)
        q_map = structured_maps(spec, split_block(free)).q_map
        small, large = (np.concatenate([np.asarray(q_map(jnp.full(spec.n_positions, x * p, float)))
                                        for p in (1.0, 3.7)]) for x in (1.0, 3.7))
        homogeneous = bool(np.all(np.isfinite(small)) and np.allclose(
            large, 3.7 * small, rtol=_HOMOGENEITY_RTOL, atol=0.0))
    elif homogeneous is None:
        small, large = (np.asarray(_output_fields(spec, _PROBE_W_STD, 0.0, q, _PROBE_C,
                                                  ("nngp",))["nngp"]) for q in (1.0, 3.7))
        homogeneous = bool(np.all(np.isfinite(small)) and np.allclose(
            large, 3.7 * small, rtol=_HOMOGENEITY_RTOL, atol=0.0))
    return BlockSpec(block, spec.spatial_shape, spec.is_complex, bool(homogeneous), structured)


def _is_structured(spec: BlockSpec, cov1: jnp.ndarray) -> bool:
    """Use the activation's diagonal moments (`nt_complex.phase.structured`)?

    Yes for blocks of circular linear layers, activations with a diagonal rule
    and residual steps (`split_block`) whose activations all receive circular
    Gaussian kernels, after checking that the rules' composed `E|f|^2`
    reproduces the block's own output variance `cov1` at the probe point (a
    wrong rule is an error, not a silent answer)."""
    layer = spec.block(_PROBE_W_STD, 0.2)
    parts = split_block(layer) if spec.is_complex else None
    if parts is None:
        return False
    try:
        check_activation_inputs(spec, layer)
        variance = structured_maps(spec, parts).q_map(jnp.ones(spec.n_positions))
    except ValueError:  # e.g. non-circular weights before the activation
        return False
    expected = np.real(np.asarray(cov1)[0]).reshape(-1)
    if not np.allclose(np.asarray(variance), expected, rtol=1e-9, atol=0.0):
        raise RuntimeError(
            f"the activation's diagonal rule gives E|f|^2 = {np.asarray(variance)} but its "
            f"kernel gives {expected} at the same point: the rule attached with "
            f"nt_complex.stax.activations.diagonal.with_diagonal is inconsistent.")
    return True

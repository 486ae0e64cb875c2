"""Phase diagrams over `(W_var, b_var)`: `q_star`, `c_star`, `chi_1`, `phase_diagram`.

1-D `W_var` (length m) and `b_var` (length n) give `(n, m)` grids, exactly as
NT's phase-diagram notebook (`vmap` over W inside `vmap` over b); other
shapes broadcast; scalars give scalars. Spatial blocks add trailing position
axes to `q_star` and `c_star` (chi is one number per point: a spectral radius).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np

from nt_complex.phase.maps import Block, BlockSpec
from nt_complex.phase.probe import inspect_block
from nt_complex.phase.solve import Status, solve_point

__all__ = ["PhaseDiagram", "phase_diagram", "q_star", "c_star", "chi_1"]


@dataclasses.dataclass(frozen=True)
class PhaseDiagram:
    """Fixed points and multipliers of a block on a `(W_var, b_var)` grid.

    Attributes:
      W_var, b_var: the inputs (1-D for a grid).
      q_star: attracting fixed-point variance (NaN where none; trailing spatial
        axes for Conv blocks).
      c_star: attracting fixed-point correlation of the normalised c-map
        (complex for complex blocks).
      chi_1: multiplier of real perturbations of `c` at `c = 1` (chi_par).
      chi_phase: multiplier of phase perturbations (complex blocks), else None.
      status: `Status` codes (int8), see `nt_complex.phase.Status`.
      is_complex, spatial_shape: the block's type and positions.
    """

    W_var: np.ndarray
    b_var: np.ndarray
    q_star: np.ndarray
    c_star: np.ndarray
    chi_1: np.ndarray
    chi_phase: Optional[np.ndarray]
    status: np.ndarray
    is_complex: bool
    spatial_shape: tuple[int, ...]

    def c_star_mean(self) -> np.ndarray:
        """Real part of c*, averaged over spatial positions (what `plot` shows)."""
        c = np.real(self.c_star)
        return c.mean(axis=tuple(range(c.ndim - len(self.spatial_shape), c.ndim))) \
            if self.spatial_shape else c

    def plot(self, ax=None, families: Sequence[Any] = (), title: Optional[str] = None,
             saddle_node=None, color: str = "c_star"):
        """Draw c*, the chi_1 = 1 (and chi_phase = 1) lines where they exist,
        hatched flagged regions and, if given, `saddle_node = (W_var, b_var)`
        (from `nt_complex.phase.saddle_node_line`). `color`: `"c_star"`,
        `"chi_1"` or `"chi_phase"` as the colour map.

        `families`: objects with `.name`, `.W_var` and optional `.b_var`,
        `.marker` (e.g. `nt_complex.initializers` families), drawn as markers
        (or vertical lines when `b_var` is None). Needs a 1-D grid.

        Example:
          >>> import matplotlib; matplotlib.use('Agg')
          >>> from neural_tangents import stax
          >>> import numpy as np
          >>> pd = phase_diagram(lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Erf()),
          ...                    np.linspace(0.5, 3, 6), np.linspace(0.01, 0.2, 5))
          >>> ax = pd.plot()
        """
        from nt_complex.phase.plot import plot_diagram
        return plot_diagram(self, ax=ax, families=families, title=title,
                            saddle_node=saddle_node, color=color)


@functools.lru_cache(maxsize=32)
def _inspect(block: Block, input_shape: Optional[tuple], homogeneous: Optional[bool]) -> BlockSpec:
    """`inspect_block`, once per block object (its probes evaluate the kernel eagerly)."""
    return inspect_block(block, input_shape, homogeneous)


@functools.lru_cache(maxsize=32)
def _solver(spec: BlockSpec, tol: float, max_iter: int, correlation: bool) -> Callable:
    point = functools.partial(solve_point, spec, tol=tol, max_iter=max_iter,
                              correlation=correlation)
    return jax.jit(jax.vmap(point))


def _grid_inputs(W_var, b_var):
    W = np.asarray(W_var, dtype=float)
    b = np.asarray(b_var, dtype=float)
    for name, v in (("W_var", W), ("b_var", b)):
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"{name} must be finite and >= 0 (a variance); got {v!r}.")
    if W.ndim == 1 and b.ndim == 1:
        shape = (b.size, W.size)
        W_flat, b_flat = np.broadcast_to(W[None, :], shape), np.broadcast_to(b[:, None], shape)
    else:
        shape = np.broadcast_shapes(W.shape, b.shape)
        W_flat, b_flat = np.broadcast_to(W, shape), np.broadcast_to(b, shape)
    return shape, W_flat.reshape(-1), b_flat.reshape(-1)


def phase_diagram(block: Block, W_var, b_var, *, input_shape: Optional[Sequence[int]] = None,
                  homogeneous: Optional[bool] = None, tol: float = 1e-10,
                  max_iter: int = 100, chunk_size: int = 8192,
                  progress: Optional[Callable[[int], None]] = None,
                  correlation: bool = True) -> PhaseDiagram:
    """q*, c*, chi_1 (and chi_phase) of `block` over `(W_var, b_var)`.

    Args:
      block: `block(W_std, b_std) -> (init_fn, apply_fn, kernel_fn)`, from
        `nt.stax` or `nt_complex.stax`, repeatable (no readout layers).
      W_var, b_var: weight and bias variances; 1-D + 1-D gives an `(n, m)` grid.
      input_shape: spatial shape `(H, W)` (or 1-D/3-D) for Conv blocks.
      homogeneous: force/forbid the positively-homogeneous treatment
        (default: detected numerically).
      tol, max_iter: fixed-point tolerance and iteration cap.
      chunk_size: points per compiled batch (bounds memory).
      progress: called with the number of points finished after each chunk.
      correlation: False skips the c iteration (`c_star` all NaN; `q_star`,
        `chi` and the q-related status codes unchanged): much cheaper when the
        activation's kernel at `|rho| < 1` is expensive (modReLU).

    Example:
      >>> from neural_tangents import stax
      >>> pd = phase_diagram(lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Relu()),
      ...                    [1.0, 3.0], [0.1])
      >>> pd.chi_1.round(6).tolist(), pd.status.tolist()
      ([[0.5, 1.5]], [[0, 1]])
    """
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}.")
    spatial_input = None if input_shape is None else tuple(input_shape)
    spec = _inspect(block, spatial_input, homogeneous)
    shape, W_flat, b_flat = _grid_inputs(W_var, b_var)
    total = W_flat.size
    chunk = min(int(chunk_size), max(total, 1))
    solver = _solver(spec, float(tol), int(max_iter), bool(correlation))
    parts = []
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        pad = chunk - (stop - start)
        W_part = np.pad(W_flat[start:stop], (0, pad), constant_values=1.0)
        b_part = np.pad(b_flat[start:stop], (0, pad), constant_values=0.1)
        out = jax.device_get(solver(jnp.asarray(W_part), jnp.asarray(b_part)))
        parts.append([np.asarray(x)[:stop - start] for x in out])
        if progress is not None:
            progress(stop - start)
    q, c, chi_par, chi_phase, status = (np.concatenate(p) for p in zip(*parts))
    spatial = spec.spatial_shape
    def grid(x, positions):
        return x.reshape(shape + (spatial if positions else ()))
    return PhaseDiagram(
        W_var=np.asarray(W_var, float), b_var=np.asarray(b_var, float),
        q_star=grid(q, True), c_star=grid(c, True), chi_1=grid(chi_par, False),
        chi_phase=grid(chi_phase, False) if spec.is_complex else None,
        status=grid(status, False).astype(np.int8), is_complex=spec.is_complex,
        spatial_shape=spatial)


def _scalar_or_array(x: np.ndarray):
    return x[()] if x.ndim == 0 else x


def q_star(block: Block, W_var, b_var, *, input_shape: Optional[Sequence[int]] = None,
           **kwargs) -> np.ndarray:
    """Attracting fixed point of the q-map (NaN where there is none).

    Example:
      >>> from neural_tangents import stax
      >>> relu = lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Relu())
      >>> round(float(q_star(relu, 1.0, 0.1)), 12)  # (q + 0.1)/2 = q
      0.1
    """
    kwargs.setdefault("correlation", False)
    return _scalar_or_array(phase_diagram(block, W_var, b_var, input_shape=input_shape,
                                          **kwargs).q_star)


def c_star(block: Block, W_var, b_var, *, input_shape: Optional[Sequence[int]] = None,
           **kwargs) -> np.ndarray:
    """Attracting fixed point of the normalised c-map (from c = 0.1).

    Example:
      >>> from neural_tangents import stax
      >>> erf = lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Erf())
      >>> round(float(c_star(erf, 1.0, 0.05)), 8)
      1.0
    """
    return _scalar_or_array(phase_diagram(block, W_var, b_var, input_shape=input_shape,
                                          **kwargs).c_star)


def chi_1(block: Block, W_var, b_var, *, input_shape: Optional[Sequence[int]] = None,
          **kwargs) -> np.ndarray:
    """Multiplier of (real) correlation perturbations at c = 1 (chi_par).

    Example:
      >>> from neural_tangents import stax
      >>> relu = lambda w, b: stax.serial(stax.Dense(1, w, b), stax.Relu())
      >>> round(float(chi_1(relu, 3.0, 0.1)), 12)  # sigma_w^2 / 2
      1.5
    """
    kwargs.setdefault("correlation", False)
    return _scalar_or_array(phase_diagram(block, W_var, b_var, input_shape=input_shape,
                                          **kwargs).chi_1)

"""Empirical NNGP, NTK and pseudo-kernels of finite complex networks.

Definitions (sums over every *real* coordinate `r` of `params`; a complex leaf
counts as two coordinates, its real and imaginary parts):

* NTK        `Theta(x1, x2)  = sum_r df(x1)/dr conj(df(x2)/dr)`
* pseudo-NTK `Theta~(x1, x2) = sum_r df(x1)/dr df(x2)/dr`
* NNGP `f(x1) f(x2)^H / k`, pseudo-NNGP `f(x1) f(x2)^T / k` (`k`: the size
  of the traced axes).

How (realification): every complex leaf is split into two real leaves and the
outputs are stacked as `[Re f, Im f]` on a new last axis. Implementations 1
and 2 run NT's public real empirical NTK on that real function (never NT's
AUTO or structured derivatives, which fail on the pinned jax), with the user's
`trace_axes` / `diagonal_axes` remapped so that the Re/Im axis is never
traced; the 2x2 real blocks `A, B, C, D` assemble into
`Theta = (A + D) + i (C - B)` and `Theta~ = (A - D) + i (B + C)`. Real
outputs skip the stacking (then `Theta~ = Theta`). Implementation 3
(`nt_complex.empirical.structured`) takes the cotangents of the same real
function layer by layer and forms `Theta`, `Theta~` directly.

Factor 2: `nt_complex.stax` stores a circular weight `w = (a + i b)/sqrt 2` as
two real leaves `(a, b)`. The same network written with a complex leaf `w`
has coordinates `Re w = a/sqrt 2`, `Im w = b/sqrt 2`, so each of its
derivatives is `sqrt 2` times larger and its NTK contribution is 2x.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
import neural_tangents as nt
from jax import lax

from nt_complex.empirical.structured import structured_ntk_fn
from nt_complex.empirical.jaxpr_probe import probed
from nt_complex.kernel import canonical_get, kernel_namedtuple
from nt_complex.empirical.probe import is_probeable

__all__ = ["Implementation", "EmpiricalKernel", "empirical_nngp_fn", "empirical_ntk_fn",
           "empirical_kernel_fn", "split_complex_leaves", "join_complex_leaves"]

Axes = Union[int, Sequence[int]]
ApplyFn = Callable[..., jnp.ndarray]
Get = Union[None, str, Sequence[str]]

FIELDS = ("nngp", "ntk", "pseudo_nngp", "pseudo_ntk")


class Implementation(enum.IntEnum):
    """How the real empirical NTK of the realified network is computed.

    * `AUTO` (0, the default): `STRUCTURED` for `nt_complex.stax` networks and
      for any function given `vmap_axes=0`, else `NTK_VECTOR_PRODUCTS`.
    * `JACOBIAN_CONTRACTION` (1): materialise the Jacobians of both inputs
      over all real coordinates, then contract them (NT implementation 1).
    * `NTK_VECTOR_PRODUCTS` (2): Jacobian-free; one VJP + JVP per output
      entry, never storing a Jacobian (NT implementation 2).
    * `STRUCTURED` (3): per layer, from each linear layer's inputs and output
      cotangents (`nt_complex.empirical.structured`); fully connected layers
      never form their Jacobian. The layers of `nt_complex.stax` report
      themselves; in any other function they are found in the jaxpr
      (`nt_complex.empirical.jaxpr_probe`), and parameters used otherwise fall back
      to reverse mode. Examples must be independent: `nt_complex.stax`
      networks are; for other functions pass `vmap_axes=0`.

    `docs/empirical.md` has the measured speed of each.
    """

    AUTO = 0
    JACOBIAN_CONTRACTION = 1
    NTK_VECTOR_PRODUCTS = 2
    STRUCTURED = 3


DEFAULT_IMPLEMENTATION = Implementation.AUTO


class EmpiricalKernel(NamedTuple):
    """All four empirical kernels (returned for `get=None`)."""

    nngp: jnp.ndarray
    ntk: jnp.ndarray
    pseudo_nngp: jnp.ndarray
    pseudo_ntk: jnp.ndarray


@jax.tree_util.register_pytree_node_class
class _Parts:
    """One original parameter leaf as its real parts: `(re,)` or `(re, im)`."""

    def __init__(self, parts: tuple):
        self.parts = tuple(parts)

    def tree_flatten(self):
        return self.parts, None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children)


def _is_parts(x: Any) -> bool:
    return isinstance(x, _Parts)


def split_complex_leaves(params: Any) -> Any:
    """Replace every leaf by its real coordinates: `(Re, Im)` for a complex leaf.

    Example:
      >>> import jax.numpy as jnp
      >>> p = {"w": jnp.array([1 + 2j]), "b": jnp.array([3.])}
      >>> join_complex_leaves(split_complex_leaves(p))["w"].tolist()
      [(1+2j)]
    """
    def split(leaf):
        leaf = jnp.asarray(leaf)
        if jnp.iscomplexobj(leaf):
            return _Parts((jnp.real(leaf), jnp.imag(leaf)))
        return _Parts((leaf,))
    return jax.tree_util.tree_map(split, params)


def join_complex_leaves(real_params: Any) -> Any:
    """Inverse of `split_complex_leaves`.

    Example:
      >>> import jax.numpy as jnp
      >>> split_complex_leaves({"w": jnp.array([1j])})["w"].parts[1].tolist()
      [1.0]
    """
    def join(parts: _Parts):
        if len(parts.parts) == 1:
            return parts.parts[0]
        return lax.complex(*parts.parts)
    return jax.tree_util.tree_map(join, real_params, is_leaf=_is_parts)


def _canonical_axes(axes: Axes, name: str) -> tuple[int, ...]:
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    if not all(isinstance(a, int) for a in axes):
        raise TypeError(f"{name} must be an int or a sequence of ints; got {axes!r}.")
    return axes


def _shift_negative(axes: tuple[int, ...]) -> tuple[int, ...]:
    """Output axes of `f` -> the same axes of `[Re f, Im f]` stacked last."""
    return tuple(a - 1 if a < 0 else a for a in axes)


def _shift_vmap_axes(vmap_axes):
    if vmap_axes is None:
        return None
    if isinstance(vmap_axes, int):
        return (vmap_axes, vmap_axes - 1 if vmap_axes < 0 else vmap_axes, {})
    in_axes, out_axes, kwargs_axes = vmap_axes
    if not (out_axes is None or isinstance(out_axes, int)):
        raise ValueError("vmap_axes: out_axes must be an int or None for nt_complex "
                         f"empirical kernels (single-array outputs); got {out_axes!r}.")
    if isinstance(out_axes, int) and out_axes < 0:
        out_axes -= 1
    return (in_axes, out_axes, kwargs_axes)


def _canonical_implementation(implementation, f: ApplyFn, vmap_axes) -> Implementation:
    try:
        implementation = Implementation(int(implementation))
    except (ValueError, TypeError):
        raise ValueError(
            "implementation must be 0 (AUTO), 1 (JACOBIAN_CONTRACTION), 2 "
            f"(NTK_VECTOR_PRODUCTS) or 3 (STRUCTURED); got {implementation!r}.") from None
    independent = is_probeable(f) or _batch_axis_zero(vmap_axes)
    if implementation == Implementation.AUTO:
        return Implementation.STRUCTURED if independent else Implementation.NTK_VECTOR_PRODUCTS
    if implementation == Implementation.STRUCTURED and not independent:
        raise ValueError(
            "implementation=3 (STRUCTURED) evaluates examples one at a time: it needs an "
            "nt_complex.stax network, or vmap_axes=0 to declare that `f` treats the "
            "examples (batch axis 0) independently.")
    return implementation


def _batch_axis_zero(vmap_axes) -> bool:
    return isinstance(vmap_axes, int) and vmap_axes == 0


def _realified(f: ApplyFn, complex_output: bool) -> ApplyFn:
    """`f` on real coordinates; complex outputs stacked `[Re f, Im f]` last."""
    def f_real(real_params, x, **kwargs):
        out = f(join_complex_leaves(real_params), x, **kwargs)
        if complex_output:
            return jnp.stack([jnp.real(out), jnp.imag(out)], axis=-1)
        return out
    return f_real


def _hermitian_and_pseudo(gram: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Real 2x2 blocks `[[A, B], [C, D]]` (last two axes) -> (Theta, Theta~)."""
    a, b = gram[..., 0, 0], gram[..., 0, 1]
    c, d = gram[..., 1, 0], gram[..., 1, 1]
    return lax.complex(a + d, c - b), lax.complex(a - d, b + c)


def _output_is_complex(f: ApplyFn, params, inputs, kwargs) -> bool:
    """True if `f` returns complex outputs on any of `inputs` (e.g. a real
    network gives real outputs on real `x1` but complex ones on complex `x2`)."""
    def is_complex(x) -> bool:
        out = jax.eval_shape(lambda p, x: f(p, x, **kwargs), params, x)
        if not isinstance(out, jax.ShapeDtypeStruct):
            raise TypeError("nt_complex empirical kernels need `f` to return a single "
                            f"array; got a {type(out).__name__} of outputs.")
        return jnp.issubdtype(out.dtype, jnp.complexfloating)
    return any([is_complex(x) for x in inputs if x is not None])


class _Realification:
    """Jitted real-kernel functions of `f`, one per output kind (real/complex)."""

    def __init__(self, f: ApplyFn, trace_axes: Axes, diagonal_axes: Axes,
                 vmap_axes, implementation, ntk: bool):
        self.f = f
        self.axes = {False: (_canonical_axes(trace_axes, "trace_axes"),
                             _canonical_axes(diagonal_axes, "diagonal_axes"), vmap_axes)}
        t, d, _ = self.axes[False]
        self.axes[True] = (_shift_negative(t), _shift_negative(d), _shift_vmap_axes(vmap_axes))
        self.implementation = (_canonical_implementation(implementation, f, vmap_axes)
                               if ntk else None)
        self._fns: dict = {}

    def _fn(self, complex_output: bool, kind: str) -> Callable:
        key = (complex_output, kind)
        if key not in self._fns:
            trace, diag, vmap = self.axes[complex_output]
            f_real = _realified(self.f, complex_output)
            if kind == "ntk" and self.implementation == Implementation.STRUCTURED:
                # Axes of f itself: the structured NTK never forms the real 2x2 blocks.
                trace, diag, _ = self.axes[False]
                fn = structured_ntk_fn(f_real if is_probeable(self.f) else probed(f_real),
                                       trace, diag, complex_output)
                self._fns[key] = jax.jit(fn, static_argnames="pseudo")
            elif kind == "ntk":
                fn = nt.empirical_ntk_fn(
                    f_real, trace_axes=trace, diagonal_axes=diag, vmap_axes=vmap,
                    implementation=nt.NtkImplementation(int(self.implementation)))
                self._fns[key] = jax.jit(fn)
            else:
                self._fns[key] = jax.jit(
                    nt.empirical_nngp_fn(f_real, trace_axes=trace, diagonal_axes=diag))
        return self._fns[key]

    def __call__(self, kind: str, x1, x2, params, kwargs, pseudo: bool = True
                 ) -> tuple[jnp.ndarray, Optional[jnp.ndarray]]:
        """(Hermitian, pseudo) kernel of kind `'nngp'` or `'ntk'` (the pseudo one
        may be `None` when `pseudo=False`)."""
        complex_output = _output_is_complex(self.f, params, (x1, x2), kwargs)
        fn = self._fn(complex_output, kind)
        real_params = split_complex_leaves(params)
        if kind == "ntk" and self.implementation == Implementation.STRUCTURED:
            return fn(x1, x2, real_params, pseudo=pseudo, **kwargs)
        gram = fn(x1, x2, real_params, **kwargs)
        if complex_output:
            return _hermitian_and_pseudo(gram)
        return gram, gram


def empirical_ntk_fn(f: ApplyFn, trace_axes: Axes = (-1,), diagonal_axes: Axes = (),
                     vmap_axes=None,
                     implementation: Union[int, Implementation] = DEFAULT_IMPLEMENTATION
                     ) -> Callable:
    """Empirical NTK `sum_r df(x1)/dr conj(df(x2)/dr)` of a (complex) network.

    Same call shapes and axis semantics as `nt.empirical_ntk_fn`: the returned
    `ntk_fn(x1, x2, params, **apply_fn_kwargs)` (`x2=None` means `x1`) has
    shape `(N1, N2, *pairs of untraced output axes)`; `trace_axes=()` keeps the
    full `(N1, N2, k, k)` output blocks; `diagonal_axes` keeps only diagonals.
    `f(params, x, **kwargs)` may have real and/or complex leaves and real or
    complex outputs (then the NTK is real). For the pseudo-NTK use
    `empirical_kernel_fn`.

    Args:
      f: `f(params, x, **kwargs) -> array`, e.g. an `apply_fn`.
      trace_axes: output axes to trace (and divide by their size).
      diagonal_axes: output axes whose diagonal only is returned.
      vmap_axes: as NT (`0` for batch-independent networks: faster). For a
        function not built from `nt_complex.stax`, `0` also declares the
        examples independent, which implementation 3 needs (`nt_complex.stax`
        networks are independent by construction).
      implementation: `Implementation` or its int: 0 (AUTO, the default:
        3 for `nt_complex.stax` networks and for `vmap_axes=0`, else 2),
        1, 2 or 3.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from nt_complex import stax
      >>> from nt_complex.empirical import empirical_ntk_fn
      >>> init_fn, apply_fn, _ = stax.serial(stax.Dense(8), stax.CReLU(), stax.Dense(3))
      >>> x = jnp.ones((2, 4)) * (1 + 1j)
      >>> _, params = init_fn(jax.random.PRNGKey(0), x.shape)
      >>> empirical_ntk_fn(apply_fn, trace_axes=())(x, None, params).shape
      (2, 2, 3, 3)
    """
    real = _Realification(f, trace_axes, diagonal_axes, vmap_axes, implementation, ntk=True)

    def ntk_fn(x1, x2, params, **apply_fn_kwargs) -> jnp.ndarray:
        return real("ntk", x1, x2, params, apply_fn_kwargs, pseudo=False)[0]
    return ntk_fn


def empirical_nngp_fn(f: ApplyFn, trace_axes: Axes = (-1,),
                      diagonal_axes: Axes = ()) -> Callable:
    """Empirical NNGP `f(x1) f(x2)^H / k` (conjugated, unlike NT's).

    `nngp_fn(x1, x2, params, **apply_fn_kwargs)`; axes as `empirical_ntk_fn`.
    For the pseudo-NNGP `f(x1) f(x2)^T / k` use `empirical_kernel_fn`.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex.empirical import empirical_nngp_fn
      >>> f = lambda p, x: p * x
      >>> x = jnp.array([[1j, 1.]])
      >>> empirical_nngp_fn(f)(x, None, 2.).tolist()
      [[(4+0j)]]
    """
    real = _Realification(f, trace_axes, diagonal_axes, None, None, ntk=False)

    def nngp_fn(x1, x2, params, **apply_fn_kwargs) -> jnp.ndarray:
        return real("nngp", x1, x2, params, apply_fn_kwargs)[0]
    return nngp_fn


def empirical_kernel_fn(f: ApplyFn, trace_axes: Axes = (-1,), diagonal_axes: Axes = (),
                        vmap_axes=None,
                        implementation: Union[int, Implementation] = DEFAULT_IMPLEMENTATION
                        ) -> Callable:
    """NNGP, NTK and their pseudo versions of a finite (complex) network.

    Returns `kernel_fn(x1, x2, get, params, **apply_fn_kwargs)` (NT's order);
    `get` is one of `'nngp', 'ntk', 'pseudo_nngp', 'pseudo_ntk'` (-> array), a
    tuple of them (-> namedtuple) or `None` (-> `EmpiricalKernel` with all
    four). Each pseudo kernel comes free with its Hermitian twin.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from nt_complex import stax
      >>> from nt_complex.empirical import empirical_kernel_fn
      >>> init_fn, apply_fn, _ = stax.serial(stax.Dense(16), stax.Exp(), stax.Dense(2))
      >>> x = jnp.ones((3, 4)) * 0.3j
      >>> _, params = init_fn(jax.random.PRNGKey(1), x.shape)
      >>> k = empirical_kernel_fn(apply_fn)(x, None, None, params)
      >>> k.ntk.shape, float(jnp.abs(k.pseudo_ntk).max()) < 1e-5  # holomorphic
      ((3, 3), True)
    """
    ntk_real = _Realification(f, trace_axes, diagonal_axes, vmap_axes, implementation,
                              ntk=True)
    nngp_real = _Realification(f, trace_axes, diagonal_axes, None, None, ntk=False)

    def kernel_fn(x1, x2, get: Get, params, **apply_fn_kwargs):
        names = canonical_get(get, FIELDS)
        wanted = FIELDS if names is None else names
        values = {}
        for kind, real in (("nngp", nngp_real), ("ntk", ntk_real)):
            if kind in wanted or "pseudo_" + kind in wanted:
                values[kind], values["pseudo_" + kind] = real(
                    kind, x1, x2, params, apply_fn_kwargs, pseudo="pseudo_" + kind in wanted)
        if names is None:
            return EmpiricalKernel(**{n: values[n] for n in FIELDS})
        if isinstance(get, str):
            return values[get]
        return kernel_namedtuple(names)(*(values[n] for n in names))
    return kernel_fn

"""Probes for arbitrary JAX functions: the linear layers found in the jaxpr.

`probed(f)` returns a function equal to `f(params, x, **kwargs)` which, when
called with a `Probe` under `PROBE_KWARG`, reports and perturbs the outputs of
the linear layers it recognises in `f`'s jaxpr, exactly like the layers of
`nt_complex.stax` do (`nt_complex.empirical.probe`). So the structured empirical NTK
works on plain JAX functions too.

A *weight* is a value built from parameter leaves only by elementwise linear
steps: `convert_element_type`, `reshape`, `transpose`, `squeeze`,
`expand_dims`, `neg`, `real`, `imag`, multiplication or division by a scalar
constant, `add` and `sub` of weights with different leaves, and
`complex(a, b)`. Recognised:

* `dot_general` (no batch dimensions) of a weight and a non-weight;
* `conv_general_dilated` (no feature/batch groups) of an input and a weight
  kernel (patches by `lax.conv_general_dilated_patches` with the same
  strides, padding and dilations);
* `add` of a non-weight and a `broadcast_in_dim` of a weight (a bias).

A layer is accepted only if every value on its weight's path is used exactly
once, so its leaves reach the output through that layer alone. Leaves used in
any other way are left to reverse mode (`nt_complex.empirical.structured`).
Calls to `jit`-compiled functions are looked into; custom-derivative calls
are not (a weight passed into one is left to reverse mode).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.core import ClosedJaxpr, Jaxpr, Literal

from nt_complex.empirical.probe import PROBE_KWARG, LinearStructure

__all__ = ["probed"]

_RELAYOUT = {"convert_element_type", "reshape", "transpose", "squeeze", "expand_dims", "copy"}
_CALLS = {"jit", "pjit", "closed_call"}  # "pjit" became "jit" in jax 0.7

Path = tuple[int, ...]


class _Weight(NamedTuple):
    """A value equal (up to a fixed relayout) to `sum_l coef_l leaf_l`."""

    coefs: tuple[tuple[int, complex], ...]  # (leaf index, coefficient)
    ancestry: frozenset[int]  # ids of the jaxpr variables on its path
    broadcast: Optional[tuple[int, ...]] = None  # set by broadcast_in_dim


class _Layer(NamedTuple):
    kind: str  # "dot", "conv" or "bias"
    weight_operand: int
    weight: _Weight


def _scalar_constant(var, consts: dict) -> Optional[complex]:
    value = var.val if isinstance(var, Literal) else consts.get(id(var))
    if value is None or np.ndim(value) != 0:
        return None
    return complex(np.asarray(value))


def _scaled(weight: _Weight, factor: complex, ancestry) -> _Weight:
    return _Weight(tuple((i, c * factor) for i, c in weight.coefs), ancestry)


def _part(weight: _Weight, part: str, ancestry) -> Optional[_Weight]:
    coefs = tuple((i, complex(c.real if part == "real" else c.imag))
                  for i, c in weight.coefs)
    coefs = tuple((i, c) for i, c in coefs if c != 0)
    return _Weight(coefs, ancestry) if coefs else None


class _Analysis:
    """Walk a jaxpr abstractly: tag weights, find layers, count uses."""

    def __init__(self):
        self.layers: dict[Path, _Layer] = {}
        self.uses: Counter = Counter()
        self.tainted: set[int] = set()  # leaves used in an unrecognised way

    def walk(self, jaxpr: Jaxpr, consts: dict, tags: dict, path: Path) -> list:
        for index, eqn in enumerate(jaxpr.eqns):
            ins = [None if isinstance(v, Literal) else tags.get(id(v)) for v in eqn.invars]
            for v, tag in zip(eqn.invars, ins):
                if tag is not None:
                    self.uses[id(v)] += 1
            out_tags = self._equation(eqn, ins, consts, path + (index,))
            for v, tag in zip(eqn.outvars, out_tags):
                if tag is not None:
                    tags[id(v)] = tag
        return [None if isinstance(v, Literal) else tags.get(id(v)) for v in jaxpr.outvars]

    def taint(self, tags) -> None:
        for tag in tags:
            if tag is not None:
                self.tainted.update(i for i, _ in tag.coefs)

    def _equation(self, eqn, ins: list, consts: dict, path: Path) -> list:
        name = eqn.primitive.name
        weights = [t for t in ins if t is not None]
        if not weights:
            if name in _CALLS:
                self._call(eqn, ins, path)
            return [None] * len(eqn.outvars)
        ancestry = frozenset().union(*(t.ancestry for t in weights)) | {
            id(v) for v, t in zip(eqn.invars, ins) if t is not None}
        out = self._weight_step(eqn, ins, consts, ancestry)
        if out is not None:
            return [out]
        layer = self._layer(eqn, ins)
        if layer is not None:  # its ancestry includes the weight operand itself
            self.layers[path] = layer._replace(weight=layer.weight._replace(ancestry=ancestry))
            return [None]
        if name in _CALLS:
            return self._call(eqn, ins, path)
        self.taint(ins)
        return [None] * len(eqn.outvars)

    def _weight_step(self, eqn, ins, consts, ancestry) -> Optional[_Weight]:
        name = eqn.primitive.name
        if any(t is not None and t.broadcast is not None for t in ins):
            return None
        if name in _RELAYOUT and ins[0] is not None:
            to_real = (jnp.issubdtype(eqn.invars[0].aval.dtype, jnp.complexfloating)
                       and not jnp.issubdtype(eqn.outvars[0].aval.dtype, jnp.complexfloating))
            return _part(ins[0], "real", ancestry) if to_real else _Weight(ins[0].coefs,
                                                                           ancestry)
        if name in ("real", "imag"):  # the leaves are real: Re(c theta) = Re(c) theta
            return _part(ins[0], name, ancestry)
        if name == "neg":
            return _scaled(ins[0], -1, ancestry)
        if name in ("mul", "div") and (ins[0] is None) != (ins[1] is None):
            position = 0 if ins[0] is not None else 1
            if name == "div" and position == 1:
                return None
            factor = _scalar_constant(eqn.invars[1 - position], consts)
            if factor is None or factor == 0:
                return None
            return _scaled(ins[position], factor if name == "mul" else 1 / factor, ancestry)
        if name in ("add", "sub", "complex") and None not in ins:
            second = {"add": 1, "sub": -1, "complex": 1j}[name]
            if {i for i, _ in ins[0].coefs} & {i for i, _ in ins[1].coefs}:
                return None
            return _Weight(ins[0].coefs + tuple((i, c * second) for i, c in ins[1].coefs),
                           ancestry)
        if name == "broadcast_in_dim" and ins[0] is not None:
            operand = eqn.invars[0].aval.shape
            target = eqn.params["shape"]
            dims = tuple(eqn.params["broadcast_dimensions"])
            if all(operand[k] == target[d] for k, d in enumerate(dims)):
                return _Weight(ins[0].coefs, ancestry, dims)
        return None

    @staticmethod
    def _layer(eqn, ins) -> Optional[_Layer]:
        name = eqn.primitive.name
        if len(ins) != 2 or (ins[0] is None) == (ins[1] is None):
            return None
        position = 0 if ins[0] is not None else 1
        weight = ins[position]
        if name == "add":
            return _Layer("bias", position, weight) if weight.broadcast is not None else None
        if weight.broadcast is not None:
            return None
        if name == "dot_general" and eqn.params["dimension_numbers"][1] == ((), ()):
            return _Layer("dot", position, weight)
        if (name == "conv_general_dilated" and position == 1
                and eqn.params["feature_group_count"] == 1
                and eqn.params["batch_group_count"] == 1):
            return _Layer("conv", position, weight)
        return None

    def _call(self, eqn, ins, path) -> list:
        closed: ClosedJaxpr = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
        inner = closed.jaxpr
        consts = {id(v): c for v, c in zip(inner.constvars, closed.consts)}
        # The ancestry continues inside, and includes the outer variable (whose
        # other uses, if any, must then reject the inner layer).
        tags = {id(v): t._replace(ancestry=t.ancestry | {id(outer)})
                for v, outer, t in zip(inner.invars, eqn.invars, ins) if t is not None}
        return self.walk(inner, consts, tags, path)

    def accepted(self) -> dict[Path, _Layer]:
        layers = {}
        for path, layer in self.layers.items():
            leaves = {i for i, _ in layer.weight.coefs}
            if leaves & self.tainted:
                continue
            if all(self.uses[v] == 1 for v in layer.weight.ancestry):
                layers[path] = layer
        return layers


def _structure(layer: _Layer, eqn, operands) -> LinearStructure:
    coefs = [c for _, c in layer.weight.coefs]
    scale = float(sum(abs(c) ** 2 for c in coefs))
    pseudo = complex(sum(c * c for c in coefs))
    if abs(pseudo) <= 1e-12 * scale:  # circular up to the rounding of the literals,
        pseudo = 0.0  # e.g. (1/sqrt2)^2 + (i/sqrt2)^2 = 2e-16: skip the cross Grams
    pseudo = pseudo.real if pseudo.imag == 0 else pseudo
    x = operands[1 - layer.weight_operand]
    if layer.kind == "bias":
        dims = layer.weight.broadcast
        positions = [d for d in range(x.ndim) if d not in dims]
        n_positions = math.prod(x.shape[d] for d in positions)
        return LinearStructure(
            0.0, 0.0, scale, pseudo,
            patches=lambda x: jnp.zeros((1, n_positions, 1), x.dtype),
            outputs=lambda z: jnp.transpose(z, positions + list(dims)).reshape(
                1, n_positions, -1))
    if layer.kind == "dot":
        (contract_l, contract_r), _ = eqn.params["dimension_numbers"]
        x_contract = (contract_l, contract_r)[1 - layer.weight_operand]
        x_free = [d for d in range(x.ndim) if d not in x_contract]
        n_free = len(x_free)
        w_free = operands[layer.weight_operand].ndim - len(x_contract)

        def patches(x):
            n_positions = math.prod(x.shape[d] for d in x_free)
            return jnp.transpose(x, x_free + list(x_contract)).reshape(1, n_positions, -1)

        def outputs(z):  # dot_general's output: lhs free dims, then rhs free dims
            if layer.weight_operand == 0:
                z = jnp.moveaxis(z, tuple(range(w_free)), tuple(range(z.ndim - w_free, z.ndim)))
            return z.reshape(1, math.prod(z.shape[:n_free]), -1)
        return LinearStructure(scale, pseudo, 0.0, 0.0, patches, outputs)

    numbers = eqn.params["dimension_numbers"]
    kernel_shape = operands[1].shape
    filter_shape = tuple(kernel_shape[d] for d in numbers.rhs_spec[2:])
    out_order = (numbers.out_spec[0],) + tuple(numbers.out_spec[2:]) + (numbers.out_spec[1],)

    def to_positions(z):  # (N, C, *spatial) per out_spec -> (1, P, C)
        z = jnp.transpose(z, out_order)
        return z.reshape(1, -1, z.shape[-1])

    def patches(x):
        return to_positions(lax.conv_general_dilated_patches(
            x, filter_shape, eqn.params["window_strides"], eqn.params["padding"],
            eqn.params["lhs_dilation"], eqn.params["rhs_dilation"], numbers,
            precision=lax.Precision.HIGHEST))
    return LinearStructure(scale, pseudo, 0.0, 0.0, patches, to_positions)


class _Evaluation:
    """Evaluate a jaxpr; report the accepted layers to the probe."""

    def __init__(self, layers: dict[Path, _Layer], leaves: list, probe):
        self.layers, self.leaves, self.probe = layers, leaves, probe

    def run(self, jaxpr: Jaxpr, consts, args, path: Path) -> list:
        env = {id(v): c for v, c in zip(jaxpr.constvars, consts)}
        env.update({id(v): a for v, a in zip(jaxpr.invars, args)})

        def read(v):
            return v.val if isinstance(v, Literal) else env[id(v)]

        for index, eqn in enumerate(jaxpr.eqns):
            here = path + (index,)
            operands = [read(v) for v in eqn.invars]
            if eqn.primitive.name in _CALLS and any(p[:len(here)] == here for p in self.layers):
                closed = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
                outs = self.run(closed.jaxpr, closed.consts, operands, here)
            else:
                subfuns, params = eqn.primitive.get_bind_params(eqn.params)
                outs = eqn.primitive.bind(*subfuns, *operands, **params)
                outs = outs if eqn.primitive.multiple_results else [outs]
                layer = self.layers.get(here)
                if layer is not None:
                    owned = tuple(self.leaves[i] for i, _ in layer.weight.coefs)
                    structure = _structure(layer, eqn, operands)
                    outs = [self.probe(owned, operands[1 - layer.weight_operand], outs[0],
                                       structure)]
            for v, value in zip(eqn.outvars, outs):
                env[id(v)] = value
        return [read(v) for v in jaxpr.outvars]


def probed(f: Callable) -> Callable:
    """`f(params, x, **kwargs)` that reports its linear layers to a `Probe`.

    Example:
      >>> import jax.numpy as jnp
      >>> from nt_complex.empirical.probe import PROBE_KWARG, Probe
      >>> f = lambda p, x: jnp.tanh(x @ p["W"]) @ p["V"] + p["b"]
      >>> p = {"W": jnp.ones((3, 4)), "V": jnp.ones((4, 2)), "b": jnp.zeros(2)}
      >>> probe = Probe()
      >>> _ = probed(f)(p, jnp.ones((1, 3)), **{PROBE_KWARG: probe})
      >>> [r.out.shape for r in probe.records]
      [(1, 4), (1, 2), (1, 2)]
    """
    def f_probed(params, x, **kwargs):
        probe = kwargs.pop(PROBE_KWARG, None)
        if probe is None:
            return f(params, x, **kwargs)
        leaves, treedef = jax.tree_util.tree_flatten(params)
        closed, out_shape = jax.make_jaxpr(
            lambda leaves, x: f(jax.tree_util.tree_unflatten(treedef, leaves), x, **kwargs),
            return_shape=True)(leaves, x)
        jaxpr = closed.jaxpr
        analysis = _Analysis()
        tags = {id(v): _Weight(((i, 1.0),), frozenset())
                for i, v in enumerate(jaxpr.invars[:len(leaves)])}
        consts = {id(v): c for v, c in zip(jaxpr.constvars, closed.consts)}
        analysis.taint(analysis.walk(jaxpr, consts, tags, ()))  # weights as outputs
        evaluation = _Evaluation(analysis.accepted(), leaves, probe)
        result = evaluation.run(jaxpr, closed.consts,
                                list(leaves) + jax.tree_util.tree_leaves(x), ())
        return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(out_shape), result)
    return f_probed

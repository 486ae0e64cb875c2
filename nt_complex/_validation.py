"""Argument checks shared by every public entry point: clear errors, never a
silent wrong answer."""

from __future__ import annotations

import numbers

import jax
import numpy as np


def is_concrete(x) -> bool:
    """True if `x` holds actual values (not a tracer inside `jit`/`vmap`)."""
    return not isinstance(x, jax.core.Tracer)


def check_finite(x, name: str) -> None:
    """Raise if a concrete array holds NaN or inf (skipped under `jit`).

    Checked in NumPy: inside a `jit` trace even a constant's `jnp` reduction is
    a tracer (a closed-over `x1` would raise `TracerBoolConversionError`)."""
    if is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
        raise ValueError(f"{name} contains NaN or inf values; inputs must be finite.")


def check_std(value, name: str, allow_none: bool = False) -> None:
    """A standard deviation: a finite real number >= 0 (or None if allowed)."""
    if value is None:
        if allow_none:
            return
        raise ValueError(f"{name} must be a non-negative real number, got None.")
    if isinstance(value, numbers.Number) or (is_concrete(value) and np.ndim(value) == 0):
        if np.iscomplexobj(value):
            raise ValueError(f"{name} must be real (a standard deviation); got {value!r}.")
        if not np.isfinite(float(value)) or float(value) < 0:
            raise ValueError(f"{name} must be a finite number >= 0; got {value!r}.")


def check_pseudo_ratio(value, name: str) -> complex:
    """A pseudo-variance ratio E[w^2]/E[|w|^2]: a complex number with |.| <= 1."""
    try:
        value = complex(value)
    except TypeError as err:
        raise TypeError(f"{name} must be a number with |{name}| <= 1; got {value!r}.") from err
    if not np.isfinite(value.real) or not np.isfinite(value.imag) or abs(value) > 1 + 1e-12:
        raise ValueError(
            f"{name} = E[w^2]/E[|w|^2] must satisfy |{name}| <= 1 "
            f"(0: circular complex, 1: real-valued); got {value!r}.")
    return value


def check_choice(value: str, name: str, choices) -> str:
    """`value` (case-insensitive) must be one of `choices`."""
    if not isinstance(value, str) or value.upper() not in [c.upper() for c in choices]:
        raise ValueError(f"{name} must be one of {tuple(choices)}; got {value!r}.")
    return value.upper()

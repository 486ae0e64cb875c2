"""The Neural Tangents networks whose kernels tests/data/nt_reference_kernels.npz
stores (computed on the legacy stack by tests/scripts/make_nt_reference.py)."""

import jax.numpy as jnp
import numpy as np

import nt_complex  # noqa: F401  (first: makes NT importable on current jax)
from neural_tangents import stax  # noqa: E402

ACTIVATIONS = {"relu": stax.Relu, "erf": stax.Erf, "gelu": stax.Gelu}


def networks() -> dict:
    """name -> (kernel_fn, input shape without the batch axis)."""
    nets = {}
    for name, activation in ACTIVATIONS.items():
        nets[f"fc_{name}"] = (stax.serial(
            stax.Dense(64, 1.5, 0.1), activation(), stax.Dense(64, 1.3, 0.2), activation(),
            stax.Dense(1))[2], (12,))
        nets[f"cnn_{name}"] = (stax.serial(
            stax.Conv(8, (3, 3), padding="SAME", W_std=1.4, b_std=0.1), activation(),
            stax.Conv(8, (3, 3), padding="CIRCULAR", W_std=1.2, b_std=0.05), activation(),
            stax.AvgPool((2, 2)), stax.Flatten(), stax.Dense(1))[2], (4, 4, 2))
        nets[f"gap_{name}"] = (stax.serial(
            stax.Conv(8, (3, 3), (2, 2), padding="VALID", parameterization="standard"),
            activation(), stax.GlobalAvgPool(), stax.Dense(1))[2], (5, 5, 3))
    return nets


def inputs(shape: tuple) -> tuple:
    """Fixed inputs: 4 in x1, 3 in x2 (no input in both)."""
    rng = np.random.default_rng(20261202)
    return (jnp.asarray(rng.normal(size=(4,) + shape)),
            jnp.asarray(rng.normal(size=(3,) + shape)))


def compute_table() -> dict:
    """`{network}_{x2 or same}_{nngp or ntk}` -> kernel as a numpy array."""
    table = {}
    for name, (kernel_fn, shape) in networks().items():
        x1, x2 = inputs(shape)
        for pair, second in (("x2", x2), ("same", None)):
            k = kernel_fn(x1, second, ("nngp", "ntk"))
            table[f"{name}_{pair}_nngp"] = np.asarray(k.nngp)
            table[f"{name}_{pair}_ntk"] = np.asarray(k.ntk)
    return table

"""The runnable examples in public docstrings run (doctest), for the core modules."""

import doctest
import importlib

import pytest

MODULES = [
    "nt_complex.kernel", "nt_complex.gaussian", "nt_complex.stax.linear",
    "nt_complex.stax.combinators", "nt_complex.stax.activations.split",
    "nt_complex.stax.activations.holomorphic", "nt_complex.stax.activations._elementwise",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"

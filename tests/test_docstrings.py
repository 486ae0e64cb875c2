"""The runnable examples in the docstrings of every nt_complex module run (doctest)."""

import doctest
import importlib
import pkgutil

import pytest

import nt_complex

MODULES = sorted(m.name for m in pkgutil.walk_packages(nt_complex.__path__, "nt_complex."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"

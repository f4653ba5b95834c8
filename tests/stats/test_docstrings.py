"""Every public function documents its formula, a reference and a runnable example.

Unit: one public function of ``studykit.stats`` (its docstring, and its example run by doctest).
"""
import doctest
import importlib
import inspect
import re

import pytest

import studykit.stats as sk

MODULES = ["results", "effects", "information", "tests", "multitest", "resampling", "design", "conclusions", "survival", "coxph",
           "clustered", "crossed"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name):
    mod = importlib.import_module(f"studykit.stats.{name}")
    res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.failed == 0


FUNCTIONS = [n for n in sk.__all__ if inspect.isfunction(getattr(sk, n))]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_public_function_docstring(name):
    doc = inspect.getdoc(getattr(sk, name))
    assert doc and "Examples" in doc and ">>>" in doc, f"{name}: no example"
    assert "Parameters" in doc or len(inspect.signature(getattr(sk, name)).parameters) == 0 or \
        name in {"exaggeration_ratio"}, f"{name}: no Parameters section"
    # a reference: an author-year citation, or the library function it wraps / equals
    assert re.search(r"\(\d{4}\)|\d{4}\)|\b(19|20)\d{2}\b|scipy|statsmodels|sklearn", doc), f"{name}: no reference"


def test_every_public_name_is_exported():
    for n in sk.__all__:
        assert hasattr(sk, n)

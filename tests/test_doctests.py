"""The ``>>>`` examples in the public metric functions' docstrings (known answers worked by hand) run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["benchmark.metrics.pairwise", "benchmark.metrics.sets",
                                    "benchmark.metrics.aggregate"])
def test_metric_docstring_examples(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{module} has no docstring example"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {module} failed (output above)"

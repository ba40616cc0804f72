"""The runnable examples in the integration modules' docstrings run and print what they say."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "storage.studies.monte_carlo",
    "integrations.pymoo_recorder",
    "integrations.monte_carlo",
    "integrations.highs_milp",
    "integrations.optuna_import",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_example_runs(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0

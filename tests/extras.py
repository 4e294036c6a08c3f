"""Marks for tests that need an optional extra: skipped where it is missing, the reason naming the extra.

The quick start installs the `pictures` and `test` extras; `plot` (matplotlib) and `cuda` (NVIDIA's compiler
wheels) are the user's choice. Under CI=true every extra is installed and a skip is a failure
(tests/conftest.py).
"""

from __future__ import annotations

import importlib.util

import pytest


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:  # a parent package is missing
        return True


needs_matplotlib = pytest.mark.skipif(
    _missing("matplotlib"), reason="needs matplotlib, the plot extra: pip install -e '.[plot]'"
)
needs_pillow = pytest.mark.skipif(
    _missing("PIL"), reason="needs Pillow, the pictures extra: pip install -e '.[pictures]'"
)

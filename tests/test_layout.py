"""The project's layout rules: small files, a top level of neuro/ that holds only the textbook and its run, and the
backends split by where they run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
# Code a person reads and edits; generated docs, fixtures and pictures are not.
CODE_SUFFIXES = {".py", ".js", ".css", ".html", ".sh", ".toml"}
SKIPPED_DIRS = {".git", ".venv", "build", "dist", "node_modules", "__pycache__", ".hypothesis", ".pytest_cache"}
TEXTBOOK = {"__init__", "network", "costs", "training", "stretches", "evaluation", "model", "settings", "sizes"}


def code_files() -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        files += [Path(folder) / name for name in names if Path(name).suffix in CODE_SUFFIXES]
    return sorted(files)


def test_the_layout_finds_the_code():
    names = {path.relative_to(ROOT).as_posix() for path in code_files()}
    assert {"neuro/network.py", "backends/ops_python.py", "cli/main.py", "tests/test_layout.py"} <= names


@pytest.mark.parametrize("path", code_files(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_no_code_file_is_over_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by job"


def test_the_top_level_of_neuro_holds_only_the_textbook_and_its_run():
    modules = {path.stem for path in (ROOT / "neuro").glob("*.py")}
    assert modules <= TEXTBOOK, f"move into a subfolder of neuro/: {sorted(modules - TEXTBOOK)}"


def test_the_backends_are_split_by_where_they_run():
    assert (ROOT / "backends" / "cpu").is_dir() and (ROOT / "backends" / "gpu").is_dir()
    gpu_kernels = {path.stem.removesuffix("_kernels") for path in (ROOT / "backends" / "gpu").glob("*_kernels.py")}
    gpu_rungs = {path.stem.removeprefix("ops_") for path in (ROOT / "backends" / "gpu").glob("ops_*.py")}
    assert gpu_kernels and gpu_kernels <= gpu_rungs, f"kernel files not named after a rung: {gpu_kernels - gpu_rungs}"

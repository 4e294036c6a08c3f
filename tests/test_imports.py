"""The modules of neuro import alone, and none of them imports itself back through others (no import circle)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import neuro
import neuro.backends
import neuro.cli

ROOTS = {"neuro": Path(neuro.__file__).parent, "neuro.backends": Path(neuro.backends.__file__).parent,
         "neuro.cli": Path(neuro.cli.__file__).parent}


def module_files() -> dict[str, Path]:
    """Every module of the package, by its dotted name (backends/ and cli/ are installed as neuro.backends and
    neuro.cli)."""
    modules = {}
    for package, root in ROOTS.items():
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if package == "neuro" and parts[0] in ("backends", "cli"):
                continue
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            modules[".".join((package, *parts))] = path
    return modules


MODULES = module_files()


def imports_of(name: str, path: Path) -> set[str]:
    """The modules of neuro that `name` imports anywhere in its source (function-level imports included, those
    under `if TYPE_CHECKING:` left out: they never run)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    type_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and getattr(block.test, "id", getattr(block.test, "attr", "")) == "TYPE_CHECKING"
                 for stmt in block.body for node in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # (`from package import module`)
    return {module for module in found if module in MODULES and module != name}


def test_no_module_of_neuro_imports_itself_back_through_others():
    graph = {name: imports_of(name, path) for name, path in MODULES.items()}
    assert len(graph) > 60 and graph["neuro.evaluation"], "the imports were not read"

    def circle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen = set()
        while stack:
            module, route = stack.pop()
            for imported in graph[module]:
                if imported == start:
                    return [*route, start]
                if imported not in seen:
                    seen.add(imported)
                    stack.append((imported, [*route, imported]))
        return None

    # A package's __init__ runs before its modules, so a module importing its own package is no circle of the
    # kind that breaks an import; every other route back is.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    circles = [route for name in graph if (route := circle_from(name))]
    assert not circles, " | ".join(" -> ".join(route) for route in circles[:5])


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """Each module first, in an interpreter of its own: an import that works only because another module ran
    first fails here."""
    code = "import importlib, sys; importlib.import_module(sys.argv[1])"
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    failures = []
    for name in MODULES:
        result = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True, env=env)
        if result.returncode != 0:
            failures.append(f"{name}: {result.stderr.strip().splitlines()[-1]}")
    assert not failures, "\n".join(failures)


def test_the_framework_outside_the_command_line_does_not_print_through_click():
    users = [name for name, path in MODULES.items() if not name.startswith("neuro.cli")
             and "click" in {alias.name for node in ast.walk(ast.parse(path.read_text()))
                             if isinstance(node, ast.Import) for alias in node.names}
             | {node.module for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)}]
    assert not users, users

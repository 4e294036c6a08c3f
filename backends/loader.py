"""Rungs from outside the registry: a learner's file, a module named `module:NAME`, or a package's entry point.

`--backend path/to/my_rung.py` (or `--backend mypackage.rungs:my_rung`) works wherever a registered name does.
The file (or the object NAME of the module) provides the same small protocol as a registered rung's module
(`unavailable_reason`, `create`, optional `note` and `simulated`, see backends/base.py) and says where it stands
on the ladder:

    BUILDS_ON = "numba-loops"         the registered rung it builds on (and is timed against by `neuro check`)
    CHANGE = "sums in any order"      what it changes, in one line
    CASE = RungCase(WIDE, 256)        optional: the network and batch where it must beat BUILDS_ON
                                      (default: the case of the rung it builds on)

A package adds rungs for everyone who installs it through the entry point group `neuro.backends`: each entry
point's name is a backend name, its value a module or `module:NAME` as above; `neuro backends` lists them.

Whatever is wrong with such a rung (no such file, a syntax error, no `create`, an unknown rung to build on, an
exception inside `create`) is a NeuroError naming the file and what is wrong: the command prints one line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from neuro.sizes import check_sizes
from neuro.support.errors import NeuroError

ENTRY_POINT_GROUP = "neuro.backends"
MODULE_PREFIX = "neuro_rung_"
"""The module name a rung file is imported under: this prefix, the file's stem and a digest of its path (two
files called my_rung.py in two folders are two modules). backends/cpu/compiled.py's cache locator reads it."""
REQUIRED = ("create", "unavailable_reason", "BUILDS_ON", "CHANGE")


@dataclass(frozen=True)
class LoadedRung:
    """A rung from outside the registry: what names it, where it came from, and the object with its protocol."""

    spec: str
    origin: str
    """The file, module or entry point it came from, as an error message names it."""
    rung: object
    """A module (or any object) with `create`, `unavailable_reason` and the module-level names above."""


def is_spec(name: str) -> bool:
    """Does `name` name a rung by its file or module (rather than by a registered or entry-point name)?"""
    return name.endswith(".py") or "/" in name or "\\" in name or ":" in name


@cache
def entry_point_rungs() -> dict[str, object]:
    """The entry points of the group `neuro.backends`, by name (not yet loaded)."""
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def is_external(name: str) -> bool:
    """A rung this module loads: a file, a module:NAME, or an entry point's name."""
    return is_spec(name) or name in entry_point_rungs()


@cache
def load(name: str, registered: tuple[str, ...]) -> LoadedRung:
    """Import the rung `name` and check what it declares; `registered` are the rungs it may build on."""
    if name in entry_point_rungs():
        point = entry_point_rungs()[name]
        origin = f"entry point {name!r} ({point.value})"
        rung = _guarded(origin, point.load)
    elif name.endswith(".py") or (":" not in name):
        origin = name
        rung = _from_file(Path(name))
    else:
        origin = name
        module_name, _, attribute = name.rpartition(":")
        module = _guarded(origin, lambda: importlib.import_module(module_name))
        if not hasattr(module, attribute):
            raise NeuroError(f"{origin}: module {module_name!r} has no {attribute!r}")
        rung = getattr(module, attribute)
    _check_declarations(origin, rung, registered)
    return LoadedRung(name, origin, rung)


def _from_file(path: Path) -> object:
    if not path.is_file():
        raise NeuroError(f"{path}: no such file (a rung from a file is given by its path, ending in .py)")
    resolved = path.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:10]
    module_name = f"{MODULE_PREFIX}{_identifier(resolved.stem)}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # (before running it: Numba and dataclasses look the module up by name)
    try:
        _guarded(str(path), lambda: spec.loader.exec_module(module))
    except NeuroError:
        del sys.modules[module_name]
        raise
    return module


def _identifier(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def _guarded(origin: str, action):
    """action(), with whatever it raises (a syntax error, an import error, ...) as one NeuroError line."""
    try:
        return action()
    except NeuroError as error:
        raise NeuroError(f"{origin}: {error}") from None
    except SyntaxError as error:
        raise NeuroError(f"{origin}: a syntax error at line {error.lineno}: {error.msg}") from None
    except Exception as error:
        raise NeuroError(f"{origin}: {_where(error)}{type(error).__name__}: {error}") from None


def _where(error: BaseException) -> str:
    """'line 12 of my_rung.py: ' for the innermost frame of the learner's own code, else ''."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = ("importlib", "<frozen", "/neuro/", "/backends/")
    outside = [f for f in frames if not any(part in f.filename.replace("\\", "/") for part in ours)]
    frame = outside[-1] if outside else None
    return f"line {frame.lineno} of {Path(frame.filename).name}: " if frame else ""


def _check_declarations(origin: str, rung: object, registered: tuple[str, ...]) -> None:
    missing = [name for name in REQUIRED if not hasattr(rung, name)]
    if missing:
        raise NeuroError(f"{origin}: it defines no {', no '.join(missing)} (a rung defines create(), "
                         f"unavailable_reason(), BUILDS_ON and CHANGE: see backends/loader.py)")
    for name in ("create", "unavailable_reason"):
        if not callable(getattr(rung, name)):
            raise NeuroError(f"{origin}: {name} is not a function")
    builds_on = rung.BUILDS_ON
    if builds_on not in registered:
        raise NeuroError(f"{origin}: BUILDS_ON is {builds_on!r}, which is no registered rung; the rungs are: "
                         f"{', '.join(registered)}")
    if not isinstance(rung.CHANGE, str) or not rung.CHANGE.strip():
        raise NeuroError(f"{origin}: CHANGE must say in one line what the rung changes")


def create(loaded: LoadedRung):
    """loaded.rung.create(), or a NeuroError naming the file and what went wrong (an exception inside create, or
    an object that lacks part of the Backend protocol)."""
    from .base import Backend

    backend = _guarded(f"{loaded.origin}: create()", loaded.rung.create)
    if not isinstance(backend, Backend):
        lacking = [name for name in _protocol_names(Backend) if not hasattr(backend, name)]
        raise NeuroError(f"{loaded.origin}: create() returned a {type(backend).__name__}, which lacks "
                         f"{', '.join(lacking)} of the Backend protocol (backends/base.py)")
    return backend


def _protocol_names(protocol) -> list[str]:
    names = set(getattr(protocol, "__protocol_attrs__", ())) or {
        n for n in [*vars(protocol), *protocol.__annotations__] if not n.startswith("_")}
    return sorted(names)


def reason(loaded: LoadedRung) -> str | None:
    """Why the rung cannot run here (None: it can)."""
    return _guarded(f"{loaded.origin}: unavailable_reason()", loaded.rung.unavailable_reason)


def info(loaded: LoadedRung):
    """The rung's BackendInfo: its name, what it changes, the rung it builds on, and its case (CASE: a RungCase, or
    a dict with layers and batch_size; by default the case of the rung it builds on)."""
    from . import REGISTRY, BackendInfo, RungCase

    rung, builds_on = loaded.rung, loaded.rung.BUILDS_ON
    case = getattr(rung, "CASE", None) or REGISTRY[builds_on].case
    if isinstance(case, dict):
        try:
            case = RungCase(tuple(int(n) for n in case["layers"]), int(case["batch_size"]))
        except (KeyError, TypeError, ValueError):
            raise NeuroError(f"{loaded.origin}: CASE must be a RungCase or a dict with layers and batch_size, "
                             f"not {case!r}") from None
    if not isinstance(case, RungCase):
        raise NeuroError(f"{loaded.origin}: CASE must be a RungCase or a dict with layers and batch_size")
    try:
        check_sizes(case.layers)
    except NeuroError as error:
        raise NeuroError(f"{loaded.origin}: CASE: {error}") from None
    return BackendInfo(loaded.spec, loaded.origin, rung.CHANGE.strip(), builds_on, case)

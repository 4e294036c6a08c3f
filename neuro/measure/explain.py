"""`neuro explain RUNG`: what a rung changes, shown from its code and from the machine code it became here.

  * what it changes and the rung it builds on, from the registry (`neuro.backends.REGISTRY`);
  * the functions that differ from the rung it builds on, as a unified diff of their source (functions new in the
    rung are shown whole), and the compiled functions it takes over unchanged (compiled again from the same
    source, see backends/cpu/compiled.py);
  * for a compiled CPU rung: facts read from the machine code Numba made for it on this machine (neuro.measure.asm):
    the hottest loop of each function the rung defines, compiled afresh in this process on a tiny case;
  * for a GPU rung: the diff of its kernels too, and facts read from the PTX of each kernel it defines, compiled
    here for a compute capability named in advance, with no GPU needed (neuro.measure.ptx); one line says why
    not where the `cuda` extra is missing.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import platform
from dataclasses import dataclass, field

import numpy as np

from neuro.backends import ALIASES, REGISTRY, backend_status, get_backend
from neuro.measure import asm, ptx
from neuro.measure.agreement import random_case
from neuro.support.errors import NeuroError

TINY = [6, 5, 3]
"""The network of the tiny training call that makes Numba compile every function of a step."""


@dataclass
class FunctionChange:
    name: str
    kind: str
    """"changed" (a diff), "new" (shown whole), "taken" (from another module, a diff), "inherited" (unchanged)."""
    origin: str = ""
    text: str = ""


@dataclass
class Explanation:
    rung: str
    change: str
    builds_on: str | None
    functions: list[FunctionChange] = field(default_factory=list)
    constants: list[str] = field(default_factory=list)
    machine_code: list[dict] = field(default_factory=list)
    machine: str = ""
    machine_note: str = ""
    ptx: dict = field(default_factory=dict)
    """A GPU rung's PTX facts (neuro.measure.ptx.compile_rung), or {"error": why there are none}."""

    def as_dict(self) -> dict:
        return {"rung": self.rung, "change": self.change, "builds_on": self.builds_on, "machine": self.machine,
                "functions": [vars(f) for f in self.functions], "constants": self.constants,
                "machine_code": self.machine_code, "machine_note": self.machine_note, "ptx": self.ptx}


def rung_module(name: str):
    return importlib.import_module(f"neuro.backends.{REGISTRY[name].module}")


def _function(value):
    """The Python function behind a value (a Numba dispatcher's py_func), or None if it is not one."""
    function = getattr(value, "py_func", value)
    return function if inspect.isfunction(function) or inspect.isclass(function) else None


def _where(function) -> tuple[str, int]:
    try:
        return inspect.getsourcefile(function) or "", inspect.getsourcelines(function)[1]
    except (OSError, TypeError):
        return "", 0


def _source(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def _diff(before: str, after: str, old: str, new: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), old, new))


def _module_name(function) -> str:
    return inspect.getmodule(function).__name__.removeprefix("neuro.backends.") if inspect.getmodule(function) else ""


def source_changes(name: str) -> tuple[list[FunctionChange], list[str]]:
    """The functions (and classes) of rung `name` that differ from the rung it builds on, and its constants that
    differ (`NAME: before -> after`); for a GPU rung, those of its kernel module too (backends/gpu/<rung>_kernels.py,
    against the kernels of the rung it builds on)."""
    module, before_name = rung_module(name), REGISTRY[name].builds_on
    before = rung_module(before_name) if before_name else None
    changes, constants = module_changes(module, before, name, before_name or "", _where(module.create)[0])
    kernels = ptx.kernel_module(name) if REGISTRY[name].module.startswith("gpu.") else None
    if kernels is not None:
        before_kernels = ptx.kernel_module(before_name) if before_name else None
        old = before_kernels.__name__.rpartition(".")[2] if before_kernels else before_name or ""
        new = kernels.__name__.rpartition(".")[2]
        more, more_constants = module_changes(kernels, before_kernels, new, old, kernels.__file__)
        changes += more
        constants += more_constants
    return changes, constants


def module_changes(module, before_module, name: str, before_name: str, own_file: str
                   ) -> tuple[list[FunctionChange], list[str]]:
    """The functions, classes and constants of `module` (those defined in `own_file`) that differ from
    `before_module`'s, labelled `name.function` and `before_name.function` in the diffs."""
    before = vars(before_module) if before_module else {}
    changes, inherited = [], []
    for key, value in vars(module).items():
        function = _function(value)
        if key.startswith("__") or function is None or key in ("create", "unavailable_reason", "note"):
            continue
        where = _where(function)
        previous = _function(before.get(key))
        if where[0] == own_file:
            if previous is None:
                changes.append(FunctionChange(key, "new", text=_source(function)))
            elif _source(previous) != _source(function):
                changes.append(FunctionChange(key, "changed", _module_name(previous),
                                              _diff(_source(previous), _source(function), f"{before_name}.{key}",
                                                    f"{name}.{key}")))
        elif previous is not None and _where(previous) == where:
            if hasattr(value, "py_func"):
                inherited.append(key)
        elif previous is not None and _source(previous) != _source(function):
            changes.append(FunctionChange(key, "taken", _module_name(function),
                                          _diff(_source(previous), _source(function), f"{before_name}.{key}",
                                                f"{_module_name(function)}.{key}")))
    if inherited:
        changes.append(FunctionChange(", ".join(sorted(inherited)), "inherited", before_name or ""))
    constants = [f"{key}: {before[key]!r} -> {value!r}" for key, value in vars(module).items()
                 if key.isupper() and key in before and isinstance(value, (int, float, str, set, tuple))
                 and before[key] != value]
    return changes, constants


def _compiled_afresh(backend, dtype: str) -> None:
    """Make Numba compile the rung's functions in this process (not load them from the disk cache, which keeps no
    signatures for the functions a cached one calls, nor their machine code), with a tiny training call on each
    way the backend runs its steps (Numba's private `_cache` and `_reset_overloads`: it has no public switch)."""
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    for value in vars(backend.rung).values():
        if not isinstance(value, CPUDispatcher):
            continue
        # Code this process already loaded from the disk cache (an earlier command or test in it) cannot be
        # inspected either: forget it, to compile again.
        if any(getattr(overload.library, "_disable_inspection", False) for overload in value.overloads.values()):
            value._reset_overloads()
        # And a signature the tiny call below needs must be compiled here too, not loaded from the disk, even for a
        # function whose other signatures this process compiled itself (another process may have cached it).
        value._cache = NullCache()
    case = random_case(TINY, batch=2, steps=2, dtype=dtype)
    weights = [backend.to_backend(w, dtype) for w in case.weights]
    biases = [backend.to_backend(b, dtype) for b in case.biases]
    x, y, order = backend.to_backend(case.x, dtype), backend.to_backend(case.y, dtype), case.order
    try:
        for way in backend.ways:
            backend.force_way(way)
            backend.train_steps(weights, biases, x, y, order, 0, 4, 2, 0.5, "quadratic")
    finally:
        backend.force_way(None)
    backend.forward(weights, biases, x)


def _native(text: str, function: str) -> list[str]:
    """The lines of the native function itself in an inspect_asm listing (not its Python wrapper)."""
    marker = f"{len(function)}{function}"
    found = asm.functions(text)
    for symbol, lines in found.items():
        if marker in symbol and "cpython" not in symbol and not symbol.startswith("cfunc"):
            return lines
    return []


def machine_code_facts(name: str, functions: list[str], dtype: str = "float64") -> list[dict]:
    """For each compiled function named (those the rung defines, and the weighted sums), the facts of its hottest
    loop, for the signature whose hottest loop does the most multiply-adds."""
    backend = get_backend(name)
    _compiled_afresh(backend, dtype)
    results = []
    for function in functions:
        dispatcher = getattr(backend.rung, function, None)
        if dispatcher is None or not hasattr(dispatcher, "inspect_asm"):
            continue
        best = None
        for signature in dispatcher.signatures:
            lines = _native(dispatcher.inspect_asm(signature), function)
            whole = asm.facts(lines)
            hot = asm.hottest_loop(lines)
            entry = {"function": function, "signature": str(signature),
                     "loop": hot[0].label if hot else None, "hottest_loop": hot[1].as_dict() if hot else None,
                     "whole_function": whole.as_dict()}
            score = hot[1].multiply_adds if hot else -1
            if best is None or score > best[0]:
                best = (score, entry)
        if best is not None:
            results.append(best[1])
    return results


WEIGHTED_SUMS = ("layer_sums", "weighted_sum")
"""The function that forms a layer's weighted sums, in the rungs that have it (the first found)."""


def rung_name(name: str) -> str:
    """`name`, or the rung an alias stands for where it is one rung (numba: numba-blas); a NeuroError listing the
    rungs for any other name."""
    if name in ALIASES:
        same = [rung for rung, info in REGISTRY.items() if info.module == ALIASES[name].module]
        name = same[0] if same else name
    if name not in REGISTRY:
        raise NeuroError(f"unknown rung {name!r}; the rungs are: {', '.join(REGISTRY)}")
    return name


def explain(name: str, dtype: str = "float64", machine_code: bool = True) -> Explanation:
    """Everything `neuro explain` prints about rung `name` (a NeuroError for a name that is no rung)."""
    name = rung_name(name)
    info = REGISTRY[name]
    changes, constants = source_changes(name)
    result = Explanation(name, info.change, info.builds_on, changes, constants, machine=platform.machine())
    status = backend_status(name)
    if info.module.startswith("gpu."):
        if machine_code:
            result.ptx = ptx.compile_rung(name, dtype)
            if "error" in result.ptx:
                result.machine_note = f"PTX: not read ({result.ptx['error']})"
            else:
                result.machine_note = (f"PTX compiled here by numba-cuda for compute capability {result.ptx['cc']}, "
                                       f"{dtype}: facts of the code, not of a run on a GPU")
        return result
    if not status.available:
        result.machine_note = f"machine code: not read ({status.reason})"
        return result
    module = rung_module(name)
    if not any(hasattr(v, "inspect_asm") for v in vars(module).values()) or not machine_code:
        result.machine_note = "machine code: none of its own (not compiled by Numba)" if machine_code else ""
        return result
    if platform.machine() not in ("x86_64", "AMD64"):
        result.machine_note = f"machine code: the reader knows x86-64 only, not {platform.machine()}"
        return result
    own = [c.name for c in changes if c.kind in ("changed", "new", "taken")]
    sums = next((f for f in WEIGHTED_SUMS if hasattr(module, f)), None)
    wanted = ([sums] if sums else []) + [f for f in own if f != sums]
    result.machine_code = machine_code_facts(name, wanted, dtype)
    result.machine_note = f"compiled by Numba {_numba_version()} on this {platform.machine()} machine, {dtype}"
    return result


def _numba_version() -> str:
    import numba

    return numba.__version__


def lanes_per_instruction(width: int, dtype: str) -> int:
    """The numbers of `dtype` that a vector register of `width` bits holds."""
    return width // (8 * np.dtype(dtype).itemsize)

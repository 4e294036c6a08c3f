"""How one rung of compiled loops builds on the rung before it, and how their machine code is cached on disk.

Each compiled rung (`ops_numba_*.py`) changes one idea and takes everything else from the rung before. With
plain Python that would be an import. Numba resolves the functions that a compiled function calls when it
compiles it, by name, in the globals of the module that defined it: a `train_steps` imported from the rung
before would go on calling that rung's `sigmoid`, never this one's. So a rung ends with

    inherit(previous, globals())

which brings in every compiled function of the rung before that this rung does not define itself, compiled
again from the very same source, with its names looked up here: the same code, calling this rung's functions.
Names that are not compiled functions (constants, helpers in plain Python) come over as they are, unless the
rung defines its own. Since that line hides what a rung holds, each rung's docstring ends with the functions it
compiles again ("Compiled again from ... by `inherit`: ..."), and a test checks that list against
`compiled_again_names`, so it cannot go stale.

The disk cache. `cache=True` keeps each function's machine code in `__pycache__`, so that a second process
loads it instead of compiling again, and Numba throws it away when the function's own source file changes.
It does not notice a change in another file whose functions the cached one calls (and inlines): after an edit
of the rung before, or of spin_barrier.py, this rung would run stale machine code. `NeuroCacheLocator` mends
that for the files of this folder: their cached code is stamped with a digest of every file here that holds
compiled code, so that an edit of any of them makes every rung compile afresh. It also tells the copies that
`inherit` compiled apart from their originals (same source file, same line, same bytecode; only the module that
compiled them differs), which Numba's cache would otherwise mistake for each other. A rung loaded from a file
outside the package (backends/loader.py) is stamped with this folder's digest and its own file's.
"""

from __future__ import annotations

import hashlib
import sys
import types
from functools import cache
from pathlib import Path

try:
    import numba  # noqa: F401  (the rungs take it from here, where a broken install is reported)
    from numba import njit
    from numba.core import caching
    from numba.core.registry import CPUDispatcher
    from numba.typed import List
except ImportError:
    raise
except Exception as error:  # installed but broken (e.g. an llvmlite that cannot load): report it as missing
    raise ImportError(f"numba is installed but cannot be imported: {error}") from error

HERE = Path(__file__).resolve().parent
COMPILED_FILES = ("*.py", "ablations/*.py")
"""The files of this folder whose functions Numba compiles (and caches) or that hold the tools they use: all of them,
and the rungs with one idea taken out (ablations/, which `neuro ladder --ablate` times)."""


def inherit(previous: types.ModuleType, namespace: dict) -> None:
    """Give `namespace` (a rung's globals()) what the rung `previous` has and this rung does not define itself.

    Every function that `previous` compiled (defined there, or compiled again there from the rung before it), and
    for which this rung has no function of its own (defined here, or imported from a helper module), is compiled
    again from the same source, with its global names looked up in `namespace`; so is one that the rung imported
    from `previous` itself. Every other public name of `previous` (helpers compiled elsewhere included) is
    copied, unless `namespace` already has it.
    """
    for name, value in vars(previous).items():
        if name.startswith("__"):
            continue
        if isinstance(value, CPUDispatcher) and value.py_func.__module__ == previous.__name__:
            if namespace.get(name, value) is value:  # not this rung's own (an import of the rung before's is not)
                namespace[name] = compiled_again(value, namespace)
        elif name not in namespace:
            namespace[name] = value


def compiled_again(function: CPUDispatcher, namespace: dict) -> CPUDispatcher:
    """`function`'s source compiled with the options it was compiled with, its global names resolved in
    `namespace`."""
    source = function.py_func
    copy = types.FunctionType(source.__code__, namespace, source.__name__, source.__defaults__, source.__closure__)
    copy.__qualname__, copy.__doc__ = source.__qualname__, source.__doc__
    options = {key: value for key, value in function.targetoptions.items() if key != "nopython"}
    cached = not isinstance(function._cache, caching.NullCache)
    return njit(cache=cached, locals=function.locals, **options)(copy)


def compiled_again_names(rung: types.ModuleType) -> list[str]:
    """The names of the functions that `inherit` compiled again into `rung`: compiled functions that look their
    names up in the rung's globals but whose code is another file's (a rung before's), sorted."""
    here = vars(rung)
    return sorted(name for name, value in here.items() if isinstance(value, CPUDispatcher)
                  and value.py_func.__globals__ is here and value.py_func.__code__.co_filename != rung.__file__)


def typed_list(arrays) -> List:
    """The arrays (a network's weights, or its biases) as a Numba typed list, the form the compiled rungs take.

    Making one checks and boxes every array, work on the scale of a small network's step, so the last four made
    are kept and reused while they hold the very same arrays (the training loop passes the same parameters to
    every call).
    """
    key = tuple(arrays)
    for kept in _kept:
        if len(kept[0]) == len(key) and all(a is b for a, b in zip(kept[0], key)):
            return kept[1]
    typed = List(key)
    _kept.insert(0, (key, typed))
    del _kept[4:]
    return typed


_kept: list[tuple[tuple, List]] = []


# ----------------------------------------------------------------------------------------------------------
# The disk cache


@cache
def _digest(stamps: tuple) -> str:
    hasher = hashlib.sha256()
    for path, _mtime, _size in stamps:
        hasher.update(path.name.encode())
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def source_digest(folder: Path = HERE) -> str:
    """A digest of every file of `folder` that holds compiled code (COMPILED_FILES): it changes when any does."""
    paths = sorted({path for pattern in COMPILED_FILES for path in folder.glob(pattern)})
    return _digest(tuple((path, path.stat().st_mtime_ns, path.stat().st_size) for path in paths))


class NeuroCacheLocator(caching._CacheLocator):
    """Where Numba caches a function of this folder, and when that cache is stale (see the module docstring).

    It keeps the place that Numba's own locators choose (NUMBA_CACHE_DIR, else __pycache__ beside the source,
    else a folder in the user's cache), and changes two things: the source stamp, which covers every file of the
    folder with compiled code, and the name, which includes the module that compiled the function (its whole
    dotted name: a rung imported under a second name, as backends.cpu.ops_numba_tiles, caches its own code apart).
    """

    is_neuro_locator = True
    """(This file may be imported twice, under two names: as neuro.backends.cpu.compiled, and as
    backends.cpu.compiled where a checkout's root is on sys.path. That makes two classes of this locator; only the
    first goes into Numba's list, and each passes over the other, which would hand a function back for ever.)"""

    def __init__(self, inner: caching._CacheLocator, py_func, folder: Path, rung_file: Path | None = None) -> None:
        self._inner, self._folder, self._rung_file = inner, folder, rung_file
        self._module = py_func.__module__

    def ensure_cache_path(self) -> None:
        self._inner.ensure_cache_path()

    def get_cache_path(self) -> str:
        return self._inner.get_cache_path()

    def get_source_stamp(self) -> str:
        if self._rung_file is None:
            return source_digest(self._folder)
        return source_digest(self._folder) + hashlib.sha256(self._rung_file.read_bytes()).hexdigest()

    def get_disambiguator(self) -> str:
        return f"{self._inner.get_disambiguator()}-{self._module}"

    @classmethod
    def from_function(cls, py_func, py_file):
        folder = Path(py_file).resolve().parent
        rung_file = _rung_file(py_func)
        if rung_file is not None:
            folder = HERE  # a learner's rung: stamped with this folder's files and the rung's own file
        elif folder.name == "ablations":  # (the variants of the rungs: stamped with the rungs' own digest)
            folder = folder.parent
        if not (folder / Path(__file__).name).exists() or not any(folder.glob("ops_numba*.py")):
            return None  # not a file of neuro's backends: Numba's own locators take it
        for locator_class in _LOCATORS:
            if not getattr(locator_class, "is_neuro_locator", False):
                inner = locator_class.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner, py_func, folder, rung_file)
        return None


def _rung_file(py_func) -> Path | None:
    """The file of a rung that backends/loader.py loaded from outside the package, if `py_func` was compiled in
    it (its own function, or one that `inherit` compiled again there): its machine code calls both that file's
    functions and this folder's, so its cache must go stale when either changes."""
    try:
        from ..loader import MODULE_PREFIX
    except ImportError:  # (a copy of this file outside the package, as a test makes: it loads no rung files)
        return None
    if not py_func.__module__.startswith(MODULE_PREFIX):
        return None
    module = sys.modules.get(py_func.__module__)
    path = getattr(module, "__file__", None)
    return Path(path) if path else None


_LOCATORS = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # (named _CacheImpl before Numba 0.62)
_LOCATORS = _LOCATORS._locator_classes
"""The locators Numba tries in turn, for every cached function; this module puts its own first."""
if not any(getattr(locator_class, "is_neuro_locator", False) for locator_class in _LOCATORS):
    _LOCATORS.insert(0, NeuroCacheLocator)

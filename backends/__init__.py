"""The backend registry: which backends exist, which run here, and how to get one.

Each backend lives in its own module `ops_<name>.py` and is imported only when it is chosen or probed, so a
missing or broken optional package (numba, numba-cuda, a GPU driver) never breaks `import neuro`, the CLI or
the other backends. A backend module provides:

    unavailable_reason() -> str | None    why it cannot run here (None: it can)
    note() -> str                         optional: a remark shown when it is available (e.g. "simulated")
    simulated() -> bool                   optional: True when it runs on a simulator (right, too slow to time)
    create() -> Backend                   the backend object (see `base.Backend`)

The registry is also the ladder, in order: each entry says what its rung changes, the rung it builds on, and the
case it is for (the network and batch size where it must train faster than that rung; `neuro ladder` measures
it). To add a backend, write its module and add one `BackendInfo` line to `REGISTRY`: the agreement tests,
`neuro agree`, `neuro bench`, `neuro ladder` and `neuro backends` pick it up from here.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import cache

from neuro.sizes import CLASSIC, WIDE
from neuro.support.errors import NeuroError

from . import loader
from .base import Backend

DEFAULT_BACKEND = "numpy"
ENV_VAR = "NEURO_BACKEND"




@dataclass(frozen=True)
class RungCase:
    """A network and a batch size: the case a rung of the ladder is for, where it must beat the rung it builds on
    (the classic network at batch 10, unless the rung says otherwise)."""

    layers: tuple[int, ...] = CLASSIC
    batch_size: int = 10

    def as_dict(self) -> dict:
        return {"layers": list(self.layers), "batch_size": self.batch_size}


@dataclass(frozen=True)
class BackendInfo:
    """A registered backend, a rung of the ladder: its name, its module under this package, what it changes (one
    line), the rung it builds on (None for the first), and the case it is for."""

    name: str
    module: str
    change: str
    builds_on: str | None
    case: RungCase = RungCase()


REGISTRY: dict[str, BackendInfo] = {
    info.name: info
    for info in (
        BackendInfo("python", "ops_python", "the equations as loops over lists, with math.exp", None),
        BackendInfo("numpy", "ops_numpy", "vectorised over the mini-batch: a matrix product per layer", "python"),
        BackendInfo("numba-loops", "cpu.ops_numba_loops", "the Python backend's functions compiled by Numba's @njit",
                    "python"),
        BackendInfo("numba-reorder", "cpu.ops_numba_reorder", "sums the compiler may reorder, into SIMD lanes",
                    "numba-loops"),
        BackendInfo("numba-blocks", "cpu.ops_numba_blocks",
                    "layer by layer over the mini-batch, buffers made once, the step fused, a SIMD sigmoid",
                    "numba-reorder"),
        BackendInfo("numba-tiles", "cpu.ops_numba_tiles", "tiles of four neurons and a few samples in registers, "
                    "uncounted views", "numba-blocks"),
        BackendInfo("numba-team", "cpu.ops_numba_team", "a team of threads, one per core; the next rows fetched ahead",
                    "numba-tiles"),
        BackendInfo("numba-blas", "cpu.ops_numba_blas", "large steps to BLAS, in buffers made once, "
                    "the step inside the product", "numba-team",
                    RungCase(WIDE, 256)),
        BackendInfo("cuda-naive", "gpu.ops_cuda_naive", "the loops as CUDA kernels, one GPU thread per result, "
                    "each reading global memory", "python"),
        BackendInfo("cuda-tiled", "gpu.ops_cuda_tiled", "sums through 16x16 tiles of shared memory", "cuda-naive",
                    RungCase(WIDE, 256)),
        BackendInfo("cuda-fused", "gpu.ops_cuda_fused", "a whole stretch of mini-batches in one launch, by one block "
                    "(small networks; others tiled)", "cuda-tiled", RungCase(CLASSIC, 10)),
        BackendInfo("cuda-register-blocked", "gpu.ops_cuda_register_blocked", "each thread a 4x4 patch of each "
                    "product, from registers", "cuda-tiled", RungCase(WIDE, 256)),
    )
}

ALIASES: dict[str, BackendInfo] = {
    "numba": BackendInfo("numba", "cpu.ops_numba_blas", "an alias: numba-blas, the fastest CPU rung (it runs each "
                         "stretch of steps in compiled loops, on one thread or a team, or through BLAS)", None),
    "cuda": BackendInfo("cuda", "gpu.ops_cuda", "an alias: cuda-fused where its one-block kernel takes the network "
                        "and batch, else cuda-register-blocked", None),
}
"""Names that choose a rung by a stated rule (see each module's docstring): `--backend` accepts them and
`neuro backends` lists them, but they are not rungs of the ladder, so nothing tests or times them twice."""


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend runs here, and why not (or a remark such as "simulated" when it does); `simulated` when it
    runs on a simulator (Numba's CUDA simulator without a GPU): right, but far too slow to time."""

    name: str
    available: bool
    reason: str
    change: str
    simulated: bool = False


def _simulated(module) -> bool:
    """Does this available backend's module say it runs on a simulator (its optional `simulated()`)?"""
    return bool(module.simulated()) if hasattr(module, "simulated") else False


def _info(name: str) -> BackendInfo:
    if name in REGISTRY or name in ALIASES:
        return REGISTRY[name] if name in REGISTRY else ALIASES[name]
    return loader.info(_loaded(name))


def _loaded(name: str) -> loader.LoadedRung:
    """A rung from a file, a module:NAME or an entry point (backends/loader.py), building on a registered rung."""
    return loader.load(name, tuple(REGISTRY))


def rung_info(name: str) -> BackendInfo:
    """What the rung `name` changes, builds on and is for: a registered rung's entry, or a loaded rung's own."""
    _check_known(name)
    return _info(name)


def _module(name: str):
    if name not in REGISTRY and name not in ALIASES:
        return _loaded(name).rung
    return importlib.import_module(f"{__name__}.{_info(name).module}")


def _check_known(name: str) -> None:
    if name not in REGISTRY and name not in ALIASES and not loader.is_external(name):
        known = ", ".join([*REGISTRY, *ALIASES, *loader.entry_point_rungs()])
        raise NeuroError(f"unknown backend {name!r}; the known backends are: {known} (or a rung's file, "
                         f"path/to/rung.py)")


@cache
def backend_status(name: str) -> BackendStatus:
    """Probe one backend: import its module and ask it whether it can run here."""
    _check_known(name)
    change = _info(name).change
    if name not in REGISTRY and name not in ALIASES:  # (its errors are NeuroErrors naming the file)
        rung = _loaded(name)
        reason = loader.reason(rung)
        if reason is not None:
            return BackendStatus(name, False, reason, change)
        note = rung.rung.note() if hasattr(rung.rung, "note") else ""
        return BackendStatus(name, True, note, change, _simulated(rung.rung))
    try:
        module = _module(name)
        reason = module.unavailable_reason()
    except ImportError as error:  # an optional package is missing or broken
        return BackendStatus(name, False, f"cannot import it: {error}", change)
    if reason is not None:
        return BackendStatus(name, False, reason, change)
    note = module.note() if hasattr(module, "note") else ""
    return BackendStatus(name, True, note, change, _simulated(module))


def list_backends() -> list[BackendStatus]:
    """Every registered backend, available or not, in the order of the ladder; then the aliases; then the rungs
    that installed packages add (the entry points `neuro.backends`)."""
    return [backend_status(name) for name in [*REGISTRY, *ALIASES, *loader.entry_point_rungs()]]


def available_backends() -> list[str]:
    """The names of the registered backends that run here (no alias: it would repeat a rung)."""
    return [status.name for status in list_backends() if status.available and status.name in REGISTRY]


def default_backend_name() -> str:
    """`$NEURO_BACKEND` if set, else numpy."""
    return os.environ.get(ENV_VAR) or DEFAULT_BACKEND


@cache
def get_backend(name: str | None = None) -> Backend:
    """The backend called `name` (default: `default_backend_name()`), or a NeuroError saying why not."""
    name = name or default_backend_name()
    status = backend_status(name)
    if not status.available:
        raise NeuroError(f"backend {name!r} is not available here: {status.reason}")
    if name not in REGISTRY and name not in ALIASES:
        return loader.create(_loaded(name))
    return _module(name).create()


__all__ = [
    "ALIASES",
    "Backend",
    "BackendInfo",
    "BackendStatus",
    "CLASSIC",
    "RungCase",
    "WIDE",
    "REGISTRY",
    "available_backends",
    "backend_status",
    "default_backend_name",
    "get_backend",
    "list_backends",
    "rung_info",
]

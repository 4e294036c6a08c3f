"""Will it fit? The memory a run will hold, estimated before any work, against the memory this process may use.

A network too large for the machine should be refused with one line before the data is loaded, not die with a
MemoryError (or be killed by the kernel) minutes later. The estimate counts what the backend really stores:
the bytes per number are measured by storing a small array in the backend (a NumPy float64 is 8 bytes; the
python backend's Python float in a list costs about 32), times the numbers it holds:

    parameters      P = sum over layers of n_out * (n_in + 1)      the weights and biases
    gradient        2 P                                            nabla_w, nabla_b and the step's temporary
    host copies     2 P                                            the initial draw, the copy saved each epoch
    data            (n_train + n_test) * n_0 + n_train * (n_L + 1)  images, desired outputs, the shuffled order
    host data       (n_train + n_test) * n_0                        the loaded images (float32), kept beside
                                                                   (the whole data set, before --limit)
    conversion      n_train * n_0                                   the images as a NumPy array in the dtype, on
                                                                   their way into a backend that stores lists
    activations     3 * m * (n_1 + ... + n_L)                       z, a and delta of a mini-batch
    evaluation      2 * chunk * (n_1 + ... + n_L)                   a chunk of the test set fed forward

The memory this process may use is the smallest of: the RAM the kernel says is available (MemAvailable), the
room left under a cgroup memory limit (containers), and the room left under RLIMIT_AS (`ulimit -v`).
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuro.support.errors import NeuroError

EVAL_CHUNK = 10_000
"""Images fed through the network at once when evaluating (neuro.evaluation): bounds the memory of a layer's
activations, and so the estimate below."""

HOST_IMAGE_BYTES = 4
"""A loaded pixel: float32."""


def _deep_size(stored: object, seen: set[int]) -> int:
    """Bytes held by a stored array: NumPy's (or a device array's) nbytes, or a Python list's objects, each once."""
    if id(stored) in seen:
        return 0
    seen.add(id(stored))
    if hasattr(stored, "nbytes"):
        return int(stored.nbytes)
    size = sys.getsizeof(stored)
    if isinstance(stored, (list, tuple)):
        size += sum(_deep_size(item, seen) for item in stored)
    return size


def bytes_per_number(backend, dtype: str, side: int = 64) -> float:
    """What one number costs in `backend`'s storage, in `dtype`: measured on a side × side array of distinct
    values (a list of lists of Python floats costs the float objects, their pointers and the lists)."""
    sample = np.linspace(0.5, 1.5, side * side).reshape(side, side)
    return _deep_size(backend.to_backend(sample, dtype), set()) / sample.size


@dataclass(frozen=True)
class Estimate:
    """The bytes a run will hold, by part."""

    parts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def __str__(self) -> str:
        return ", ".join(f"{name} {gib(size)}" for name, size in self.parts.items() if size)


def estimate_training(backend, dtype: str, sizes: Sequence[int], n_train: int, n_test: int,
                      batch_size: int, n_loaded: int | None = None) -> Estimate:
    """The bytes training the network `sizes` on `backend` holds (see the module docstring); a NeuroError if the
    backend cannot compute in `dtype`. `n_loaded`: the images the loader holds (default n_train + n_test; more
    when --limit keeps only the first training images of a data set loaded whole)."""
    if dtype not in backend.dtypes:
        raise NeuroError(f"the {backend.name} backend cannot compute in {dtype}; it supports: "
                         f"{', '.join(backend.dtypes)}")
    number = bytes_per_number(backend, dtype)
    host = np.dtype(dtype).itemsize
    n_parameters = sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    neurons = sum(sizes[1:])
    loaded = n_train + n_test if n_loaded is None else n_loaded
    # A backend whose storage is not the NumPy array itself (Python lists) is handed that array first.
    conversion = n_train * sizes[0] * host if number != host else 0
    return Estimate({
        "parameters": int(n_parameters * number),
        "gradient": int(2 * n_parameters * number),
        "host copies": int(2 * n_parameters * host),
        "data": int(((n_train + n_test) * sizes[0] + n_train * (sizes[-1] + 1)) * number),
        "host data": int(loaded * sizes[0] * HOST_IMAGE_BYTES),
        "conversion": int(conversion),
        "activations": int(3 * min(batch_size, max(n_train, 1)) * neurons * number),
        "evaluation": int(2 * min(EVAL_CHUNK, n_test) * neurons * number),
    })


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _read_number(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # ("max": no limit)


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup memory limit (v2, else v1), or None when there is no limit."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, relative = line.split(":", 2)
        if controllers == "":  # cgroup v2
            folder = Path("/sys/fs/cgroup") / relative.lstrip("/")
            limit, used = _read_number(folder / "memory.max"), _read_number(folder / "memory.current")
        elif "memory" in controllers.split(","):
            folder = Path("/sys/fs/cgroup/memory") / relative.lstrip("/")
            limit = _read_number(folder / "memory.limit_in_bytes")
            used = _read_number(folder / "memory.usage_in_bytes")
        else:
            continue
        if limit is not None and limit < 2**60:
            return max(0, limit - (used or 0))
    return None


def _address_space_room() -> int | None:
    """Bytes left under RLIMIT_AS (`ulimit -v`), or None when it is unlimited."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return max(0, limit - int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    return limit


def usable_memory() -> tuple[int, str] | None:
    """(bytes, what limits them): the memory this process may still use, or None when nothing can tell."""
    limits = {"available RAM": _meminfo_available(), "the cgroup memory limit": _cgroup_room(),
              "the address-space limit (ulimit -v)": _address_space_room()}
    known = [(room, name) for name, room in limits.items() if room is not None]
    return min(known) if known else None


def gib(n_bytes: float) -> str:
    """A size for a person: '1.5 GiB', '230 MiB', '12 KiB'."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f} {unit}"
    return f"{int(n_bytes)} bytes"


def check_fits_in_memory(estimate: Estimate, what: str, advice: str = "use smaller --layers or a smaller --limit",
                         usable: tuple[int, str] | None = None) -> None:
    """A NeuroError naming both numbers if `estimate` exceeds the memory this process may use."""
    usable = usable if usable is not None else usable_memory()
    if usable is None or estimate.total <= usable[0]:
        return
    raise NeuroError(
        f"{what} needs about {gib(estimate.total)} of memory ({estimate}) but this process may use about "
        f"{gib(usable[0])} ({usable[1]}); {advice}"
    )

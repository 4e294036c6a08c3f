"""Whether a CUDA GPU (or Numba's CUDA simulator) can run the cuda rungs here, and which: shared by every rung.

Without a GPU, `NUMBA_ENABLE_CUDASIM=1` (set before numba.cuda is first imported) runs the same kernels on
Numba's CUDA simulator: plain Python, one Python thread per GPU thread, slow, but every index and bounds check
is exercised. tests/test_cuda_ptx.py compiles every kernel to PTX for a real GPU as well.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading

INSTALL_HINT = "pip install 'neuro[cuda]'"
SIMULATED_NOTE = "simulated (NUMBA_ENABLE_CUDASIM=1): Numba's CUDA simulator, slow, for testing"


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else type(text).__name__


def _config():
    try:
        from numba.cuda.core import config  # numba-cuda's own settings
    except ImportError:
        from numba.core import config
    return config


def simulated() -> bool:
    """True when Numba's CUDA simulator is switched on (NUMBA_ENABLE_CUDASIM=1 when numba.cuda was imported)."""
    from numba import cuda  # noqa: F401  (importing it reads the setting)

    return bool(_config().ENABLE_CUDASIM)


def unavailable_reason() -> str | None:
    """None when a GPU (or the simulator) is usable; otherwise one line saying why not."""
    if importlib.util.find_spec("numba_cuda") is None:
        return f"numba-cuda is not installed: {INSTALL_HINT}"
    try:
        from numba import cuda
    except Exception as error:  # e.g. the CUDA Python bindings are missing or do not match
        return f"numba-cuda cannot be imported: {_first_line(error)}"
    if simulated():
        return None
    try:
        if cuda.is_available():
            return None
        error = cuda.cuda_error()  # the driver's initialisation error, or None
    except Exception as exc:  # a probe must never raise
        error = exc
    if error is None:
        return f"the CUDA compiler (NVVM) is missing: {INSTALL_HINT}"
    message = _first_line(error)
    if "cannot be found" in message or "not found" in message:
        return "no NVIDIA driver: the CUDA driver library (libcuda) cannot be found"
    if "NO_DEVICE" in str(error):
        return "no CUDA GPU: the NVIDIA driver reports no device"
    return f"the CUDA driver cannot start: {message}"


def note() -> str:
    """What runs the kernels: the simulator, or the GPU's name."""
    if simulated():
        return SIMULATED_NOTE
    from numba import cuda

    try:
        name = cuda.get_current_device().name
    except Exception as error:
        return f"GPU name unknown: {_first_line(error)}"
    return f"GPU: {name.decode() if isinstance(name, bytes) else name}"


def quiet_low_occupancy_warnings() -> None:
    """Turn off numba-cuda's warning for grids under 128 blocks, unless NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS is set.

    The classic network's grids are small by nature (16 neurons for 10 samples is one block, and cuda-fused runs
    one block on purpose), so it would warn at nearly every launch; docs/gpu.md explains what small grids cost.
    """
    if "NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS" in os.environ:
        return
    _config().CUDA_LOW_OCCUPANCY_WARNINGS = 0


_SHARED_ALLOCATION = threading.Lock()


def thread_safe_shared_arrays() -> None:
    """Make the simulator's `cuda.shared.array` hand every thread of a block the same array.

    The simulator runs a block's threads as Python threads, and each of them calls `cuda.shared.array`; its
    FakeCUDAShared.array looks the array up by the caller's file and line and, if absent, makes one and stores
    it: a check and an act without a lock. Two threads that both find it absent each make their own, and the
    one left holding the array that was not stored computes on a private "shared" tile: its own number and
    np.empty's garbage: now and then a forward pass computes a wrong cost. This replaces the method by the same
    lookup under a lock (keyed by the caller's frame, as before). No effect on a real GPU.
    """
    if not simulated():
        return
    from numba.cuda.simulator import kernelapi

    shared = kernelapi.FakeCUDAShared
    if getattr(shared.array, "neuro_locked", False):
        return
    original = shared.array

    def array(self, shape, dtype, alignment=None):
        if shape == 0 or alignment is not None:  # dynamic shared memory (one buffer for all), or refused
            return original(self, shape, dtype, alignment)
        if isinstance(dtype, kernelapi.types.Type):
            dtype = kernelapi.numpy_support.as_dtype(dtype)
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        with _SHARED_ALLOCATION:
            found = self._allocations.get(key)
            if found is None:
                found = self._allocations[key] = kernelapi.np.empty(shape, dtype)
        return found

    array.neuro_locked = True
    shared.array = array

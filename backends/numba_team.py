"""A team of threads that run one compiled loop together, meeting at a barrier between its phases.

Numba's `prange` starts its threads at the top of a parallel loop and waits for all of them at the bottom:
a few microseconds each time. A gradient step of the classic network at batch 10 takes about 20, so two
parallel loops per step would cost more than a second core saves. A team pays that price once per call
instead: every thread runs the whole loop over the mini-batches (`steps_team` in `ops_numba.py`), and
between the phases of a step the threads wait for each other at a spin barrier, which costs a fraction of a
microsecond.

The barrier needs three things that Numba does not offer on the CPU, written here as LLVM instructions:
an atomic add (each thread counts itself in), an atomic load (the waiting threads watch the barrier's
generation, and the compiler must read it afresh each time round, never once and for all), and the CPU's
`pause` hint, which tells an x86 core that it is spinning. A fourth, `prefetch`, lets a thread ask ahead for
memory it will soon read: a member with nothing to do until the next barrier, the rows of x it will read
after it; every thread, at the start of a step, the rows of y its backprop will read.

The threads themselves are Python threads (`Team.run`) calling a compiled function that releases the GIL
(`nogil=True`), so every member of the team runs at once, whatever Numba's threading layer; a spin barrier
whose members took turns on one thread would wait for ever. For the same reason a team has no more members
than the cores the process may use (`NumbaBackend._team_size`).

Also here, because a team needs it most: `borrowed`, views of arrays without Numba's reference counts, whose
atomic updates two cores would otherwise fight over at every slice.

Numba's disk cache checks only the file of the function it cached: after editing this file, delete
backends/__pycache__/ops_numba*.nbi and *.nbc, or ops_numba's compiled steps keep the old barrier.
"""

from __future__ import annotations

import os
import platform
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

ARRIVED, GENERATION, ABORTED = 0, 8, 16
"""Where a barrier's counters lie in its int64 array: 64 bytes apart, so on cache lines of their own (a line
that the arriving threads write and the waiting threads read would bounce between the cores)."""

SPINS_BEFORE_YIELDING = 20_000
"""Spins (about a millisecond) after which a waiting thread gives its core away between spins: a member that
has lost its core (to another process) gets it back sooner."""


def new_barrier() -> np.ndarray:
    """The shared state of one barrier: [ARRIVED] counts the threads arrived, [GENERATION] the barriers passed,
    and [ABORTED] is set when a member has failed, so that the others stop waiting for it."""
    return np.zeros(3 * 8, np.int64)


def _element_pointer(context, builder, array_type, array, index):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [index])


@intrinsic
def atomic_add(typingctx, array, index, value):
    """array[index] += value as one atomic instruction; returns the value before the add."""
    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", pointer, args[2], "acq_rel")

    return types.int64(array, index, value), codegen


@intrinsic
def atomic_load(typingctx, array, index):
    """array[index], read from memory every time it is called (an ordinary read may be hoisted out of a loop)."""
    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(array, index), codegen


@intrinsic
def spin_pause(typingctx):
    """The x86 `pause` instruction (a no-op elsewhere): it eases a spinning core's demands on the other core."""
    def codegen(context, builder, signature, args):
        if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686"):
            pause = builder.module.declare_intrinsic("llvm.x86.sse2.pause", fnty=ir.FunctionType(ir.VoidType(), []))
            builder.call(pause, [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def prefetch(typingctx, array, index):
    """Ask for the cache line that holds array[index] (a 1-D array), to be read soon: the CPU fetches it into this
    core's cache in the background, and nothing waits for it. A hint, never a fault, wherever index points."""
    def codegen(context, builder, signature, args):
        byte = ir.IntType(8).as_pointer()
        pointer = builder.bitcast(_element_pointer(context, builder, signature.args[0], args[0], args[1]), byte)
        i32 = ir.IntType(32)
        fetch = builder.module.declare_intrinsic("llvm.prefetch", [byte], ir.FunctionType(ir.VoidType(),
                                                                                           [byte, i32, i32, i32]))
        builder.call(fetch, [pointer, i32(0), i32(3), i32(1)])  # 0: to read, 3: into every level of cache, 1: data
        return context.get_dummy_value()

    if isinstance(array, types.Array) and array.ndim == 1 and isinstance(index, types.Integer):
        return types.void(array, index), codegen
    return None


@intrinsic
def borrowed(typingctx, arrays):
    """The same array (or tuple of arrays), without its reference count: views taken of it count nothing.

    Numba counts the references to an array's memory, and each slice taken of it (a row, a row's span) adds
    one, then takes it away: two atomic instructions on a counter that every thread's slices share. That
    costs a fifth of the time of the first layer's loops on one thread, and on two, each increment takes
    the counter's cache line from the other core. The arrays of a step live for the whole call (the caller
    holds them), so the loops may take their views uncounted.
    """
    def strip(context, builder, array_type, value):
        source = context.make_array(array_type)(context, builder, value)
        view = context.make_array(array_type)(context, builder)
        for field in ("data", "shape", "strides", "itemsize", "nitems"):
            setattr(view, field, getattr(source, field))
        view.meminfo = context.get_constant_null(types.MemInfoPointer(types.voidptr))
        view.parent = context.get_constant_null(types.pyobject)
        return view._getvalue()

    def codegen(context, builder, signature, args):
        kind = signature.args[0]
        if isinstance(kind, types.Array):
            return strip(context, builder, kind, args[0])
        views = [strip(context, builder, kind.dtype, builder.extract_value(args[0], i)) for i in range(len(kind))]
        return context.make_tuple(builder, kind, views)

    if isinstance(arrays, types.Array) or (isinstance(arrays, types.UniTuple)
                                           and isinstance(arrays.dtype, types.Array)):
        return arrays(arrays), codegen
    return None


@intrinsic
def yield_core(typingctx):
    """The C library's sched_yield() (a no-op where there is none): let the operating system run another thread
    on this core for a moment. (Declared as an external function, not called through ctypes, so that the code
    that calls it can still be cached on disk.)"""
    def codegen(context, builder, signature, args):
        if os.name == "posix":
            sched_yield = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                                         "sched_yield")
            builder.call(sched_yield, [])
        return context.get_dummy_value()

    return types.void(), codegen


@njit(cache=True, nogil=True)
def barrier(state, parties, generation):
    """Wait until all `parties` threads have called barrier(state, ...) for this `generation`; returns the next,
    or -1 if a member has failed (the caller must then return at once).

    Each thread keeps its own count of the barriers it has passed (`generation`, from 0). The last thread to
    arrive resets the count of arrivals, then moves the shared generation on, which releases the others; what
    every thread wrote before arriving is then visible to all (the atomic instructions order the memory).
    """
    if atomic_add(state, ARRIVED, 1) == parties - 1:
        atomic_add(state, ARRIVED, -parties)
        atomic_add(state, GENERATION, 1)
        return generation + 1
    spins = 0
    while atomic_load(state, GENERATION) == generation:
        if atomic_load(state, ABORTED) != 0:
            return -1
        spins += 1
        if spins < SPINS_BEFORE_YIELDING:
            spin_pause()
        else:
            yield_core()
    return generation + 1


class Team:
    """Runs a compiled, GIL-free function on `size` threads at once: this one and size - 1 kept waiting in a pool."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._lock = threading.Lock()  # one team at work at a time: the pool's threads are its members

    def run(self, function, size: int, *args) -> None:
        """function(member, size, barrier_state, *args) for member = 0, 1, ..., size - 1, all at once.

        If a member fails (or the caller is interrupted while starting the team), the barrier is marked
        aborted, the other members return from their next barrier, and the first error is raised here.
        """
        with self._lock:
            state = new_barrier()

            def member(index: int) -> None:
                try:
                    function(index, size, state, *args)
                except BaseException:
                    state[ABORTED] = 1
                    raise

            if size == 1:
                function(0, 1, state, *args)
                return
            if self._pool_size < size - 1:
                if self._pool is not None:
                    self._pool.shutdown()
                self._pool = ThreadPoolExecutor(max_workers=size - 1, thread_name_prefix="neuro-numba")
                self._pool_size = size - 1
            others, error = [], None
            try:
                others.extend(self._pool.submit(member, index) for index in range(1, size))
                member(0)
            except BaseException as failure:
                state[ABORTED] = 1
                error = failure
            for other in others:
                try:
                    other.result()
                except BaseException as failure:
                    error = error or failure
            if error is not None:
                raise error


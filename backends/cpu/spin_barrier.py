"""The tools of `numba-team`: a team of threads that run one compiled loop together, meeting at a barrier.

Numba's `prange` starts its threads at the top of a parallel loop and waits for all of them at the bottom, each
time: waking threads through the operating system takes time on the scale of a whole step of the classic network
at batch 10, so two parallel loops per step could cost more than a second core saves. A team pays that price
once per call instead: every thread runs the whole loop over the mini-batches (`steps_team` in ops_numba_team.py),
and between the phases of a step the threads wait for each other at a spin barrier, which only reads and writes
memory the cores share, far less than waking a thread.

The barrier needs what Numba does not offer on the CPU, written here as LLVM instructions: an atomic add (each
thread counts itself in), an atomic compare-and-swap (to release the others, or to stop them: exactly one of
the two wins), an atomic load (a waiting thread must read the barrier afresh each time round, never once and
for all), and the CPU's `pause` hint, which tells an x86 core that it is spinning. `prefetch` lets a thread ask
ahead for memory it will soon read.

A member that has lost its core (another program runs on it) keeps the others spinning. So a barrier has a
patience: a member that has waited longer stops the whole team at that barrier, before any member has changed a
weight of the step in progress, and the caller finishes the stretch on one thread (ops_numba_team.py).

The threads themselves are Python threads (`Team.run`) calling a compiled function that releases the GIL
(`nogil=True`), so every member runs at once, whatever Numba's threading layer.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .compiled import njit

ARRIVED, GENERATION, FAILED = 0, 8, 16
"""Where a barrier's counters lie in its int64 array: 64 bytes apart, so on cache lines of their own (a line
that the arriving threads write and the waiting threads read would bounce between the cores)."""

STOPPED = -2
"""The generation of a barrier at which a member lost patience: every member stops there."""

SPINS_BEFORE_YIELDING = 20_000
"""Spins after which a waiting thread gives its core away between spins (if its patience lasts that long)."""


def new_barrier() -> np.ndarray:
    """The shared state of one barrier: [ARRIVED] counts the threads arrived, [GENERATION] the barriers passed
    (or STOPPED), and [FAILED] is set when a member has raised an error."""
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
def compare_and_swap(typingctx, array, index, expected, new):
    """If array[index] == expected, set it to new, as one atomic instruction; returns whether it did."""
    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        result = builder.cmpxchg(pointer, args[2], args[3], "acq_rel", "acquire")
        return builder.extract_value(result, 1)

    return types.boolean(array, index, expected, new), codegen


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


@intrinsic
def prefetch(typingctx, array, index):
    """Ask for the cache line that holds array[index] (a 1-D array), to be read soon: the CPU fetches it into this
    core's L2 cache in the background, and nothing waits for it. A hint, never a fault, wherever index points.
    (Into the L2, not the L1: fetched into the small L1, the next mini-batch's rows of x pushed out the rows of
    this one, which the gradient reads again.)"""
    def codegen(context, builder, signature, args):
        byte = ir.IntType(8).as_pointer()
        pointer = builder.bitcast(_element_pointer(context, builder, signature.args[0], args[0], args[1]), byte)
        i32 = ir.IntType(32)
        fetch = builder.module.declare_intrinsic("llvm.prefetch", [byte], ir.FunctionType(ir.VoidType(),
                                                                                           [byte, i32, i32, i32]))
        builder.call(fetch, [pointer, i32(0), i32(2), i32(1)])  # 0: to read, 2: into the L2 cache and on, 1: data
        return context.get_dummy_value()

    if isinstance(array, types.Array) and array.ndim == 1 and isinstance(index, types.Integer):
        return types.void(array, index), codegen
    return None


@njit(cache=True, nogil=True)
def barrier(state, parties, generation, patience):
    """Wait until all `parties` threads have called barrier(state, ...) for this `generation` (each thread counts
    the barriers it has passed, from 0); returns the next generation, or -1 if the team is to stop: a member
    failed, or one waited more than `patience` spins (then every member stops at this same barrier).

    The last thread to arrive resets the count of arrivals and moves the generation on, which releases the
    others; what every thread wrote before arriving is then visible to all (the atomic instructions order the
    memory). A thread out of patience instead sets the generation to STOPPED; both are compare-and-swaps on the
    same number, so exactly one of them happens.
    """
    if atomic_add(state, ARRIVED, 1) == parties - 1:
        atomic_add(state, ARRIVED, -parties)
        return generation + 1 if compare_and_swap(state, GENERATION, generation, generation + 1) else -1
    spins = 0
    while True:
        now = atomic_load(state, GENERATION)
        if now != generation:
            return generation + 1 if now == generation + 1 else -1
        if atomic_load(state, FAILED) != 0:
            return -1
        spins += 1
        if spins > patience and compare_and_swap(state, GENERATION, generation, STOPPED):
            return -1
        if spins < SPINS_BEFORE_YIELDING:
            spin_pause()
        else:
            yield_core()


@njit(cache=True, nogil=True)
def _meet(member, size, state, rounds):
    generation = 0
    for _ in range(rounds):
        generation = barrier(state, size, generation, 2**62)
    return generation


def barrier_seconds(rounds: int = 100_000) -> float:
    """The time two threads of a team take to meet at a barrier, here and now: it depends on how far apart the two
    cores are (on a virtual machine, on where the host runs them at the moment), and so does what a team gains."""
    team = Team()
    team.run(_meet, 2, 1000)
    started = time.perf_counter()
    team.run(_meet, 2, rounds)
    return (time.perf_counter() - started) / rounds


class Team:
    """Runs a compiled, GIL-free function on `size` threads at once: this one and size - 1 kept waiting in a pool."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._lock = threading.Lock()  # one team at work at a time: the pool's threads are its members

    def run(self, function, size: int, *args):
        """function(member, size, barrier_state, *args) for member = 0, 1, ..., size - 1, all at once; returns what
        member 0 returned.

        If a member fails (or the caller is interrupted while starting the team), the barrier is marked failed,
        the other members return from their next barrier, and the first error is raised here.
        """
        with self._lock:
            state = new_barrier()
            if size == 1:
                return function(0, 1, state, *args)

            def member(index: int):
                try:
                    return function(index, size, state, *args)
                except BaseException:
                    state[FAILED] = 1
                    raise

            if self._pool_size < size - 1:
                if self._pool is not None:
                    self._pool.shutdown()
                self._pool = ThreadPoolExecutor(max_workers=size - 1, thread_name_prefix="neuro-team")
                self._pool_size = size - 1
            others, error, result = [], None, None
            try:
                others.extend(self._pool.submit(member, index) for index in range(1, size))
                result = member(0)
            except BaseException as failure:
                state[FAILED] = 1
                error = failure
            for other in others:
                try:
                    other.result()
                except BaseException as failure:
                    error = error or failure
            if error is not None:
                raise error
            return result

"""This machine's peaks, measured by small Numba kernels: multiply-adds per second and memory bandwidth.

The compute peak is a compiled loop of many independent multiply-add chains,

    for i in range(n):                  # every step: `width` multiply-adds, none waiting on another
        for j in range(width):          # width = ACCUMULATORS vector registers' worth of lanes
            acc[j] = acc[j] * a + b

compiled with fastmath (which lets LLVM contract `* +` into one fused multiply-add instruction, vfmadd). An FMA
takes several cycles before its result can be used, and a core starts one or two each cycle: with one chain
(`dependent_chain`, x = x * a + b) every FMA waits for the one before, so the core idles; with ACCUMULATORS
vectors of chains side by side the units never wait. `width` is a constant LLVM sees, so it unrolls the j loop
and keeps acc in registers: the loop body is FMAs only (`fma_instructions` reads the assembly to check).

Memory bandwidth: `read` sums an array (bytes read: its size), `copy` copies one array into another (bytes moved:
twice its size, read plus write; the extra read a cache does to own a line before writing it is not counted).
Each part of the work (a core's share, `prange`) runs over its own slice, repeated: a slice that fits in L2 gives
L2's bandwidth, a slice much larger than the last cache gives DRAM's.

Run as `python -m neuro.measure.peaks SECONDS` it prints its measurements as JSON: `neuro.measure.machine` runs it
that way, in a process where LLVM may use the host's widest vectors (see machine.py's `widest_vectors_env`).
"""

from __future__ import annotations

import functools
import json
import re
import sys
import time

import numba
import numpy as np

ACCUMULATORS = 12
"""Vector registers of independent chains: enough to hide an FMA's latency (about 4 cycles) on two FMA units
(4 x 2 = 8 in flight), and few enough to fit in the 16 vector registers of AVX2 beside a and b."""


@functools.cache
def fma_kernels(width: int):
    """(chains, parallel chains) for `width` accumulators: one core's kernel and the kernel run on `parts` cores."""

    @numba.njit(fastmath=True)  # (a closure over `width`: Numba cannot cache it)
    def chains(acc, a, b, n):
        for _ in range(n):
            for j in range(width):
                acc[j] = acc[j] * a + b
        return acc[0]

    @numba.njit(fastmath=True, parallel=True)
    def parallel_chains(acc, a, b, n):  # acc: (parts, width), a row per core
        total = 0.0
        for part in numba.prange(acc.shape[0]):
            total += chains(acc[part], a, b, n)
        return total

    return chains, parallel_chains


@numba.njit(fastmath=True, cache=True)
def dependent_chain(x, a, b, n):
    """One chain: each multiply-add waits for the one before (the scalar, latency-bound baseline)."""
    for _ in range(n):
        x = x * a + b
    return x


@numba.njit(fastmath=True, parallel=True, cache=True)
def read(x, repeats):
    """Sum each row of x (a core's slice) `repeats` times: bytes read = x.nbytes * repeats."""
    total = 0.0
    for part in numba.prange(x.shape[0]):
        row = x[part]
        for _ in range(repeats):
            s = 0.0
            for i in range(row.shape[0]):
                s += row[i]
            total += s
    return total


@numba.njit(parallel=True, cache=True)
def copy(source, target, repeats):
    """Copy each row of source into target `repeats` times: bytes moved = 2 * source.nbytes * repeats."""
    for part in numba.prange(source.shape[0]):
        row, into = source[part], target[part]
        for _ in range(repeats):
            for i in range(row.shape[0]):
                into[i] = row[i]
    return target[0, 0]


def _rate(call, work_per_unit: float, seconds: float) -> float:
    """Work per second of call(units): grows `units` until a call takes a fifth of `seconds`, then the best of the
    calls made in the remaining time (the machine may be shared: the best is the least disturbed)."""
    units = 1
    call(units)  # (compiles)
    while True:
        started = time.perf_counter()
        call(units)
        took = time.perf_counter() - started
        if took >= seconds / 5 or units > 2**40:
            break
        units *= 2 if took <= 0 else max(2, min(64, int(seconds / 5 / took) + 1))
    best, ends = took, time.perf_counter() + seconds * 4 / 5
    while time.perf_counter() < ends:
        started = time.perf_counter()
        call(units)
        best = min(best, time.perf_counter() - started)
    return work_per_unit * units / best


def fma_rate(dtype: str, lanes: int, parts: int, seconds: float) -> float:
    """Multiply-adds per second of ACCUMULATORS vectors of `lanes` chains on each of `parts` cores."""
    width = ACCUMULATORS * lanes
    chains, parallel_chains = fma_kernels(width)
    acc = np.ones((parts, width), dtype=dtype)
    a, b = np.dtype(dtype).type(0.999), np.dtype(dtype).type(0.001)  # (|a| < 1: the chains stay finite)
    if parts == 1:
        return _rate(lambda n: chains(acc[0], a, b, n), width, seconds)
    return _rate(lambda n: parallel_chains(acc, a, b, n), width * parts, seconds)


def dependent_rate(dtype: str, seconds: float) -> float:
    """Multiply-adds per second of one dependent chain on one core."""
    kind = np.dtype(dtype).type
    return _rate(lambda n: dependent_chain(kind(1.0), kind(0.999), kind(0.001), n * 1000), 1000, seconds)


def fma_instructions(dtype: str, lanes: int) -> dict[str, int]:
    """How many packed (vector) FMA instructions of each register width (xmm 128, ymm 256, zmm 512 bits) the
    compiled one-core kernel holds: read from its assembly (`inspect_asm`), so the peak is known to be vector FMAs."""
    chains, _ = fma_kernels(ACCUMULATORS * lanes)
    kind = np.dtype(dtype).type
    chains(np.ones(ACCUMULATORS * lanes, dtype=dtype), kind(0.5), kind(0.5), 1)
    asm = chains.inspect_asm(chains.signatures[-1])
    return {reg: len(re.findall(rf"vfmadd\d*p[sd]\s+[^\n]*%{reg}", asm)) for reg in ("xmm", "ymm", "zmm")}


def bandwidth(kind: str, part_bytes: int, parts: int, seconds: float) -> float:
    """Bytes per second of `read` or `copy` on `parts` cores, each over its own slice of `part_bytes`."""
    if kind == "read":
        x = np.ones((parts, part_bytes // 8))
        return _rate(lambda n: read(x, n), x.nbytes, seconds)
    source = np.ones((parts, part_bytes // 16))  # (source and target: part_bytes together)
    target = np.zeros_like(source)
    return _rate(lambda n: copy(source, target, n), 2 * source.nbytes, seconds)


def measure_all(seconds: float, lanes_f64: int, cores: int, l2_bytes: int, dram_bytes: int) -> dict:
    """Every peak, `seconds` in all: FMA/s per dtype on one core and on `cores`, read and copy bandwidth from L2 and
    DRAM on `cores`, and the FMA instructions of the kernels."""
    share = seconds / 8
    fma, instructions = {}, {}
    for dtype, lanes in (("float64", lanes_f64), ("float32", 2 * lanes_f64)):
        fma[dtype] = {"one_core": fma_rate(dtype, lanes, 1, share),
                      "all_cores": fma_rate(dtype, lanes, cores, share) if cores > 1 else None}
        instructions[dtype] = fma_instructions(dtype, lanes)
    memory = {}
    for level, part in (("l2", l2_bytes // 2), ("dram", dram_bytes // cores)):
        memory[level] = {"part_bytes": part,
                         **{kind: bandwidth(kind, part, cores, share) for kind in ("read", "copy")}}
    return {"fma_per_s": fma, "fma_instructions": instructions, "bandwidth": memory,
            "accumulators": ACCUMULATORS}


if __name__ == "__main__":  # (machine.py runs this in a child process: its arguments, its JSON on stdout)
    seconds_arg, lanes_arg, cores_arg, l2_arg, dram_arg = sys.argv[1:6]
    print(json.dumps(measure_all(float(seconds_arg), int(lanes_arg), int(cores_arg), int(l2_arg), int(dram_arg))))

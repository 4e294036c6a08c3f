"""The machine, measured: what the CPU is, which instruction sets LLVM sees on it, and its peaks.

The instruction sets come from LLVM's view of the host (`llvmlite.binding.get_host_cpu_name()` and
`get_host_cpu_features()`): the same CPU name and features Numba compiles for. The peaks are measured by
neuro/measure/peaks.py's kernels, never looked up, in a child process where LLVM may use the widest vectors the
host has (`widest_vectors_env`).

The peak formula, for comparison with the measured peak:

    peak FLOP/s = cores x clock x FMA units x lanes x 2        (1 FMA = 2 flops: a multiply and an add)

where lanes = vector bits / dtype bits (AVX-512: 512 / 64 = 8 float64). The clock is /proc/cpuinfo's "cpu MHz", the
clock the kernel reports, which may differ from the clock the cores run at under turbo; the FMA units per core are
not something the CPU reports: the formula is shown for 1 and for 2 units, and the measured peak says which the
cores behave like.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from neuro.support.errors import NeuroError

INSTRUCTION_SETS = {"sse4.2": "SSE4.2", "avx": "AVX", "avx2": "AVX2", "avx512f": "AVX-512F", "fma": "FMA"}
DTYPE_BITS = {"float64": 64, "float32": 32}
MiB = 1 << 20


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what Python's platform module says where there is none."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def reported_mhz() -> float | None:
    """/proc/cpuinfo's "cpu MHz" of the first core (the clock the kernel reports), or None where it says none."""
    value = _cpuinfo_field("cpu MHz")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return None


def cache_bytes(level: int, default: int) -> int:
    """The size of cpu0's cache of this level (Linux sysfs), or `default` where it is not reported."""
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(base.glob("index*")):
        try:
            if int((index / "level").read_text()) == level and (index / "type").read_text().strip() != "Instruction":
                size = (index / "size").read_text().strip()
                return int(size[:-1]) * {"K": 1 << 10, "M": MiB, "G": 1 << 30}[size[-1]] if size[-1] in "KMG" \
                    else int(size)
        except (OSError, ValueError, KeyError):
            continue
    return default


def host() -> dict:
    """What LLVM sees: the CPU name Numba compiles for, the instruction sets that matter, and the widest vectors."""
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    sets = {label: bool(features.get(flag, False)) for flag, label in INSTRUCTION_SETS.items()}
    vector_bits = 512 if sets["AVX-512F"] else 256 if sets["AVX"] else 128
    return {"llvm_cpu": llvm.get_host_cpu_name(), "instruction_sets": sets, "vector_bits": vector_bits,
            "features": features.flatten()}


def widest_vectors_env(described: dict) -> dict:
    """The environment for a process whose Numba may use the host's widest vectors. LLVM tunes recent AVX-512 CPUs
    to prefer 256-bit vectors (the `prefer-256-bit` tuning); turning it off lets the peak kernel use 512-bit ones."""
    env = dict(os.environ)
    if described["vector_bits"] == 512:
        env["NUMBA_CPU_NAME"] = described["llvm_cpu"]
        env["NUMBA_CPU_FEATURES"] = described["features"] + ",-prefer-256-bit"
    return env


def measure_machine(seconds: float = 1.0) -> dict:
    """The machine, described and measured (its kernels run for about `seconds`, plus their compilation)."""
    described = host()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    l2 = cache_bytes(2, 1 * MiB)
    dram = min(max(2 * cache_bytes(3, 32 * MiB), 64 * MiB), 1024 * MiB)  # (much larger than the last cache)
    lanes64 = described["vector_bits"] // 64
    command = [sys.executable, "-m", "neuro.measure.peaks", str(seconds), str(lanes64), str(cores), str(l2),
               str(dram)]
    done = subprocess.run(command, capture_output=True, text=True, env=widest_vectors_env(described))
    if done.returncode != 0:
        raise NeuroError(f"measuring the machine's peaks failed: {done.stderr.strip().splitlines()[-1:]}")
    peaks = json.loads(done.stdout.strip().splitlines()[-1])
    mhz = reported_mhz()
    return {"cpu": cpu_model(), "llvm_cpu": described["llvm_cpu"], "cores": cores,
            "instruction_sets": described["instruction_sets"], "vector_bits": described["vector_bits"],
            "reported_mhz": mhz, "l2_bytes": l2, "dram_array_bytes": dram, "seconds": seconds, **peaks,
            "peak_gflops": {dtype: {"one_core": 2 * rates["one_core"] / 1e9,
                                    "all_cores": 2 * (rates["all_cores"] or rates["one_core"]) / 1e9}
                            for dtype, rates in peaks["fma_per_s"].items()},
            "formula_gflops": {dtype: formula_gflops(cores, mhz, described["vector_bits"] // bits)
                               for dtype, bits in DTYPE_BITS.items()}}


def formula_gflops(cores: int, mhz: float | None, lanes: int) -> dict | None:
    """cores x clock x FMA units x lanes x 2 in GFLOP/s, for 1 and 2 FMA units per core; None without a clock."""
    if mhz is None:
        return None
    return {f"{units}_fma_units": cores * mhz / 1e3 * units * lanes * 2 for units in (1, 2)}


def peak_gflops(machine: dict, dtype: str, threads: int) -> float:
    """The measured compute peak for a rung on `threads` cores in `dtype`: the all-cores measurement where it uses
    them all, else its cores times the one-core measurement."""
    peak = machine["peak_gflops"][dtype]
    return peak["all_cores"] if threads >= machine["cores"] else threads * peak["one_core"]


def describe(machine: dict) -> list[str]:
    """The machine in lines a learner can recompute."""
    sets = [name for name, present in machine["instruction_sets"].items() if present]
    lines = [f"CPU: {machine['cpu']} (LLVM: {machine['llvm_cpu']}), {machine['cores']} cores; instruction sets: "
             f"{', '.join(sets) or 'none of ' + ', '.join(INSTRUCTION_SETS.values())}; widest vectors "
             f"{machine['vector_bits']} bits"]
    mhz = machine["reported_mhz"]
    for dtype, bits in DTYPE_BITS.items():
        rates, lanes = machine["fma_per_s"][dtype], machine["vector_bits"] // bits
        used = machine["fma_instructions"][dtype]
        asm = ", ".join(f"{count} on {reg}" for reg, count in used.items() if count) or "none found"
        one = rates["one_core"] / 1e9
        line = (f"FMA peak {dtype}: 1 core {one:,.2f} G FMA/s = {2 * one:,.1f} GFLOP/s (1 FMA = 2 flops)")
        if rates["all_cores"]:
            per = rates["all_cores"] / 1e9 / machine["cores"]
            line += (f"; {machine['cores']} cores x {per:,.2f} G FMA/s/core x 2 = {2 * per * machine['cores']:,.1f}"
                     " GFLOP/s")
        line += f"  [kernel's vfmadd instructions: {asm}]"
        lines.append(line)
        if mhz is None:
            lines.append(f"  formula: the clock is unknown here (no cpu MHz in /proc/cpuinfo), so cores x clock x "
                         f"FMA units x {lanes} lanes x 2 cannot be computed")
            continue
        formula = machine["formula_gflops"][dtype]
        best = machine["peak_gflops"][dtype]["all_cores"]
        lines.append(f"  formula: {machine['cores']} cores x {mhz / 1e3:g} GHz (reported clock; may differ under "
                     f"turbo) x FMA units x {lanes} lanes x 2 = {formula['1_fma_units']:,.1f} GFLOP/s with 1 unit, "
                     f"{formula['2_fma_units']:,.1f} with 2; measured {best:,.1f} = "
                     f"{100 * best / formula['1_fma_units']:,.0f}% / {100 * best / formula['2_fma_units']:,.0f}%")
    for level, name in (("l2", "L2"), ("dram", "DRAM")):
        bw = machine["bandwidth"][level]
        lines.append(f"Memory {name} ({bw['part_bytes'] / MiB:,.1f} MiB per core x {machine['cores']} cores): read "
                     f"{bw['read'] / 1e9:,.1f} GB/s, copy {bw['copy'] / 1e9:,.1f} GB/s (bytes read + written)")
    return lines

"""Facts read from the PTX of a CUDA rung's kernels: compiled here by numba-cuda, with no GPU needed.

PTX is the GPU's portable assembly, which the driver compiles to the card's own machine code when a kernel is
first loaded. numba-cuda compiles a kernel to PTX for a compute capability named in advance (`compile_ptx`, as
tests/test_cuda_ptx.py does), so its facts are those of the code for that capability, read before any GPU runs it:

    kernels(ptx)        the kernels (.entry) of a PTX listing, by name, and their lines
    loops(lines)        every loop: a label and the backward branch (bra) that returns to it
    facts(lines)        what a stretch of PTX does: FMAs, multiplies, adds, global and shared loads and stores,
                        barriers (bar.sync), exp
    hottest_loop(lines) the loop of the kernel's sum (the deepest innermost loop, then most FMAs), and its facts
    compile_rung(name, dtype, cc)  the PTX facts of every kernel a rung defines

What PTX does not say: how many hardware registers a thread gets (ptxas, the driver's compiler, assigns them;
the `.reg` lines declare virtual registers only), and so not the occupancy; nor how fast anything runs.
numba.cuda is either the simulator or the real target for a whole process, so where this process simulates,
`compile_rung` compiles in a subprocess without NUMBA_ENABLE_CUDASIM (`python -m neuro.measure.ptx RUNG DTYPE CC`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass

from neuro.measure import asm

DEFAULT_CC = (9, 0)
"""The compute capability the PTX is compiled for where no GPU says its own (9.0: an H100's)."""
COMPILE_SECONDS = 600
"""How long the compiling subprocess may take before compile_rung gives up on it."""

ENTRY = re.compile(r"^\.visible \.entry (\S+?)\(")
LABEL = re.compile(r"^(\$[\w$]+):")
BRANCH = re.compile(r"^\s*(?:@!?%p\d+\s+)?bra(?:\.uni)?\s+(\$[\w$]+);")
"""A branch; group 1 is its target."""
INSTRUCTION = re.compile(r"^\s*(@!?%p\d+\s+)?([a-z][\w.]*)")


@dataclass
class Facts:
    """What a stretch of PTX does; every count is of instructions (one thread's)."""

    instructions: int = 0
    fma: int = 0
    """fma.rn: a multiply and an add in one instruction, rounded once."""
    mul: int = 0
    add: int = 0
    """add and sub on floating-point numbers."""
    ld_global: int = 0
    st_global: int = 0
    ld_shared: int = 0
    st_shared: int = 0
    bar_sync: int = 0
    """Barriers: every thread of the block waits there for the others (cuda.syncthreads)."""
    exp: int = 0
    """ex2.approx: the hardware's 2^x, which an exp becomes."""

    def as_dict(self) -> dict:
        return asdict(self)


def kernels(ptx: str) -> dict[str, list[str]]:
    """Each kernel (.entry) of a PTX listing, by its (mangled) symbol, and the lines of its body."""
    result: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in ptx.splitlines():
        entry = ENTRY.match(line)
        if entry:
            current = result.setdefault(entry[1], [])
            continue
        if current is not None:
            if line.startswith("}"):
                current = None
                continue
            current.append(line)
    return result


def loops(lines: list[str]) -> list[asm.Loop]:
    """Every loop: a label and the branch (bra) after it that goes back to it (asm.loops, in PTX's syntax)."""
    return asm.loops(lines, LABEL, BRANCH)


def facts(lines: list[str]) -> Facts:
    """Count what the instructions among `lines` do."""
    result = Facts()
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith((".", "//", "{", "}", "$")):
            continue
        match = INSTRUCTION.match(line)
        if not match:
            continue
        opcode = match[2]
        result.instructions += 1
        floating = opcode.endswith((".f64", ".f32"))
        head = opcode.split(".")[0]
        if head == "fma" and floating:
            result.fma += 1
        elif head == "mul" and floating:
            result.mul += 1
        elif head in ("add", "sub") and floating:
            result.add += 1
        elif opcode.startswith("ld.global"):
            result.ld_global += 1
        elif opcode.startswith("st.global"):
            result.st_global += 1
        elif opcode.startswith("ld.shared"):
            result.ld_shared += 1
        elif opcode.startswith("st.shared"):
            result.st_shared += 1
        elif opcode.startswith("bar.sync"):
            result.bar_sync += 1
        elif opcode.startswith("ex2"):
            result.exp += 1
    return result


def hottest_loop(lines: list[str]) -> tuple[str, Facts] | None:
    """The loop that holds the kernel's sum: of the innermost loops that do floating-point arithmetic, the most
    deeply nested (held by the most loops), then the one with the most FMAs (then multiplies and adds), ties to
    the shorter; None if no loop does floating-point arithmetic. Depth comes first because the compiler also
    makes loops around no sum: a copy of the loop over samples whose FMAs are exp's polynomial (the sigmoid),
    or a loop of an unrolled block's stores, which hold more FMAs than the sum's loop nested deeper."""
    found = loops(lines)
    candidates = [(loop, facts(lines[loop.start : loop.end + 1])) for loop in asm.innermost(found)]
    candidates = [(loop, f) for loop, f in candidates if f.fma + f.mul + f.add]
    if not candidates:
        return None
    loop, hot = max(candidates, key=lambda item: (asm.depth(item[0], found), item[1].fma,
                                                  item[1].mul + item[1].add, -item[1].instructions))
    return loop.label, hot


def barriers_around(lines: list[str], label: str) -> int:
    """The bar.sync in the loop that holds loop `label` (a tile's loop, whose barriers fence the sum's loop
    nested in it), 0 where no loop holds it."""
    found = loops(lines)
    (loop,) = [one for one in found if one.label == label][:1]
    holders = [other for other in found if other.contains(loop)]
    if not holders:
        return 0
    holder = min(holders, key=lambda other: other.end - other.start)
    return facts(lines[holder.start : holder.end + 1]).bar_sync


def kernel_module(name: str):
    """The module of rung `name`'s kernels (backends/gpu/<rung>_kernels.py), or None for a rung with none."""
    try:
        return importlib.import_module(f"neuro.backends.gpu.{name.replace('-', '_')}_kernels")
    except ModuleNotFoundError:
        return None


def missing_compiler() -> str | None:
    """Why kernels cannot be compiled to PTX here, or None."""
    if importlib.util.find_spec("numba_cuda") is None:
        return "numba-cuda is not installed (the cuda extra: pip install -e '.[cuda]')"
    try:
        from cuda import pathfinder

        for library in ("nvrtc", "nvvm"):
            pathfinder.load_nvidia_dynamic_lib(library)
    except Exception as error:  # (ImportError, or the library not found)
        return f"NVIDIA's CUDA compiler libraries are not installed ({type(error).__name__}; the cuda extra)"
    return None


def _compile_here(name: str, dtype: str, cc: tuple[int, int] | None) -> dict:
    from numba import cuda

    if cc is None:
        cc = cuda.get_current_device().compute_capability if cuda.is_available() else DEFAULT_CC
    module = kernel_module(name)
    result = {"rung": name, "dtype": dtype, "cc": f"{cc[0]}.{cc[1]}", "kernels": []}
    signatures = module.ptx_signatures(dtype)
    for kernel_name, kernel in module.KERNELS.items():
        if kernel.py_func.__module__ != module.__name__:
            continue  # (taken from the rung before, e.g. gather_batch: its facts are that rung's)
        ptx, _ = cuda.compile_ptx(kernel.py_func, signatures[kernel_name], cc=cc)
        (lines,) = kernels(ptx).values()
        hot = hottest_loop(lines)
        virtual = {kind: int(count) for kind, count in re.findall(r"\.reg \.(\w+)\s+%\w+<(\d+)>;", ptx)}
        shared = sum(int(size) for size in re.findall(r"\.shared .*\[(\d+)\];", ptx))
        result["kernels"].append({"kernel": kernel_name, "loop": hot[0] if hot else None,
                                  "hottest_loop": hot[1].as_dict() if hot else None,
                                  "bar_sync_around": barriers_around(lines, hot[0]) if hot else 0,
                                  "whole_kernel": facts(lines).as_dict(), "virtual_registers": virtual,
                                  "shared_bytes": shared})
    return result


def compile_rung(name: str, dtype: str = "float64", cc: tuple[int, int] | None = None) -> dict:
    """The PTX facts of every kernel rung `name` defines, for compute capability `cc` (the GPU's, where there is
    one; else DEFAULT_CC): {"cc", "kernels": [...]} or {"error": why not}."""
    if kernel_module(name) is None:
        return {"error": f"{name} has no kernels of its own"}
    missing = missing_compiler()
    if missing:
        return {"error": missing}
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        return _compile_here(name, dtype, cc)
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_ENABLE_CUDASIM"}
    command = [sys.executable, "-m", "neuro.measure.ptx", name, dtype, f"{cc[0]}.{cc[1]}" if cc else ""]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=COMPILE_SECONDS)
    except subprocess.TimeoutExpired:
        return {"error": f"the PTX compilation took over {COMPILE_SECONDS} seconds and was stopped"}
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"error": f"the PTX compilation failed: {(lines or [f'exit code {done.returncode}'])[-1]}"}
    return json.loads(done.stdout)


if __name__ == "__main__":
    rung, dtype_name, capability = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
    wanted = tuple(int(part) for part in capability.split(".")) if capability else None
    print(json.dumps(_compile_here(rung, dtype_name, wanted)))

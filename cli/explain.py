"""`neuro explain RUNG`: what a rung changes, the diff of its code, and facts from the machine code it became here."""

from __future__ import annotations

import click

from neuro.backends import REGISTRY
from neuro.measure.explain import Explanation, explain, lanes_per_instruction, rung_name

from .common import emit_json, info, json_option, parse_dtypes


@click.command(name="explain")
@click.argument("rung")
@click.option("--dtype", default="float64", show_default=True, metavar="D",
              help="The dtype the machine code is compiled for: float64 or float32.")
@click.option("--no-machine-code", is_flag=True,
              help="Show the registry entry and the diff only (no compiling, no machine code).")
@json_option
def explain_command(rung, dtype, no_machine_code, as_json):
    """Show what RUNG changes, and the evidence for why it is faster.

    It prints what the rung changes and the rung it builds on (from the registry), the functions that differ
    from that rung as a unified diff of their source (new functions whole; the compiled functions taken over
    unchanged by name), and, for a compiled CPU rung, what the machine code that Numba makes for it on this
    machine does in the hottest loop of each function it defines: the vector registers it uses (xmm 128 bits,
    ymm 256, zmm 512), its fused multiply-adds, packed or scalar arithmetic, scalar adds, how exp is computed,
    and instructions per multiply-add. The functions are compiled afresh on a tiny case (seconds to a minute).
    For a GPU rung the diff covers its kernels (backends/gpu/<rung>_kernels.py) too, and the facts are read from
    the PTX of each kernel it defines, compiled here by numba-cuda for a compute capability (the GPU's, else 9.0)
    with no GPU needed: FMAs, global and shared loads and stores, and barriers in the hottest loop.

    \b
    Examples:
      neuro explain numba-reorder
      neuro explain numba-tiles --dtype float32
      neuro explain numba-blocks --no-machine-code
      neuro explain numba-loops --json
      neuro explain cuda-tiled
    """
    (dtype,) = parse_dtypes(dtype)[:1]
    rung = rung_name(rung)  # (an unknown name fails here, before anything is compiled)
    if not no_machine_code and REGISTRY[rung].module.startswith("gpu."):
        info(f"Compiling {rung}'s kernels to PTX...", quiet=True)
    elif not no_machine_code:
        info(f"Compiling {rung} afresh on a tiny case to read its machine code...", quiet=True)
    result = explain(rung, dtype, machine_code=not no_machine_code)
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(render(result, dtype))


def loop_summary(hot: dict, dtype: str) -> str:
    """What a loop's facts (neuro.measure.asm.Facts.as_dict) say, in one sentence."""
    width = hot["vector_width"]
    packed = hot["fma_packed"] + hot["muls_packed"] + hot["adds_packed"]
    lanes = lanes_per_instruction(width, dtype) if packed else 1
    per = hot["instructions_per_multiply_add"]
    cost = f"{per:.2f} per multiply-add" if per else "no multiply-add"
    return (f"{hot['register']} registers ({width} bits, {lanes} {dtype} per instruction); "
            f"FMAs {hot['fma_packed']} packed + {hot['fma_scalar']} scalar; multiplies {hot['muls_packed']} packed + "
            f"{hot['muls_scalar']} scalar; adds {hot['adds_packed']} packed + {hot['adds_scalar']} scalar "
            f"({hot['paired_adds']} adding a product); {hot['multiply_adds']} multiply-adds in {hot['instructions']} "
            f"instructions ({cost}); {hot['calls']} calls")


def _loop_line(entry: dict, dtype: str) -> str:
    hot = entry["hottest_loop"]
    if hot is None:
        whole = entry["whole_function"]
        return (f"  {entry['function']}: no loop with floating-point arithmetic; whole function: "
                f"{whole['instructions']} instructions, exp {whole['exp']}")
    return (f"  {entry['function']}: hottest loop {entry['loop']}: {loop_summary(hot, dtype)}; exp in the function: "
            f"{entry['whole_function']['exp']}")


def ptx_summary(hot: dict) -> str:
    """What a PTX loop's facts (neuro.measure.ptx.Facts.as_dict) say, in one sentence."""
    per = (f" ({hot['ld_global'] / hot['fma']:.2f} global and {hot['ld_shared'] / hot['fma']:.2f} shared loads per "
           "fma)") if hot["fma"] else ""
    return (f"{hot['fma']} fma.rn, {hot['mul']} mul, {hot['add']} add/sub; loads {hot['ld_global']} global + "
            f"{hot['ld_shared']} shared{per}, stores {hot['st_global']} global + {hot['st_shared']} shared; "
            f"{hot['bar_sync']} bar.sync; {hot['instructions']} instructions")


def _kernel_line(entry: dict) -> str:
    where = (f"hottest loop {entry['loop']}: {ptx_summary(entry['hottest_loop'])}, "
             f"{entry.get('bar_sync_around', 0)} bar.sync in the loop around it" if entry["hottest_loop"]
             else f"no loop with arithmetic; whole kernel: {ptx_summary(entry['whole_kernel'])}")
    return f"  {entry['kernel']}: {where}; shared memory {entry['shared_bytes']:,} bytes"


def render(result: Explanation, dtype: str) -> str:
    lines = [f"{result.rung}: {result.change}",
             f"builds on: {result.builds_on or 'nothing (the first rung)'}", ""]
    for change in result.functions:
        if change.kind == "inherited":
            lines.append(f"Compiled again unchanged from {change.origin}: {change.name}")
        elif change.kind == "new":
            lines += [f"New: {change.name}", change.text.rstrip()]
        elif change.kind == "taken":
            lines += [f"Taken from {change.origin}: {change.name}", change.text.rstrip()]
        else:
            lines += [f"Changed: {change.name}", change.text.rstrip()]
        lines.append("")
    if result.constants:
        lines += ["Constants changed: " + "; ".join(result.constants), ""]
    if result.machine_code:
        lines.append(f"Machine code ({result.machine_note}):")
        lines += [_loop_line(entry, dtype) for entry in result.machine_code]
    elif result.ptx.get("kernels"):
        lines.append(f"{result.machine_note}:")
        lines += [_kernel_line(entry) for entry in result.ptx["kernels"]]
        lines.append("  (the .reg lines of PTX declare virtual registers; ptxas, the driver's compiler, assigns the "
                     "hardware ones, and so the occupancy, which PTX does not show)")
    elif result.machine_note:
        lines.append(result.machine_note)
    return "\n".join(lines).rstrip()

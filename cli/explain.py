"""`neuro explain RUNG`: what a rung changes, the diff of its code, and facts from the machine code it became here."""

from __future__ import annotations

import click

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

    \b
    Examples:
      neuro explain numba-reorder
      neuro explain numba-tiles --dtype float32
      neuro explain numba-blocks --no-machine-code
      neuro explain numba-loops --json
    """
    (dtype,) = parse_dtypes(dtype)[:1]
    rung = rung_name(rung)  # (an unknown name fails here, before anything is compiled)
    if not no_machine_code:
        info(f"Compiling {rung} afresh on a tiny case to read its machine code...", quiet=True)
    result = explain(rung, dtype, machine_code=not no_machine_code)
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(render(result, dtype))


def _loop_line(entry: dict, dtype: str) -> str:
    hot = entry["hottest_loop"]
    if hot is None:
        whole = entry["whole_function"]
        return (f"  {entry['function']}: no loop with a multiply-add; whole function: {whole['instructions']} "
                f"instructions, exp {whole['exp']}")
    width = hot["vector_width"]
    lanes = lanes_per_instruction(width, dtype) if hot["fma_packed"] + hot["muls_packed"] else 1
    per = hot["instructions_per_multiply_add"]
    return (f"  {entry['function']}: hottest loop {entry['loop']}: {hot['register']} registers ({width} bits, "
            f"{lanes} {dtype} per packed instruction); {hot['fma_packed']} packed + {hot['fma_scalar']} scalar FMAs,"
            f" {hot['muls_packed']} packed + {hot['muls_scalar']} scalar multiplies, {hot['adds_scalar']} scalar adds;"
            f" {hot['multiply_adds']} multiply-adds in {hot['instructions']} instructions ({per:.2f} per "
            f"multiply-add); exp in the function: {entry['whole_function']['exp']}")


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
    elif result.machine_note:
        lines.append(result.machine_note)
    return "\n".join(lines).rstrip()

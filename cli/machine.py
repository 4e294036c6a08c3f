"""`neuro machine`: this machine's CPU, the instruction sets LLVM sees, and its peaks, measured."""

from __future__ import annotations

import click

from neuro.measure.machine import describe, measure_machine

from .common import emit_json, finite, info, json_option

SECONDS_HELP = ("Time spent running the peak kernels, all of them together (their compilation comes on top, a few "
                "seconds the first time).")


@click.command()
@click.option("--seconds", "machine_seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.05, max=60),
              callback=finite, help=SECONDS_HELP)
@json_option
def machine(machine_seconds, as_json):
    """Measure this machine's limits: multiply-adds per second per core and on all cores (per dtype), and memory
    bandwidth from L2 and from DRAM.

    The peaks are measured by small Numba kernels (neuro/measure/peaks.py), never looked up: many independent
    chains of fused multiply-adds at the widest vectors LLVM sees on this CPU (the assembly is read to count its
    vfmadd instructions), and reading and copying arrays of L2's size and much larger than the last cache. Each
    line can be recomputed by hand; `neuro ladder` prints them too and measures every rung against them.

    \b
    Examples:
      neuro machine
      neuro machine --seconds 3 --json
    """
    info("Measuring this machine's peaks...", quiet=as_json)
    measured = measure_machine(machine_seconds)
    if as_json:
        emit_json(measured)
    else:
        click.echo("\n".join(describe(measured)))

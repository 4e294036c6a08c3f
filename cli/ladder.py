"""`neuro ladder`: every rung of the ladder in order, validated then timed, with its gain over the rung it builds on
and its distance from this machine's measured peak."""

from __future__ import annotations

import platform
from dataclasses import dataclass

import click
import numpy as np

from neuro.backends import backend_status
from neuro.measure.ablation import ablation_table
from neuro.measure.bench import check_measurements_fit
from neuro.measure.ladder import RungResult, add_gains, climb, plan
from neuro.measure.machine import describe, measure_machine
from neuro.support.interrupts import interrupt_on_signals

from .common import (
    emit_json,
    finite,
    info,
    json_option,
    parse_dtypes,
    parse_sizes,
    progress_bar,
)
from .options import grouped, layers_option


@dataclass(frozen=True)
class Pictures:
    """The PNGs a ladder run may draw: the ladder's bars, and its roofline."""

    plot_path: str | None
    roofline_path: str | None


@dataclass(frozen=True)
class Output:
    """How the ladder reports: a Markdown table, JSON, and whether it also times each idea taken out."""

    markdown: bool
    ablate: bool
    as_json: bool

MULTIPLIER = "x"


@click.command()
@click.option("--backends", "names", default=None, metavar="A,B",
              help="Rungs to run (default: all). They keep their places and numbers on the ladder.")
@layers_option("Layer sizes of the network, input to output.")
@click.option("--batch-size", default=10, show_default=True, type=click.IntRange(min=1), help="Mini-batch size.")
@click.option("--dtype", "dtypes", default="float64,float32", show_default=True, metavar="D[,D]",
              help="float64, float32, or both.")
@click.option("--seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.01), callback=finite,
              help="Time spent measuring each rung (twice that for a rung on several cores: once on one thread).")
@grouped("pictures", Pictures,
         click.option("--plot", "plot_path", default=None, metavar="FILE.png",
                      help="Draw the ladder (log scale, each bar's gain on it) into this PNG (needs the plot extra)."),
         click.option("--roofline", "roofline_path", default=None, metavar="FILE.png",
                      help="Draw the roofline of this run (each rung's GFLOP/s against its flops per byte, under "
                           "the machine's measured compute and bandwidth roofs) into this PNG (needs the plot "
                           "extra)."))
@click.option("--machine-seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.05, max=60),
              callback=finite, help="Time spent measuring the machine's peaks before the rungs (see neuro machine).")
@grouped("options", Output,
         click.option("--markdown", is_flag=True, help="Print the table as Markdown."),
         click.option("--ablate", is_flag=True,
                      help="Also time each rung that bundles several ideas with each idea taken out in turn (after "
                           "the ladder, in a table of its own and under \"ablation\" in --json)."),
         json_option)
def ladder(names, layers, batch_size, dtypes, seconds, pictures, machine_seconds, options):
    """Climb the ladder: each rung validated against the reference, then timed training the same network.

    Every rung builds on the one before (the registry in neuro/backends says which) and changes one idea; the
    table shows what it changed, its training throughput, the GFLOP/s that makes (flops per sample counted from
    the network, neuro/measure/flops.py) as a share of this machine's peak measured first (neuro machine), and
    its gain over the rung it builds on and over python: ratios of the figures shown, all measured in this one
    run. A rung on several cores shows its one-thread figure beside it (BLAS held to one thread too).
    Rungs that cannot run here are listed and not timed (CUDA under the simulator is never timed). The machine
    may be busy with other work: compare the ratios of one run, and rerun for a second opinion.

    \b
    Examples:
      neuro ladder                                            # the classic network, batch 10
      neuro ladder --backends numpy,numba-loops,numba-reorder --dtype float64
      neuro ladder --layers 784,1024,1024,10 --batch-size 256 --backends numpy,numba-team,numba
      neuro ladder --markdown                                 # the table for a document
      neuro ladder --plot ladder.png
      neuro ladder --roofline roofline.png                    # the rungs of this run under the machine's roofs
      neuro ladder --backends numba-blocks,numba-tiles,numba-team --ablate   # what each idea is worth
    """
    plot_path, roofline_path = pictures.plot_path, pictures.roofline_path
    markdown, as_json, ablate = options.markdown, options.as_json, options.ablate
    sizes = parse_sizes(layers)
    wanted_dtypes = parse_dtypes(dtypes)
    chosen = [n.strip() for n in names.split(",") if n.strip()] if names else None
    rows = plan(chosen, wanted_dtypes)  # (an unknown rung fails here, before anything is timed)
    for path in (plot_path, roofline_path):
        if path:
            from neuro.show.charts import prepare_plot

            prepare_plot(path)
    info(f"Ladder on {'-'.join(map(str, sizes))}, batch {batch_size}, on {platform.processor() or platform.machine()}"
         f" (numpy {np.__version__}); about {seconds:g} s per rung.", quiet=as_json or markdown)
    check_measurements_fit([(name, dtype, sizes, batch_size) for _, name, dtype in rows
                            if backend_status(name).available], "timing")
    machine = measure_machine(machine_seconds)
    info("\n".join(describe(machine)), quiet=as_json or markdown)
    results: list[RungResult] = []
    interrupted = None
    with progress_bar(len(rows), "Climbing", show=not (as_json or markdown)) as bar:
        def on_row(row: RungResult) -> None:
            results.append(row)
            bar.update(1)

        try:
            with interrupt_on_signals():
                climb(rows, sizes, batch_size, seconds, on_row=on_row, machine=machine)
        except KeyboardInterrupt as stop:  # (Ctrl-C or SIGTERM: keep the rungs timed so far)
            interrupted = stop
            add_gains(results)
            info(f"Interrupted: {len(results)} of {len(rows)} rows were measured; they follow.",
                 quiet=as_json or markdown)
    ablation = []
    if ablate and interrupted is None:
        ablation, interrupted = _ablate(chosen, wanted_dtypes, sizes, batch_size, seconds, quiet=as_json or markdown)
    if plot_path and (interrupted is None or any(r.timed for r in results)):  # (interrupted: draw what was timed)
        from neuro.show.charts import plot_ladder

        plot_ladder(results, plot_path)
        info(f"Saved the plot to {plot_path}", quiet=as_json or markdown)
    if roofline_path and any(r.timed for r in results):
        from neuro.show.roofline import plot_roofline

        plot_roofline(results, machine, roofline_path)
        info(f"Saved the roofline to {roofline_path}", quiet=as_json or markdown)
    if as_json:
        emit_json({"layers": sizes, "batch_size": batch_size, "seconds": seconds, "machine": machine,
                   "architecture": platform.machine(),
                   "numpy": np.__version__, "rungs": [r.as_dict() for r in results],
                   "interrupted": interrupted is not None,
                   **({"ablation": [r.as_dict() for r in ablation]} if ablate else {})})
    else:
        click.echo(markdown_table(results) if markdown else text_table(results))
        if ablate:
            click.echo("\n" + ablation_table(ablation, markdown))
    if interrupted is not None:
        raise SystemExit(getattr(interrupted, "exit_status", 130))
    if any(r.timed and not r.validated for r in results) or any(r.validated is False for r in ablation):
        raise click.ClickException("some rungs disagree with the reference: their timings mean nothing")


def _ablate(chosen, dtypes, sizes, batch_size, seconds, quiet):
    """The ablation rows of the rungs chosen (see neuro.measure.ablation), and the interruption that cut them short."""
    from neuro.measure.ablation import ablate, ablations

    rows: list = []
    with progress_bar(len(ablations(chosen)) * len(dtypes), "Ablating", show=not quiet) as bar:
        def on_row(row) -> None:
            rows.append(row)
            bar.update(1)

        try:
            with interrupt_on_signals():
                ablate(dtypes, sizes, batch_size, seconds, chosen, on_row=on_row)
        except KeyboardInterrupt as stop:
            info(f"Interrupted: {len(rows)} ablation rows were measured; they follow.", quiet=quiet)
            return rows, stop
    return rows, None


def _gain(value: float | None, over: str | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}{MULTIPLIER} {over}" if over else f"{value:,.1f}{MULTIPLIER}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _flops(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def _columns(r: RungResult) -> list[str]:
    if not r.timed:
        return [str(r.rung), r.backend, r.dtype, "-", "-", "-", "-", "-", "-", f"{r.change} [not timed: {r.why_not}]"]
    change = r.change + "".join(f" ({note})" for note in r.notes) + ("" if r.validated else " [WRONG]")
    percent = "-" if r.percent_of_peak is None else f"{r.percent_of_peak:.2g}%" if r.percent_of_peak < 10 \
        else f"{r.percent_of_peak:.0f}%"
    return [str(r.rung), r.backend, r.dtype, _rate(r.train_samples_per_s), _rate(r.single_thread_samples_per_s),
            _flops(r.gflops), percent, _gain(r.vs_previous, r.builds_on), _gain(r.vs_python, None), change]


HEADER = ["#", "rung", "dtype", "train/s", "1 thread", "GFLOP/s", "of peak", "vs the rung it builds on", "vs python",
          "what changed"]


def text_table(results: list[RungResult]) -> str:
    rows = [HEADER] + [_columns(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    right = {0, 3, 4, 5, 6, 8}
    lines = ["  ".join(cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             + "  " + row[-1] for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("train/s: training samples per second, validated against the reference first; 1 thread: the same "
                 "rung on one core (BLAS on one thread too); GFLOP/s: flops per sample x train/s; of peak: of the "
                 "measured peak for the dtype on the rung's cores; the gains are ratios of the train/s shown.")
    return "\n".join(lines)


def markdown_table(results: list[RungResult]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---:", "---", "---", "---:", "---:", "---:", "---:",
                                                              "---:", "---:", "---"]) + "|"]
    for r in results:
        cells = _columns(r)
        cells[1] = f"`{cells[1]}`"
        if r.builds_on and r.vs_previous is not None:
            cells[7] = f"{r.vs_previous:,.1f}{MULTIPLIER} `{r.builds_on}`"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


"""`neuro bench`: backends timed over networks and batch sizes (sweeps), validated then measured, as a table or JSON.
(`neuro ladder` climbs the rungs in order on one network, with their gains.)"""

from __future__ import annotations

import platform

import click
import numpy as np

from neuro.backends import available_backends, get_backend
from neuro.measure.bench import EPOCH_IMAGES, add_speedups, check_measurements_fit, measure
from neuro.support.interrupts import interrupt_on_signals

from .common import (
    CLASSIC_LAYERS,
    apply_threads,
    emit_json,
    finite,
    info,
    json_option,
    parse_dtypes,
    parse_int_list,
    parse_sizes,
    progress_bar,
    threads_option,
)


@click.command()
@click.option("--backends", "names", default=None, metavar="A,B",
              help="Backends to measure, in order (default: every available one).")
@click.option("--layers", "layer_specs", multiple=True, metavar="SIZES",
              help=f"Network to measure (default {CLASSIC_LAYERS}); repeat the option, or separate networks "
                   "with ';', for a sweep.")
@click.option("--batch-size", "batch_sizes", default="10", show_default=True, metavar="M[,M...]",
              help="Mini-batch size, or a comma-separated list for a sweep.")
@click.option("--dtype", "dtypes", default="float64", show_default=True, metavar="D[,D...]",
              help="float64, float32, or both as 'float64,float32'.")
@threads_option
@click.option("--seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.01), callback=finite,
              help="Time spent measuring each throughput.")
@click.option("--plot", "plot_path", default=None, metavar="FILE.png",
              help="Draw the ladder (training samples/s, log scale, speedups on the bars) into this PNG "
                   "(needs the plot extra).")
@json_option
def bench(names, layer_specs, batch_sizes, dtypes, seconds, threads, plot_path, as_json):
    """Measure training and forward throughput of backends over networks and batch sizes.

    Every backend is first checked against the reference on a small case, then timed on resident random
    data. Slow backends are timed on a bounded number of steps and their epoch time is extrapolated
    (marked with ~). Speedups are over the python backend on the same network and batch size.

    \b
    Examples:
      neuro bench                                          # classic network, batch 10, every backend
      neuro ladder                                         # the rungs in order, with their gains
      neuro bench --backends numpy,numba --batch-size 1,10,100,1000
      neuro bench --layers 784,16,16,10 --layers 784,1024,1024,10 --batch-size 256
      neuro bench --plot ladder.png                        # the ladder as a bar chart
    """
    chosen = [n.strip() for n in names.split(",")] if names else available_backends()
    specs = [part for spec in (layer_specs or (CLASSIC_LAYERS,)) for part in spec.split(";") if part.strip()]
    networks = [parse_sizes(spec) for spec in specs]
    batches = parse_int_list(batch_sizes, "--batch-size")
    wanted_dtypes = parse_dtypes(dtypes)
    if plot_path:  # fail now, not after the measurements
        from neuro.show.charts import prepare_plot

        prepare_plot(plot_path)
    plan = []
    for name in chosen:
        backend = get_backend(name)
        apply_threads(backend, threads, strict=False)
        for dtype in wanted_dtypes:
            if dtype not in backend.dtypes:
                info(f"Skipping {name} in {dtype}: it computes in {', '.join(backend.dtypes)} only.", quiet=as_json)
                continue
            plan.extend((name, dtype, layers, m) for layers in networks for m in batches)

    info(f"Benchmark on {platform.processor() or platform.machine()}, numpy {np.__version__}; "
         f"about {seconds:g} s per measurement.", quiet=as_json)
    check_measurements_fit(plan)
    results = []
    host_x = None
    interrupted = None
    with progress_bar(len(plan), "Measuring", show=not as_json) as bar:
        try:
            with interrupt_on_signals():
                for name, dtype, layers, m in plan:
                    result = measure(name, dtype, layers, m, seconds=seconds, host_x=host_x)
                    results.append(result)
                    bar.update(1)
        except KeyboardInterrupt as stop:  # (Ctrl-C or SIGTERM: keep what was measured)
            interrupted = stop
    add_speedups(results)
    if interrupted is not None:
        info(f"Interrupted: {len(results)} of {len(plan)} measurements were made; they follow.", quiet=as_json)
    if plot_path and results:  # (a run interrupted before its first measurement has nothing to draw)
        from neuro.show.charts import plot_bench

        plot_bench(results, plot_path)
        info(f"Saved the plot to {plot_path}", quiet=as_json)

    if as_json:
        emit_json({"epoch_images": EPOCH_IMAGES, "results": [r.as_dict() for r in results],
                   "interrupted": interrupted is not None})
        _exit_if(interrupted)
        return
    header = (f"{'backend':<8} {'dtype':<8} {'layers':<20} {'batch':>6} {'train/s':>12} {'forward/s':>12} "
              f"{'epoch':>10} {'vs python':>10} {'compile':>8}  valid")
    click.echo(header)
    click.echo("-" * len(header))
    for r in results:
        epoch = ("~" if r.epoch_extrapolated else "") + _duration(r.epoch_seconds)
        speedup = f"{r.speedup_vs_python:,.1f}x" if r.speedup_vs_python else "-"
        click.echo(f"{r.backend:<8} {r.dtype:<8} {'-'.join(map(str, r.layers)):<20} {r.batch_size:>6} "
                   f"{r.train_samples_per_s:>12,.0f} {r.forward_samples_per_s:>12,.0f} {epoch:>10} "
                   f"{speedup:>10} {r.compile_seconds:>7.2f}s  {'yes' if r.validated else 'NO'}")
    click.echo(f"train/s, forward/s: samples per second; epoch: {EPOCH_IMAGES:,} images "
               "(~: extrapolated from a bounded sample); compile: first-call overhead.")
    _exit_if(interrupted)
    if not all(r.validated for r in results):
        raise click.ClickException("some backends disagree with the reference: their timings mean nothing")


def _exit_if(interrupted: BaseException | None) -> None:
    """Exit with 130 (Ctrl-C) or 143 (SIGTERM) after an interrupted run has shown what it measured."""
    if interrupted is not None:
        raise SystemExit(getattr(interrupted, "exit_status", 130))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"

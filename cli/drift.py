"""`neuro drift`: the same network trained side by side on several backends, and how far apart they end."""

from __future__ import annotations

import click

from neuro.backends import get_backend
from neuro.cli.progress import PrintedProgress
from neuro.costs import COSTS
from neuro.data import load_dataset
from neuro.measure.drift import drift
from neuro.settings import RunSettings

from .common import (
    data_option,
    dtype_option,
    emit_json,
    info,
    json_option,
    parse_int_list,
    parse_sizes,
    progress_bar,
)
from .options import grouped, layers_option


@click.command()
@click.option("--backends", "names", default="python,numpy,numba", show_default=True, metavar="A,B,...",
              help="Backends to train side by side; the first is the one the others are compared with.")
@click.option("--steps", default="1,10,100,1000,6000", show_default=True, metavar="N,N,...",
              help="After how many gradient steps to compare the parameters (6000 steps of 10 images: one "
                   "epoch of the 60,000 training images).")
@grouped("run", lambda layers, batch_size, eta, cost, dtype, seed: RunSettings(
    eta=eta, batch_size=batch_size, cost=cost, seed=seed, layers=tuple(parse_sizes(layers)), dtype=dtype),
    layers_option(),
    click.option("--batch-size", default=10, show_default=True, type=click.IntRange(min=1),
                 help="Images per mini-batch (m)."),
    click.option("--eta", default=3.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
                 help="Learning rate: w -= eta/m * nabla_w."),
    click.option("--cost", type=click.Choice(list(COSTS)), default="quadratic", show_default=True,
                 help="The cost minimised."),
    dtype_option,
    click.option("--seed", default=0, show_default=True, type=int,
                 help="Seed for the initial weights and the shuffling, the same for every backend."),
)
@data_option
@json_option
def drift_command(names, steps, run, data, as_json):
    """Show why backends end apart: same start, same mini-batches, rounding amplified by SGD.

    Every backend computes each step within rounding of the reference (`neuro agree`), but each step starts
    from the weights the last one left, so last-bit differences grow over thousands of steps. This trains one
    network per backend side by side and prints, after each number of steps, the largest difference of any
    weight or bias from the first backend's; at the end, each network's test accuracy.

    \b
    Examples:
      neuro drift                                   # python, numpy, numba over one epoch (python takes ~40 s)
      neuro drift --backends numpy,numba --steps 1,100,10000,60000
      neuro drift --backends numba-loops,numba-reorder --dtype float32
    """
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    for name in chosen:
        get_backend(name)  # a clear error for an unknown or unavailable backend, before any work
    sizes, batch_size, eta, cost, seed, dtype = list(run.layers), run.batch_size, run.eta, run.cost, run.seed, run.dtype
    checkpoints = parse_int_list(steps, "--steps")
    dataset = load_dataset(data, on_progress=PrintedProgress())
    info(f"Network {sizes}, {dtype}, batch {batch_size}, eta {eta}, {cost} cost, seed {seed}: the same initial "
         f"parameters and the same mini-batches of {len(dataset.train_labels)} {dataset.name} images on "
         f"{', '.join(chosen)}.", quiet=as_json)
    with progress_bar(max(checkpoints), "Training side by side", show=not as_json) as bar:
        result = drift(chosen, sizes, dataset, checkpoints, batch_size=batch_size, eta=eta, cost=cost, seed=seed,
                       dtype=dtype, on_steps=bar.update)
    others = [name for name in chosen if name != result.reference]
    if as_json:
        emit_json({
            "layers": sizes, "dtype": dtype, "batch_size": batch_size, "eta": eta, "cost": cost, "seed": seed,
            "data": dataset.name, "reference": result.reference,
            "max_abs_diff": [{"steps": p.steps, **p.max_abs_diff} for p in result.points],
            "test_accuracy": result.accuracy, "test_cost": result.cost, "disagreement": result.disagreement,
        })
        return
    width = max(12, *(len(name) for name in others))
    click.echo(f"Largest difference of any weight or bias from {result.reference}'s, after each number of steps:")
    click.echo(f"{'steps':>8} " + " ".join(f"{name:>{width}}" for name in others))
    for point in result.points:
        click.echo(f"{point.steps:>8,} " + " ".join(f"{point.max_abs_diff[name]:>{width}.1e}" for name in others))
    accuracies = ", ".join(f"{name} {result.accuracy[name]:.2%}" for name in chosen)
    click.echo(f"Test accuracy after {result.points[-1].steps:,} steps: {accuracies}.")
    for name in others:
        click.echo(f"{name}'s network labels {result.disagreement[name]:.1%} of the test images differently "
                   f"from {result.reference}'s.")

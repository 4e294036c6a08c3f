"""`neuro agree`: one random network and mini-batch through every available backend, compared with the reference."""

from __future__ import annotations

import click

from neuro.backends import available_backends, get_backend
from neuro.costs import COSTS
from neuro.measure.agreement import check_every_way, random_case
from neuro.support.memory import check_fits_in_memory, estimate_training

from .common import emit_json, finite, json_option, parse_sizes
from .options import layers_option

LEGEND = """\
quantity: the outputs, the gradient nabla_w and nabla_b of the first mini-batch, the weights and biases after one
step (w_1, b_1) and after all the steps (w_n, b_n). max abs diff: the largest |backend - reference| over the
quantity's numbers. max rel diff: the largest of those differences divided by the reference's value; it is large
where a value is tiny (a gradient entry near 0, summed in float32 from terms a million times larger), so it does
not decide. diff/bound: each difference divided by the rounding error the oracle allows that very number
(neuro/measure/agreement.py); this decides, and must be at most 1."""


@click.command()
@layers_option("Layer sizes of the random network, input to output.")
@click.option("--batch-size", default=10, show_default=True, type=click.IntRange(min=1), help="Samples per mini-batch.")
@click.option("--steps", default=3, show_default=True, type=click.IntRange(min=1), help="Gradient steps to compare.")
@click.option("--weight-scale", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              callback=finite,
              help="Standard deviation of the random weights and biases (large values saturate the sigmoid).")
@click.option("--cost", type=click.Choice(list(COSTS)), default="quadratic", show_default=True,
              help="The cost whose gradient is compared.")
@click.option("--backends", "names", default=None, metavar="A,B", help="Backends to check (default: all available).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed for the random network, inputs and targets: the same case for every backend.")
@json_option
def agree(layers, batch_size, steps, weight_scale, cost, names, seed, as_json):
    """Check that every backend computes the same outputs, gradients and updated parameters.

    Each backend runs, in each dtype it supports and each way it may run its steps (one thread or a team,
    compiled loops or BLAS), the same random network and mini-batches; the results are compared with an
    independent float64 reference, within a bound on the rounding error that a correct backend can make (see
    neuro/measure/agreement.py). Exits with status 1 when any quantity exceeds its bound.
    """
    sizes = parse_sizes(layers)
    chosen = [n.strip() for n in names.split(",")] if names else available_backends()
    for name in chosen:  # (before any work: every backend known and available, every case fitting in memory)
        backend = get_backend(name)  # a clear error for an unknown or unavailable backend
        for dtype in backend.dtypes:
            # (the case's random data, and the float64 reference's copy of it)
            estimate = estimate_training(backend, dtype, sizes, 2 * batch_size * steps, 0, batch_size)
            check_fits_in_memory(estimate, f"checking {'-'.join(map(str, sizes))} in {dtype} on {name}",
                                 advice="use smaller --layers or --batch-size")
    results = []
    for name in chosen:
        backend = get_backend(name)
        for dtype in backend.dtypes:
            case = random_case(sizes, batch_size, seed=seed, weight_scale=weight_scale, cost=cost,
                               dtype=dtype, steps=steps)
            results.extend(check_every_way(name, case))
    ok = all(c.ok for c in results)
    if as_json:
        emit_json({
            "ok": ok,
            "layers": sizes,
            "batch_size": batch_size,
            "cost": cost,
            "results": [
                {"backend": c.backend, "dtype": c.dtype, "quantity": c.quantity, "max_abs": c.max_abs,
                 "max_rel": c.max_rel, "error_over_bound": c.worst, "ok": c.ok}
                for c in results
            ],
        })
    else:
        click.echo(f"Network {sizes}, batch {batch_size}, {steps} steps, {cost} cost, weight scale {weight_scale}")
        width = max(len("backend"), *(len(c.backend) for c in results))
        click.echo(f"{'backend':<{width}} {'dtype':<8} {'quantity':<9} {'max abs diff':>13} {'max rel diff':>13} "
                   f"{'diff/bound':>11}")
        for c in results:
            flag = "" if c.ok else "  <-- exceeds the bound"
            click.echo(f"{c.backend:<{width}} {c.dtype:<8} {c.quantity:<9} {c.max_abs:>13.3e} {c.max_rel:>13.3e} "
                       f"{c.worst:>11.3g}{flag}")
        click.echo(LEGEND)
        click.echo("All backends agree: every diff/bound is at most 1." if ok
                   else "Some backends disagree with the reference: a diff/bound above 1.")
    if not ok:
        raise SystemExit(1)

"""`neuro evaluate MODEL`: accuracy, accuracy per digit and the confusion matrix on the test images."""

from __future__ import annotations

import click

from neuro.backends import get_backend
from neuro.cli.progress import PrintedProgress
from neuro.data import dataset_sizes, load_dataset
from neuro.evaluation import evaluate as evaluate_network
from neuro.model import load_model
from neuro.support.memory import check_fits_in_memory, estimate_training
from neuro.training import check_fits

from .common import backend_option, data_option, emit_json, json_option


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@backend_option
@data_option
@json_option
def evaluate(model, backend, data, as_json):
    """Evaluate a saved MODEL (.npz from `neuro train --save`) on the test images."""
    saved = load_model(model)
    chosen = get_backend(backend)
    n_train, n_test, _ = dataset_sizes(data)
    # (the loader holds the training images too)
    check_fits_in_memory(estimate_training(chosen, saved.dtype, saved.sizes, 0, n_test, 1, n_train + n_test),
                         f"evaluating {'-'.join(map(str, saved.sizes))} on the {chosen.name} backend")
    network = saved.network(backend=chosen)
    dataset = load_dataset(data, on_progress=PrintedProgress())
    check_fits(network, dataset)
    result = evaluate_network(network, dataset.test_images, dataset.test_labels, saved.cost)
    per_digit = result.per_digit_accuracy
    if as_json:
        emit_json({
            "model": model,
            "layers": saved.sizes,
            "backend": network.backend.name,
            "data": dataset.name,
            "test_images": len(dataset.test_labels),
            "accuracy": result.accuracy,
            "cost": result.cost,
            "accuracy_per_digit": [None if v != v else float(v) for v in per_digit],
            "confusion": result.confusion,
        })
        return
    click.echo(f"{model}: {network}, trained with the {saved.cost} cost")
    click.echo(f"Test accuracy {result.accuracy:.2%} on {len(dataset.test_labels)} {dataset.name} images, "
               f"mean cost {result.cost:.4f}")
    click.echo("Accuracy per digit: " + "  ".join(f"{d}: {v:.1%}" for d, v in enumerate(per_digit)))
    click.echo("Confusion matrix (rows: true digit, columns: the network's answer):")
    n = result.confusion.shape[0]
    click.echo("      " + "".join(f"{j:>6}" for j in range(n)))
    for i, row in enumerate(result.confusion):
        click.echo(f"{i:>6}" + "".join(f"{v:>6}" for v in row))

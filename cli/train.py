"""`neuro train`: train a network by mini-batch SGD, report each epoch, optionally save it."""

from __future__ import annotations

import time

import click

from neuro.data import load_dataset
from neuro.model import save_model
from neuro.network import INITS, Network
from neuro.training import EpochReport, TrainingSettings, sgd

from .common import (
    CLASSIC_LAYERS,
    apply_threads,
    backend_option,
    data_option,
    dtype_option,
    emit_json,
    info,
    json_option,
    parse_sizes,
    progress_bar,
    threads_option,
)


@click.command()
@backend_option
@data_option
@click.option("--layers", default=CLASSIC_LAYERS, show_default=True, help="Layer sizes, input to output.")
@click.option("--epochs", default=10, show_default=True, type=int, help="Passes over the training images.")
@click.option("--batch-size", default=10, show_default=True, type=int, help="Images per mini-batch (m).")
@click.option("--eta", default=3.0, show_default=True, type=float, help="Learning rate: w -= eta/m * nabla_w.")
@click.option("--cost", type=click.Choice(["quadratic", "cross-entropy"]), default="quadratic",
              show_default=True, help="The cost minimised.")
@dtype_option
@click.option("--init", type=click.Choice(list(INITS)), default="classic", show_default=True,
              help="Initial weights: classic N(0,1), or scaled N(0,1/n_in).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for the initial weights and shuffling.")
@click.option("--limit", type=int, default=None, metavar="N", help="Train on the first N training images only.")
@threads_option
@click.option("--save", "save_path", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Save the trained model (.npz) here.")
@click.option("--plot", "plot_path", default=None, metavar="FILE.png",
              help="Draw test accuracy and cost per epoch into this PNG (needs the plot extra).")
@json_option
def train(backend, data, layers, epochs, batch_size, eta, cost, dtype, init, seed, limit, threads, save_path,
          plot_path, as_json):
    """Train a network on the digits and report test accuracy after every epoch.

    \b
    Examples:
      neuro train                                  # 784-16-16-10 on the built-in digits, numpy backend
      neuro train --epochs 3 --save model.npz
      neuro train --backend python --limit 2000 --epochs 1
      neuro train --data mnist --cost cross-entropy --eta 0.5
      neuro train --plot curve.png                 # accuracy and cost per epoch as a picture
    """
    settings = TrainingSettings(epochs=epochs, batch_size=batch_size, eta=eta, cost=cost, seed=seed).check()
    sizes = parse_sizes(layers)
    if plot_path:  # fail now, not after the training
        from neuro.plots import prepare_plot

        prepare_plot(plot_path)
    network = Network(sizes, backend=backend, dtype=dtype, seed=seed, init=init)
    apply_threads(network.backend, threads)
    dataset = load_dataset(data, limit=limit)
    n_train = len(dataset.train_labels)
    info(f"Training {network} on {n_train} {dataset.name} images, testing on {len(dataset.test_labels)}; "
         f"{epochs} epochs, batch {batch_size}, eta {eta}, {cost} cost.", quiet=as_json)

    started = time.perf_counter()
    with progress_bar(epochs * n_train, "Training", show=not as_json) as bar:
        def on_epoch(report: EpochReport) -> None:
            rate = n_train / report.seconds if report.seconds > 0 else float("inf")
            line = (f"Epoch {report.epoch:>3}/{epochs}: test accuracy {report.test_accuracy:7.2%}, "
                    f"cost {report.test_cost:.4f}, {report.seconds:.2f} s ({rate:,.0f} samples/s)")
            # Print above the bar without garbling it: move to a fresh line first.
            click.echo(("" if bar.hidden else "\r\033[K") + line, err=as_json)

        reports = sgd(network, dataset, settings, on_epoch=on_epoch, on_batch=bar.update)
    total = time.perf_counter() - started

    if save_path:
        save_model(network, save_path, cost=cost)
        info(f"Saved the model to {save_path}", quiet=as_json)
    if plot_path:
        from neuro.plots import plot_training

        plot_training(reports, plot_path, title=f"{network.sizes} on {dataset.name}: after each epoch")
        info(f"Saved the plot to {plot_path}", quiet=as_json)
    final = reports[-1]
    info(f"Final test accuracy {final.test_accuracy:.2%} after {epochs} epochs in {total:.1f} s.", quiet=as_json)
    if as_json:
        emit_json({
            "backend": network.backend.name,
            "dtype": dtype,
            "layers": sizes,
            "epochs": epochs,
            "batch_size": batch_size,
            "eta": eta,
            "cost": cost,
            "data": dataset.name,
            "train_images": n_train,
            "test_accuracy": final.test_accuracy,
            "test_accuracy_per_epoch": [r.test_accuracy for r in reports],
            "test_cost_per_epoch": [r.test_cost for r in reports],
            "epoch_seconds": [r.seconds for r in reports],
            "train_seconds": sum(r.seconds for r in reports),
            "saved": save_path,
        })

"""`neuro train`: train a network by mini-batch SGD, report each epoch, optionally save it; continue a saved run.

Everything that can be checked is checked before the data is loaded: the numbers, the paths to write, and whether
the network and the data fit in memory. With `--save` the model (and its training record, `neuro.model`) is
written after every finished epoch, so a crash loses at most the epoch in progress; Ctrl-C or SIGTERM stops at the
end of a mini-batch, keeps the last finished epoch, and exits with 130 or 143 (`neuro.support.interrupts`).
"""

from __future__ import annotations

import time

import click
import numpy as np

from neuro.backends import get_backend
from neuro.cli.progress import PrintedProgress
from neuro.data import dataset_sizes, load_dataset
from neuro.model import SavedModel, TrainingRecord, load_model, save_model
from neuro.network import Network
from neuro.settings import RunSettings
from neuro.support.errors import NeuroError
from neuro.support.files import check_writable, remove_stale_parts
from neuro.support.interrupts import stop_on_signals
from neuro.support.memory import check_fits_in_memory, estimate_training
from neuro.training import EpochReport, TrainingDiverged, TrainingStopped, compile_backend, sgd

from .common import (
    apply_threads,
    backend_option,
    data_option,
    emit_json,
    info,
    json_option,
    progress_bar,
    threads_option,
)
from .options import given_on_command_line, run_options


@click.command()
@backend_option
@data_option
@run_options(epochs_help=" (with --resume: how many more)")
@threads_option
@click.option("--save", "save_path", type=click.Path(), default=None, metavar="PATH",
              help="Save the model (.npz) here after every epoch: an interrupted run keeps its last epoch.")
@click.option("--resume", "resume_path", type=click.Path(), default=None, metavar="MODEL",
              help="Continue training MODEL (saved by --save) for --epochs more epochs, with its settings.")
@click.option("--plot", "plot_path", default=None, metavar="FILE.png",
              help="Draw test accuracy and cost per epoch into this PNG (needs the plot extra).")
@json_option
def train(backend, run, epochs, threads, save_path, resume_path, plot_path, as_json):
    """Train a network on the digits and report test accuracy after every epoch.

    Ctrl-C (or SIGTERM) stops at the end of the mini-batch in progress; with --save, the last finished epoch is
    in the file, and `--resume` continues from it exactly as if the run had not stopped.

    \b
    Examples:
      neuro train                                  # 784-16-16-10 on the built-in digits, numpy backend
      neuro train --epochs 3 --save model.npz
      neuro train --resume model.npz --epochs 5 --save model.npz    # 5 more epochs
      neuro train --backend python --limit 2000 --epochs 1
      neuro train --data mnist --cost cross-entropy --eta 0.5
      neuro train --plot curve.png                 # accuracy and cost per epoch as a picture
    """
    saved = None
    if resume_path:
        saved = load_model(resume_path)
        run = _resumed_settings(run, saved, resume_path)
    settings = run.training(epochs)
    run.check()
    eta, batch_size, cost, seed, data, limit, dtype = (run.eta, run.batch_size, run.cost, run.seed, run.data,
                                                       run.limit, run.dtype)
    sizes = list(run.layers)
    if save_path:  # fail now, not after the training
        check_writable(save_path, "the model")
    if plot_path:
        from neuro.show.charts import prepare_plot

        prepare_plot(plot_path)
    chosen = get_backend(backend)
    n_train, n_test, _ = dataset_sizes(data, limit)
    n_loaded = sum(dataset_sizes(data)[:2])  # (the loader holds the whole data set, --limit or not)
    check_fits_in_memory(estimate_training(chosen, dtype, sizes, n_train, n_test, batch_size, n_loaded),
                         f"training {'-'.join(map(str, sizes))} in {dtype} on the {chosen.name} backend")
    if save_path:
        remove_stale_parts(save_path)

    if saved is not None:
        if saved.sizes != sizes:
            raise NeuroError(f"{resume_path}'s training record says layers {sizes} but the model has layers "
                             f"{saved.sizes}")
        network = saved.network(backend=chosen, dtype=dtype)
        record = saved.training
        shuffler, history = record.shuffler(), list(record.history)
    else:
        network = Network(sizes, backend=chosen, dtype=dtype, seed=seed, init=run.init)
        shuffler, history = np.random.default_rng(seed), []
    apply_threads(network.backend, threads)
    dataset = load_dataset(data, limit=limit, on_progress=PrintedProgress())
    n_train = len(dataset.train_labels)
    done = len(history)
    last = done + epochs

    def record_after(report: EpochReport) -> TrainingRecord:
        history.append(TrainingRecord.entry(report))
        return TrainingRecord.after(history, run, shuffler)

    started = time.perf_counter()
    stopped = None
    # (the handlers stay until the command ends: a second Ctrl-C while it finishes stops at once)
    with stop_on_signals(compiles=network.backend.compiles) as stop:
        info(f"{'Continuing' if saved else 'Training'} {network} on {n_train} {dataset.name} images, testing "
             f"on {len(dataset.test_labels)}; {_epochs(done + 1, last)}, batch {batch_size}, eta {eta}, "
             f"{cost} cost.", quiet=as_json)
        if network.backend.compiles:
            info(f"Compiling the {network.backend.name} backend's functions for {dtype} (Numba keeps them on disk, "
                 "so a later run only loads them) ...", quiet=as_json)
            seconds = compile_backend(network, dataset, batch_size, cost)
            info(f"Compiled in {seconds:.1f} s; the epochs' times and samples/s below do not include it.",
                 quiet=as_json)
        with progress_bar(epochs * n_train, "Training", show=not as_json) as bar:

            def on_epoch(report: EpochReport) -> None:
                rate = n_train / report.seconds if report.seconds > 0 else float("inf")
                line = (f"Epoch {report.epoch:>3}/{last}: test accuracy {report.test_accuracy:7.2%}, "
                        f"cost {report.test_cost:.4f}, {report.seconds:.2f} s ({rate:,.0f} samples/s)")
                # Print above the bar without garbling it: move to a fresh line first.
                click.echo(("" if bar.hidden else "\r\033[K") + line, err=as_json)
                record = record_after(report)
                if save_path:
                    try:
                        save_model(network, save_path, cost=cost, training=record)
                    except NeuroError as error:
                        held = f"it holds epoch {report.epoch - 1}" if report.epoch > done + 1 else "nothing new"
                        raise NeuroError(f"{error}: training stopped after epoch {report.epoch} ({held})") from None

            try:
                sgd(network, dataset, settings, on_epoch=on_epoch, on_batch=bar.update, should_stop=stop,
                    shuffler=shuffler, first_epoch=done + 1)
            except TrainingStopped as stop_signal:
                stopped = stop_signal
            except TrainingDiverged as error:
                kept = f"; {save_path} keeps epoch {len(history)}" if save_path and len(history) > done else ""
                raise NeuroError(f"{error}{kept}") from None
        total = time.perf_counter() - started
        reports = [EpochReport(h["epoch"], h["test_accuracy"], h["test_cost"], h["seconds"]) for h in history]

        if stopped is not None:
            finished = len(history) - done
            if save_path and finished:
                where = (f"saved epoch {len(history)} to {save_path}; continue with "
                         f"`neuro train --resume {save_path} --save {save_path} --epochs {last - len(history)}`")
            elif save_path:
                where = f"no epoch had finished, {save_path} was left as it was"
            else:
                where = "nothing was saved (no --save)"
            info(f"Stopped by {stop.name} during epoch {len(history) + 1}: {where}.", quiet=as_json)
        elif save_path:
            info(f"Saved the model to {save_path}", quiet=as_json)
        if plot_path and reports:
            from neuro.show.charts import plot_training

            plot_training(reports, plot_path, title=f"{network.sizes} on {dataset.name}: after each epoch")
            info(f"Saved the plot to {plot_path}", quiet=as_json)
        if reports and stopped is None:
            info(f"Final test accuracy {reports[-1].test_accuracy:.2%} after {len(reports)} "
                 f"epoch{'s' if len(reports) != 1 else ''} in {total:.1f} s.",
                 quiet=as_json)
        if as_json:
            emit_json({
                "backend": network.backend.name,
                "dtype": dtype,
                "layers": sizes,
                "epochs": len(reports),
                "batch_size": batch_size,
                "eta": eta,
                "cost": cost,
                "data": dataset.name,
                "train_images": n_train,
                "test_accuracy": reports[-1].test_accuracy if reports else None,
                "test_accuracy_per_epoch": [r.test_accuracy for r in reports],
                "test_cost_per_epoch": [r.test_cost for r in reports],
                "epoch_seconds": [r.seconds for r in reports],
                "train_seconds": sum(r.seconds for r in reports),
                "saved": save_path if save_path and len(history) > done else None,
                "resumed": resume_path,
                "interrupted": stopped is not None,
            })
        if stopped is not None:
            stop.exit()


def _epochs(first: int, last: int) -> str:
    """'epoch 3', or 'epochs 1 to 10'."""
    return f"epoch {first}" if first == last else f"epochs {first} to {last}"


def _resumed_settings(run: RunSettings, saved: SavedModel, path: str) -> RunSettings:
    """The settings of a resumed run: the model's, or a NeuroError for an option given that contradicts them."""
    if saved.training is None:
        raise NeuroError(f"{path} has no training record (it was saved before `--resume` existed, or not by "
                         "`neuro train`): train it again with --save to be able to resume")
    return run.continued_from(saved.training.settings, given_on_command_line(*RunSettings.RESUMED), path)

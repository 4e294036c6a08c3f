"""`neuro serve [MODEL]`: a local web page to draw a digit on and watch the network think (or learn)."""

from __future__ import annotations

import sys
import webbrowser
from typing import NamedTuple

import click
import numpy as np

from neuro.backends import get_backend
from neuro.cli.progress import PrintedProgress
from neuro.data import N_PIXELS, dataset_sizes, load_dataset
from neuro.model import TrainingRecord, load_model, save_model
from neuro.network import Network
from neuro.settings import RunSettings
from neuro.support.errors import NeuroError
from neuro.support.files import check_writable
from neuro.support.interrupts import shutdown_on_signals
from neuro.support.memory import check_fits_in_memory, estimate_training
from neuro.training import EpochReport, check_fits, compile_backend

from .common import backend_option, finite, progress_bar
from .options import given_on_command_line, grouped, run_options

DEFAULT_PORT = 8000
TRAIN_OPTIONS = ("layers", "epochs", "batch_size", "eta", "cost", "init", "seed", "limit", "save_path")
"""The options that only --train uses: given without it, they are an error, not silently ignored."""


class Listen(NamedTuple):
    """Where the page is served: --port, --host, and whether to --open it in a browser."""

    port: int
    host: str
    allowed_hosts: tuple[str, ...]
    open_browser: bool


class RaceOrder(NamedTuple):
    """What --race races: the rungs as given (None: no race) and --race-seconds (None: the default budget)."""

    rungs: str | None
    seconds: float | None


class Browse(NamedTuple):
    """What to serve without --train: MODEL (None: the quick model), the --data and --dtype given (None: the
    model's)."""

    model: str | None
    data: str | None
    dtype: str | None


class LiveRun(NamedTuple):
    """What --train trains: the run's settings, for how many epochs, and where to --save it (None: nowhere)."""

    run: RunSettings
    epochs: int
    save_path: str | None


def info(message: str) -> None:
    """A line for the person at the terminal, on stderr: standard output holds only the `Serving on` line."""
    click.echo(message, err=True)


@click.command()
@click.argument("model", required=False)
@grouped(
    "listen", Listen,
    click.option("--port", "-p", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
                 help="Port to listen on; 0 picks a free one."),
    click.option("--host", default="127.0.0.1", show_default=True,
                 help="Address to listen on. Anything but loopback lets other machines use the page (with a "
                      "warning)."),
    click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME",
                 help="A host name the page may be reached by besides loopback names and IP addresses "
                      "(repeatable), e.g. the machine's name on the network; requests naming any other host are "
                      "refused (403)."),
    click.option("--open", "open_browser", is_flag=True, help="Open the page in the default web browser."),
)
@backend_option
@click.option("--data", default=None, metavar="SOURCE",
              help="The test set to browse (and to train on with --train): 'synthetic', 'mnist' or a folder of IDX "
                   "files. Default: the one the model was trained on when its file records it, else synthetic.")
@click.option("--train", "live", is_flag=True,
              help="Train a new network in the background and watch it learn (with the options below).")
@grouped(
    "race", RaceOrder,
    click.option("--race", "rungs", default=None, is_flag=False, flag_value="cpu", metavar="RUNGS",
                 help="Race the same network from the same seed on the same mini-batches on several rungs, each in "
                      "its own process, side by side on the page (with the options below): e.g. "
                      "python,numpy,numba-loops,numba, or a rung's file; 'cpu' (or --race alone): every CPU rung "
                      "that runs here."),
    click.option("--race-seconds", "seconds", type=click.FloatRange(min=0, min_open=True), default=None,
                 metavar="S", callback=finite,
                 help="--race: the race's wall-clock budget in seconds. Default: 60, unless --epochs is given."),
)
@run_options(prefix="--train, --race: ", dtype_default=None)
@click.option("--save", "save_path", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="--train: save the model (.npz) here after every epoch, as `neuro train --save` does.")
def serve(model, listen, backend, live, race, run, epochs, save_path):
    """Serve a page where you draw a digit and watch the network think: every layer lights up.

    The page (at the printed URL) has a drawing pad; as you draw, the server centres the drawing as
    `neuro predict` centres an image file, runs it through the network on the chosen backend, and the page
    shows every neuron's activation and the answer. Click a neuron to see its incoming weights; step through
    the test images, the network's mistakes first. Without MODEL a quick model (784-16-16-10, a few epochs on
    the numpy backend) is trained first, once, and cached beside the data. With --train a new network learns
    in the background while the page shows its test accuracy and first-layer weights, epoch by epoch.

    With --race the same network learns on several rungs at once, a process each, and the page draws every
    lane's samples per second and test accuracy against time; at the end, each rung's samples/s and its ratio
    to the rung it builds on, measured in that race.

    Stop it with Ctrl-C. The page needs no internet: everything it loads comes from this server.

    \b
    Examples:
      neuro serve                               # the quick model on http://127.0.0.1:8000/
      neuro serve model.npz --open --backend numba
      neuro serve --train --epochs 5 --save model.npz
      neuro serve --race python,numpy,numba-loops,numba --limit 2000
      neuro serve --port 0                      # any free port (the URL line says which)
    """
    from neuro.show.charts import require_pillow

    require_pillow()  # the drawing is centred as `neuro predict` centres an image: with Pillow
    if sum((model is not None, live, race.rungs is not None)) > 1:
        raise NeuroError("give a MODEL to serve, --train to train a new one or --race to race rungs: one of them")
    given = given_on_command_line(*TRAIN_OPTIONS, "data", "dtype")
    if race.rungs is not None or race.seconds is not None:
        if given_on_command_line("backend"):
            raise NeuroError("--backend is not used by --race: name the rungs to race in --race")
        return _serve_race(listen, race, run, epochs, "epochs" in given, save_path)
    if not live:
        train_only = [name for name in given if name in TRAIN_OPTIONS]
        if train_only:
            option = "--" + train_only[0].removesuffix("_path").replace("_", "-")
            raise NeuroError(f"{option} is an option of --train (training a new network); without --train it "
                             "would do nothing")
    backend_instance = get_backend(backend)
    server = _listening(listen)
    try:
        browse = Browse(model, run.data if "data" in given else None, run.dtype if "dtype" in given else None)
        _serve(server, backend_instance, browse, listen.open_browser, LiveRun(run, epochs, save_path) if live else None)
    finally:
        server.server_close()


def _serve_race(listen: Listen, race: RaceOrder, run: RunSettings, epochs: int, epochs_given: bool,
                save_path: str | None) -> None:
    """`neuro serve --race`: its options checked before anything starts, then the race served (serve_race.py)."""
    from .serve_race import race_budget, race_rungs, serve_race

    if race.rungs is None:
        raise NeuroError("--race-seconds is an option of --race (racing rungs); without --race it would do nothing")
    if save_path is not None:
        raise NeuroError("--save is an option of --train: a race keeps no model")
    rungs = race_rungs(race.rungs)
    race_epochs, seconds = race_budget(epochs, race.seconds, epochs_given)
    server = _listening(listen)
    try:
        serve_race(server, rungs, run, race_epochs, seconds, listen.open_browser)
    finally:
        server.server_close()


def _listening(listen: Listen):
    """The page's server, its port taken now: a busy port is an error before any data is loaded or model trained."""
    from neuro.serve.server import PageServer, is_loopback

    host, port = listen.host, listen.port
    try:
        server = PageServer((host, port), allowed_hosts=listen.allowed_hosts)
    except OSError as error:
        raise NeuroError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    if not is_loopback(host):
        click.echo(f"Warning: --host {host} is not a loopback address: anyone who can reach this machine on port "
                   f"{server.server_address[1]} and has the token in the printed URL can use the page.", err=True)
    return server


def _serve(server, backend_instance, browse: Browse, open_browser: bool, live: LiveRun | None) -> None:
    """Load (or make) the network (`browse.model`, or trained `live`), print the URL, and answer requests until
    Ctrl-C."""
    from neuro.serve.api import Api
    from neuro.serve.live import LiveTraining
    from neuro.serve.served import ImagesToBrowse, ServedNetwork
    from neuro.serve.turns import TurnLock

    if live:
        run, epochs, save_path = live
        settings = run.training(epochs)
        run.check()
        if save_path:
            check_writable(save_path, "the model")
        sizes, dtype, spec, batch_size, cost = list(run.layers), run.dtype, run.data, run.batch_size, run.cost
        check_draws_digits(sizes, "the network's")
        n_train, n_test, _ = dataset_sizes(spec, run.limit)
        check_fits_in_memory(estimate_training(backend_instance, dtype, sizes, n_train, n_test, batch_size,
                                               sum(dataset_sizes(spec)[:2])),
                             f"training {'-'.join(map(str, sizes))} in {dtype} on the {backend_instance.name} backend")
        network = Network(sizes, backend=backend_instance, dtype=dtype, seed=run.seed, init=run.init)
        dataset = load_dataset(spec, limit=run.limit, on_progress=PrintedProgress())
        check_fits(network, dataset)
        if network.backend.compiles:  # (so that the first drawing is not kept waiting by the first stretch)
            info(f"Compiling the {network.backend.name} backend's training for {dtype} ...")
            info(f"Compiled in {compile_backend(network, dataset, batch_size, cost):.1f} s.")
        weights, biases = network.parameters()
        dtype = network.dtype
        source = f"training {network.sizes} live on {spec}"
    else:
        saved, spec, dataset, source = _model_to_serve(browse.model, browse.data)
        weights, biases, dtype = saved.weights, saved.biases, browse.dtype or saved.dtype

    served = ServedNetwork(weights, biases, backend_instance, dtype,
                           ImagesToBrowse(spec, dataset.test_images, dataset.test_labels), TurnLock())
    served.answer(np.zeros(N_PIXELS))  # warms up (compiles) the backend's forward pass before the URL is shown

    training, history, failures = None, [], []
    if live:
        shuffler = np.random.default_rng(run.seed)  # sgd's shuffling, whose state the saved record keeps

        def on_epoch(report: EpochReport) -> None:
            history.append(TrainingRecord.entry(report))
            if save_path:
                save_model(network, save_path, cost=cost, training=TrainingRecord.after(history, run, shuffler))
            saved_note = f", saved to {save_path}" if save_path else ""
            info(f"Epoch {report.epoch:>3}/{epochs}: test accuracy {report.test_accuracy:7.2%}, "
                 f"cost {report.test_cost:.4f}, {report.seconds:.2f} s{saved_note}")
            if report.epoch == epochs:
                info("Training done; the page shows the trained network until Ctrl-C.")

        def on_error(error: Exception) -> None:
            failures.append(error)
            info(f"Error: training stopped: {error}. The page goes on showing the network as it was.")

        training = LiveTraining(network, dataset, settings, served, on_epoch=on_epoch, on_error=on_error,
                                shuffler=shuffler)

    server.api = Api(served, {"source": source}, training)
    click.echo(f"Serving on {server.url}")
    sys.stdout.flush()
    info(f"{served.sizes} on the {backend_instance.name} backend ({served.dtype}); {source}; test images from "
         f"{spec}. Ctrl-C stops it.")
    if training is not None:
        training.start()
    if open_browser:
        webbrowser.open(server.url)
    stopped = None
    try:
        with shutdown_on_signals(server):  # Ctrl-C or SIGTERM: stop serving, and training between two stretches
            server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt as signal_stop:
        stopped = signal_stop
    finally:
        if training is not None:
            training.stop()
    if training is not None and len(history) < live.epochs and not failures:
        save_path = live.save_path
        kept = (f"saved epoch {len(history)} to {save_path}; continue with `neuro train --resume {save_path} "
                f"--save {save_path} --epochs {live.epochs - len(history)}`" if save_path and history else
                "no epoch had finished" if save_path else "nothing was saved (no --save)")
        info(f"Stopped during epoch {len(history) + 1}: {kept}.")
        raise SystemExit(getattr(stopped, "exit_status", 130))
    info("Stopped.")
    if failures:
        raise SystemExit(1)


def check_draws_digits(sizes: list[int], whose: str) -> None:
    """A NeuroError unless the input layer takes a 28×28 drawing."""
    if sizes[0] != N_PIXELS:
        raise NeuroError(f"{whose} input layer has {sizes[0]} neurons but the page draws 28×28 = {N_PIXELS} pixels")


def _model_to_serve(model: str | None, data: str | None):
    """(saved model, data spec, data set, where the model came from): MODEL's file, or the cached quick model."""
    if model is not None:
        saved = load_model(model)
        check_draws_digits(saved.sizes, "the model's")
        # (the data set the model was trained on, when its file records one)
        spec = data or (saved.training.data if saved.training is not None else "synthetic")
        return saved, spec, load_dataset(spec, on_progress=PrintedProgress()), model

    from neuro.serve.quick import QUICK_SETTINGS, quick_model, quick_model_path, quick_samples

    spec = data or "synthetic"
    dataset = load_dataset(spec, on_progress=PrintedProgress())
    cached = quick_model_path(spec).is_file()
    if not cached:
        info(f"Training a quick model on {spec} (once; it is cached in {quick_model_path(spec).parent})")
    with progress_bar(quick_samples(dataset), "Quick model", show=not cached) as bar:
        saved, path = quick_model(dataset, spec, on_batch=bar.update)
    info(f"The quick model: {path}")
    return saved, spec, dataset, f"a quick model ({QUICK_SETTINGS.epochs} epochs on {spec})"

"""`neuro serve --race RUNGS`: the same network learning on several rungs side by side, each in its own process,
watched live on the page; at the end, each rung's samples/s and its ratio to the rung it builds on."""

from __future__ import annotations

import sys
import webbrowser

import click
import numpy as np

from neuro.backends import REGISTRY, available_backends, get_backend, rung_info
from neuro.cli.progress import PrintedProgress
from neuro.data import N_PIXELS, dataset_sizes, load_dataset
from neuro.settings import RunSettings
from neuro.support.errors import NeuroError
from neuro.support.interrupts import shutdown_on_signals

DEFAULT_SECONDS = 60.0
WARM_UP = np.pad(np.ones((8, 4)), ((10, 10), (12, 12))).ravel()
"""A drawing (a bar) that warms every rung's forward pass up before the race."""
EVERY_CPU_RUNG = "cpu"
"""`--race cpu` (or `--race` alone): every registered CPU rung that runs here, in the ladder's order."""


def info(message: str) -> None:
    click.echo(message, err=True)


def race_rungs(text: str) -> list[str]:
    """The rungs `--race` names, checked before anything starts: known (registered, an alias, or a rung's file),
    each once. A known rung that cannot run here is no error here: its lane shows why."""
    if text.strip() == EVERY_CPU_RUNG:
        rungs = [name for name in available_backends() if not REGISTRY[name].module.startswith("gpu.")]
        if not rungs:
            raise NeuroError("no CPU rung runs here")
        return rungs
    rungs = [name.strip() for name in text.split(",") if name.strip()]
    if not rungs:
        raise NeuroError(f"--race needs rungs separated by commas, like python,numpy,numba; got {text!r}")
    repeated = sorted({name for name in rungs if rungs.count(name) > 1})
    if repeated:
        raise NeuroError(f"--race names {', '.join(repeated)} more than once: give each rung once")
    for name in rungs:
        rung_info(name)  # a NeuroError for an unknown rung, or a rung file that is broken
    return rungs


def race_budget(epochs: int, seconds: float | None, epochs_given: bool) -> tuple[int | None, float | None]:
    """(epochs, seconds) the race runs: --epochs when given, --race-seconds when given, else DEFAULT_SECONDS."""
    if seconds is None and not epochs_given:
        seconds = DEFAULT_SECONDS
    return (epochs if epochs_given else None), seconds


def check_race_fits_in_memory(rungs: list[str], run: RunSettings) -> None:
    """A NeuroError before anything starts when the workers together (each holds its own copy of the data and its
    rung's buffers) would not fit in memory; a folder's files are checked on the way."""
    from neuro.support.memory import Estimate, check_fits_in_memory, estimate_training

    n_train, n_test, _ = dataset_sizes(run.data, run.limit)
    n_loaded = sum(dataset_sizes(run.data)[:2])
    parts = {}
    for rung in rungs:
        try:
            parts[rung] = estimate_training(get_backend(rung), run.dtype, list(run.layers), n_train, n_test,
                                            run.batch_size, n_loaded).total
        except NeuroError:
            continue  # a rung that cannot run here (or in this dtype): its lane says why
    check_fits_in_memory(Estimate(parts), f"racing {len(parts)} rungs, each worker holding its own data",
                         advice="race fewer rungs or use a smaller --limit")


def serve_race(server, rungs: list[str], run: RunSettings, epochs: int | None, seconds: float | None,
               open_browser: bool) -> None:
    """Start the race's workers, serve the page until Ctrl-C, stop every worker; exit 128 + the signal's number
    when the race was stopped before its end."""
    from neuro.serve.api import Api
    from neuro.serve.race import Race
    from neuro.serve.race_answers import RacedNetworks
    from neuro.serve.served import ImagesToBrowse, ServedNetwork
    from neuro.serve.turns import TurnLock

    run.training(epochs if epochs is not None else 1)  # (0 is refused, as by `neuro train --epochs 0`)
    run.check()
    if run.layers[0] != N_PIXELS:
        raise NeuroError(f"the network's input layer has {run.layers[0]} neurons but the page draws 28×28 = "
                         f"{N_PIXELS} pixels")
    check_race_fits_in_memory(rungs, run)
    dataset = load_dataset(run.data, limit=run.limit, on_progress=PrintedProgress())
    from neuro.network import Network
    from neuro.training import check_fits

    start = Network(list(run.layers), backend="numpy", dtype=run.dtype, seed=run.seed, init=run.init)
    check_fits(start, dataset)
    weights, biases = start.parameters()  # every lane's initial parameters (the same seed on every rung)
    test = ImagesToBrowse(run.data, dataset.test_images, dataset.test_labels)
    backends, unused = warmed_up_backends(rungs, run.dtype, weights, biases)
    if not backends:
        raise NeuroError(f"none of the raced rungs runs here in {run.dtype}: {', '.join(rungs)} "
                         f"(see `neuro backends`)")
    main_rung = next(iter(backends))  # the page's network: on a rung that computes in run.dtype
    main = ServedNetwork(weights, biases, backends[main_rung], run.dtype, test, TurnLock())
    raced: list[RacedNetworks] = []

    def on_change(lane) -> None:
        if lane.status == "failed":
            info(f"Error: the {lane.rung} lane failed: {lane.error}")
        if raced and raced[0].race.finished:
            info(race_summary(raced[0].race.state()))

    race = Race(rungs, run, epochs, seconds, on_epoch=lambda *a: raced[0].publish(*a), on_change=on_change)
    raced.append(RacedNetworks(race, main, main_rung, backends, unused))
    sizes = "-".join(map(str, run.layers))
    source = f"racing {sizes} on {', '.join(rungs)}; the page shows the lane that has trained the most epochs"
    server.api = Api(main, {"source": source}, race=raced[0])
    until = " or ".join(([f"{epochs} epoch{'s' if epochs != 1 else ''}"] if epochs else []) +
                         ([f"{seconds:g} s"] if seconds else []))
    race.start()
    try:
        click.echo(f"Serving on {server.url}")
        sys.stdout.flush()
        info(f"Racing {sizes} ({run.dtype}, batch {run.batch_size}, seed {run.seed}) on {', '.join(rungs)} for "
             f"{until}, each rung in its own process; test images from {run.data}. Ctrl-C stops it.")
        if open_browser:
            webbrowser.open(server.url)
        with shutdown_on_signals(server):
            server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt as stopped:
        finished = race.finished
        race.stop()
        info("Stopped." if finished else "Stopped the race before its end; every worker is stopped.")
        if not finished:
            raise SystemExit(getattr(stopped, "exit_status", 130)) from None
    finally:
        race.stop()


def warmed_up_backends(rungs: list[str], dtype: str, weights, biases) -> tuple[dict, dict[str, str]]:
    """The backends of the raced rungs that run here in `dtype`, their forward pass warmed up (compiled before the
    race, not during it); and, by rung, why each other one gives no answers in the server (its lane goes on, or
    says why it fails)."""
    from neuro.network import Network

    backends, unused = {}, {}
    for rung in rungs:
        try:
            backend = get_backend(rung)
            if dtype not in backend.dtypes:
                raise NeuroError(f"{rung} computes in {', '.join(backend.dtypes)}, not {dtype}")
            network = Network.from_parameters(list(weights), list(biases), backend=backend, dtype=dtype)
            network.activations(WARM_UP[np.newaxis, :])
        except Exception as error:  # noqa: BLE001 (any rung's failure is that rung's, not the server's)
            unused[rung] = str(error) if isinstance(error, NeuroError) else f"{type(error).__name__}: {error}"
            continue
        backends[rung] = backend
    return backends, unused


def race_summary(state: dict) -> str:
    """The race's end as lines: each rung's samples/s and its ratio to the rung it builds on, from this race."""
    lines = ["The race is over (a race shares the cores among its rungs: it is not `neuro ladder`):"]
    for row in state["table"] or []:
        ratio = f", {row['ratio']:,.1f}× {row['builds_on']}" if row["ratio"] is not None else ""
        lines.append(f"  {row['rung']:<16} {row['samples_per_second']:>12,.0f} samples/s{ratio}")
    for lane in state["lanes"]:
        if lane["status"] == "failed":
            lines.append(f"  {lane['rung']:<16} failed: {lane['error']}")
    return "\n".join(lines)

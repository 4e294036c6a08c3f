"""One lane of `neuro serve --race`: one rung training in a process of its own, reporting over a pipe.

Every lane builds the same network from the same seed (the same initial parameters, as `neuro drift` does) and
trains it with the same `neuro.training.sgd` as `neuro train`, on the same data and the same shuffled
mini-batches; only the rung differs. A process per rung, started by 'spawn' (Numba and threads do not survive a
fork), so that a slow rung never holds a fast one back and no two rungs share the GIL.

What the worker says, over its end of a duplex pipe, as (kind, fields):

    ("ready", {accuracy})            compiled and measured before any step: waiting for the start line
    ("progress", {samples, ...})     every REPORT_SECONDS or so, between two stretches of mini-batches
    ("epoch", {epoch, accuracy, ..., weights, biases})   after each epoch, with its test accuracy
    ("finished", {why, ...})         the epochs are done, the time is up, or it was told to stop
    ("failed", {error})              the rung cannot run here or raised: the message, shown on its lane

The parent says "go" once (every lane starts at once, after all have compiled) and "stop" at any time. The
numbers are the worker's own: `samples` it trained, `train_seconds` spent in the rung's training calls (not in
evaluating the test set), `seconds` since its start line. The worker stops by itself when its parent is gone
(its pipe reads end-of-file), so it never outlives a parent that was killed.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from neuro.settings import RunSettings

REPORT_SECONDS = 0.25
"""How often, at most, a lane reports its progress between two epochs."""
UNBOUNDED_EPOCHS = 10**9
"""The epochs of a race that ends by its time budget only."""


@dataclass(frozen=True)
class LaneOrders:
    """What one lane trains: the rung, the run's settings, and when it ends (`epochs` and/or `seconds`)."""

    rung: str
    run: RunSettings
    epochs: int | None
    seconds: float | None


def run_lane(orders: LaneOrders, pipe, parent: int) -> None:
    """The worker process's body: train `orders.rung` and report over `pipe` until done, told to stop, or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the whole process group: the parent decides
    try:
        _race(orders, pipe, parent)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the parent is gone: nothing to report to
    finally:
        pipe.close()


def _race(orders: LaneOrders, pipe, parent: int) -> None:
    from neuro.backends import get_backend
    from neuro.data import load_dataset
    from neuro.evaluation import evaluate
    from neuro.network import Network
    from neuro.support.errors import NeuroError
    from neuro.training import TrainingStopped, check_fits, compile_backend, sgd

    run = orders.run
    try:
        backend = get_backend(orders.rung)
        data = load_dataset(run.data, limit=run.limit)
        network = Network(list(run.layers), backend=backend, dtype=run.dtype, seed=run.seed, init=run.init)
        check_fits(network, data)
        if backend.compiles:
            compile_backend(network, data, run.batch_size, run.cost)
        before = evaluate(network, data.test_images, data.test_labels, run.cost)
    except Exception as error:
        pipe.send(("failed", {"error": _message(error, NeuroError)}))
        return
    pipe.send(("ready", {"accuracy": before.accuracy}))
    if pipe.recv() != "go":
        return
    clock = LaneClock(time.perf_counter())
    told_to_stop = []

    def should_stop() -> bool:
        if pipe.poll():  # "stop", or end-of-file when the parent died (recv raises EOFError)
            told_to_stop.append(pipe.recv())
        if told_to_stop or os.getppid() != parent:
            return True
        return orders.seconds is not None and clock.since_start() >= orders.seconds

    def on_batch(n_samples: int) -> None:
        clock.trained(n_samples)
        if clock.due_report():
            pipe.send(("progress", clock.fields()))

    def on_epoch(report) -> None:
        weights, biases = network.parameters()
        pipe.send(("epoch", clock.fields() | {"epoch": report.epoch, "accuracy": report.test_accuracy,
                                               "cost": report.test_cost, "weights": weights, "biases": biases}))
        clock.skip_evaluation()

    try:
        sgd(network, data, run.training(orders.epochs or UNBOUNDED_EPOCHS), on_epoch=on_epoch, on_batch=on_batch,
            should_stop=should_stop)
        why = "epochs"
    except TrainingStopped:
        why = "stopped" if told_to_stop else "time"
    except Exception as error:
        pipe.send(("failed", clock.fields() | {"error": _message(error, NeuroError)}))
        return
    pipe.send(("finished", clock.fields() | {"why": why}))


class LaneClock:
    """A lane's own counters: samples trained, seconds inside the rung's training calls, seconds since the start."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.mark = started  # the end of the last training call (or of the last evaluation)
        self.reported = started
        self.samples = 0
        self.train_seconds = 0.0

    def since_start(self) -> float:
        return time.perf_counter() - self.started

    def trained(self, n_samples: int) -> None:
        now = time.perf_counter()
        self.samples += n_samples
        self.train_seconds += now - self.mark
        self.mark = now

    def skip_evaluation(self) -> None:
        """The epoch's test was evaluated since the last call: that time is not training."""
        self.mark = time.perf_counter()

    def due_report(self) -> bool:
        now = time.perf_counter()
        if now - self.reported < REPORT_SECONDS:
            return False
        self.reported = now
        return True

    def fields(self) -> dict:
        return {"samples": self.samples, "train_seconds": self.train_seconds, "seconds": self.since_start()}


def _message(error: Exception, named: type) -> str:
    """A NeuroError's own message (it says it all); any other exception with its type's name."""
    return str(error) if isinstance(error, named) else f"{type(error).__name__}: {error}"

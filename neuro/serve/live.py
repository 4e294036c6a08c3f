"""`neuro serve --train`: the training loop in a background thread, watched by the page while it learns.

The thread runs the same `neuro.training.sgd` as `neuro train`, holding the server's turn lock for every
backend call. `sgd` calls `on_batch` between two stretches of mini-batches: there the parameters are whole
(no step half done), so that is where a copy of them is published for the page, and where the lock is let go
for a moment so that the page's waiting requests run. Stopping the server sets the event that `sgd` polls as
its `should_stop`, which ends it between two stretches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from neuro.data import Dataset
from neuro.evaluation import evaluate
from neuro.network import Network
from neuro.support.errors import NeuroError
from neuro.training import EpochReport, TrainingSettings, TrainingStopped, sgd

from .served import ServedNetwork


@dataclass
class Progress:
    """How far training has come: epochs done, samples of the running epoch, test accuracy and cost so far.

    `accuracy[0]` and `cost[0]` are those of the initial network, `accuracy[e]` after epoch e.
    """

    epochs: int
    samples_per_epoch: int
    epoch: int = 0
    samples: int = 0
    accuracy: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    finished: bool = False
    error: str | None = None


class LiveTraining:
    """Trains `network` on `data` in a thread, publishing its parameters to `served` between stretches."""

    def __init__(self, network: Network, data: Dataset, settings: TrainingSettings, served: ServedNetwork,
                 on_epoch: Callable[[EpochReport], None] | None = None,
                 on_error: Callable[[Exception], None] | None = None,
                 shuffler: np.random.Generator | None = None) -> None:
        self.network = network
        self.data = data
        self.settings = settings
        self.served = served
        self.on_epoch = on_epoch
        self.on_error = on_error
        self.shuffler = shuffler
        self.progress = Progress(settings.epochs, len(data.train_labels))
        self._progress_lock = threading.Lock()  # `state` reads an epoch's accuracy and its number together
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="neuro-training", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the training to stop at its next stretch boundary and wait for the thread to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def state(self) -> dict:
        """The progress as plain values for the API."""
        snapshot = self.served.snapshot
        with self._progress_lock:
            return self._state(self.progress, snapshot.version)

    @staticmethod
    def _state(p: Progress, version: int) -> dict:
        return {
            "training": True,
            "epochs": p.epochs,
            "epoch": p.epoch,
            "samples": p.samples,
            "samples_per_epoch": p.samples_per_epoch,
            "accuracy": list(p.accuracy),
            "cost": list(p.cost),
            "epoch_seconds": list(p.seconds),
            "finished": p.finished,
            "error": p.error,
            "version": version,
        }

    def _publish(self) -> None:
        weights, biases = self.network.parameters()
        self.served.publish(weights, biases, self.progress.epoch)

    def _on_batch(self, n_samples: int) -> None:
        self.progress.samples += n_samples
        self._publish()
        self.served.turns.let_others_in()

    def _on_epoch(self, report: EpochReport) -> None:
        p = self.progress
        with self._progress_lock:
            p.accuracy.append(report.test_accuracy)
            p.cost.append(report.test_cost)
            p.seconds.append(report.seconds)
            p.epoch, p.samples = report.epoch, 0
        self._publish()
        if self.on_epoch is not None:
            self.on_epoch(report)

    def _run(self) -> None:
        turns = self.served.turns
        turns.acquire()
        try:
            start = evaluate(self.network, self.data.test_images, self.data.test_labels, self.settings.cost)
            self.progress.accuracy.append(start.accuracy)
            self.progress.cost.append(start.cost)
            sgd(self.network, self.data, self.settings, on_epoch=self._on_epoch, on_batch=self._on_batch,
                should_stop=self._stop.is_set, shuffler=self.shuffler)
        except TrainingStopped:
            pass
        except Exception as error:  # shown on the page and, by `on_error`, in the terminal; the server goes on
            named = isinstance(error, NeuroError)  # (a NeuroError's message says it all, e.g. a divergence)
            self.progress.error = str(error) if named else f"{type(error).__name__}: {error}"
            if self.on_error is not None:
                self.on_error(error)
        finally:
            self.progress.finished = True
            turns.release()

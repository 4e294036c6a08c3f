"""Mini-batch stochastic gradient descent: the training loop, the same for every backend.

Each epoch shuffles the training images (from the seed), cuts them into mini-batches of `batch_size`, and
asks the backend for one gradient step per mini-batch: w -= eta/m * nabla_w, b -= eta/m * nabla_b, a stretch of
mini-batches per call (neuro/stretches.py). The images, their desired outputs and the shuffled order stay in the
backend's storage for the whole run; a mini-batch is only a range [start, stop) of the order. After each epoch
the test set is evaluated and reported.

A run can be continued: the shuffling generator is handed in (`shuffler`) and its state saved with the model, so
N epochs then M more give the same parameters, bit for bit, as N + M epochs in one go. A run can be stopped: a
`should_stop` check is polled after every call of the backend (between mini-batches, never in the middle of a
step) and `sgd` then raises `TrainingStopped`. `sgd` installs no signal handlers: it may run in any thread.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neuro.costs import check_cost
from neuro.data import Dataset, one_hot
from neuro.evaluation import evaluate_outputs, outputs_of
from neuro.network import Network
from neuro.stretches import Stretches
from neuro.support.errors import NeuroError

MAX_BATCH = 2**31 - 1
"""The largest mini-batch: its sample indices must fit the 32-bit counters of compiled backends."""


@dataclass(frozen=True)
class EpochReport:
    """What one epoch achieved: test accuracy and mean test cost after it, and its training time."""

    epoch: int
    test_accuracy: float
    test_cost: float
    seconds: float


@dataclass(frozen=True)
class TrainingSettings:
    """The hyper-parameters of a training run."""

    epochs: int = 10
    batch_size: int = 10
    eta: float = 3.0
    cost: str = "quadratic"
    seed: int = 0

    def check(self) -> TrainingSettings:
        """These settings, or a NeuroError naming the first one that cannot work."""
        if self.epochs < 1:
            raise NeuroError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise NeuroError(f"the batch size must be at least 1, got {self.batch_size}")
        if self.batch_size > MAX_BATCH:
            raise NeuroError(f"the batch size must be at most {MAX_BATCH:,}, got {self.batch_size}")
        if not (self.eta > 0 and math.isfinite(self.eta)):
            raise NeuroError(f"the learning rate eta must be positive and finite, got {self.eta}")
        check_cost(self.cost)
        return self


class TrainingStopped(Exception):
    """Training stopped between two mini-batches because `should_stop` said so; `reports` are the epochs that
    finished before (the network's parameters are part-way through the next one)."""

    def __init__(self, reports: list[EpochReport]) -> None:
        super().__init__(f"training stopped after {len(reports)} finished epochs")
        self.reports = reports


class TrainingDiverged(NeuroError):
    """The cost or the parameters became NaN or infinite: the steps were too large."""


def check_fits(network: Network, data: Dataset) -> None:
    """A NeuroError unless the network's input and output layers match the data's pixels and classes."""
    n_pixels = data.test_images.shape[1]
    n_classes = int(max(data.train_labels.max(initial=0), data.test_labels.max(initial=0))) + 1
    if network.sizes[0] != n_pixels:
        raise NeuroError(
            f"the network's input layer has {network.sizes[0]} neurons but the images have {n_pixels} pixels"
        )
    if network.sizes[-1] < n_classes:
        raise NeuroError(
            f"the network's output layer has {network.sizes[-1]} neurons but the labels go up to "
            f"{n_classes - 1}: it needs one output neuron per class"
        )


def sgd(
    network: Network,
    data: Dataset,
    settings: TrainingSettings,
    on_epoch: Callable[[EpochReport], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    shuffler: np.random.Generator | None = None,
    first_epoch: int = 1,
) -> list[EpochReport]:
    """Train `network` on `data` by mini-batch SGD for `settings.epochs` epochs; returns one report per epoch.

    `on_epoch(report)` is called after each epoch; `on_batch(n_samples)` after each group of mini-batches, with
    the number of training samples done since the last call (for a progress bar). `should_stop()` is asked after
    each group too: when it is true, `TrainingStopped` is raised. `shuffler` draws each epoch's order (default: a
    generator seeded with `settings.seed`); pass the generator of an earlier run, and `first_epoch` (the number
    of the epoch to come), to continue that run. A cost or parameter that becomes NaN or infinite raises
    `TrainingDiverged` before `on_epoch` sees the epoch.
    """
    settings.check()
    check_fits(network, data)
    backend = network.backend
    n = len(data.train_labels)
    x = network.to_backend(data.train_images)
    y = network.to_backend(one_hot(data.train_labels, network.sizes[-1]))
    x_test = network.to_backend(data.test_images)
    rng = shuffler if shuffler is not None else np.random.default_rng(settings.seed)
    stretches = Stretches(n, settings.batch_size)  # (mini-batches per call of the backend: neuro/stretches.py)
    reports: list[EpochReport] = []
    for epoch in range(first_epoch, first_epoch + settings.epochs):
        if should_stop is not None and should_stop():  # (before the shuffle: the generator stays as saved)
            raise TrainingStopped(reports)
        started = time.perf_counter()
        order = backend.to_backend(rng.permutation(n), "int64")
        with np.errstate(over="ignore", invalid="ignore"):  # (a diverging run is named below, not warned of)
            for start, stop in stretches.calls(0, n):
                backend.train_steps(network.weights, network.biases, x, y, order, start, stop,
                                    settings.batch_size, settings.eta, settings.cost)
                if on_batch is not None:
                    on_batch(stop - start)
                if should_stop is not None and should_stop():
                    raise TrainingStopped(reports)
            backend.synchronize()
            seconds = time.perf_counter() - started
            outputs = outputs_of(network, x_test, len(data.test_labels))
            evaluation = evaluate_outputs(outputs, data.test_labels, settings.cost)
        check_finite(network, epoch, evaluation.cost, settings.eta)
        report = EpochReport(epoch, evaluation.accuracy, evaluation.cost, seconds)
        reports.append(report)
        if on_epoch is not None:
            on_epoch(report)
    return reports


def check_finite(network: Network, epoch: int, cost: float, eta: float) -> None:
    """`TrainingDiverged` if the test cost or any weight or bias is NaN or infinite after `epoch`."""
    weights, biases = network.parameters()
    finite = all(np.isfinite(p).all() for p in weights + biases)
    if math.isfinite(cost) and finite:
        return
    what = "the weights or biases" if not finite else "the test cost"
    raise TrainingDiverged(
        f"training diverged in epoch {epoch}: {what} became NaN or infinite (test cost {cost}); "
        f"the steps are too large, try a smaller --eta than {eta:g}"
    )


def compile_backend(network: Network, data: Dataset, batch_size: int, cost: str) -> float:
    """Make a compiling backend compile what training will call, before training starts; the seconds it took.

    Numba and CUDA compile a function on its first call, for seconds (or load it from Numba's disk cache, in
    well under one). Done here, on a copy of the network and a few images, the first epoch's time and samples/s
    measure training, not compiling. Every way the backend may run its steps (`ways`: one thread or a team,
    compiled loops or BLAS) is called once, and the forward pass that evaluation uses; the network's own
    parameters are not touched.
    """
    backend = network.backend
    started = time.perf_counter()
    copy = Network.from_parameters(*network.parameters(), backend=backend, dtype=network.dtype)
    n = min(len(data.train_labels), 2 * batch_size)
    x = copy.to_backend(data.train_images[:n])
    y = copy.to_backend(one_hot(data.train_labels[:n], network.sizes[-1]))
    order = backend.to_backend(np.arange(n), "int64")
    try:
        for way in backend.ways:
            backend.force_way(way)
            backend.train_steps(copy.weights, copy.biases, x, y, order, 0, n, batch_size, 0.1, cost)
    finally:
        backend.force_way(None)
    backend.forward(copy.weights, copy.biases, x)
    backend.synchronize()
    return time.perf_counter() - started

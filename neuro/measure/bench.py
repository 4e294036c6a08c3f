"""The performance ladder: how fast each backend trains and runs the same network.

For each backend, dtype, network and batch size, `measure` first checks that the backend agrees with the
reference on a small case (a fast wrong answer is worth nothing), then measures on resident random data:

  * compile/warm-up time: what the first training calls (a single mini-batch, then stretches of the training
    loop's lengths, so that every path a backend takes for a stretch of some length is compiled too) and the
    first forward call took beyond the steady-state rate;
  * training throughput: samples per second of back-to-back gradient steps over shuffled mini-batches, run
    as the training loop runs them (`Backend.train_steps`, a stretch of mini-batches per call, the stretches
    chosen as neuro/stretches.py says);
  * forward throughput: samples per second of the forward pass in mini-batches of the same size;
  * time per epoch of 60,000 images, from the training throughput. Slow backends are measured on a bounded
    sample of steps and the epoch time is extrapolated, which the result says.

Each measurement runs for about `seconds` (at least one call). The machine is shared and noisy:
compare backends as ratios measured in one run, never with numbers from another run.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np

from neuro.backends import get_backend
from neuro.measure.agreement import check_every_way, random_case
from neuro.network import initial_parameters
from neuro.stretches import Stretches
from neuro.support.memory import check_fits_in_memory, estimate_training

EPOCH_IMAGES = 60_000
RESIDENT_IMAGES = {"python": 2_000}
"""Images kept resident per backend; the default is a whole epoch. Pure Python stores each pixel as a Python
float object (32 bytes instead of 8), and at its speed only a few thousand are visited in a measurement."""


@dataclass
class BenchResult:
    """One measurement of `neuro bench`: a backend in one dtype, on one network at one batch size, validated
    against the reference, then timed (training and forward samples per second, an epoch's time, the compile)."""

    backend: str
    dtype: str
    layers: list[int]
    batch_size: int
    validated: bool
    train_samples_per_s: float
    forward_samples_per_s: float
    epoch_seconds: float
    epoch_extrapolated: bool
    compile_seconds: float
    speedup_vs_python: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _rate(call: Callable[[], int], seconds: float, synchronize: Callable[[], None]) -> tuple[float, int]:
    """Samples per second of call() (which returns the samples it processed), repeated for ~seconds."""
    samples = 0
    started = time.perf_counter()
    while True:
        samples += call()
        synchronize()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return samples / elapsed, samples


def validate(name: str, dtype: str, n_inputs: int, n_outputs: int, backend=None) -> bool:
    """Does the backend agree with the reference on a small network of the benchmark's input/output shape, each
    way it may run its steps (one thread or a team, compiled loops or BLAS: `Backend.ways`)?"""
    case = random_case([n_inputs, 7, n_outputs], batch=3, seed=1, dtype=dtype, steps=2)
    return all(c.ok for c in check_every_way(name, case, backend))


def resident_images(name: str, batch_size: int) -> int:
    """How many training images a measurement of backend `name` keeps in the backend's storage."""
    return max(min(RESIDENT_IMAGES.get(name, EPOCH_IMAGES), EPOCH_IMAGES), batch_size)


def check_measurements_fit(plan: Iterable[tuple[str, str, list[int], int]], what: str = "measuring") -> None:
    """A NeuroError, before anything is measured, if a measurement (backend, dtype, layers, batch size) of `plan`
    would not fit in memory."""
    for name, dtype, layers, m in plan:
        check_fits_in_memory(estimate_training(get_backend(name), dtype, layers, resident_images(name, m), 0, m),
                             f"{what} {'-'.join(map(str, layers))} in {dtype} on the {name} backend",
                             advice="use smaller --layers or --batch-size")


def measure(name: str, dtype: str, layers: list[int], batch_size: int, seconds: float = 1.0, seed: int = 0,
            host_x: np.ndarray | None = None, forward: bool = True, backend=None) -> BenchResult:
    """Validate, then measure one backend on one network and batch size (see the module docstring); without
    `forward`, the forward pass is not timed (its rate is then 0). `backend`: a variant of a rung that is no
    registered backend (`neuro ladder --ablate`), measured under the name `name`."""
    backend = backend or get_backend(name)
    validated = validate(name, dtype, layers[0], layers[-1], backend)
    rng = np.random.default_rng(seed)
    n = resident_images(name, batch_size)
    if host_x is None or len(host_x) < n or host_x.shape[1] != layers[0]:
        host_x = rng.random((n, layers[0]), dtype=np.float32)
    labels = rng.integers(0, layers[-1], n)
    host_y = np.eye(layers[-1], dtype=np.float32)[labels]
    weights, biases = initial_parameters(layers, seed, init="scaled")
    w = [backend.to_backend(a, dtype) for a in weights]
    b = [backend.to_backend(a, dtype) for a in biases]
    x, y = backend.to_backend(host_x[:n], dtype), backend.to_backend(host_y, dtype)
    order = backend.to_backend(rng.permutation(n), "int64")
    n_batches = n // batch_size
    stretches = Stretches(n_batches * batch_size, batch_size)  # as the training loop makes its calls
    calls = (call for _ in itertools.count() for call in stretches.calls(0, n_batches * batch_size))

    def train() -> int:
        start, stop = next(calls)
        backend.train_steps(w, b, x, y, order, start, stop, batch_size, 0.1, "quadratic")
        return stop - start

    batch_starts = itertools.cycle(range(0, n_batches * batch_size, batch_size))

    def forward_pass() -> int:
        start = next(batch_starts)
        backend.forward(w, b, x[start : start + batch_size])
        return batch_size

    warm_seconds, warm_samples = _warm_up(backend, train, lambda: backend.train_steps(
        w, b, x, y, order, 0, batch_size, batch_size, 0.1, "quadratic"), stretches, seconds)
    if forward:
        # (a forward call that outlasts the budget has nothing to compile: skip the second one)
        first_forward = _timed(forward_pass, backend.synchronize)
        second_forward = _timed(forward_pass, backend.synchronize) if first_forward < seconds else first_forward
    train_rate, trained = _rate(train, seconds, backend.synchronize)
    forward_rate = _rate(forward_pass, seconds / 2, backend.synchronize)[0] if forward else 0.0
    # compile time: what the warm-up took beyond the steady rate, for training and for the forward pass
    compile_seconds = max(0.0, warm_seconds - warm_samples / train_rate)
    if forward:
        compile_seconds += max(0.0, first_forward - second_forward)
    return BenchResult(
        backend=name, dtype=dtype, layers=list(layers), batch_size=batch_size, validated=validated,
        train_samples_per_s=train_rate, forward_samples_per_s=forward_rate,
        epoch_seconds=EPOCH_IMAGES / train_rate, epoch_extrapolated=trained < EPOCH_IMAGES,
        compile_seconds=compile_seconds,
    )


def _warm_up(backend, train: Callable[[], int], one_step: Callable[[], None], stretches: Stretches,
             seconds: float) -> tuple[float, int]:
    """Run the first calls, which compile (Numba, CUDA) or warm the caches, until the calls are as the measurement
    will make them; returns the seconds it took and the samples it trained.

    A backend may take another path for another length of stretch: a single mini-batch (the last stretch of a
    pass may be that short) and stretches long enough for numba-team's team. So the warm-up runs one mini-batch,
    then the training loop's stretches until they have stopped growing and a call took no more than 1.5 times the
    one before, of the same length (the first call of a path compiles it, for seconds when Numba's disk cache is
    empty). A backend that compiles nothing stops as soon as it has run for the budget: pure Python on a wide
    network is that slow, and another call would only cost time.
    """
    started = time.perf_counter()
    one_step()
    backend.synchronize()
    samples, before = stretches.batch_size, (0, 0.0)  # (the length of the call before, and what it took)
    while backend.compiles or time.perf_counter() - started < seconds:
        length, called = stretches.batches, time.perf_counter()
        samples += train()
        backend.synchronize()
        took = time.perf_counter() - called
        if length == before[0] == stretches.batches and took <= 1.5 * before[1]:
            break
        before = (length, took)
    return time.perf_counter() - started, samples


def _timed(call: Callable[[], object], synchronize: Callable[[], None]) -> float:
    started = time.perf_counter()
    call()
    synchronize()
    return time.perf_counter() - started


def add_speedups(results: list[BenchResult]) -> None:
    """Set each result's speedup over the python backend on the same network and batch size (float64)."""
    python = {(tuple(r.layers), r.batch_size): r.train_samples_per_s for r in results if r.backend == "python"}
    for r in results:
        base = python.get((tuple(r.layers), r.batch_size))
        r.speedup_vs_python = r.train_samples_per_s / base if base else None

"""The performance ladder: how fast each backend trains and runs the same network.

For each backend, dtype, network and batch size, `measure` first checks that the backend agrees with the
reference on a small case (a fast wrong answer is worth nothing), then measures on resident random data:

  * compile/warm-up time: what the first training calls (stretches of 1, 2, 4, ... mini-batches, so that every
    path a backend takes for a longer stretch is compiled too) and the first forward call took beyond the
    steady-state rate;
  * training throughput: samples per second of back-to-back gradient steps over shuffled mini-batches, run
    as the training loop runs them (`Backend.train_steps`, a stretch of mini-batches per call);
  * forward throughput: samples per second of the forward pass in mini-batches of the same size;
  * time per epoch of 60,000 images, from the training throughput. Slow backends are measured on a bounded
    sample of steps and the epoch time is extrapolated, which the result says.

Each measurement runs for about `seconds` (at least `MIN_CALLS` calls). The machine is shared and noisy:
compare backends as ratios measured in one run, never with numbers from another run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from neuro.agreement import check_backend, random_case
from neuro.backends import get_backend
from neuro.network import initial_parameters

EPOCH_IMAGES = 60_000
MIN_CALLS = 1
RESIDENT_IMAGES = {"python": 2_000}
"""Images kept resident per backend; the default is a whole epoch. Pure Python stores each pixel as a Python
float object (32 bytes instead of 8), and at its speed only a few thousand are visited in a measurement."""


@dataclass
class BenchResult:
    """One row of the ladder."""

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


def _rate(call: Callable[[int], int], seconds: float, synchronize: Callable[[], None]) -> tuple[float, int]:
    """Samples per second of call(i) (which returns the samples it processed), repeated for ~seconds."""
    samples = calls = 0
    started = time.perf_counter()
    while True:
        samples += call(calls)
        calls += 1
        if calls >= MIN_CALLS:
            synchronize()
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                return samples / elapsed, samples


def validate(name: str, dtype: str, n_inputs: int, n_outputs: int) -> bool:
    """Does the backend agree with the reference on a small network of the benchmark's input/output shape?"""
    case = random_case([n_inputs, 7, n_outputs], batch=3, seed=1, dtype=dtype, steps=2)
    return all(c.ok for c in check_backend(name, case))


def measure(name: str, dtype: str, layers: list[int], batch_size: int, seconds: float = 1.0, seed: int = 0,
            host_x: np.ndarray | None = None) -> BenchResult:
    """Validate, then measure one backend on one network and batch size (see the module docstring)."""
    backend = get_backend(name)
    validated = validate(name, dtype, layers[0], layers[-1])
    rng = np.random.default_rng(seed)
    n = min(RESIDENT_IMAGES.get(name, EPOCH_IMAGES), EPOCH_IMAGES)
    n = max(n, batch_size)
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
    cursor, stretch = 0, 1  # the next mini-batch, and how many one call runs (doubled while calls are quick)

    def train(_: int) -> int:
        # As in training: consecutive mini-batches per call (see Backend.train_steps).
        nonlocal cursor, stretch
        steps = min(stretch, n_batches - cursor)
        started = time.perf_counter()
        backend.train_steps(w, b, x, y, order, cursor * batch_size, (cursor + steps) * batch_size, batch_size,
                            0.1, "quadratic")
        if time.perf_counter() - started < seconds / 100:
            stretch = min(2 * stretch, n_batches)
        cursor = (cursor + steps) % n_batches
        return steps * batch_size

    def forward(i: int) -> int:
        start = (i % n_batches) * batch_size
        backend.forward(w, b, x[start : start + batch_size])
        return batch_size

    # Warm-up: the first calls compile (Numba, CUDA) or warm caches. A backend may take another path for a
    # longer stretch of mini-batches (numba's multi-threaded team), so the warm-up runs stretches of 1, 2, 4, ...
    # mini-batches, as the measurement will, until a stretch takes its share of the budget twice running (the
    # first call of a size may have been slow because it compiled), or covers the data. A backend that compiles
    # nothing (`compiles = False`: python, numpy) also stops at a call that takes the whole budget: pure Python on
    # a wide network is that slow, and a second such call would only cost time. For any other backend such a
    # call is taken to have been compiling: Numba compiles for seconds when its disk cache is empty, and the
    # longer stretches that run on its team would otherwise compile inside the measurement.
    compiles = getattr(backend, "compiles", True)
    warm_samples, warm_started, steps, repeated = 0, time.perf_counter(), 1, False
    while True:
        started = time.perf_counter()
        backend.train_steps(w, b, x, y, order, 0, steps * batch_size, batch_size, 0.1, "quadratic")
        backend.synchronize()
        warm_samples += steps * batch_size
        took = time.perf_counter() - started
        slow = took >= seconds / 20
        if steps == n_batches or (slow and repeated) or (took >= seconds and not compiles):
            break
        repeated = slow
        if not slow:
            steps = min(2 * steps, n_batches)
    warm_train = time.perf_counter() - warm_started
    # (a forward call that outlasts the budget has nothing to compile: skip the second one)
    first_forward = _timed(lambda: forward(0), backend.synchronize)
    second_forward = _timed(lambda: forward(1), backend.synchronize) if first_forward < seconds else first_forward
    train_rate, trained = _rate(train, seconds, backend.synchronize)
    forward_rate, _ = _rate(forward, seconds / 2, backend.synchronize)
    # compile time: what the warm-up took beyond the steady rate, for training and for the forward pass
    compile_seconds = max(0.0, warm_train - warm_samples / train_rate) + max(0.0, first_forward - second_forward)
    return BenchResult(
        backend=name, dtype=dtype, layers=list(layers), batch_size=batch_size, validated=validated,
        train_samples_per_s=train_rate, forward_samples_per_s=forward_rate,
        epoch_seconds=EPOCH_IMAGES / train_rate, epoch_extrapolated=trained < EPOCH_IMAGES,
        compile_seconds=compile_seconds,
    )


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

"""neuro.measure.bench's warm-up: what a backend compiles on first use must not be timed as training."""

import time

from neuro.backends.ops_numpy import NumpyBackend
from neuro.measure import bench


class CompilingBackend(NumpyBackend):
    """The NumPy backend, made to 'compile' (sleep) on the first call of each of two paths, as Numba does: one for
    short stretches of mini-batches, one for long ones (its team); each compile outlasts the whole budget."""

    compiles = True
    LONG = 8  # mini-batches from which a stretch takes the long path

    def __init__(self, compile_seconds: float) -> None:
        super().__init__()
        self.compile_seconds, self.compiled, self.measuring, self.compiled_while_measuring = compile_seconds, set(), \
            False, []

    def train_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost):
        path = "long" if stop - start >= self.LONG * batch_size else "short"
        if path not in self.compiled:
            self.compiled.add(path)
            time.sleep(self.compile_seconds)
            if self.measuring:
                self.compiled_while_measuring.append(path)
        super().train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost)


def test_the_warm_up_compiles_every_path_before_the_measurement(monkeypatch):
    backend = CompilingBackend(compile_seconds=0.3)
    monkeypatch.setattr(bench, "get_backend", lambda name: backend)
    monkeypatch.setattr(bench, "validate", lambda *args: True)
    rate = bench._rate

    def measuring(*args):
        backend.measuring = True
        return rate(*args)

    monkeypatch.setattr(bench, "_rate", measuring)
    result = bench.measure("compiling", "float32", [20, 8, 3], 2, seconds=0.1)
    assert backend.compiled == {"short", "long"}
    assert backend.compiled_while_measuring == []
    assert result.compile_seconds >= 2 * 0.3 * 0.9


def test_a_backend_that_compiles_nothing_stops_warming_up_after_a_call_that_took_the_whole_budget(monkeypatch):
    backend = NumpyBackend()
    calls = []
    train_steps = backend.train_steps

    def slow(*args):
        calls.append(args)
        time.sleep(0.2)
        train_steps(*args)

    monkeypatch.setattr(backend, "train_steps", slow)
    monkeypatch.setattr(bench, "get_backend", lambda name: backend)
    monkeypatch.setattr(bench, "validate", lambda *args: True)
    monkeypatch.setattr(bench, "_rate", lambda call, seconds, synchronize: (1.0, 1))
    bench.measure("numpy", "float64", [20, 8, 3], 2, seconds=0.1)
    assert len(calls) == 1

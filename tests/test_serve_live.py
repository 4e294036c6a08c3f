"""`neuro serve` under load and while it trains: concurrent requests, one backend call at a time, whole snapshots.

Every test talks to a server it started itself on 127.0.0.1 and a free port (tests/serve_under_test.py).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from serve_under_test import SIZES, page_server, random_test_set, request, served_network, stroke_drawing

from neuro.backends.ops_numpy import NumpyBackend
from neuro.data import Dataset
from neuro.data.drawn import centred_digit
from neuro.network import Network
from neuro.serve.live import LiveTraining
from neuro.serve.served import ImagesToBrowse, ServedNetwork
from neuro.serve.turns import TurnLock
from neuro.training import TrainingSettings


@pytest.fixture(scope="module")
def network():
    return Network(SIZES, backend="numpy", seed=3)


@pytest.fixture(scope="module")
def test_set():
    return random_test_set()


@pytest.mark.parametrize("backend", ["numpy", "python"])
def test_concurrent_requests_each_get_their_own_answer(network, test_set, backend):
    weights, biases = network.parameters()
    rng = np.random.default_rng(1)
    drawings = [np.clip(stroke_drawing().reshape(28, 28) * rng.random((28, 28)) * 2, 0, 1).ravel() for _ in range(24)]
    expected = [network.activations(centred_digit(d.reshape(28, 28)))[-1][0] for d in drawings]
    failures = []
    with page_server(served_network(weights, biases, *test_set, backend=backend)) as running:
        def ask(k: int) -> None:
            try:
                status, answer = request(running, "POST", "/api/activations", {"pixels": drawings[k].tolist()})
            except OSError as error:
                failures.append((k, repr(error)))
                return
            if status != 200 or not np.allclose(answer["activations"][-1], expected[k], rtol=1e-9, atol=1e-12):
                failures.append((k, status))

        threads = [threading.Thread(target=ask, args=(k,)) for k in range(len(drawings))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


class OneCallAtATime(NumpyBackend):
    """The numpy backend, slowed down and watched: it records how many calls were ever inside it at once."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.most_inside, self.calls = 0, 0, 0
        self._count = threading.Lock()

    def forward(self, weights, biases, x, all_layers=False):
        with self._count:
            self.inside += 1
            self.calls += 1
            self.most_inside = max(self.most_inside, self.inside)
        time.sleep(0.005)  # long enough for concurrent requests to meet here, were they let in together
        try:
            return super().forward(weights, biases, x, all_layers)
        finally:
            with self._count:
                self.inside -= 1


def test_concurrent_requests_never_call_the_backend_at_once(network, test_set):
    """Backends need not be thread-safe: the server lets one request at a time into the backend. (The requests
    themselves do overlap: 16 threads start together and each answer takes over 5 ms inside the backend.)"""
    weights, biases = network.parameters()
    backend = OneCallAtATime()
    served = ServedNetwork(weights, biases, backend, "float64", ImagesToBrowse("test", *test_set), TurnLock())
    drawing = {"pixels": stroke_drawing().tolist()}
    answered, start = [], threading.Barrier(16)
    with page_server(served) as running:
        def ask() -> None:
            start.wait()
            began = time.perf_counter()
            status, _ = request(running, "POST", "/api/activations", drawing)
            answered.append((status, began, time.perf_counter()))

        threads = [threading.Thread(target=ask) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [status for status, _, _ in answered] == [200] * 16 and backend.calls >= 16
    overlapping = max(sum(b <= t < e for _, b, e in answered) for _, t, _ in answered)
    assert overlapping > 1, "the requests ran one after the other: the test did not test the lock"
    assert backend.most_inside == 1, f"{backend.most_inside} calls were inside the backend at once"


def test_while_training_every_answer_comes_from_one_whole_published_step(test_set):
    rng = np.random.default_rng(2)
    data = Dataset("tiny", rng.random((600, 784)).astype(np.float32), rng.integers(0, 10, 600), *test_set)
    network = Network(SIZES, backend="numpy", seed=0)
    weights, biases = network.parameters()
    served = served_network(weights, biases, *test_set)
    published = {0: (weights, biases)}
    publish = served.publish

    def keep(weights, biases, epoch):  # record each snapshot under the version it gets
        publish(weights, biases, epoch)
        published[served.snapshot.version] = (list(served.snapshot.weights), list(served.snapshot.biases))

    served.publish = keep
    training = LiveTraining(network, data, TrainingSettings(epochs=4, batch_size=5, eta=3.0), served)
    answers = []
    drawing = {"pixels": stroke_drawing().tolist()}
    with page_server(served, training) as running:
        training.start()
        while not training.progress.finished:
            answers.append(request(running, "POST", "/api/activations", drawing)[1])
        status, progress = request(running, "GET", "/api/progress")
    assert status == 200 and progress["finished"] and progress["error"] is None
    assert progress["epoch"] == 4 and len(progress["accuracy"]) == 5 and len(progress["cost"]) == 5
    versions = {answer["version"] for answer in answers}
    assert len(published) > 10
    centred = centred_digit(np.array(drawing["pixels"]).reshape(28, 28))
    for answer in answers:
        w, b = published[answer["version"]]
        want = Network.from_parameters(w, b, backend="numpy").feedforward(centred)[0]
        np.testing.assert_allclose(answer["activations"][-1], want, rtol=1e-12, atol=1e-12)
    assert len(answers) >= 1 and versions <= set(published)


def test_stopping_the_server_stops_the_training_between_steps(test_set):
    rng = np.random.default_rng(2)
    data = Dataset("tiny", rng.random((2000, 784)).astype(np.float32), rng.integers(0, 10, 2000), *test_set)
    network = Network(SIZES, backend="python", seed=0)  # slow enough to be stopped half way
    weights, biases = network.parameters()
    served = served_network(weights, biases, *test_set)
    training = LiveTraining(network, data, TrainingSettings(epochs=50, batch_size=10), served)
    with page_server(served, training):
        training.start()
        while served.snapshot.version < 1:
            threading.Event().wait(0.01)
    assert training.progress.finished and training.progress.error is None
    assert training.progress.epoch < 50

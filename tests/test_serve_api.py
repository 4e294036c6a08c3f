"""The API of `neuro serve`: good and bad requests, sizes, files, concurrency, and the page while it trains.

Every test talks to a server it started itself on 127.0.0.1 and a free port (tests/serve_under_test.py).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from serve_under_test import page_server, raw_exchange, served_network, stroke_drawing
from tiny_mnist import write_random_mnist

from neuro.backends.ops_numpy import NumpyBackend
from neuro.data import Dataset
from neuro.data.drawn import centred_digit
from neuro.data.paths import cache_dir
from neuro.model import load_model, save_model
from neuro.network import Network
from neuro.serve.api import MAX_BODY
from neuro.serve.live import LiveTraining
from neuro.serve.served import ImagesToBrowse, ServedNetwork
from neuro.serve.turns import TurnLock
from neuro.training import TrainingSettings

SIZES = [784, 16, 16, 10]
JSON = "Content-Type: application/json\r\n"  # the one content type a POST may have


def request(server, method: str, path: str, body=None, raw: bytes | None = None) -> tuple[int, dict]:
    """(status, JSON payload) of one request; `body` is sent as JSON, `raw` as it is."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    connection.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    assert response.getheader("Content-Type") == "application/json", (path, payload[:200])
    return response.status, json.loads(payload)


@pytest.fixture(scope="module")
def network():
    return Network(SIZES, backend="numpy", seed=3)


@pytest.fixture(scope="module")
def test_set():
    rng = np.random.default_rng(0)
    images = rng.random((60, 784)).astype(np.float32) * (rng.random((60, 784)) < 0.2)
    return images, rng.integers(0, 10, 60)


@pytest.fixture(scope="module")
def server(network, test_set):
    weights, biases = network.parameters()
    with page_server(served_network(weights, biases, *test_set)) as running:
        yield running


def test_activations_are_every_layer_for_the_centred_drawing(server, network):
    drawing = stroke_drawing()
    status, answer = request(server, "POST", "/api/activations", {"pixels": drawing.tolist()})
    assert status == 200
    centred = centred_digit(drawing.reshape(28, 28))  # the function `neuro predict` centres an image file with
    expected = network.activations(centred)
    assert [len(a) for a in answer["activations"]] == SIZES
    for got, want in zip(answer["activations"], expected):
        np.testing.assert_allclose(got, want[0], rtol=1e-12, atol=1e-12)
    assert answer["answer"] == int(np.argmax(expected[-1]))
    assert answer["backend"] == "numpy"
    assert 0 <= answer["seconds"] < 10
    outputs = expected[-1][0]
    assert answer["confidence"] == pytest.approx(outputs.max() / outputs.sum())


def test_a_blank_drawing_asks_for_a_digit(server):
    status, answer = request(server, "POST", "/api/activations", {"pixels": [0] * 784})
    assert status == 422
    assert "draw a digit" in answer["error"]


@pytest.mark.parametrize("body, says", [
    (b"{", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[]", "JSON object"),
    (b'{"pix": []}', "JSON object"),
    (b'{"pixels": "0.5"}', "list of 784"),
    (json.dumps({"pixels": [0.5] * 783}).encode(), "got 783 values"),
    (json.dumps({"pixels": [0.5] * 785}).encode(), "got 785 values"),
    (json.dumps({"pixels": [0.5] * 783 + ["x"]}).encode(), "must be numbers"),
    (json.dumps({"pixels": [0.5] * 783 + [None]}).encode(), "must be numbers"),
    (json.dumps({"pixels": [0.5] * 783 + [True]}).encode(), "must be numbers"),
    (json.dumps({"pixels": [0.5] * 783 + [[0.5]]}).encode(), "must be numbers"),
    (b'{"pixels": [' + b"0.5, " * 783 + b"NaN]}", "finite"),
    (b'{"pixels": [' + b"0.5, " * 783 + b"Infinity]}", "finite"),
    (json.dumps({"pixels": [0.5] * 783 + [-0.01]}).encode(), "0..1"),
    (json.dumps({"pixels": [0.5] * 783 + [1.5]}).encode(), "0..1"),
    (json.dumps({"pixels": 7}).encode(), "got a number"),
    (b"[" * 100_000, "nested too deep"),  # (json.loads raises RecursionError)
    (b'{"pixels": [' + b"0.5, " * 783 + b"9" * 5000 + b"]}", "too long"),  # (int() refuses 4,300+ digits)
    (b'{"pixels": [' + b"0.5, " * 783 + b"1" + b"0" * 400 + b"]}", "0..1"),  # (too large for a float)
])
def test_malformed_drawings_are_400_with_a_json_error(server, body, says):
    status, answer = request(server, "POST", "/api/activations", raw=body)
    assert status == 400
    assert says in answer["error"]


def test_a_body_over_the_limit_is_refused_unread(server):
    head = f"POST /api/activations HTTP/1.1\r\nHost: 127.0.0.1\r\n{JSON}Content-Length: {MAX_BODY + 1}\r\n\r\n".encode()
    answer = raw_exchange(server, head + b"{")  # the rest of the body never comes: it must not be waited for
    assert answer.startswith(b"HTTP/1.0 413") and b'"error"' in answer


def test_a_body_just_under_the_limit_is_read(server):
    padded = json.dumps({"pixels": stroke_drawing().tolist()}).encode()
    padded += b" " * (MAX_BODY - len(padded))
    status, answer = request(server, "POST", "/api/activations", raw=padded)
    assert status == 200 and len(answer["activations"]) == 4


@pytest.mark.parametrize("length", [b"", b"Content-Length: x\r\n", "Content-Length: ²\r\n".encode()])
def test_a_body_without_a_length_is_refused(server, length):
    head = b"POST /api/activations HTTP/1.0\r\nHost: 127.0.0.1\r\n" + JSON.encode()
    answer = raw_exchange(server, head + length + b"\r\n")
    assert answer.startswith(b"HTTP/1.0 411") and b'"error"' in answer


def test_the_page_and_its_files_are_served(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
    for path, kind, holds in [("/", "text/html", b'id="pad"'), ("/static/page.js", "text/javascript", b"sendDrawing"),
                              ("/static/page.css", "text/css", b"#network")]:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200 and response.getheader("Content-Type").startswith(kind) and holds in body
    connection.close()


@pytest.mark.parametrize("path", [
    "/static/../api.py", "/static/%2e%2e/api.py", "/static/..%2fapi.py", "/static/%2E%2E%2F%2E%2E%2Fpyproject.toml",
    "/static/..%5capi.py", "/../../../../etc/passwd", "/static//etc/passwd", "/static/", "/static/%2fetc%2fpasswd",
    "/static/page.js/..", "/static/.", "/index.html/../served.py", "/api.py", "/static/page.js%00.png",
])
def test_no_file_outside_the_static_folder_is_served(server, path):
    status, answer = request(server, "GET", path)
    assert status == 404 and "error" in answer


def test_weights_of_a_neuron_and_of_a_layer(server, network):
    weights, biases = network.parameters()
    status, one = request(server, "GET", "/api/weights?layer=1&neuron=3")
    assert status == 200
    np.testing.assert_array_equal(one["weights"], weights[0][3])
    assert one["bias"] == biases[0][3] and one["shape"] == [28, 28] and one["inputs"] == 784
    assert one["scale"] == np.abs(weights[0]).max()
    status, layer = request(server, "GET", "/api/weights?layer=3")
    np.testing.assert_array_equal(layer["weights"], weights[2])
    np.testing.assert_array_equal(layer["biases"], biases[2])
    assert layer["shape"] == [4, 4]


@pytest.mark.parametrize("query, status", [
    ("", 400), ("layer=0", 404), ("layer=4", 404), ("layer=x", 400), ("layer=1&neuron=16", 404),
    ("layer=1&neuron=-1", 400), ("layer=3&neuron=10", 404), ("layer=1.0", 400), ("layer=%C2%B2", 400),
])
def test_weights_of_no_such_neuron_are_4xx(server, query, status):
    got, answer = request(server, "GET", "/api/weights?" + query)
    assert got == status and "error" in answer


def test_the_test_browser_lists_the_mistakes_first(server, network, test_set):
    images, labels = test_set
    predictions = network.predict(images)
    seen = []
    for position in range(len(labels)):
        status, item = request(server, "GET", f"/api/test/{position}")
        assert status == 200 and item["count"] == len(labels)
        assert item["label"] == labels[item["index"]] and item["answer"] == predictions[item["index"]]
        assert item["right"] == (position >= item["mistakes"])
        np.testing.assert_allclose(item["activations"][0], images[item["index"]], rtol=1e-6)
        seen.append(item["index"])
    assert sorted(seen) == list(range(len(labels)))
    assert item["mistakes"] == int((predictions != labels).sum()) > 0
    for missing in ("60", "-1", "x", "", "%C2%B2", "%D9%A1"):
        assert request(server, "GET", f"/api/test/{missing}")[0] == 404


def test_numbers_too_long_for_any_index_are_4xx(server):
    assert request(server, "GET", "/api/test/" + "9" * 5000)[0] == 404
    assert request(server, "GET", "/api/weights?layer=" + "1" * 5000)[0] == 400
    head = f"POST /api/activations HTTP/1.1\r\nHost: 127.0.0.1\r\n{JSON}Content-Length: {'1' * 5000}\r\n\r\n".encode()
    assert raw_exchange(server, head).startswith(b"HTTP/1.0 413")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405_as_json(server, method):
    status, answer = request(server, method, "/api/model", raw=b"{}")
    assert status == 405 and "not served here" in answer["error"]


def test_unknown_endpoints_and_methods_are_4xx(server):
    assert request(server, "GET", "/api/nothing")[0] == 404
    assert request(server, "GET", "/api/activations")[0] == 405
    assert request(server, "POST", "/api/model", raw=b"{}")[0] == 405
    assert request(server, "POST", "/", raw=b"{}")[0] == 405
    status, model = request(server, "GET", "/api/model")
    assert status == 200 and model["sizes"] == SIZES and model["training"] is False
    assert request(server, "GET", "/api/progress") == (200, {"training": False})


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


# ---- the command -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    """A tiny MNIST-format folder (200 training, 20 test images of random pixels): no data to generate."""
    return write_random_mnist(tmp_path_factory.mktemp("digits"), 200, 20)


def start_neuro_serve(*arguments: str, data_dir: Path) -> tuple[subprocess.Popen, int]:
    """`neuro serve ARGUMENTS --port 0` running, and the port from the first line it printed (checked)."""
    neuro = Path(sys.executable).parent / "neuro"
    process = subprocess.Popen([str(neuro), "serve", *arguments, "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=dict(os.environ, NEURO_DATA_DIR=str(data_dir)))
    line = process.stdout.readline()
    assert line.startswith("Serving on http://127.0.0.1:") and line.endswith("/\n"), (line, process.stderr.read())
    return process, int(line.rsplit(":", 1)[1].strip("/\n"))


def get_json(port: int, path: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    payload = json.loads(connection.getresponse().read())
    connection.close()
    return payload


def ctrl_c(process: subprocess.Popen) -> str:
    """Stop the command as a user does, and return what it wrote on stderr (checked: status 0, no traceback)."""
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in stderr and stdout == "", stderr
    return stderr


def test_neuro_serve_prints_its_url_at_once_and_stops_on_ctrl_c(tmp_path, network, digit_folder):
    model = tmp_path / "model.npz"
    save_model(network, model)
    process, port = start_neuro_serve(str(model), "--data", str(digit_folder), data_dir=tmp_path)
    try:
        model_info = get_json(port, "/api/model")
        assert model_info["sizes"] == SIZES and model_info["test_images"] == 20 and not model_info["training"]
    finally:
        assert "Stopped." in ctrl_c(process)


def test_neuro_serve_train_trains_in_the_background_and_saves_every_epoch(tmp_path, digit_folder):
    saved = tmp_path / "live.npz"
    process, port = start_neuro_serve("--train", "--epochs", "3", "--layers", "784,12,10", "--data",
                                      str(digit_folder), "--save", str(saved), data_dir=tmp_path)
    try:
        progress = get_json(port, "/api/progress")
        while not progress["finished"]:
            progress = get_json(port, "/api/progress")
        assert progress["epoch"] == 3 and progress["error"] is None and len(progress["accuracy"]) == 4
        weights = get_json(port, "/api/weights?layer=1")
    finally:
        stderr = ctrl_c(process)
    assert stderr.count(f"saved to {saved}") == 3
    trained = load_model(saved)
    assert trained.sizes == [784, 12, 10]
    np.testing.assert_array_equal(trained.weights[0], weights["weights"])
    assert trained.training.epochs_done == 3 and trained.training.data == str(digit_folder)
    assert [h["test_accuracy"] for h in trained.training.history] == progress["accuracy"][1:]

    from click.testing import CliRunner

    from neuro.cli.main import main

    more = CliRunner().invoke(main, ["train", "--resume", str(saved), "--epochs", "1", "--save", str(saved)])
    assert more.exit_code == 0, more.output
    assert load_model(saved).training.epochs_done == 4, "neuro train continues what neuro serve --train saved"

    from neuro.cli.serve import _model_to_serve

    assert _model_to_serve(str(saved), None)[1] == str(digit_folder), "served with the data it was trained on"


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stopping_serve_train_midway_says_what_was_saved_as_neuro_train_does(tmp_path, digit_folder, signum, status):
    saved = tmp_path / "live.npz"
    process, port = start_neuro_serve("--train", "--epochs", "100000", "--layers", "784,12,10", "--data",
                                      str(digit_folder), "--save", str(saved), data_dir=tmp_path)
    try:
        while get_json(port, "/api/progress")["epoch"] < 1:
            time.sleep(0.05)
    finally:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == status and "Traceback" not in stderr, stderr
    done = load_model(saved).training.epochs_done
    assert done >= 1 and f"saved epoch {done} to {saved}; continue with `neuro train --resume" in stderr, stderr


def test_the_quick_model_is_trained_once_and_cached_by_what_made_it(digit_folder, monkeypatch):
    from neuro.data import load_dataset
    from neuro.serve import quick

    data = load_dataset(str(digit_folder))
    path = quick.quick_model_path(str(digit_folder))
    assert path.parent.parent == cache_dir() and "784-16-16-10-epochs10-batch10-eta3.0-quadratic-seed0" in path.name
    assert quick.quick_model_path("synthetic").name.startswith("serve-synthetic-v")
    assert quick.quick_model_path("mnist") != path != quick.quick_model_path(str(digit_folder) + "/other")
    first, at = quick.quick_model(data, str(digit_folder))
    assert at == path and path.is_file() and first.sizes == list(quick.QUICK_SIZES)

    def no_training(*_args, **_kwargs):
        raise AssertionError("the cached quick model was trained again")

    monkeypatch.setattr(quick, "sgd", no_training)
    again, _ = quick.quick_model(data, str(digit_folder))
    for w, w_again in zip(first.weights, again.weights):
        np.testing.assert_array_equal(w, w_again)


@pytest.mark.parametrize("arguments, says", [
    (["model.npz", "--train"], "not both"),
    (["--save", "m.npz"], "--train"),
    (["--epochs", "3"], "--epochs is an option of --train"),
    (["missing.npz"], "does not exist"),
    (["--train", "--layers", "100,10"], "784"),
    (["--train", "--eta", "0"], "eta"),
    (["--train", "--save", "no/such/folder/m.npz"], "does not exist"),
])
def test_neuro_serve_refuses_bad_input_in_one_line(arguments, says, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from neuro.cli.main import main

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["serve", *arguments, "--port", "0"])
    assert result.exit_code == 1 and result.output.startswith("Error:") and says in result.output, result.output
    assert result.output.count("\n") == 1


def test_loopback_addresses_are_told_apart():
    from neuro.serve.server import host_of, is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.2", "::", "example.org", ""))
    assert [host_of(h) for h in ("localhost:8000", "[::1]:80", "::1", "evil.example:8000", "127.0.0.1")] == [
        "localhost", "::1", "::1", "evil.example", "127.0.0.1"]


@pytest.mark.parametrize("host, status", [("127.0.0.1", 200), ("localhost:8000", 200), ("[::1]:8000", 200),
                                          ("evil.example:8000", 403), ("evil.example", 403), ("", 403)])
def test_a_loopback_server_answers_only_requests_for_a_loopback_host(server, host, status):
    for method, path, body in (("GET", "/api/model", b""), ("POST", "/api/activations", b"{}")):
        head = f"{method} {path} HTTP/1.0\r\nHost: {host}\r\n{JSON}Content-Length: {len(body)}\r\n\r\n".encode()
        answer = raw_exchange(server, head + body)
        expected = status if method == "GET" or status == 403 else 400
        assert answer.startswith(f"HTTP/1.0 {expected}".encode()) and b"application/json" in answer

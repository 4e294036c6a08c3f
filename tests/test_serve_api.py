"""The API of `neuro serve`: good and bad requests, sizes, the page's files, and who may ask.

Every test talks to a server it started itself on 127.0.0.1 and a free port (tests/serve_under_test.py).
"""

from __future__ import annotations

import http.client
import json

import numpy as np
import pytest
from serve_under_test import SIZES, page_server, random_test_set, raw_exchange, request, served_network, stroke_drawing

from neuro.data.drawn import centred_digit
from neuro.network import Network
from neuro.serve.api import MAX_BODY

JSON = "Content-Type: application/json\r\n"  # the one content type a POST may have


@pytest.fixture(scope="module")
def network():
    return Network(SIZES, backend="numpy", seed=3)


@pytest.fixture(scope="module")
def test_set():
    return random_test_set()


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
    for path, kind, holds in [("/", "text/html", b'id="pad"'),
                              ("/static/page.js", "text/javascript", b'from "./pad.js"'),
                              ("/static/pad.js", "text/javascript", b"sendDrawing"),
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


def test_every_file_of_the_page_is_short_and_loaded_as_a_module():
    from neuro.serve.server import static_files

    files = static_files()
    scripts = [name for name in files if name.endswith(".js")]
    assert len(scripts) > 5 and "page.js" in scripts
    assert all(len(files[name][0].splitlines()) <= 400 for name in files), "one job per file, at most 400 lines"
    assert b'<script type="module" src="/static/page.js">' in files["index.html"][0]
    imported = b"".join(files[name][0] for name in scripts)
    assert all(f'"./{name}"'.encode() in imported for name in scripts if name != "page.js"), "no file left unused"

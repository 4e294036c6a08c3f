"""Who may use `neuro serve`, and how much: the Host allow-list, the token off loopback, cross-site POSTs, the
limits on connections and time, refused bodies, the security headers, and answers naming the right snapshot.

Every test talks over real sockets to a server it started on 127.0.0.1 (tests/serve_under_test.py); the
off-loopback logic is exercised with require_token=True on a loopback address.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import pytest
from serve_under_test import page_server, raw_exchange, read_answer, served_network

from neuro.network import Network
from neuro.serve.turns import TurnLock

SIZES = [784, 16, 16, 10]
PIXELS = json.dumps({"pixels": [0.0] * 300 + [1.0] * 20 + [0.0] * 464})


@pytest.fixture(scope="module")
def test_set():
    rng = np.random.default_rng(0)
    return rng.random((40, 784)) * (rng.random((40, 784)) < 0.2), rng.integers(0, 10, 40)


@pytest.fixture()
def served(test_set):
    weights, biases = Network(SIZES, backend="numpy", seed=3).parameters()
    return served_network(weights, biases, *test_set)


def post(server, headers: str, body: str = PIXELS) -> bytes:
    head = f"POST /api/activations HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    return raw_exchange(server, head.encode() + body.encode())


def get(server, path: str, headers: str = "", host: str = "127.0.0.1") -> bytes:
    return raw_exchange(server, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode())


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_off_loopback_a_token_is_required_and_kept_in_a_strict_cookie(served):
    with page_server(served, require_token=True) as server:
        assert f"?token={server.token}" in server.url and len(server.token) >= 20
        assert status(get(server, "/api/model")) == 403 and status(get(server, "/")) == 403
        assert status(get(server, "/?token=wrong")) == 403
        answer = get(server, f"/?token={server.token}")
        assert status(answer) == 303 and b"Location: /\r\n" in answer
        cookie = next(line for line in answer.split(b"\r\n") if line.startswith(b"Set-Cookie:")).decode()
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and server.token in cookie
        sent = cookie.split(":", 1)[1].split(";")[0].strip()
        assert status(get(server, "/api/model", f"Cookie: {sent}\r\n")) == 200
        assert status(get(server, "/api/model", f"X-Neuro-Token: {server.token}\r\n")) == 200
        assert status(get(server, "/api/model", "X-Neuro-Token: nope\r\n")) == 403


def test_off_loopback_the_host_allow_list_still_refuses_a_rebound_name(served):
    with page_server(served, require_token=True, allowed_hosts=["pi.local"]) as server:
        token = f"X-Neuro-Token: {server.token}\r\n"
        assert status(get(server, "/api/model", token, host="evil.example:8000")) == 403
        assert status(get(server, f"/?token={server.token}", host="evil.example")) == 403
        assert status(get(server, "/api/model", token, host="pi.local:8000")) == 200
        assert status(get(server, "/api/model", token, host="192.168.1.2:8000")) == 200


@pytest.mark.parametrize("headers, expected", [
    ("Content-Type: text/plain\r\nOrigin: https://evil.example\r\n", 403),
    ("Content-Type: text/plain\r\n", 415),
    ("Content-Type: application/x-www-form-urlencoded\r\n", 415),
    ("", 415),
    ("Content-Type: application/json\r\nSec-Fetch-Site: cross-site\r\n", 403),
    ("Content-Type: application/json\r\nOrigin: https://evil.example\r\n", 403),
    ("Content-Type: application/json\r\nOrigin: null\r\n", 403),
    ("Content-Type: application/json\r\nOrigin: http://127.0.0.1\r\nSec-Fetch-Site: same-origin\r\n", 200),
    ("Content-Type: application/json; charset=utf-8\r\n", 200),
])
def test_only_json_posts_from_the_page_itself_are_processed(served, headers, expected):
    with page_server(served) as server:
        answer = post(server, headers)
        assert status(answer) == expected and b"application/json" in answer, answer[:300]


def test_connections_beyond_the_cap_are_answered_503_at_once(served):
    with page_server(served) as server:
        server.max_handlers, server.request_deadline = 2, 5.0
        address = ("127.0.0.1", server.server_address[1])
        idle = [socket.create_connection(address) for _ in range(2)]
        try:
            time.sleep(0.3)  # both accepted, each holding a handler
            with socket.create_connection(address, timeout=2.0) as third:
                assert status(read_answer(third)) == 503
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.3)
        assert status(get(server, "/api/model")) == 200  # the slots came back


def test_a_request_trickling_in_is_cut_off_at_its_deadline(served):
    with page_server(served) as server:
        server.request_deadline = 1.0
        with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=6.0) as sock:
            sock.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            stop = threading.Event()

            def trickle():  # one header line every 0.3 s: each read alone is quick, the request never ends
                n = 0
                while not stop.wait(0.3):
                    try:
                        sock.sendall(f"X-Slow-{n}: 1\r\n".encode())
                    except OSError:
                        return
                    n += 1

            sender = threading.Thread(target=trickle, daemon=True)
            sender.start()
            try:
                answer = read_answer(sock)
            finally:
                stop.set()
                sender.join()
        assert status(answer) == 408 and b'"error"' in answer


def test_a_body_announced_and_never_sent_is_408_as_json(served):
    with page_server(served) as server:
        server.request_deadline = 1.0
        answer = raw_exchange(server, b"POST /api/activations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{", timeout=6.0)
        assert status(answer) == 408 and "error" in json.loads(answer.split(b"\r\n\r\n", 1)[1])


def test_a_ten_megabyte_body_is_read_to_its_end_and_answered_413(served):
    body = b"[" + b"0," * 5_000_000 + b"0]"
    with page_server(served) as server:
        head = f"POST /api/activations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" \
               f"Content-Length: {len(body)}\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=20) as sock:
            sock.sendall(head + body)  # a reset here (the old server) fails the test
            answer = read_answer(sock)
    assert status(answer) == 413 and b'"error"' in answer


def test_answers_carry_the_security_headers_and_no_python_version(served):
    with page_server(served) as server:
        for answer in (get(server, "/"), get(server, "/api/model"), get(server, "/nothing")):
            head = answer.split(b"\r\n\r\n", 1)[0].decode()
            assert "Content-Security-Policy: default-src 'self';" in head and "frame-ancestors 'none'" in head
            assert "unsafe-inline" not in head
            assert "X-Content-Type-Options: nosniff" in head and "Referrer-Policy: no-referrer" in head
            assert "Server: neuro\r\n" in head and "Python" not in head


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "DELETE"])
def test_unknown_methods_are_405_as_json(served, method):
    with page_server(served) as server:
        answer = raw_exchange(server, f"{method} /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert status(answer) == 405 and b"application/json" in answer


class PublishingLock(TurnLock):
    """A turn lock that, once, publishes new parameters (and lets a request rebuild the network from them)
    right after the first holder lets go: the moment a late read of the version would see the newer one."""

    def __init__(self) -> None:
        super().__init__()
        self.then = None

    def release(self) -> None:
        super().release()
        then, self.then = self.then, None
        if then is not None:
            then()


def test_an_answer_names_the_snapshot_its_activations_came_from(test_set):
    old = Network(SIZES, backend="numpy", seed=3).parameters()
    new = Network(SIZES, backend="numpy", seed=4).parameters()
    served = served_network(*old, *test_set)
    served.turns = PublishingLock()

    def publish_and_rebuild():
        served.publish(*new, epoch=1)
        served.answer(np.zeros(784))  # another request: rebuilds the network from version 1

    served.turns.then = publish_and_rebuild
    answered = served.answer(test_set[0][0])
    expected = Network.from_parameters(*old, backend="numpy").activations(test_set[0][:1])[-1][0]
    assert np.allclose(answered["activations"][-1], expected) and answered["version"] == 0


def test_the_mistakes_first_list_names_the_epoch_that_made_it(test_set):
    old = Network(SIZES, backend="numpy", seed=3).parameters()
    new = Network(SIZES, backend="numpy", seed=4).parameters()
    served = served_network(*old, *test_set)
    original_acquire = served.turns.acquire

    def acquire_after_a_publish():  # training publishes epoch 1 while the request waits for its turn
        served.turns.acquire = original_acquire
        served.publish(*new, epoch=1)
        original_acquire()

    served.turns.acquire = acquire_after_a_publish
    listed = served.browse(0)
    by_epoch = {0: old, 1: new}[listed["listed_after_epoch"]]
    wrong = Network.from_parameters(*by_epoch, backend="numpy").predict(test_set[0]) != test_set[1]
    assert listed["mistakes"] == int(wrong.sum()) and listed["listed_after_epoch"] == 1

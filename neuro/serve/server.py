"""The HTTP server: the standard library's ThreadingHTTPServer, the JSON API below /api/, the page's files.

The page needs a handful of small requests a second on the learner's own machine, so the standard library's
threaded server is enough and adds no dependency. The static files are read once from the package's
`static/` folder and served by name from that table: a path outside it (`..`, encoded or not) names no entry,
so nothing but those files can ever be sent. Who may ask is checked first (guards.py); how much anyone may ask
is bounded here: at most `max_handlers` connections are served at once (503 beyond), every request must
arrive whole within `request_deadline` seconds (408), and a body that is refused is read and dropped (up to
`drain_limit` bytes) before the connection closes, so the client reads its answer instead of a reset.
"""

from __future__ import annotations

import io
import json
import secrets
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import guards
from .api import MAX_BODY, Api, ApiError
from .guards import host_of, is_loopback  # noqa: F401  (the CLI and the tests import them from here)

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}

SECURITY_HEADERS = {
    # Scripts, styles and fetches from this server only, no inline script; the page may not be framed.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def static_files() -> dict[str, tuple[bytes, str]]:
    """Every file of the package's static/ folder by its name: (contents, content type)."""
    folder = resources.files("neuro.serve") / "static"
    files = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.is_file() and suffix in CONTENT_TYPES:
            files[entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return files


class PageServer(ThreadingHTTPServer):
    """A threaded HTTP server holding the API and the page's files; one thread per connection, at most
    `max_handlers` at once.

    `allowed_hosts`: names besides loopback names and IP addresses that a request's Host may give.
    `require_token`: whether requests must carry the random token of `url`; by default, when not on loopback.
    """

    daemon_threads = True
    request_queue_size = 64  # connections waiting to be accepted: a page (or a test) may open many at once
    max_handlers = 32
    """Connections served at once; one more is answered 503 at once and closed."""
    request_deadline = 10.0
    """Seconds a request may take to arrive whole (line, headers and body), and a kept-alive connection may wait."""
    drain_limit = 16 * MAX_BODY
    """The most bytes of a refused body read and dropped before the connection is closed."""
    send_timeout = 10.0
    """Seconds an answer may take to be taken by the client."""

    def __init__(self, address: tuple[str, int], api: Api | None = None, *, allowed_hosts=(),
                 require_token: bool | None = None) -> None:
        self.api = api  # may be set after binding, before serve_forever: the port is taken before long work
        self.files = static_files()
        self.allowed_hosts = frozenset(name.lower() for name in allowed_hosts)
        if require_token is None:
            require_token = not is_loopback(address[0])
        self.token = secrets.token_urlsafe(18) if require_token else None
        self._active = 0
        self._counting = threading.Lock()
        if ":" in address[0]:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        super().__init__(address, PageHandler)

    @property
    def token_cookie_name(self) -> str:
        """One cookie per port: two servers on one machine keep their own tokens."""
        return f"{guards.TOKEN_COOKIE}_{self.server_address[1]}"

    def process_request(self, request, client_address) -> None:
        with self._counting:
            busy = self._active >= self.max_handlers
            self._active += 0 if busy else 1
        if busy:
            self._refuse_busy(request)
            return
        try:
            super().process_request(request, client_address)  # starts the connection's thread
        except BaseException:
            self._handler_done()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._handler_done()

    def _handler_done(self) -> None:
        with self._counting:
            self._active -= 1

    def _refuse_busy(self, request: socket.socket) -> None:
        """Answer 503 at once, in the accepting thread, without reading the request."""
        body = json.dumps({"error": f"the server is busy ({self.max_handlers} connections): try again"}).encode()
        head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
                "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n").encode()
        try:
            request.settimeout(1.0)
            request.sendall(head + body)
            request.setblocking(False)
            request.recv(65536)  # what already arrived, so that closing does not reset the connection
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """A browser that went away mid-answer (a closed tab) is no error worth a traceback; others are."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")


class DeadlineReader(io.RawIOBase):
    """The connection's bytes, each read given only the time left before the request's deadline."""

    def __init__(self, raw, connection: socket.socket, handler: PageHandler) -> None:
        self.raw, self.connection, self.handler = raw, connection, handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took too long")
        self.connection.settimeout(left)
        return self.raw.readinto(buffer)

    def close(self) -> None:
        self.raw.close()
        super().close()


class PageHandler(BaseHTTPRequestHandler):
    """One connection's requests: a static file, or an API call answered as JSON."""

    server: PageServer
    protocol_version = "HTTP/1.0"

    def setup(self) -> None:
        super().setup()
        self.deadline = time.monotonic() + self.server.request_deadline
        self.rfile = io.BufferedReader(DeadlineReader(self.rfile.detach(), self.connection, self))

    def version_string(self) -> str:
        return "neuro"  # no Python version for whoever probes the server

    def log_message(self, format: str, *args) -> None:
        pass  # the learner's terminal shows the URL and training, not every request

    def handle_one_request(self) -> None:
        """Read one request within the deadline and answer it; every refusal, even of a malformed request, is JSON."""
        self.deadline = time.monotonic() + self.server.request_deadline
        self.answered = False
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # (it answered the refusal with send_error)
                return
            getattr(self, "do_" + self.command, self._other_method)()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True
            if not self.answered:
                self._json(HTTPStatus.REQUEST_TIMEOUT, {"error": f"the request did not arrive whole within "
                                                                 f"{self.server.request_deadline:g} s"})

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True
        self._json(code, {"error": message or HTTPStatus(code).phrase})

    # --- who may ask -----------------------------------------------------------------------------------------

    def _refused(self, post: bool) -> bool:
        """Answer the refusal and return True when the request may not be served (guards.py says why)."""
        host = self.headers.get("Host", "")
        carried = guards.token_of(self.headers.get("Cookie", ""), self.headers.get(guards.TOKEN_HEADER, ""),
                                  self.server.token_cookie_name)
        refusal = guards.host_refusal(host, self.server.allowed_hosts) or guards.token_refusal(carried,
                                                                                               self.server.token)
        if refusal is None and post:
            refusal = guards.post_refusal(self.headers.get("Content-Type", ""), self.headers.get("Origin"),
                                          self.headers.get("Sec-Fetch-Site"), host)
        if refusal is None:
            return False
        self.close_connection = True
        self._json(refusal[0], {"error": refusal[1]})
        if post:
            self._drain()
        return True

    def _token_in_query(self, parts) -> bool:
        """`?token=` (the printed URL): keep the token in a cookie and send the browser on without it."""
        query = parse_qsl(parts.query, keep_blank_values=True)
        given = [value for name, value in query if name == "token"]
        if self.server.token is None or not given:
            return False
        if guards.token_refusal(given[0], self.server.token) is not None:
            self._json(HTTPStatus.FORBIDDEN, {"error": "this token is not the one neuro serve printed"})
            return True
        rest = urlencode([(name, value) for name, value in query if name != "token"])
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8", {
            "Location": parts.path + (f"?{rest}" if rest else ""),
            "Set-Cookie": guards.token_cookie(self.server.token_cookie_name, self.server.token)})
        return True

    # --- the methods -----------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if guards.host_refusal(self.headers.get("Host", ""), self.server.allowed_hosts) is None and \
                self._token_in_query(parts):
            return
        if self._refused(post=False):
            return
        if parts.path.startswith("/api/"):
            self._api(lambda: self.server.api.get(parts.path.removeprefix("/api/"), parts.query))
            return
        name = "index.html" if parts.path == "/" else parts.path.removeprefix("/static/")
        found = self.server.files.get(name) if parts.path == "/" or parts.path.startswith("/static/") else None
        if found is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"there is no {parts.path[:200]} on this server"})
            return
        contents, content_type = found
        self._send(HTTPStatus.OK, contents, content_type)

    def do_POST(self) -> None:
        if self._refused(post=True):
            return
        parts = urlsplit(self.path)
        if not parts.path.startswith("/api/"):
            self.close_connection = True
            self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "only the API below /api/ takes POST requests"})
            self._drain()
            return
        self._api(lambda: self.server.api.post(parts.path.removeprefix("/api/"), self._body()))

    def _other_method(self) -> None:
        """Every method but GET and POST, known or not: 405, as JSON like every other refusal."""
        self.close_connection = True  # a body, if any, is not read
        if self._refused(post=False):
            return
        self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{self.command[:20]} is not served here: GET the page "
                                                             "and the API, POST a drawing to /api/activations"})

    # --- bodies and answers ----------------------------------------------------------------------------------

    def _body(self) -> bytes:
        """The request body, refused before it is read when it is larger than MAX_BODY (or of unknown size)."""
        length = self.headers.get("Content-Length")
        if length is None or not (length.isascii() and length.isdigit()):
            raise ApiError(411, "send the body with a Content-Length")
        if len(length) > len(str(MAX_BODY)) or int(length) > MAX_BODY:
            raise ApiError(413, f"the body is {length[:20]} bytes; the most accepted is {MAX_BODY:,}")
        try:
            body = self.rfile.read(int(length))
        except TimeoutError:
            raise ApiError(408, f"the body did not arrive whole within {self.server.request_deadline:g} s") from None
        if len(body) < int(length):
            raise ApiError(400, f"the body ended after {len(body)} of the {length} bytes announced")
        return body

    def _drain(self) -> None:
        """Read and drop a refused request's body (up to drain_limit bytes, within the deadline): closing with
        bytes unread resets the connection, and the client, still sending, would never read its answer."""
        length = self.headers.get("Content-Length", "")
        if not (length.isascii() and length.isdigit()):
            return
        left = min(int(length[:20]), self.server.drain_limit)
        try:
            while left > 0 and (chunk := self.rfile.read1(min(left, 1 << 16))):
                left -= len(chunk)
        except OSError:  # (a timeout too): the connection is closed anyway
            pass

    def _api(self, answer) -> None:
        try:
            payload = answer()
        except ApiError as error:
            if error.status in (400, 408, 411, 413):
                self.close_connection = True  # the unread body must not be taken for the next request
            self._json(error.status, {"error": error.message})
            if error.status in (411, 413):
                self._drain()
            return
        except Exception as error:  # a bug, not the request's fault: say so as JSON, keep serving
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(error).__name__}: {error}"})
            return
        self._json(HTTPStatus.OK, payload)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, contents: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.answered = True
        self.connection.settimeout(self.server.send_timeout)  # not what was left of the request's deadline
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(contents)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (SECURITY_HEADERS | (extra or {})).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(contents)

"""The HTTP server: the standard library's ThreadingHTTPServer, the JSON API below /api/, the page's files.

The page needs a handful of small requests a second on the learner's own machine, so the standard library's
threaded server is enough and adds no dependency. The static files are read once from the package's
`static/` folder and served by name from that table: a path outside it (`..`, encoded or not) names no entry,
so nothing but those files can ever be sent.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from .api import MAX_BODY, Api, ApiError

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine only."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(header: str) -> str:
    """The host name of a Host header: 'localhost:8000' -> 'localhost', '[::1]:8000' -> '::1'."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


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
    """A threaded HTTP server holding the API and the page's files; one thread per request."""

    daemon_threads = True
    request_queue_size = 64  # connections waiting to be accepted: a page (or a test) may open many at once

    def __init__(self, address: tuple[str, int], api: Api | None = None) -> None:
        self.api = api  # may be set after binding, before serve_forever: the port is taken before long work
        self.files = static_files()
        if ":" in address[0]:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        super().__init__(address, PageHandler)

    def handle_error(self, request, client_address) -> None:
        """A browser that went away mid-answer (a closed tab) is no error worth a traceback; others are."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"


class PageHandler(BaseHTTPRequestHandler):
    """One request: a static file, or an API call answered as JSON."""

    server: PageServer
    server_version = "neuro"
    timeout = 10  # seconds a connection may stay silent (a body announced and never sent) before it is closed

    def log_message(self, format: str, *args) -> None:
        pass  # the learner's terminal shows the URL and training, not every request

    def _host_refused(self) -> bool:
        """Refuse (403) a request that names another host while the server listens on loopback only: a web page
        elsewhere whose name was pointed at 127.0.0.1 (DNS rebinding) must not read this server's answers."""
        if not is_loopback(self.server.server_address[0]) or is_loopback(host_of(self.headers.get("Host", ""))):
            return False
        self._json(HTTPStatus.FORBIDDEN, {"error": "this server answers requests for localhost or 127.0.0.1 only"})
        return True

    def do_GET(self) -> None:
        if self._host_refused():
            return
        parts = urlsplit(self.path)
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
        if self._host_refused():
            self.close_connection = True  # the body is not read
            return
        parts = urlsplit(self.path)
        if not parts.path.startswith("/api/"):
            self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "only the API below /api/ takes POST requests"})
            return
        self._api(lambda: self.server.api.post(parts.path.removeprefix("/api/"), self._body()))

    def _other_method(self) -> None:
        """Every method but GET and POST: 405, as JSON like every other refusal."""
        self.close_connection = True  # a body, if any, is not read
        if self._host_refused():
            return
        self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{self.command} is not served here: GET the page and "
                                                             "the API, POST a drawing to /api/activations"})

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _other_method

    def _body(self) -> bytes:
        """The request body, refused before it is read when it is larger than MAX_BODY (or of unknown size)."""
        length = self.headers.get("Content-Length")
        if length is None or not (length.isascii() and length.isdigit()):
            raise ApiError(411, "send the body with a Content-Length")
        if len(length) > len(str(MAX_BODY)) or int(length) > MAX_BODY:
            raise ApiError(413, f"the body is {length[:20]} bytes; the most accepted is {MAX_BODY:,}")
        return self.rfile.read(int(length))

    def _api(self, answer) -> None:
        try:
            payload = answer()
        except ApiError as error:
            if error.status in (411, 413):
                self.close_connection = True  # the unread body must not be taken for the next request
            self._json(error.status, {"error": error.message})
            return
        except Exception as error:  # a bug, not the request's fault: say so as JSON, keep serving
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(error).__name__}: {error}"})
            return
        self._json(HTTPStatus.OK, payload)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, contents: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(contents)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(contents)

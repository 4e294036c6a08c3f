"""Who may talk to the server: the checks every request passes before the API or a file answers it.

- The Host header must name this server as the learner reached it: a loopback name, an IP address, or a name
  given with `--allow-host`. Another site whose DNS name was pointed at this machine (DNS rebinding) sends its
  own name, so its page cannot read the answers. (An IP address is allowed because rebinding needs a name.)
- Off loopback, a random token is required: the printed URL carries it (`?token=`), the server answers that with
  an HttpOnly, SameSite=Strict cookie, and the page's requests carry the cookie; a program may send the
  `X-Neuro-Token` header instead. Anyone else on the network who can reach the port cannot use the page.
- A POST must come from the page itself: a JSON body (`application/json`; a web page elsewhere can send a
  "simple" form or text POST without asking, never a JSON one), no foreign `Origin`, and no `Sec-Fetch-Site`
  saying another site sent it.

Each check returns None when the request passes, or (status, message) for the refusal.
"""

from __future__ import annotations

import hmac
import ipaddress
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie

TOKEN_COOKIE = "neuro_token"
TOKEN_HEADER = "X-Neuro-Token"

Refusal = tuple[int, str] | None


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine only."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_ip_address(host: str) -> bool:
    """Whether `host` is an IPv4 or IPv6 address (not a name)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_of(header: str) -> str:
    """The host name of a Host header: 'localhost:8000' -> 'localhost', '[::1]:8000' -> '::1'."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_refusal(host_header: str, allowed_hosts: frozenset[str]) -> Refusal:
    """403 unless the Host header names a loopback name, an IP address or one of `allowed_hosts`."""
    host = host_of(host_header).lower()
    if host and (is_loopback(host) or is_ip_address(host) or host in allowed_hosts):
        return None
    return HTTPStatus.FORBIDDEN, (f"this server does not answer requests for the host {host[:100]!r}: use its "
                                  "address, localhost, or a name given to neuro serve with --allow-host")


def token_of(cookie_header: str, token_header: str, cookie_name: str) -> str:
    """The token a request carries: its X-Neuro-Token header, else its cookie `cookie_name` ('' if none)."""
    if token_header:
        return token_header
    try:
        cookie = SimpleCookie(cookie_header)
    except CookieError:
        return ""
    return cookie[cookie_name].value if cookie_name in cookie else ""


def token_refusal(carried: str, token: str | None) -> Refusal:
    """403 when a token is required and the request does not carry it (compared in constant time)."""
    if token is None or hmac.compare_digest(carried.encode(), token.encode()):
        return None
    return HTTPStatus.FORBIDDEN, "open the page at the URL neuro serve printed: it carries the token (?token=...)"


def post_refusal(content_type: str, origin: str | None, fetch_site: str | None, host_header: str) -> Refusal:
    """Refuse a POST another site's page could send: not JSON (415), from a foreign origin or site (403)."""
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return HTTPStatus.FORBIDDEN, f"a POST sent by another site ({fetch_site}) is refused"
    if origin is not None and origin != f"http://{host_header}":
        return HTTPStatus.FORBIDDEN, f"a POST from another origin ({origin[:100]}) is refused"
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the body as JSON, with Content-Type: application/json"
    return None


def token_cookie(cookie_name: str, token: str) -> str:
    """The Set-Cookie value that keeps the token in the learner's browser for this server."""
    return f"{cookie_name}={token}; Path=/; HttpOnly; SameSite=Strict"

"""Request IDs, client addresses, security headers and safe redirects, for every console
response.

The headers are added in a ``before_send`` hook rather than a route middleware so that even
answers no route produced (404, 405, a refused CSRF token) carry them.
"""

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import Message, Scope

from app.console.state import console_state
from app.forwarding import forwarded_client

REQUEST_ID_KEY = "branchdesk.request_id"
CLIENT_IP_KEY = "branchdesk.client_ip"
# An incoming X-Request-ID is reused only when it is safe to log and to echo in a header.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def request_id(scope: Scope) -> str:
    """The console request's ID: a safe incoming ``X-Request-ID`` or a fresh UUID.

    The same ID goes to the core as ``X-Request-ID`` on every call this request makes, and
    into the console action log, so the two trails join.
    """
    # The ASGI scope's per-request state: the server's untyped mapping, shared by every layer.
    state: dict[str, Any] = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    existing = state.get(REQUEST_ID_KEY)
    if isinstance(existing, str):
        return existing
    incoming = _header(scope, b"x-request-id")
    value = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    state[REQUEST_ID_KEY] = value
    return value


def client_ip(scope: Scope) -> str | None:
    """The staff member's address: the socket peer, or what our reverse proxy forwarded.

    The same rule as the core's (``TRUSTED_PROXIES``): behind a proxy every staff member
    would otherwise be the proxy, and share one sign-in bucket at the core. The core gets
    this address as ``X-Forwarded-For`` and believes it because the console is a trusted
    proxy of its own.
    """
    # The ASGI scope's per-request state: the server's untyped mapping, shared by every layer.
    state: dict[str, Any] = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    if CLIENT_IP_KEY in state:
        cached: str | None = state[CLIENT_IP_KEY]
        return cached
    client = scope.get("client")
    peer = str(client[0]) if client else None
    trusted = console_state(scope["app"]).settings.rate_limit.trusted_proxies
    value = forwarded_client(peer, _header(scope, b"x-forwarded-for"), trusted)
    state[CLIENT_IP_KEY] = value
    return value


def user_agent(scope: Scope) -> str | None:
    """The browser's User-Agent, cut to what the action log stores."""
    value = _header(scope, b"user-agent")
    return value[:255] if value else None


def make_security_headers_hook(*, hsts: bool) -> Any:
    """A ``before_send`` hook adding the request ID and the security headers."""

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope["type"] != ScopeType.HTTP:
            return
        headers = MutableScopeHeaders.from_message(message)
        headers["X-Request-ID"] = request_id(scope)
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
        if hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if not scope.get("path", "").startswith("/static/"):
            # Pages show customers' money: never kept by the browser or a proxy.
            headers["Cache-Control"] = "no-store"

    return add_security_headers


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` when it is a same-site relative path, else ``default`` (no open redirects)."""
    if not value or len(value) > 2000:
        return default
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    if parts.path in {"/login", "/logout"}:
        return default
    return value

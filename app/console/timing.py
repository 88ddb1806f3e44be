"""``Server-Timing: app;dur=<ms>`` on every console answer: how long the console spent on it.

The figure runs from the moment the request reaches the console's middleware stack (after
routing) until the response starts: the session load, CSRF, the guards, the shell's
before-request work (business date, navigation counts), the handler with its calls to the
core, and the template rendering. It is what P4 of ``quality.md`` measures (the
``console`` benchmark reads it), and what a browser's developer tools show beside each
request in production. It says nothing a visitor could not time from outside.

The middleware only notes the start; a ``before_send`` hook writes the header, so answers
made by the app-level error handling (a refused CSRF token) carry it too.
"""

import time
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "Server-Timing"
STARTED_KEY = "branchdesk.started"


def server_timing_value(seconds: float) -> str:
    """The header's value for ``seconds`` spent: ``app;dur=12.3`` (milliseconds)."""
    return f"app;dur={seconds * 1000:.1f}"


class ServerTimingMiddleware(ASGIMiddleware):
    """Notes when an HTTP request reached the console (the outermost middleware)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        # The ASGI scope's per-request state: the server's untyped mapping.
        state: dict[str, Any] = scope.setdefault("state", {})  # type: ignore[typeddict-item]
        state[STARTED_KEY] = time.perf_counter()
        await next_app(scope, receive, send)


async def add_server_timing(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the time since the request reached the console, in the header."""
    if message["type"] != "http.response.start":
        return
    started = scope.get("state", {}).get(STARTED_KEY)
    if isinstance(started, float):
        headers = MutableScopeHeaders.from_message(message)
        headers[HEADER] = server_timing_value(time.perf_counter() - started)

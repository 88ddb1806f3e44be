"""Stage 1: assign or echo X-Request-ID and bind it to the log context.

It also puts the request's path in its canonical form before any later stage looks at
it (``canonical_path``): the path checks of the chain and the router see one spelling.
"""

import re
import uuid
from urllib.parse import quote

import structlog

from app.core.context import SCOPE_KEY, RequestContext
from app.core.middleware._asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    canonical_path,
    header,
)
from app.forwarding import forwarded_client

# An incoming ID is echoed only when it is safe to log and to put in a header.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: frozenset[str]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "/")
        canonical = canonical_path(path)
        if canonical != path:
            scope = {**scope, "path": canonical, "raw_path": quote(canonical).encode()}
        incoming = header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_ID.match(incoming) else uuid.uuid4().hex
        scope[SCOPE_KEY] = RequestContext(
            request_id=request_id,
            client_ip=self.client_ip(scope),
            user_agent=(header(scope, b"user-agent") or "")[:255],
        )
        structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *[(k, v) for k, v in message["headers"] if k != b"x-request-id"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")

    def client_ip(self, scope: Scope) -> str:
        """The socket peer, or the client a trusted proxy put in X-Forwarded-For."""
        peer = str((scope.get("client") or ("unknown", 0))[0])
        forwarded = header(scope, b"x-forwarded-for")
        return forwarded_client(peer, forwarded, self.trusted_proxies) or peer

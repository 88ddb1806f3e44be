"""Small ASGI helpers shared by the middleware stages."""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from app.core.context import SCOPE_KEY, RequestContext
from app.core.errors import ApiError, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def context_of(scope: Scope) -> RequestContext:
    ctx: RequestContext = scope[SCOPE_KEY]
    return ctx


async def send_json(
    send: Send,
    status: int,
    body: Any,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    all_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": payload})


async def send_error(scope: Scope, send: Send, error: ApiError) -> None:
    ctx = scope.get(SCOPE_KEY)
    request_id = ctx.request_id if ctx else None
    body = error_body(error.code, error.message, request_id, error.details, error.extra)
    extra = [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send_json(send, error.status, body, extra)


def canonical_path(path: str) -> str:
    """One spelling per resource, the one the router resolves.

    The router collapses repeated slashes and ignores a trailing one, so ``/auth/login/``
    and ``//auth/login`` reach the sign-in handler. Every path check of the chain (open
    paths, token-exempt paths, the sign-in bucket, the writer) must see the same path the
    router does: the first stage rewrites the request's path to this form. Dot segments
    are resolved as a browser would; ``..`` never climbs above the root.
    """
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments)


# Sign-in steps after the password (issue 14): the second factor's codes and single
# sign-on, which calls the identity provider before it writes.
SIGN_IN_STEPS = frozenset(
    {"/auth/mfa/verify", "/auth/mfa/enrol", "/auth/mfa/enrol/confirm", "/auth/oidc/token"}
)


def is_sign_in(path: str, prefix: str) -> bool:
    """Staff sign-in: its own rate-limit bucket, and it takes the writer only to write."""
    return path == f"{prefix}/auth/login" or (
        path.startswith(prefix) and path[len(prefix) :] in SIGN_IN_STEPS
    )


def is_open_path(path: str, prefix: str) -> bool:
    """Operational paths that need neither a token nor a tenant header."""
    rest = path[len(prefix) :] if path.startswith(prefix) else path
    return (
        rest in {"/health", "/ready", "/metrics", "/.well-known/jwks.json"}
        or rest == "/schema"
        or rest.startswith("/schema/")
    )


def is_token_exempt(path: str, prefix: str) -> bool:
    """Routes that authenticate with something other than an access token."""
    rest = path[len(prefix) :] if path.startswith(prefix) else path
    return rest in {"/auth/login", "/auth/token", "/auth/refresh", "/auth/oidc/provider"} or (
        rest in SIGN_IN_STEPS
    )

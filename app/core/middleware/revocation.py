"""Stage 5: reject tokens whose session or own ID has been revoked."""

import structlog

from app.core.errors import ApiError
from app.core.middleware._asgi import ASGIApp, Receive, Scope, Send, context_of, send_error
from app.core.middleware.rate_limit import REVOCATION_ANSWER
from app.core.revocation import RevocationStore, session_key, token_key

log = structlog.get_logger("branchdesk.core.revocation")


class RevocationMiddleware:
    def __init__(self, app: ASGIApp, store: RevocationStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        principal = ctx.principal
        if principal is not None:
            asked = ctx.notes.pop(REVOCATION_ANSWER, None)
            try:
                if asked is not None and asked[0] == (
                    str(principal.session_id),
                    principal.token_id,
                ):
                    # Stage 3 asked for this very token in its round trip to Redis.
                    revoked = asked[1]
                else:
                    revoked = await self.store.any_revoked(
                        session_key(principal.session_id), token_key(principal.token_id)
                    )
            except Exception as exc:
                log.error("revocation.store_unavailable", error=str(exc))
                await send_error(
                    scope,
                    send,
                    ApiError(
                        "SERVICE_UNAVAILABLE",
                        "The token store is unreachable; try again shortly.",
                        headers={"Retry-After": "5"},
                    ),
                )
                return
            if revoked:
                await send_error(
                    scope, send, ApiError("TOKEN_REVOKED", "This session has been signed out.")
                )
                return
        await self.app(scope, receive, send)

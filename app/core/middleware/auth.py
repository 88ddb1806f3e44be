"""Stage 4: RS256 JWT authentication."""

from app.core.auth.tokens import TokenService
from app.core.errors import ApiError
from app.core.middleware._asgi import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    context_of,
    header,
    is_open_path,
    is_token_exempt,
    send_error,
)


class JWTAuthMiddleware:
    def __init__(self, app: ASGIApp, tokens: TokenService, prefix: str) -> None:
        self.app = app
        self.tokens = tokens
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or is_open_path(path, self.prefix)
            or is_token_exempt(path, self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        authorization = header(scope, b"authorization")
        if not authorization:
            await send_error(scope, send, ApiError("UNAUTHORIZED", "Sign in: no bearer token."))
            return
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await send_error(
                scope, send, ApiError("INVALID_TOKEN", "Authorization must be 'Bearer <token>'.")
            )
            return
        try:
            context_of(scope).principal = self.tokens.verify(token.strip())
        except ApiError as error:
            await send_error(scope, send, error)
            return
        await self.app(scope, receive, send)

"""create_app(): the core API with its middleware chain, declared top to bottom in seed order."""

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.response_cache import ResponseCacheConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from app.core.apidocs import ApiReferencePlugin, schema_router
from app.core.auth.routes import auth_router
from app.core.contract.openapi import document
from app.core.errors import API_PREFIX
from app.core.exceptions import EXCEPTION_HANDLERS
from app.core.http import DEPENDENCIES, idempotency_key_guard
from app.core.middleware._asgi import ASGIApp
from app.core.middleware.auth import JWTAuthMiddleware
from app.core.middleware.idempotency import IdempotencyMiddleware
from app.core.middleware.rate_limit import RateLimitMiddleware
from app.core.middleware.request_id import RequestIdMiddleware
from app.core.middleware.revocation import RevocationMiddleware
from app.core.middleware.route_map import RouteMap
from app.core.middleware.security_headers import SecurityHeadersMiddleware
from app.core.middleware.tenant import TenantMiddleware
from app.core.operations import OPERATION_HANDLERS
from app.core.permissions import role_and_scope_guard
from app.core.production import refuse_sandbox_passwords
from app.core.routes import FEATURE_ROUTERS
from app.core.services import CoreServices
from app.settings import Settings, check_signing_key, get_settings


def build_chain(inner: ASGIApp, services: CoreServices, routes: RouteMap | None = None) -> ASGIApp:
    """Wrap the router in the seed's chain. Read bottom-up: the first stage is outermost."""
    app = inner
    app = IdempotencyMiddleware(app, services.db, services.idempotency, API_PREFIX, routes)  # 7
    app = TenantMiddleware(app, services.tenants, API_PREFIX)  # 6
    app = RevocationMiddleware(app, services.revocations)  # 5
    app = JWTAuthMiddleware(app, services.tokens, API_PREFIX)  # 4
    app = RateLimitMiddleware(  # 3 (asks stage 5's question in the same round trip)
        app, services.limiter, API_PREFIX, services.tokens, services.revocations
    )
    app = SecurityHeadersMiddleware(app)  # 2
    app = RequestIdMiddleware(app, services.settings.rate_limit.trusted_proxies)  # 1
    return app


# The stages in the order a request meets them (the chain test checks build_chain against it).
CHAIN_ORDER = (
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
    RateLimitMiddleware,
    JWTAuthMiddleware,
    RevocationMiddleware,
    TenantMiddleware,
    IdempotencyMiddleware,
)


def create_app(settings: Settings | None = None, services: CoreServices | None = None) -> Litestar:
    """The core API. Routes live under /api/v1/cba, so it runs alone or beside the console."""
    settings = settings or get_settings()
    check_signing_key(settings)
    services = services or CoreServices.build(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        try:
            if settings.server.production:
                await refuse_sandbox_passwords(services.db, settings)
            yield
        finally:
            await services.close()

    api = Router(
        path=API_PREFIX,
        route_handlers=[*OPERATION_HANDLERS, auth_router, *FEATURE_ROUTERS],
    )
    app = Litestar(
        route_handlers=[api],
        dependencies=DEPENDENCIES,
        guards=[role_and_scope_guard, idempotency_key_guard],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Branchdesk CBA API",
            version="1.0.0",
            # The reference page is self-hosted under a strict CSP (app/core/apidocs.py).
            openapi_router=schema_router(),
            render_plugins=[JsonRenderPlugin(), ApiReferencePlugin()],
        ),
        response_cache_config=ResponseCacheConfig(),
        request_max_body_size=1024 * 1024,
        debug=False,
    )
    app.state.services = services
    document(app)  # every error status of every operation, in the contract's body
    # The chain wraps the whole router, so unknown paths and 405s pass through it too.
    chained = build_chain(app.asgi_handler, services, RouteMap.of(app))  # type: ignore[arg-type]
    app.asgi_handler = chained  # type: ignore[method-assign,assignment]
    return app


def route_table(app: Litestar) -> list[dict[str, Any]]:
    """Every (method, path) of the API with the role and scope it needs (role matrix source)."""
    rows = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", [])):
                if method in {"HEAD", "OPTIONS"}:
                    continue
                rows.append(
                    {
                        "method": method,
                        "path": route.path,
                        "open": "role" not in handler.opt,
                        "role": handler.opt.get("role"),
                        "scope": handler.opt.get("scope"),
                        "idempotency_required": bool(handler.opt.get("idempotency_required")),
                        "handler": handler.handler_name,
                    }
                )
    return rows

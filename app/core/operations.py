"""Open operational paths: health, readiness, metrics, JWKS."""

import time
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import MediaType, Response, get
from litestar.datastructures import State

from app.core.contract.operational import Health, Jwks, Readiness
from app.core.services import CoreServices

STARTED = time.time()


@get("/health", summary="Process is up", tags=["operations"])
async def health() -> Health:
    return Health(status="ok")


@get("/ready", summary="Database, Redis and migrations ready", tags=["operations"])
async def ready(state: State) -> Response[Readiness]:
    services: CoreServices = state.services
    checks: dict[str, str] = {}
    try:
        async with services.db.session() as session:
            await session.execute(sa.text("SELECT 1"))
            checks["database"] = "ok"
            checks["migrations"] = await _migrations_state(session)
    except Exception:
        checks["database"] = "unreachable"
    if services.redis is not None:
        try:
            await services.redis.ping()
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "unreachable"
    ok = all(v == "ok" for v in checks.values())
    return Response(
        Readiness(status="ready" if ok else "not_ready", checks=checks),
        status_code=200 if ok else 503,
        headers={} if ok else {"Retry-After": "5"},
    )


async def _migrations_state(session: Any) -> str:
    from app.migrations_state import heads_applied

    return "ok" if await heads_applied(session) else "behind"


@get("/metrics", summary="Prometheus metrics", tags=["operations"], media_type=MediaType.TEXT)
async def metrics() -> str:
    uptime = time.time() - STARTED
    return (
        "# HELP branchdesk_core_uptime_seconds Seconds since this core process started.\n"
        "# TYPE branchdesk_core_uptime_seconds gauge\n"
        f"branchdesk_core_uptime_seconds {uptime:.0f}\n"
    )


@get("/.well-known/jwks.json", summary="Public signing keys (RFC 7517)", tags=["operations"])
async def jwks(state: State) -> Jwks:
    services: CoreServices = state.services
    # The key set as joserfc writes it (RFC 7517 members), read into its model.
    return msgspec.convert(services.keys.jwks(), Jwks)


OPERATION_HANDLERS = [health, ready, metrics, jwks]

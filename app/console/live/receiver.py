"""``POST /webhooks/cba``: the core's events in, verified, stored once, pushed once.

The signature is the request's only proof (the route is public and exempt from CSRF):
anything unsigned, signed with another secret or older than the tolerance is refused with
``401`` before anything is parsed or stored. The event's ID (signed, in the body) is the
dedup key; a unique constraint makes it hold across console processes, so whichever
process stores an event is the one that pushes it, and a redelivery is acknowledged with
``200`` and nothing else.
"""

import json
from typing import Any

import sqlalchemy as sa
import structlog
from litestar import Request, Response, post
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from app.console.live.hub import LiveEvent, looks_like_uuid, tenant_key
from app.console.live.signature import SignatureRefused, verify
from app.console.models import ConsoleWebhookEvent
from app.console.state import ConsoleState, console_state
from app.db import is_unique_violation

logger = structlog.get_logger("branchdesk.console")

MAX_BODY_BYTES = 1024 * 1024
MAX_EVENT_ID_LENGTH = 100
MAX_TYPE_LENGTH = 80


def _answer(status_code: int, **body: Any) -> Response[dict[str, Any]]:
    return Response(body, status_code=status_code, headers={"Cache-Control": "no-store"})


def _tenant_of(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(tenant ID, tenant code)`` as the event names them (the core may send either)."""
    raw = payload.get("tenant_id")
    data = payload.get("data")
    code = payload.get("tenant_code")
    if not code and isinstance(data, dict):
        code = data.get("tenant_code")
    tenant_id: str | None = None
    if raw is not None:
        key = tenant_key(str(raw))[:64]
        if looks_like_uuid(key):
            tenant_id = key
        else:
            code = code or key  # a tenant code in place of the ID
    return tenant_id, (str(code)[:64] if code else None)


def _event_from(payload: Any, header_id: str | None) -> tuple[LiveEvent, dict[str, Any]] | str:
    """The event in a verified body, or what is wrong with it."""
    if not isinstance(payload, dict):
        return "the body must be a JSON object"
    event_id = payload.get("id")
    event_type = payload.get("type")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
        return "id must be the event's ID"
    if not isinstance(event_type, str) or not 0 < len(event_type) <= MAX_TYPE_LENGTH:
        return "type must be the event's type"
    # The header is not signed; the body's ID is. A header that disagrees with it could
    # make one signed event look like many, so it is refused rather than trusted.
    if header_id is not None and header_id != event_id:
        return "X-Webhook-ID does not match the event's id"
    tenant_id, tenant_code = _tenant_of(payload)
    return LiveEvent(event_id, event_type, tenant_id, tenant_code), payload


async def _store(console: ConsoleState, event: LiveEvent, payload: dict[str, Any]) -> bool:
    """Store ``event``; ``False`` when it was already stored (by any process)."""
    row = ConsoleWebhookEvent(
        event_id=event.event_id,
        type=event.type,
        tenant_id=event.tenant_id,
        tenant_code=event.tenant_code,
        payload=payload,
    )
    database = console.database
    try:
        async with database.writer(), database.session() as session:
            session.add(row)
            await session.commit()
    except sa.exc.IntegrityError as exc:
        if is_unique_violation(exc):
            return False
        raise
    return True


async def _forget(console: ConsoleState, event_id: str) -> None:
    database = console.database
    async with database.writer(), database.session() as session:
        await session.execute(
            sa.delete(ConsoleWebhookEvent).where(
                ConsoleWebhookEvent.event_id == event_id  # type: ignore[arg-type]
            )
        )
        await session.commit()


@post(
    "/webhooks/cba",
    opt={"public": True},
    name="webhooks_cba",
    include_in_schema=False,
    status_code=HTTP_200_OK,
)
async def receive_webhook(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Verify, store once and push one webhook delivery from the core."""
    console = console_state(request.app)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _answer(HTTP_413_REQUEST_ENTITY_TOO_LARGE, error="the body is too large")
    try:
        verify(
            console.settings.console.webhook_secret,
            request.headers.get("x-webhook-signature"),
            body,
        )
    except SignatureRefused as exc:
        logger.warning("console.webhook_refused", reason=str(exc))
        return _answer(HTTP_401_UNAUTHORIZED, error="invalid or expired signature")
    try:
        payload = json.loads(body)
    except ValueError:
        return _answer(HTTP_400_BAD_REQUEST, error="the body is not JSON")
    found = _event_from(payload, request.headers.get("x-webhook-id"))
    if isinstance(found, str):
        return _answer(HTTP_400_BAD_REQUEST, error=found)
    event, stored_payload = found
    if not await _store(console, event, stored_payload):
        logger.info("console.webhook_duplicate", event_id=event.event_id, event_type=event.type)
        return _answer(HTTP_200_OK, received=True, duplicate=True)
    try:
        await console.live.publish(event)
    except Exception as exc:
        # Unpushed, the event must not count as received: forget it so the core's retry
        # stores and pushes it.
        logger.warning("console.webhook_push_failed", event_id=event.event_id, error=str(exc))
        await _forget(console, event.event_id)
        return _answer(HTTP_503_SERVICE_UNAVAILABLE, error="live updates are unavailable")
    logger.info("console.webhook_received", event_id=event.event_id, event_type=event.type)
    return _answer(HTTP_200_OK, received=True, duplicate=False)

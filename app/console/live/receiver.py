"""``POST /webhooks/cba``: the core's events in, verified, stored once, pushed once.

The signature is the request's only proof (the route is public and exempt from CSRF):
anything unsigned, signed with another secret or older than the tolerance is refused with
``401`` before anything is parsed or stored. The event's ID (signed, in the body) is the
dedup key; a unique constraint makes it hold across console processes, so whichever
process stores an event is the one that pushes it, and a redelivery is acknowledged with
``200`` and nothing else. Events that arrive together are stored and pushed together
(:class:`Inbox`); each answer still waits for its own event.
"""

import functools
import json
from typing import Any, cast

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
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.batching import GroupWriter, write_transaction
from app.console.live.hub import LiveEvent, looks_like_uuid, tenant_key
from app.console.live.signature import SignatureRefused, verify
from app.console.models import ConsoleWebhookEvent, EventPayload
from app.console.state import ConsoleState, console_state
from app.db import Database, new_id, utcnow

logger = structlog.get_logger("branchdesk.console")

MAX_BODY_BYTES = 1024 * 1024
MAX_EVENT_ID_LENGTH = 100
MAX_TYPE_LENGTH = 80


def _answer(status_code: int, **body: str | bool) -> Response[dict[str, str | bool]]:
    return Response(body, status_code=status_code, headers={"Cache-Control": "no-store"})


def _tenant_of(payload: EventPayload) -> tuple[str | None, str | None]:
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


def _event_from(payload: Any, header_id: str | None) -> tuple[LiveEvent, EventPayload] | str:
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


STORED = "stored"
DUPLICATE = "duplicate"
UNPUSHED = "unpushed"
GROUP_MOST = 200  # events stored and pushed together at most


class Inbox:
    """The receiver's writes, in groups: every event that arrives while the previous group
    is being stored goes with the next one — one transaction (an insert that skips IDs
    already stored) and one Redis round trip for all of them. Each request still answers
    only once its own event is stored and pushed (or known to be a duplicate)."""

    def __init__(self, console: ConsoleState) -> None:
        self._console = console
        self._writer: GroupWriter[tuple[LiveEvent, EventPayload], str] = GroupWriter(
            self._store_and_push, GROUP_MOST
        )

    async def receive(self, event: LiveEvent, payload: EventPayload) -> str:
        """``STORED`` (and pushed), ``DUPLICATE`` (stored before, by any process) or
        ``UNPUSHED`` (not kept: the push failed)."""
        return await self._writer.submit((event, payload))

    async def _store_and_push(self, items: list[tuple[LiveEvent, EventPayload]]) -> list[str]:
        first: dict[str, int] = {}  # event ID → the item that stands for it in this group
        rows = []
        now = utcnow()
        for n, (event, payload) in enumerate(items):
            if event.event_id in first:
                continue  # the same event twice at once: the first one counts
            first[event.event_id] = n
            rows.append(
                {
                    "id": new_id(),
                    "event_id": event.event_id,
                    "type": event.type,
                    "tenant_id": event.tenant_id,
                    "tenant_code": event.tenant_code,
                    "payload": payload,
                    "received_at": now,
                }
            )
        database = self._console.database
        async with write_transaction(database) as connection:
            # The unique event ID is the dedup across console processes: whichever
            # process inserts it stores and pushes it; the others are told it is not new.
            stored = set((await connection.execute(_insert_new(database), rows)).scalars())
        results = [DUPLICATE] * len(items)
        new = [items[n][0] for event_id, n in first.items() if event_id in stored]
        for event in new:
            results[first[event.event_id]] = STORED
        if new:
            try:
                await self._console.live.publish_many(new)
            except Exception as exc:
                # Unpushed, the events must not count as received: forget them so the
                # core's retries store and push them.
                logger.warning("console.webhook_push_failed", events=len(new), error=str(exc))
                await _forget(database, [event.event_id for event in new])
                for event in new:
                    results[first[event.event_id]] = UNPUSHED
        return results


def _insert_new(database: Database) -> Any:
    return _insert_new_for(database.is_sqlite)


@functools.cache
def _insert_new_for(sqlite: bool) -> Any:
    """``INSERT … ON CONFLICT (event_id) DO NOTHING RETURNING event_id``: the IDs it
    returns are the events this process stored (built once per dialect)."""
    table = ConsoleWebhookEvent.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if sqlite else postgresql_insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )


async def _forget(database: Database, event_ids: list[str]) -> None:
    table = ConsoleWebhookEvent.__table__  # type: ignore[attr-defined]
    async with write_transaction(database) as connection:
        await connection.execute(sa.delete(table).where(table.c.event_id.in_(event_ids)))


INBOX_KEY = "webhook_inbox"


def _inbox(request: Request[Any, Any, Any]) -> Inbox:
    """This app's inbox (one per console process), made on first use."""
    state = request.app.state
    inbox = state.get(INBOX_KEY)
    if inbox is None:
        inbox = state[INBOX_KEY] = Inbox(console_state(request.app))
    return cast(Inbox, inbox)


@post(
    "/webhooks/cba",
    opt={"public": True},
    name="webhooks_cba",
    include_in_schema=False,
    status_code=HTTP_200_OK,
)
async def receive_webhook(request: Request[Any, Any, Any]) -> Response[dict[str, str | bool]]:
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
    outcome = await _inbox(request).receive(event, stored_payload)
    if outcome == DUPLICATE:
        logger.info("console.webhook_duplicate", event_id=event.event_id, event_type=event.type)
        return _answer(HTTP_200_OK, received=True, duplicate=True)
    if outcome == UNPUSHED:
        return _answer(HTTP_503_SERVICE_UNAVAILABLE, error="live updates are unavailable")
    logger.info("console.webhook_received", event_id=event.event_id, event_type=event.type)
    return _answer(HTTP_200_OK, received=True, duplicate=False)

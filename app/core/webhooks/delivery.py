"""Outbox fan-out and webhook delivery: at least once, signed, with backoff and a log.

Each worker cycle does two cheap things. *Fan-out* turns new outbox events into one
delivery per active subscription of the event's tenant that names its type, and marks
the events dispatched. *Delivery* claims due deliveries and POSTs them.

A claim is a lease: in one transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
workers never wait for each other) the worker stamps its ``claim_token`` and pushes
``next_attempt_at`` past the attempt's deadline. No other worker sees the delivery as
due until the result is recorded or, if this worker died, the lease runs out; either
way one delivery is never attempted twice at once. SQLite runs one worker process,
serialized by the database's write lock.

The request (the vendor's scheme, `api.md`): body ``{id, type, tenant_id, data,
created_at}``; ``X-Webhook-ID`` is the event ID (the same on every retry),
``X-Webhook-Timestamp`` the unix time of this attempt, and ``X-Webhook-Signature:
t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``. A 2xx is delivered; anything
else (or no answer within the timeout) is retried after ``base × 2^(n-1)`` seconds
(capped at ``backoff_max_seconds``, 24 h), with jitter, until ``max_attempts``; then
the delivery is FAILED. Every attempt is logged, its failure as a short category
(``connection refused``, ``timeout``, ``TLS``, ``DNS``, ``refused: internal address``,
``HTTP <status>``), never the exception's text.

Before each attempt the target is resolved and checked (:mod:`app.core.webhooks.targets`),
and the connection goes to the address that was checked (:mod:`app.core.webhooks.pinning`).
"""

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpcore
import sqlalchemy as sa
import structlog
from sqlmodel import col

from app.core.common import iso
from app.core.webhooks.models import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.core.webhooks.pinning import delivery_pool, failure_category, pinned
from app.core.webhooks.sealing import SecretUnreadable, open_secret, seal_plain_secrets
from app.core.webhooks.service import DELIVERED, FAILED, PENDING
from app.core.webhooks.targets import (
    DEFAULT_PORTS,
    Address,
    Resolver,
    Target,
    checked_address,
    system_resolver,
)
from app.db import Database, utcnow
from app.settings import WebhookSettings

log = structlog.get_logger("branchdesk.webhooks")

USER_AGENT = "Branchdesk-Webhooks/1.0"
LEASE_MARGIN = timedelta(seconds=60)  # beyond the attempt's own deadline
FAN_OUT_BATCH = 500


def event_payload(event: OutboxEvent) -> bytes:
    """The raw body of every attempt of this event (signed as sent)."""
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "tenant_id": str(event.tenant_id),
            "data": event.data,
            "created_at": iso(event.created_at),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signed_headers(event_id: str, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-ID": event_id,
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": signature(secret, timestamp, body),
    }


def backoff_seconds(failed_attempts: int, settings: WebhookSettings) -> float:
    """The wait after the ``failed_attempts``-th failure: doubling, capped, jittered."""
    ceiling: float = min(
        settings.backoff_base_seconds * 2.0 ** min(failed_attempts - 1, 40),
        settings.backoff_max_seconds,
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # "equal jitter": never a stampede


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds the lease of, with what it needs to attempt it."""

    delivery_id: uuid.UUID
    claim_token: uuid.UUID
    number: int
    event_id: str
    body: bytes
    url: str
    secret: str | None  # None: sealed with a key this worker does not have


@dataclass(frozen=True)
class Outcome:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookDispatcher:
    """Fan-out and delivery for one worker process."""

    def __init__(
        self,
        db: Database,
        settings: WebhookSettings,
        *,
        resolver: Resolver | None = None,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self._resolve = resolver or system_resolver
        # Redirects are not followed (a redirect is not a delivery), no proxy is used, and
        # every connection goes to the address that was checked.
        self._pool = delivery_pool(max(settings.batch_size, 1), network)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._secrets_sealed = False

    async def run_once(self, *, wait: bool = False) -> int:
        """Fan out new events, then start attempts of due deliveries (up to the batch size).

        Attempts run in the background, so a slow receiver never delays the next
        cycle; ``wait=True`` waits for them (tests, shutdown).
        """
        if not self._secrets_sealed:
            await seal_plain_secrets(self.db, self.settings.secrets_key)
            self._secrets_sealed = True
        await self.fan_out()
        started = 0
        free = self.settings.batch_size - len(self._in_flight)
        if free > 0:
            for claimed in await self.claim_due(free):
                task = asyncio.create_task(self._attempt_and_record(claimed))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
                started += 1
        if wait:
            await self.drain()
        return started

    async def drain(self) -> None:
        """Wait for every attempt this worker has started."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop: attempts still running are abandoned (their leases run out, and another
        cycle attempts them again: at least once, never lost)."""
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        await self._pool.aclose()

    # -- fan-out --------------------------------------------------------------------------

    async def fan_out(self) -> int:
        """One delivery per (new event, active subscription naming its type, created by then)."""
        async with self.db.session() as session:
            waiting = await session.execute(
                sa.select(col(OutboxEvent.id))
                .where(col(OutboxEvent.dispatched_at).is_(None))
                .limit(1)
            )
            if waiting.first() is None:
                return 0  # the usual idle cycle: one indexed read, no write lock
        async with self.db.writer(), self.db.session() as session:
            events = list(
                (
                    await session.execute(
                        sa.select(OutboxEvent)
                        .where(col(OutboxEvent.dispatched_at).is_(None))
                        .order_by(col(OutboxEvent.created_at))
                        .limit(FAN_OUT_BATCH)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            if not events:
                return 0
            subscriptions: dict[uuid.UUID, list[WebhookSubscription]] = defaultdict(list)
            for subscription in (
                await session.execute(
                    sa.select(WebhookSubscription).where(
                        col(WebhookSubscription.tenant_id).in_({e.tenant_id for e in events}),
                        col(WebhookSubscription.is_active).is_(True),
                        col(WebhookSubscription.deleted_at).is_(None),
                    )
                )
            ).scalars():
                subscriptions[subscription.tenant_id].append(subscription)
            now = utcnow()
            created = 0
            for event in events:
                for subscription in subscriptions[event.tenant_id]:
                    # A subscription hears what happens from its creation on, not before.
                    if (
                        event.type in subscription.events
                        and subscription.created_at <= event.created_at
                    ):
                        session.add(
                            WebhookDelivery(
                                tenant_id=event.tenant_id,
                                subscription_id=subscription.id,
                                event_id=event.id,
                                event_type=event.type,
                                next_attempt_at=now,
                            )
                        )
                        created += 1
            await session.flush()
            await session.execute(
                sa.update(OutboxEvent)
                .where(col(OutboxEvent.id).in_([e.id for e in events]))
                .values(dispatched_at=now)
            )
            await session.commit()
        return created

    # -- delivery -------------------------------------------------------------------------

    def _due(self, now: datetime) -> sa.Select[Any]:
        return (
            sa.select(col(WebhookDelivery.id))
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .where(
                col(WebhookDelivery.status) == PENDING,
                col(WebhookDelivery.next_attempt_at) <= now,
                col(WebhookSubscription.is_active).is_(True),
                col(WebhookSubscription.deleted_at).is_(None),
            )
        )

    async def claim_due(self, limit: int) -> list[Claimed]:
        """Take the lease of up to ``limit`` due deliveries (none that another worker holds)."""
        now = utcnow()
        async with self.db.session() as session:
            if (await session.execute(self._due(now).limit(1))).first() is None:
                return []
        token = uuid.uuid4()
        lease_until = now + timedelta(seconds=self.settings.timeout_seconds) + LEASE_MARGIN
        async with self.db.writer(), self.db.session() as session:
            ids = list(
                (
                    await session.execute(
                        self._due(now)
                        .order_by(col(WebhookDelivery.next_attempt_at))
                        .limit(limit)
                        .with_for_update(skip_locked=True, of=WebhookDelivery)
                    )
                )
                .scalars()
                .all()
            )
            if not ids:
                return []
            await session.execute(
                sa.update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_(ids))
                .values(claim_token=token, next_attempt_at=lease_until)
            )
            rows = (
                await session.execute(
                    sa.select(WebhookDelivery, OutboxEvent, WebhookSubscription)
                    .join(OutboxEvent, col(OutboxEvent.id) == col(WebhookDelivery.event_id))
                    .join(
                        WebhookSubscription,
                        col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
                    )
                    .where(col(WebhookDelivery.id).in_(ids))
                )
            ).all()
            claimed = [
                Claimed(
                    delivery_id=delivery.id,
                    claim_token=token,
                    number=delivery.attempt_count + 1,
                    event_id=event.id,
                    body=event_payload(event),
                    url=subscription.url,
                    secret=self._secret_of(subscription),
                )
                for delivery, event, subscription in rows
            ]
            await session.commit()
        return claimed

    async def _attempt_and_record(self, claimed: Claimed) -> None:
        try:
            outcome = await self.attempt(claimed)
            await self.record(claimed, outcome)
        except Exception as exc:  # the lease runs out and another cycle tries again
            log.error("webhook.record_failed", delivery_id=str(claimed.delivery_id), error=str(exc))

    def _secret_of(self, subscription: WebhookSubscription) -> str | None:
        try:
            return open_secret(subscription.secret, self.settings.secrets_key, subscription.id)
        except SecretUnreadable:
            log.error("webhook.secret_unreadable", webhook_id=str(subscription.id))
            return None

    async def attempt(self, claimed: Claimed) -> Outcome:
        """POST the event once, to the address just checked; never raises (a failure is
        an outcome, logged as a category)."""
        attempted_at = utcnow()
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            if claimed.secret is None:
                raise _Unsigned
            timestamp = int(time.time())
            headers = signed_headers(claimed.event_id, claimed.secret, claimed.body, timestamp)
            headers["X-Webhook-Attempt"] = str(claimed.number)
            async with asyncio.timeout(self.settings.timeout_seconds):
                target = Target.parse(claimed.url)
                address = await checked_address(
                    target, self.settings.allowed_targets, self._resolve
                )
                status_code = await self._post(target, address, headers, claimed.body)
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except _Unsigned:
            error = "signing secret unreadable"
        except Exception as exc:  # every failure, named by its category only
            error = failure_category(exc)
            log.info(
                "webhook.attempt_error",
                delivery_id=str(claimed.delivery_id),
                category=error,
                exception=type(exc).__name__,
            )
        duration_ms = int((time.perf_counter() - started) * 1000)
        return Outcome(attempted_at, status_code, error, duration_ms)

    async def _post(
        self, target: Target, address: Address, headers: dict[str, str], body: bytes
    ) -> int:
        host_header = target.host if ":" not in target.host else f"[{target.host}]"
        if target.port != DEFAULT_PORTS[target.scheme]:
            host_header += f":{target.port}"
        request_headers = [
            (b"Host", host_header.encode("ascii")),
            *((k.encode(), v.encode()) for k, v in headers.items()),
            (b"Content-Length", str(len(body)).encode()),
        ]
        timeout = self.settings.timeout_seconds
        with pinned(target.host, target.port, address):
            async with self._pool.stream(
                "POST",
                httpcore.URL(
                    scheme=target.scheme.encode(),
                    host=target.host.encode("ascii"),
                    port=target.port,
                    target=target.raw_path,
                ),
                headers=request_headers,
                content=body,
                extensions={
                    "timeout": {
                        "connect": timeout,
                        "read": timeout,
                        "write": timeout,
                        "pool": timeout,
                    }
                },
            ) as response:
                return int(response.status)  # the body is not ours to read

    async def record(self, claimed: Claimed, outcome: Outcome) -> None:
        """Log the attempt and move the delivery on, if this worker still holds its lease."""
        values: dict[str, Any] = {
            "attempt_count": col(WebhookDelivery.attempt_count) + 1,
            "last_attempt_at": outcome.attempted_at,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
            "claim_token": None,
        }
        if outcome.delivered:
            values |= {"status": DELIVERED, "delivered_at": utcnow()}
        elif claimed.number >= self.settings.max_attempts:
            values |= {"status": FAILED}
        else:
            wait = backoff_seconds(claimed.number, self.settings)
            values |= {"next_attempt_at": utcnow() + timedelta(seconds=wait)}
        async with self.db.writer(), self.db.session() as session:
            session.add(
                WebhookAttempt(
                    delivery_id=claimed.delivery_id,
                    number=claimed.number,
                    attempted_at=outcome.attempted_at,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )
            moved = await session.execute(
                sa.update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == claimed.delivery_id,
                    col(WebhookDelivery.claim_token) == claimed.claim_token,
                )
                .values(**values)
            )
            await session.commit()
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("webhook.lease_lost", delivery_id=str(claimed.delivery_id))
        elif not outcome.delivered:
            log.info(
                "webhook.attempt_failed",
                delivery_id=str(claimed.delivery_id),
                attempt=claimed.number,
                error=outcome.error,
            )


class _Unsigned(Exception):
    """The subscription's secret cannot be opened with this worker's key."""

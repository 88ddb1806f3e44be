"""Outbox fan-out and webhook delivery: at least once, signed, with backoff and a log.

The worker's job (:meth:`WebhookDispatcher.run`) runs cycles back to back while there is
work, looks again every 50 ms for a poll interval after it, and rests for
``WORKER_DELIVERY_POLL_SECONDS`` once there has been none for that long. A cycle does two
things. *Fan-out* turns up to 500 new outbox events into one delivery per active
subscription of the event's tenant that names its type (one insert for all of them) and
marks the events dispatched. *Claiming* leases due deliveries, receiver by receiver, and
starts an attempt for each.

Receivers ("endpoints": a URL's scheme, host and port) are served side by side: at most
``WEBHOOK_ENDPOINT_CONCURRENCY`` attempts run at once to one endpoint and at most
``WEBHOOK_DELIVERY_BATCH`` over all of them, each connection kept alive for the next
attempt. A worker leases up to twice an endpoint's concurrency, so the next attempts are
ready when one ends; a slow endpoint fills its own share and nothing else, and the claim
leaves out endpoints whose share is full, so another endpoint's backlog is claimed at once.

A claim is a lease: in one transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
workers never wait for each other) the worker stamps its ``claim_token`` and pushes
``next_attempt_at`` past the time the attempt may take, waiting for its turn included
(two attempt timeouts and a margin). No other worker sees the delivery as due until the
result is recorded or, if this worker died, the lease runs out; and an attempt whose turn
came too late to finish within its lease is not made (the lease runs out and it is claimed
again). Either way one delivery is never attempted twice at once. SQLite runs one worker
process, serialized by the database's write lock.

Results are recorded in groups: each attempt's result joins the next write, which logs
every attempt and moves every delivery on in one transaction (only where this worker still
holds the lease). A delivery is attempted again when its result could not be recorded.

Order: first attempts are claimed in the order the events were written (a delivery is due
from its event's ``created_at``), but attempts to one endpoint run side by side and a
failed one is retried later, so receivers must not rely on arrival order — only on each
event arriving at least once, with the same ``X-Webhook-ID`` every time.

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
and the request goes to the address that was checked (:mod:`app.core.webhooks.pinning`):
on a new connection to it, or on a kept-alive one that was opened to that same address.
"""

import asyncio
import functools
import hashlib
import hmac
import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from app.batching import GroupWriter, write_transaction
from app.core.common import iso
from app.core.webhooks.models import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.core.webhooks.pinning import DeliveryClient, Opener, failure_category
from app.core.webhooks.sealing import SecretUnreadable, open_secret, seal_plain_secrets
from app.core.webhooks.service import DELIVERED, FAILED, PENDING
from app.core.webhooks.targets import (
    Address,
    Resolver,
    Target,
    TargetRefused,
    checked_address,
    system_resolver,
)
from app.db import Database, UtcDateTime, new_id, utcnow
from app.settings import WebhookSettings

log = structlog.get_logger("branchdesk.webhooks")

USER_AGENT = "Branchdesk-Webhooks/1.0"
FAN_OUT_BATCH = 500  # events turned into deliveries per transaction
PEEK_WINDOW = 1000  # due deliveries looked at to find the endpoints with work
RECORD_BATCH = 500  # attempt results recorded per transaction
# Between busy cycles: long enough for results and new events to gather into one claim and
# one fan-out, short enough that nobody waits for it.
BUSY_PAUSE_SECONDS = 0.01
LINGER_STEP_SECONDS = 0.05  # how often to look for more after work, until idle for a poll

_Delivery = WebhookDelivery.__table__  # type: ignore[attr-defined]
_Attempt = WebhookAttempt.__table__  # type: ignore[attr-defined]
_Event = OutboxEvent.__table__  # type: ignore[attr-defined]
_Subscription = WebhookSubscription.__table__  # type: ignore[attr-defined]


def event_payload(event: Any) -> bytes:
    """The raw body of every attempt of this event (signed as sent); ``event`` has the
    outbox event's ``id``, ``type``, ``tenant_id``, ``data`` and ``created_at``."""
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


@functools.lru_cache(maxsize=4096)
def parsed(url: str) -> Target:
    """The subscription URL as the client sends to it (parsed once per URL; raises
    :class:`TargetRefused` for one it cannot use, every time)."""
    return Target.parse(url)


def endpoint_of(url: str) -> str:
    """The receiver a URL reaches, ``scheme://host:port``: what concurrency is counted by
    (and what a kept-alive connection serves). A URL that does not parse is its own."""
    try:
        target = parsed(url)
    except TargetRefused:
        return url
    return f"{target.scheme}://{target.host}:{target.port}"


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
    lease_until: datetime | None = None  # None: no deadline to keep (a direct attempt)


@dataclass(frozen=True)
class Outcome:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class _Endpoint:
    """What this worker holds of one receiver: its leases, and its turns to send."""

    turns: asyncio.Semaphore
    leased: int = 0


class WebhookDispatcher:
    """Fan-out and delivery for one worker process."""

    def __init__(
        self,
        db: Database,
        settings: WebhookSettings,
        *,
        resolver: Resolver | None = None,
        opener: Opener | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.settings = settings
        self._poll_seconds = poll_seconds  # the longest wait for a turn before looking again
        self._resolve = resolver or system_resolver
        self._concurrency = max(settings.batch_size, 1)
        self._per_endpoint = max(1, min(settings.endpoint_concurrency, self._concurrency))
        # Redirects are not followed (a redirect is not a delivery), no proxy is used, and
        # every connection goes to the address that was checked.
        self._client = DeliveryClient(opener)
        self._sending = asyncio.Semaphore(self._concurrency)
        self._endpoints: dict[str, _Endpoint] = {}
        # Each subscription's endpoint as last seen, to leave out those of full endpoints
        # when looking for due work (so a slow endpoint's backlog never hides another's).
        self._endpoint_of: dict[uuid.UUID, str] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._turn_freed = asyncio.Event()
        self._recorder: GroupWriter[tuple[Claimed, Outcome], None] = GroupWriter(
            self._record_group, RECORD_BATCH
        )
        self._secrets: dict[tuple[uuid.UUID, str], str | None] = {}
        self._secrets_sealed = False

    # -- the job --------------------------------------------------------------------------

    async def run(self) -> int:
        """The worker's job: cycles back to back while there is work (pausing only to let
        results gather, or until an attempt ends when every share is taken), then keeps
        looking every 50 ms for as long as the poll interval (events come in runs: a
        transfer load's next ones are due in milliseconds); returns when that passed with
        nothing to do, and the worker polls again after its interval."""
        started_in_all = 0
        last_work = time.monotonic()
        while True:
            fanned_out = await self._fan_out_once()
            started, more_waiting = await self._claim_and_start()
            started_in_all += started
            if fanned_out or started:
                last_work = time.monotonic()
            if more_waiting:  # due deliveries wait for an endpoint's share or the worker's
                self._turn_freed.clear()
                try:
                    async with asyncio.timeout(self._poll_seconds):
                        await self._turn_freed.wait()
                except TimeoutError:
                    pass
            elif not fanned_out and not started:
                if time.monotonic() - last_work >= self._poll_seconds:
                    return started_in_all
                await asyncio.sleep(LINGER_STEP_SECONDS)
                continue
            await asyncio.sleep(BUSY_PAUSE_SECONDS)

    async def run_once(self, *, wait: bool = False) -> int:
        """One cycle: fan out new events, then start attempts of due deliveries.

        Attempts run in the background, so a slow receiver never delays the next
        cycle; ``wait=True`` waits for them and their records (tests, shutdown).
        """
        await self._fan_out_once()
        started, _ = await self._claim_and_start()
        if wait:
            await self.drain()
        return started

    async def drain(self) -> None:
        """Wait for every attempt this worker has started, and its record."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop: attempts still running are abandoned (their leases run out, and another
        cycle attempts them again: at least once, never lost); results already in are
        recorded."""
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        await self._recorder.aclose()
        await self._client.aclose()

    # -- the database ---------------------------------------------------------------------

    def _writing(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return write_transaction(self.db)

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        async with self.db.engine.connect() as connection:
            yield connection

    # -- fan-out --------------------------------------------------------------------------

    async def _fan_out_once(self) -> int:
        if not self._secrets_sealed:
            await seal_plain_secrets(self.db, self.settings.secrets_key)
            self._secrets_sealed = True
        return await self.fan_out()

    async def fan_out(self) -> int:
        """One delivery per (new event, active subscription naming its type, created by then)."""
        async with self._reading() as connection:
            if (await connection.execute(_WAITING)).first() is None:
                return 0  # the usual idle cycle: one indexed read, no write lock
        async with self._writing() as connection:
            events = (await connection.execute(_NEW_EVENTS)).all()
            if not events:
                return 0
            listening: dict[uuid.UUID, list[sa.Row[Any]]] = defaultdict(list)
            tenants = list({e.tenant_id for e in events})
            for subscription in await connection.execute(_LISTENING, {"tenants": tenants}):
                listening[subscription.tenant_id].append(subscription)
            now = utcnow()
            deliveries = [
                {
                    "id": new_id(),
                    "tenant_id": event.tenant_id,
                    "subscription_id": subscription.id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "status": PENDING,
                    "attempt_count": 0,
                    # Due since the event happened: first attempts go in the events' order.
                    "next_attempt_at": min(event.created_at, now),
                    "created_at": now,
                }
                for event in events
                for subscription in listening[event.tenant_id]
                # A subscription hears what happens from its creation on, not before.
                if event.type in subscription.events and subscription.created_at <= event.created_at
            ]
            if deliveries:
                await connection.execute(sa.insert(_Delivery), deliveries)
            await connection.execute(
                _MARK_DISPATCHED, {"ids": [e.id for e in events], "dispatched_at": now}
            )
        return len(deliveries)

    # -- claiming -------------------------------------------------------------------------

    def _endpoint(self, key: str) -> _Endpoint:
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            endpoint = self._endpoints[key] = _Endpoint(asyncio.Semaphore(self._per_endpoint))
        return endpoint

    def _room(self, key: str) -> int:
        """How many more deliveries this worker may lease for one endpoint."""
        endpoint = self._endpoints.get(key)
        return 2 * self._per_endpoint - (endpoint.leased if endpoint else 0)

    async def _claim_and_start(self) -> tuple[int, bool]:
        """Lease due deliveries where there is room and start their attempts: (started,
        whether due deliveries were left for want of room)."""
        room = 2 * self._concurrency - len(self._in_flight)
        full = [key for key in self._endpoints if self._room(key) <= 0]
        claimed, left_waiting = await self.claim_due(room, exclude_endpoints=full)
        for claim in claimed:
            endpoint = self._endpoint(endpoint_of(claim.url))
            endpoint.leased += 1
            task = asyncio.create_task(self._attempt_and_record(claim, endpoint))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        self._forget_idle_endpoints()
        self._client.sweep()
        return len(claimed), left_waiting

    def _forget_idle_endpoints(self) -> None:
        for key in [k for k, e in self._endpoints.items() if e.leased == 0]:
            del self._endpoints[key]

    async def claim_due(
        self, limit: int, *, exclude_endpoints: Sequence[str] = ()
    ) -> tuple[list[Claimed], bool]:
        """Take the lease of up to ``limit`` due deliveries (none that another worker
        holds), at most this worker's room per endpoint, oldest first: (the claims,
        whether due deliveries were left for want of room)."""
        if limit <= 0:
            return [], True
        now = utcnow()
        excluded = set(exclude_endpoints)
        busy = [s for s, key in self._endpoint_of.items() if key in excluded]
        async with self._reading() as connection:
            peeked = (
                await connection.execute(_DUE_SUBSCRIPTIONS, {"now": now, "busy": busy})
            ).all()
        if len(self._endpoint_of) > 10_000:
            self._endpoint_of.clear()
        by_endpoint: dict[str, list[uuid.UUID]] = defaultdict(list)
        for subscription_id, url in peeked:
            key = self._endpoint_of[subscription_id] = endpoint_of(url)
            by_endpoint[key].append(subscription_id)
        # Due work of a full endpoint (only seen if its subscriptions were not known yet).
        left_waiting = bool(busy) or any(key in excluded for key in by_endpoint)
        wanted = {key: ids for key, ids in by_endpoint.items() if key not in excluded}
        if not wanted:
            return [], left_waiting
        token = uuid.uuid4()
        lease_until = (
            now
            + 2 * timedelta(seconds=self.settings.timeout_seconds)
            + timedelta(seconds=self.settings.lease_margin_seconds)
        )
        async with self._writing() as connection:
            ids: list[uuid.UUID] = []
            for key, subscription_ids in wanted.items():
                room = min(self._room(key), limit - len(ids))
                if room <= 0:
                    left_waiting = True
                    continue
                found = list(
                    (
                        await connection.execute(
                            _DUE_OF_SUBSCRIPTIONS,
                            {"subscriptions": subscription_ids, "now": now, "room": room},
                        )
                    ).scalars()
                )
                left_waiting |= len(found) == room
                ids += found
            if not ids:
                return [], left_waiting
            await connection.execute(
                _LEASE, {"ids": ids, "token": token, "lease_until": lease_until}
            )
            rows = (await connection.execute(_CLAIMED, {"ids": ids})).all()
        position = {delivery_id: n for n, delivery_id in enumerate(ids)}
        claimed = [
            Claimed(
                delivery_id=row.delivery_id,
                claim_token=token,
                number=row.attempt_count + 1,
                event_id=row.id,
                body=event_payload(row),
                url=row.url,
                secret=self._secret_of(row.subscription_id, row.secret),
                lease_until=lease_until,
            )
            # In the order they were claimed (oldest first), which the turns keep.
            for row in sorted(rows, key=lambda r: position[r.delivery_id])
        ]
        return claimed, left_waiting

    def _secret_of(self, subscription_id: uuid.UUID, sealed: str) -> str | None:
        key = (subscription_id, sealed)
        if key not in self._secrets:
            try:
                self._secrets[key] = open_secret(sealed, self.settings.secrets_key, subscription_id)
            except SecretUnreadable:
                log.error("webhook.secret_unreadable", webhook_id=str(subscription_id))
                self._secrets[key] = None
            if len(self._secrets) > 10_000:  # rotated secrets' old entries
                self._secrets.pop(next(iter(self._secrets)))
        return self._secrets[key]

    # -- attempts -------------------------------------------------------------------------

    async def _attempt_and_record(self, claimed: Claimed, endpoint: _Endpoint) -> None:
        try:
            async with endpoint.turns, self._sending:
                if not self._time_left(claimed):
                    # Waited so long the attempt might outlive its lease: another worker
                    # could claim it meanwhile. Leave it; the lease runs out, it is retried.
                    log.warning("webhook.lease_too_short", delivery_id=str(claimed.delivery_id))
                    return
                outcome = await self.attempt(claimed)
            await self._recorder.submit((claimed, outcome))
        except Exception as exc:  # the lease runs out and another cycle tries again
            log.error("webhook.record_failed", delivery_id=str(claimed.delivery_id), error=str(exc))
        finally:
            endpoint.leased -= 1
            self._turn_freed.set()

    def _time_left(self, claimed: Claimed) -> bool:
        if claimed.lease_until is None:
            return True
        deadline = utcnow() + timedelta(
            seconds=self.settings.timeout_seconds + self.settings.lease_margin_seconds / 2
        )
        return deadline <= claimed.lease_until

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
                target = parsed(claimed.url)
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
        return await self._client.post(
            target, address, list(headers.items()), body, self.settings.timeout_seconds
        )

    # -- recording ------------------------------------------------------------------------

    async def record(self, claimed: Claimed, outcome: Outcome) -> None:
        """Log the attempt and move the delivery on, if this worker still holds its lease
        (in the next group write)."""
        await self._recorder.submit((claimed, outcome))

    def _moved_on(self, claimed: Claimed, outcome: Outcome, now: datetime) -> dict[str, Any]:
        """The delivery's new state after this attempt (``None``: the column stays)."""
        values: dict[str, Any] = {
            "b_id": claimed.delivery_id,
            "b_token": claimed.claim_token,
            "b_attempted_at": outcome.attempted_at,
            "b_status_code": outcome.status_code,
            "b_error": outcome.error,
            "b_status": PENDING,
            "b_delivered_at": None,
            "b_next_attempt_at": None,
        }
        if outcome.delivered:
            values |= {"b_status": DELIVERED, "b_delivered_at": now}
        elif claimed.number >= self.settings.max_attempts:
            values |= {"b_status": FAILED}
        else:
            wait = backoff_seconds(claimed.number, self.settings)
            values |= {"b_next_attempt_at": now + timedelta(seconds=wait)}
        return values

    async def _record_group(self, results: list[tuple[Claimed, Outcome]]) -> list[None]:
        """Every attempt logged, every delivery this worker still leases moved on: one
        transaction for the group."""
        now = utcnow()
        async with self._writing() as connection:
            leases = await connection.execute(
                _LEASES, {"ids": [claimed.delivery_id for claimed, _ in results]}
            )
            tokens: dict[uuid.UUID, uuid.UUID | None] = {row.id: row.claim_token for row in leases}
            await connection.execute(
                sa.insert(_Attempt),
                [
                    {
                        "id": new_id(),
                        "delivery_id": claimed.delivery_id,
                        "number": claimed.number,
                        "attempted_at": outcome.attempted_at,
                        "status_code": outcome.status_code,
                        "error": outcome.error,
                        "duration_ms": outcome.duration_ms,
                    }
                    for claimed, outcome in results
                ],
            )
            held = [
                (claimed, outcome)
                for claimed, outcome in results
                if tokens.get(claimed.delivery_id) == claimed.claim_token
            ]
            if held:
                await connection.execute(
                    _MOVE_ON, [self._moved_on(claimed, outcome, now) for claimed, outcome in held]
                )
        kept = {claimed.delivery_id for claimed, _ in held}
        for claimed, outcome in results:
            if claimed.delivery_id not in kept:
                log.warning("webhook.lease_lost", delivery_id=str(claimed.delivery_id))
            elif not outcome.delivered:
                log.info(
                    "webhook.attempt_failed",
                    delivery_id=str(claimed.delivery_id),
                    attempt=claimed.number,
                    error=outcome.error,
                )
        return [None] * len(results)


class _Unsigned(Exception):
    """The subscription's secret cannot be opened with this worker's key."""


# -- the statements (built once; the database driver prepares each once per connection) ------

_D, _E, _S, _A = _Delivery.c, _Event.c, _Subscription.c, _Attempt.c

_WAITING = sa.select(_E.id).where(_E.dispatched_at.is_(None)).limit(1)

_NEW_EVENTS = (
    sa.select(_E.id, _E.tenant_id, _E.type, _E.created_at)
    .where(_E.dispatched_at.is_(None))
    .order_by(_E.created_at)
    .limit(FAN_OUT_BATCH)
    .with_for_update(skip_locked=True)
)

_LISTENING = sa.select(_S.id, _S.tenant_id, _S.events, _S.created_at).where(
    _S.tenant_id.in_(sa.bindparam("tenants", expanding=True)),
    _S.is_active.is_(True),
    _S.deleted_at.is_(None),
)

_MARK_DISPATCHED = (
    sa.update(_Event)
    .where(_E.id.in_(sa.bindparam("ids", expanding=True)))
    .values(dispatched_at=sa.bindparam("dispatched_at", type_=UtcDateTime()))
)

_NOW = sa.bindparam("now", type_=UtcDateTime())
_ACTIVE = sa.and_(_S.is_active.is_(True), _S.deleted_at.is_(None))

# The subscriptions with due deliveries (among the oldest thousand due, leaving out the
# subscriptions of endpoints that have no room), and their URLs.
_DUE_WINDOW = (
    sa.select(_D.subscription_id)
    .join(_Subscription, _S.id == _D.subscription_id)
    .where(
        _D.status == PENDING,
        _D.next_attempt_at <= _NOW,
        _ACTIVE,
        _D.subscription_id.not_in(sa.bindparam("busy", expanding=True)),
    )
    .order_by(_D.next_attempt_at)
    .limit(PEEK_WINDOW)
    .subquery()
)
_DUE_SUBSCRIPTIONS = sa.select(_S.id, _S.url).where(
    _S.id.in_(sa.select(_DUE_WINDOW.c.subscription_id))
)

_DUE_OF_SUBSCRIPTIONS = (
    sa.select(_D.id)
    .join(_Subscription, _S.id == _D.subscription_id)
    .where(
        _D.subscription_id.in_(sa.bindparam("subscriptions", expanding=True)),
        _D.status == PENDING,
        _D.next_attempt_at <= _NOW,
        _ACTIVE,
    )
    .order_by(_D.next_attempt_at)
    .limit(sa.bindparam("room"))
    .with_for_update(skip_locked=True, of=_Delivery)
)

_LEASE = (
    sa.update(_Delivery)
    .where(_D.id.in_(sa.bindparam("ids", expanding=True)))
    .values(
        claim_token=sa.bindparam("token", type_=_D.claim_token.type),
        next_attempt_at=sa.bindparam("lease_until", type_=UtcDateTime()),
    )
)

_CLAIMED = (
    sa.select(
        _D.id.label("delivery_id"),
        _D.attempt_count,
        _E.id,
        _E.type,
        _E.tenant_id,
        _E.data,
        _E.created_at,
        _S.id.label("subscription_id"),
        _S.url,
        _S.secret,
    )
    .join(_Event, _E.id == _D.event_id)
    .join(_Subscription, _S.id == _D.subscription_id)
    .where(_D.id.in_(sa.bindparam("ids", expanding=True)))
)

_LEASES = (
    sa.select(_D.id, _D.claim_token)
    .where(_D.id.in_(sa.bindparam("ids", expanding=True)))
    .with_for_update()
)

# One statement for every result: a column given as NULL keeps its value.
_MOVE_ON = (
    sa.update(_Delivery)
    .where(_D.id == sa.bindparam("b_id"), _D.claim_token == sa.bindparam("b_token"))
    .values(
        attempt_count=_D.attempt_count + 1,
        last_attempt_at=sa.bindparam("b_attempted_at", type_=UtcDateTime()),
        last_status_code=sa.bindparam("b_status_code", type_=sa.Integer()),
        last_error=sa.bindparam("b_error", type_=sa.String()),
        claim_token=sa.null(),
        status=sa.bindparam("b_status", type_=sa.String()),
        delivered_at=sa.func.coalesce(
            sa.bindparam("b_delivered_at", type_=UtcDateTime()), _D.delivered_at
        ),
        next_attempt_at=sa.func.coalesce(
            sa.bindparam("b_next_attempt_at", type_=UtcDateTime()), _D.next_attempt_at
        ),
    )
)

"""The live hub: every console process fans events out to its own open streams.

An event received by any console process (the webhook receiver) is published once. With
Redis, it goes to a pub/sub channel that every console process listens on, so a page open
on another process hears it too; in the embedded one-process default the hub hands it to
its own subscribers directly. Each process also runs the hub's listeners on every event
(the navigation badge forgets its cached count), so no process keeps a stale figure.

Streams end when the hub closes (shutdown, or the process is told to stop), so an open
page never keeps the server from stopping.
"""

import asyncio
import contextlib
import json
import signal
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

logger = structlog.get_logger("branchdesk.console")

# Redis pub/sub is server-wide, not per database: the database number is in the channel,
# so consoles pointed at different Redis databases never hear each other's events.
CHANNEL_PREFIX = "branchdesk:console:live"
# A subscriber that is this far behind only needs to know that something changed.
QUEUE_SIZE = 64
READY_TIMEOUT_SECONDS = 5.0

# Events after which what waits for a checker may have changed (console.md, "Live updates").
APPROVAL_EVENT_TYPES = frozenset(
    {
        "transaction.pending_approval",
        "transaction.completed",
        "journal.created",
        "journal.approved",
        "journal.rejected",
        "journal.posted",
    }
)
APPROVAL_EVENT_PREFIXES = ("standing_instruction.",)


def tenant_key(value: str) -> str:
    """A tenant ID in one spelling (UUIDs with dashes, lower case); codes as they are."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class LiveEvent:
    """What the hub carries: which event, of which tenant (never the event's data)."""

    event_id: str
    type: str
    tenant_id: str | None = None
    tenant_code: str | None = None

    @property
    def touches_approvals(self) -> bool:
        """Whether the approvals queue (and its count) may have changed."""
        return self.type in APPROVAL_EVENT_TYPES or self.type.startswith(APPROVAL_EVENT_PREFIXES)

    def for_tenant(self, tenant_id: str, tenant_code: str) -> bool:
        """Whether this event belongs to the tenant with this ID and code."""
        return (self.tenant_id is not None and self.tenant_id == tenant_id) or (
            self.tenant_code is not None and self.tenant_code == tenant_code
        )

    def encode(self) -> str:
        return json.dumps(
            {
                "event_id": self.event_id,
                "type": self.type,
                "tenant_id": self.tenant_id,
                "tenant_code": self.tenant_code,
            }
        )

    @classmethod
    def decode(cls, raw: str | bytes) -> "LiveEvent | None":
        """The event in ``raw``, or ``None`` when it is not one of ours."""
        try:
            data = json.loads(raw)
            return cls(
                event_id=str(data["event_id"]),
                type=str(data["type"]),
                tenant_id=None if data.get("tenant_id") is None else str(data["tenant_id"]),
                tenant_code=None if data.get("tenant_code") is None else str(data["tenant_code"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(eq=False)
class Subscription:
    """One open stream's queue. ``None`` in the queue means: the hub is closing."""

    tenant_id: str
    tenant_code: str
    queue: asyncio.Queue[LiveEvent | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE)
    )

    def offer(self, item: LiveEvent | None) -> None:
        """Queue ``item``; a full queue drops its oldest entry (newer says as much)."""
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()


Listener = Callable[[LiveEvent], None]


class LiveHub:
    """Publish events; subscribe a stream to one tenant's events.

    Args:
        redis: A ``redis.asyncio.Redis`` client shared by the console process, or ``None``
            for the in-process hub of the embedded default.
    """

    def __init__(self, redis: Any = None) -> None:
        self._redis = redis
        db = 0
        if redis is not None:
            db = int(redis.connection_pool.connection_kwargs.get("db") or 0)
        self._channel_prefix = f"{CHANNEL_PREFIX}:{db}:"
        self._subscriptions: set[Subscription] = set()
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.closing = asyncio.Event()
        # tenant ID → code, learned from the streams this process serves, so an event that
        # names its tenant by one of them reaches caches keyed by the other.
        self.tenant_codes: dict[str, str] = {}

    @property
    def distributed(self) -> bool:
        """Whether events travel between processes (Redis) or stay in this one."""
        return self._redis is not None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def add_listener(self, listener: Listener) -> None:
        """Run ``listener`` on every event this process hears (from any process)."""
        self._listeners.append(listener)

    def channel(self, event: LiveEvent) -> str:
        return self._channel_prefix + (event.tenant_id or event.tenant_code or "unknown")

    async def publish(self, event: LiveEvent) -> None:
        """Send ``event`` to every console process (this one included)."""
        if self._redis is None:
            self._dispatch(event)
            return
        await self._redis.publish(self.channel(event), event.encode())

    async def publish_many(self, events: list[LiveEvent]) -> None:
        """Send several events in one Redis round trip (a pipeline), in order."""
        if self._redis is None:
            for event in events:
                self._dispatch(event)
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.publish(self.channel(event), event.encode())
            await pipe.execute()

    def _dispatch(self, event: LiveEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("console.live_listener_failed", event_type=event.type)
        for subscription in list(self._subscriptions):
            if event.for_tenant(subscription.tenant_id, subscription.tenant_code):
                subscription.offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant_id: str, tenant_code: str) -> AsyncIterator[Subscription]:
        """A queue of ``tenant``'s events while the ``async with`` lasts.

        Returns once this process is listening, so nothing published after it is missed.
        """
        tenant_id = tenant_key(tenant_id)
        self.tenant_codes[tenant_id] = tenant_code
        subscription = Subscription(tenant_id, tenant_code)
        if self.closing.is_set():
            subscription.offer(None)
        self._subscriptions.add(subscription)
        try:
            await self.listening()
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    async def listening(self, within: float = READY_TIMEOUT_SECONDS) -> bool:
        """Start listening and wait until this process hears published events.

        ``True`` at once for the in-process hub; ``False`` when Redis did not answer in time
        (the hub keeps trying, and the stream still opens).
        """
        await self.start()
        if self._redis is None:
            return True
        try:
            await asyncio.wait_for(self._ready.wait(), within)
        except TimeoutError:
            return False
        return True

    async def start(self) -> None:
        """Start listening on Redis (once; a no-op for the in-process hub)."""
        if self._redis is None or self._task is not None or self.closing.is_set():
            return
        self._task = asyncio.create_task(self._listen(), name="console-live-hub")

    async def _listen(self) -> None:
        """Hear every tenant's events from Redis, reconnecting after an outage."""
        delay = 0.5
        pattern = self._channel_prefix + "*"
        while not self.closing.is_set():
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(pattern)
                self._ready.set()
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    event = LiveEvent.decode(message.get("data") or b"")
                    if event is not None:
                        self._dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._ready.clear()
                logger.warning("console.live_redis_lost", error=type(exc).__name__, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def begin_closing(self) -> None:
        """End every open stream now (the process is stopping)."""
        if self.closing.is_set():
            return
        self.closing.set()
        for subscription in list(self._subscriptions):
            subscription.offer(None)

    async def close(self) -> None:
        """End the streams and stop listening."""
        self.begin_closing()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def end_streams_on_signal(self) -> None:
        """Close the streams as soon as the process is told to stop (SIGTERM, SIGINT).

        The server waits for open responses to finish before it shuts the app down, and an
        event stream never finishes by itself: without this, one open page would hold a
        stopping server until its graceful-shutdown timeout. The server's own handler still
        runs after ours.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if not callable(previous):
                continue  # no server handler to chain to: the default already stops us

            def handler(sig: int, frame: Any, previous: Callable[..., Any] = previous) -> None:
                loop.call_soon_threadsafe(self.begin_closing)
                previous(sig, frame)

            signal.signal(signum, handler)

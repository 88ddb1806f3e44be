"""What one console process holds: the banking client, the database, the stores and locks.

Built once in :func:`app.console.app.create_app` and reached through ``app.state.console``.
The console keeps no state of its own beyond this: sessions and tokens live in the store
(Redis when configured), so several console processes behave like one.
"""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from litestar import Litestar
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from app.client import BankingClient, InProcessLocks, Me, TokenRefresher, TokenSet
from app.console.concurrent import SingleFlight
from app.console.live.hub import LiveHub
from app.db import Database
from app.settings import Settings

# Refresh a session's access token when it expires within this many seconds (the seed).
REFRESH_MARGIN_SECONDS = 300
# How long a refresh may hold a session's lock before another process may take it.
REFRESH_LOCK_SECONDS = 30


class RefreshLocks(Protocol):
    """Per-session locks for single-flight token refresh."""

    def lock(self, key: str) -> AbstractAsyncContextManager[None]: ...


class RedisLocks:
    """Locks shared by every console process through Redis (``redis.asyncio.lock.Lock``)."""

    def __init__(self, redis: Any, prefix: str = "branchdesk:console:refresh-lock:") -> None:
        self._redis = redis
        self._prefix = prefix

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold the lock for ``key`` across processes (it expires if its holder dies)."""
        from redis.asyncio.lock import Lock

        lock = Lock(
            self._redis,
            self._prefix + key,
            timeout=REFRESH_LOCK_SECONDS,
            blocking_timeout=REFRESH_LOCK_SECONDS + 5,
        )
        async with lock:
            yield


@dataclass
class ConsoleState:
    """The console process's shared resources."""

    settings: Settings
    client: BankingClient
    database: Database
    session_store: Store
    token_store: Store
    locks: RefreshLocks
    refresher: TokenRefresher
    live: LiveHub
    redis: Any = None
    # tenant code → (monotonic time, GET /tenant or GET /branches as the client's model)
    tenant_cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    branch_cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    # session ID → (monotonic time, the tokens this process last read or wrote for it): the
    # access token is reused without a store read until it nears expiry (see banking.py).
    token_cache: dict[str, tuple[float, TokenSet]] = field(default_factory=dict)
    # session ID → (monotonic time, ``GET /auth/me``): who the core says the staff member
    # is does not change during a session (a change of roles or branch revokes it).
    me_cache: dict[str, tuple[float, Me]] = field(default_factory=dict)
    # One load at a time per cached thing (see app.console.concurrent).
    flights: SingleFlight = field(default_factory=SingleFlight)

    @classmethod
    def build(cls, settings: Settings) -> "ConsoleState":
        """Create the client, database and stores ``settings`` asks for."""
        client = BankingClient(
            settings.console.banking_api_url,
            settings.console.banking_tenant_id,
            timeout=float(settings.console.client_timeout_seconds),
        )
        redis: Any = None
        session_store: Store
        token_store: Store
        locks: RefreshLocks
        if settings.redis.url:
            from app.redis_client import connect_redis

            redis = connect_redis(settings.redis)
            session_store = RedisStore(redis, namespace="branchdesk:console:sessions")
            token_store = RedisStore(redis, namespace="branchdesk:console:tokens")
            locks = RedisLocks(redis)
        else:
            session_store = MemoryStore()
            token_store = MemoryStore()
            locks = InProcessLocks()
        return cls(
            settings=settings,
            client=client,
            database=Database(settings.database),
            session_store=session_store,
            token_store=token_store,
            locks=locks,
            refresher=TokenRefresher(client, REFRESH_MARGIN_SECONDS),
            live=LiveHub(redis),
            redis=redis,
        )

    async def close(self) -> None:
        """End the live streams; close the client's pool, the database and Redis."""
        await self.live.close()
        await self.client.aclose()
        await self.database.dispose()
        if self.redis is not None:
            await self.redis.aclose()


def console_state(app: Litestar) -> ConsoleState:
    """The :class:`ConsoleState` of a console app."""
    state: ConsoleState = app.state.console
    return state

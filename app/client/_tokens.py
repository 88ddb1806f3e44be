"""Single-flight token refresh for staff sessions.

A refresh token is single use: presenting a spent one revokes the whole session (reuse
detection). So of all the requests (and processes) that notice a session's access token is
about to expire, exactly one may refresh; the others must wait and pick up its result.
"""

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import structlog

from ._errors import BankingAPIAuthError, BankingAPIUnavailable
from ._models import TokenSet

if TYPE_CHECKING:
    from ._client import BankingClient

__all__ = ["InMemoryTokenHolder", "InProcessLocks", "TokenHolder", "TokenRefresher"]

logger = structlog.get_logger("branchdesk.client")


@runtime_checkable
class TokenHolder(Protocol):
    """Where one staff session keeps its tokens (the console implements this).

    ``lock()`` must exclude every other refresher of the same session, across processes
    when the console runs several (e.g. a Redis lock keyed by the session ID).
    """

    async def load(self) -> TokenSet | None:
        """The session's current tokens, or ``None`` when it has none."""
        ...

    async def save(self, tokens: TokenSet) -> None:
        """Store freshly refreshed tokens."""
        ...

    def lock(self) -> AbstractAsyncContextManager[None]:
        """A lock held while refreshing this session's tokens."""
        ...


class InProcessLocks:
    """Per-key asyncio locks, for holders whose sessions live in one process.

    Locks are kept only while in use (weakly referenced), so the map does not grow with
    every session ever seen.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold the lock for ``key``."""
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield


class InMemoryTokenHolder:
    """A :class:`TokenHolder` kept in memory (scripts, tests, a single-process console).

    Args:
        tokens: The initial tokens, if any.
        locks: Shared locks; holders of the same session must share them and ``key``.
        key: The session's key in ``locks``.
    """

    def __init__(
        self,
        tokens: TokenSet | None = None,
        *,
        locks: InProcessLocks | None = None,
        key: str = "session",
    ) -> None:
        self.tokens = tokens
        self._locks = locks or InProcessLocks()
        self._key = key

    async def load(self) -> TokenSet | None:
        """The current tokens."""
        return self.tokens

    async def save(self, tokens: TokenSet) -> None:
        """Replace the tokens."""
        self.tokens = tokens

    def lock(self) -> AbstractAsyncContextManager[None]:
        """This session's lock."""
        return self._locks.lock(self._key)


class TokenRefresher:
    """Hands out a valid access token for a session, refreshing it once when it nears expiry.

    Args:
        client: The client used for ``POST /auth/refresh``.
        refresh_margin_seconds: Refresh when the access token expires within this many
            seconds (the seed's 5 minutes).
        now: Current aware time (injected in tests).
    """

    def __init__(
        self,
        client: "BankingClient",
        refresh_margin_seconds: float = 300,
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._margin = refresh_margin_seconds
        self._now = now or (lambda: datetime.now(UTC))

    async def access_token(
        self,
        holder: TokenHolder,
        tenant: str | None = None,
        *,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> str:
        """A usable access token for ``holder``'s session.

        Args:
            holder: The session's token store and lock.
            tenant: The session's tenant (defaults to the client's).
            request_id: The console request's ID, sent with the refresh call.
            forwarded_for: The staff member's IP, forwarded so the core's rate limits and
                audit see the person, not the console.

        Raises:
            BankingAPIAuthError: The session has no tokens, or its refresh token was refused
                (expired, spent or revoked): the staff member must sign in again.
            BankingAPIUnavailable: The refresh could not be made and the old token has expired.
        """
        tokens = await holder.load()
        if tokens is not None and not tokens.expires_within(self._margin, now=self._now()):
            return tokens.access_token

        async with holder.lock():
            # Another request or process may have refreshed while we waited for the lock.
            tokens = await holder.load()
            if tokens is None:
                raise BankingAPIAuthError("UNAUTHORIZED", "The session has no tokens", 401)
            if not tokens.expires_within(self._margin, now=self._now()):
                return tokens.access_token
            try:
                pair = await self._client.refresh(
                    tokens.refresh_token,
                    tenant=tenant,
                    request_id=request_id,
                    forwarded_for=forwarded_for,
                )
            except BankingAPIUnavailable:
                # The old token still works for a while: better than failing the request.
                if not tokens.expires_within(0, now=self._now()):
                    logger.warning("banking_api.refresh_deferred", request_id=request_id)
                    return tokens.access_token
                raise
            fresh = pair.token_set()
            await holder.save(fresh)
            return fresh.access_token

"""The token blacklist: revoked sessions and tokens, each kept as long as it could live.

Redis in production (a key with a TTL, asked in the rate-limit stage's round trip); the
database in the embedded default, so a restart does not bring a revoked session back.
Redis keeps nothing on disk, so with Redis each revocation is written to the database
too, and a marker key says the blacklist in Redis is complete: when Redis restarts empty
the marker is gone, and the first request that finds it missing loads the unexpired
revocations back from the database before any token is let through.
"""

from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa
import structlog
from redis.asyncio import Redis
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.auth.models import RevokedToken
from app.db import Database, utcnow

log = structlog.get_logger("branchdesk.core.revocation")

REDIS_PREFIX = "bd:revoked:"
# Set once the blacklist in Redis holds every unexpired revocation (never expires; gone
# only when Redis loses its data). Always the *last* of ``redis_keys``: the rate-limit
# stage's script reads it there.
LOADED_MARKER = "bd:revoked:loaded"


class RevocationStore(Protocol):
    async def revoke(self, key: str, ttl_seconds: int, session: AsyncSession) -> None:
        """Revoke ``key``; the database store writes in ``session``'s transaction."""
        ...

    async def any_revoked(self, *keys: str) -> bool: ...

    def redis_keys(self, *keys: str) -> list[str] | None:
        """The Redis keys that hold ``keys``, then the blacklist's marker (so the rate-limit
        stage can ask in its own round trip), or None for a store that is not in Redis."""
        ...


def session_key(session_id: object) -> str:
    return f"session:{session_id}"


def token_key(token_id: str) -> str:
    return f"token:{token_id}"


class RedisRevocationStore:
    """Redis answers; the database remembers (see the module's docstring)."""

    def __init__(self, redis: Redis, db: Database) -> None:
        self.redis = redis
        self.db = db
        self._lasting = DatabaseRevocationStore(db)

    async def revoke(self, key: str, ttl_seconds: int, session: AsyncSession) -> None:
        await self._lasting.revoke(key, ttl_seconds, session)  # in the caller's transaction
        await self.redis.set(f"{REDIS_PREFIX}{key}", "1", ex=max(1, ttl_seconds))

    async def any_revoked(self, *keys: str) -> bool:
        names = [f"{REDIS_PREFIX}{k}" for k in keys]
        loaded, count = await self.redis.exists(LOADED_MARKER), await self.redis.exists(*names)
        if not loaded:
            await self.reload()
            count = await self.redis.exists(*names)
        return bool(count)

    def redis_keys(self, *keys: str) -> list[str]:
        return [*(f"{REDIS_PREFIX}{k}" for k in keys), LOADED_MARKER]

    async def reload(self) -> int:
        """Copy every unexpired revocation from the database into Redis, then set the
        marker; how many were copied. Safe to run in several processes at once."""
        now = utcnow()
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    sa.select(RevokedToken.key, RevokedToken.expires_at).where(  # type: ignore[call-overload]
                        sa.column("expires_at") > now  # type: ignore[arg-type]
                    )
                )
            ).all()
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, expires_at in rows:
                seconds = int((expires_at - now).total_seconds()) + 1
                pipe.set(f"{REDIS_PREFIX}{key}", "1", ex=max(1, seconds))
            pipe.set(LOADED_MARKER, "1")
            await pipe.execute()
        log.warning("revocation.reloaded", revocations=len(rows))
        return len(rows)


class DatabaseRevocationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def revoke(self, key: str, ttl_seconds: int, session: AsyncSession) -> None:
        # In the caller's transaction: the revocation exists exactly when the change does.
        expires_at = utcnow() + timedelta(seconds=max(1, ttl_seconds))
        existing = await session.get(RevokedToken, key)
        if existing is None:
            session.add(RevokedToken(key=key, expires_at=expires_at))
        else:
            existing.expires_at = max(existing.expires_at, expires_at)
            session.add(existing)

    def redis_keys(self, *keys: str) -> None:
        return None

    async def any_revoked(self, *keys: str) -> bool:
        async with self.db.session() as session:
            result = await session.execute(
                sa.select(sa.func.count())
                .select_from(RevokedToken)
                .where(
                    sa.column("key").in_(keys),  # type: ignore[arg-type]
                    sa.column("expires_at") > utcnow(),  # type: ignore[arg-type]
                )
            )
            return bool(result.scalar_one())

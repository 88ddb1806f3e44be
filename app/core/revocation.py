"""The token blacklist: revoked sessions and tokens, each kept as long as it could live.

Redis in production (a key with a TTL); the database in the embedded default, so a
restart does not bring a revoked session back.
"""

from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.auth.models import RevokedToken
from app.db import Database, utcnow


class RevocationStore(Protocol):
    async def revoke(self, key: str, ttl_seconds: int, session: AsyncSession) -> None:
        """Revoke ``key``; the database store writes in ``session``'s transaction."""
        ...

    async def any_revoked(self, *keys: str) -> bool: ...

    def redis_keys(self, *keys: str) -> list[str] | None:
        """The Redis keys that hold ``keys`` (so the rate-limit stage can ask in its own
        round trip), or None for a store that is not in Redis."""
        ...


def session_key(session_id: object) -> str:
    return f"session:{session_id}"


def token_key(token_id: str) -> str:
    return f"token:{token_id}"


class RedisRevocationStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def revoke(self, key: str, ttl_seconds: int, session: AsyncSession) -> None:
        await self.redis.set(f"bd:revoked:{key}", "1", ex=max(1, ttl_seconds))

    async def any_revoked(self, *keys: str) -> bool:
        count = await self.redis.exists(*self.redis_keys(*keys))
        return bool(count)

    def redis_keys(self, *keys: str) -> list[str]:
        return [f"bd:revoked:{k}" for k in keys]


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

"""The long-lived parts one core process shares across requests."""

from dataclasses import dataclass

from redis.asyncio import Redis

from app.core.auth.keys import SigningKeys
from app.core.auth.tokens import TokenService
from app.core.idempotency.store import IdempotencyStore
from app.core.middleware.rate_limit import RateLimiter
from app.core.middleware.tenant import TenantDirectory
from app.core.revocation import DatabaseRevocationStore, RedisRevocationStore, RevocationStore
from app.db import Database
from app.redis_client import connect_redis
from app.settings import Settings


@dataclass
class CoreServices:
    settings: Settings
    db: Database
    redis: Redis | None
    keys: SigningKeys
    tokens: TokenService
    limiter: RateLimiter
    revocations: RevocationStore
    tenants: TenantDirectory
    idempotency: IdempotencyStore

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> "CoreServices":
        db = db or Database(settings.database)
        redis = connect_redis(settings.redis) if settings.redis.url else None
        keys = SigningKeys.load_or_create(settings.auth.private_key_path)
        revocations: RevocationStore = (
            RedisRevocationStore(redis, db) if redis is not None else DatabaseRevocationStore(db)
        )
        return cls(
            settings=settings,
            db=db,
            redis=redis,
            keys=keys,
            tokens=TokenService(keys, settings.auth),
            limiter=RateLimiter(settings.rate_limit, settings.redis.url, redis),
            revocations=revocations,
            tenants=TenantDirectory(db),
            idempotency=IdempotencyStore(db),
        )

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()

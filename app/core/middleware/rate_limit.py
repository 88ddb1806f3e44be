"""Stage 3: distributed rate limiting with RateLimit-* headers.

Counts live in Redis (atomic INCR with expiry through ``limits``), or in-process when
no Redis is configured. Windows are aligned to the clock, so every process agrees on
when a window resets and one round trip per bucket suffices.

Failed sign-ins are counted by reservation: each sign-in takes a place in its address's
bucket (one atomic increment) before its password is checked, and gives it back unless
the answer is ``401`` (the password check failed). Concurrent guesses therefore never get
more checks than the bucket holds, and only failures stay counted.
"""

import hashlib
import math
import time
from dataclasses import dataclass

import structlog
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from redis.asyncio import Redis

from app.core.auth.tokens import TokenService
from app.core.errors import ApiError
from app.core.middleware._asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    context_of,
    header,
    is_open_path,
    is_sign_in,
    send_error,
)
from app.core.revocation import RevocationStore, session_key, token_key
from app.settings import RateLimitSettings

log = structlog.get_logger("branchdesk.core.rate_limit")

# ctx.notes: ((session ID, token ID), revoked?) as Redis answered in this stage's round trip.
REVOCATION_ANSWER = "revocation_answer"


@dataclass(frozen=True)
class Bucket:
    limit: int
    remaining: int
    reset: int  # seconds until the window resets

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0


@dataclass(frozen=True)
class Reservation:
    """A sign-in's place in its address's failed-sign-in bucket."""

    key: str  # the bucket of the window it was taken in
    expiry: int
    bucket: Bucket


KEY_PREFIX = "bd:rl"
# Both request buckets of stage 3 and, when the caller sends a token, stage 5's revocation
# keys: one round trip to Redis per request. The counters follow ``limits``' own
# incr-with-expiry script, so its storage (sign-in reservations, resets) reads the same keys.
_GATE = """
local expiry = tonumber(ARGV[1])
local counts = {}
for i = 1, 2 do
  counts[i] = redis.call('INCRBY', KEYS[i], 1)
  if redis.call('TTL', KEYS[i]) == -1 then redis.call('EXPIRE', KEYS[i], expiry) end
end
local revoked = 0
if #KEYS > 2 then
  -- The last key is the blacklist's marker: without it Redis lost the blacklist (-1: the
  -- revocation stage asks the store, which loads it back from the database).
  if redis.call('EXISTS', KEYS[#KEYS]) == 0 then revoked = -1
  elseif #KEYS > 3 then revoked = redis.call('EXISTS', unpack(KEYS, 3, #KEYS - 1)) end
end
return {counts[1], counts[2], revoked}
"""
WINDOW = 60  # seconds, for both request buckets


class RateLimiter:
    """Counts requests per bucket; shared by every process through the storage."""

    def __init__(
        self, settings: RateLimitSettings, redis_url: str | None, redis: Redis | None = None
    ) -> None:
        self.settings = settings
        self.storage: Storage
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1).replace(
                "rediss://", "async+rediss://", 1
            )
            self.storage = RedisStorage(uri, implementation="redispy", key_prefix=KEY_PREFIX)
        else:
            self.storage = MemoryStorage()
        self._gate = redis.register_script(_GATE) if redis is not None else None

    async def hit(self, name: str, limit: int, window: int, cost: int = 1) -> Bucket:
        now = time.time()
        window_index = int(now // window)
        reset = max(1, math.ceil((window_index + 1) * window - now))
        count = await self.storage.incr(f"{name}:{window_index}", window + 1, amount=cost)
        return Bucket(limit=limit, remaining=limit - count, reset=reset)

    async def gate(
        self, ip: str, credential: str, revocation_keys: list[str] | None
    ) -> tuple[Bucket, Bucket, bool | None]:
        """Count the request in its address's and its credential's bucket and, with Redis,
        ask whether any of ``revocation_keys`` is revoked — all in one round trip. The
        answer on revocation is None when it was not asked (no keys, or no Redis)."""
        s = self.settings
        if self._gate is None:
            return (
                await self.hit(f"ip:{ip}", s.per_ip_per_minute, WINDOW),
                await self.hit(credential, s.per_credential_per_minute, WINDOW),
                None,
            )
        now = time.time()
        window_index = int(now // WINDOW)
        reset = max(1, math.ceil((window_index + 1) * WINDOW - now))
        keys = [
            f"{KEY_PREFIX}:ip:{ip}:{window_index}",
            f"{KEY_PREFIX}:{credential}:{window_index}",
            *(revocation_keys or []),
        ]
        ip_count, credential_count, revoked = await self._gate(keys=keys, args=[WINDOW + 1])
        return (
            Bucket(s.per_ip_per_minute, s.per_ip_per_minute - int(ip_count), reset),
            Bucket(
                s.per_credential_per_minute,
                s.per_credential_per_minute - int(credential_count),
                reset,
            ),
            bool(revoked) if revocation_keys and int(revoked) >= 0 else None,
        )

    async def reserve_sign_in(self, ip: str) -> Reservation:
        """Take a place in the address's failed-sign-in bucket before the password check."""
        s = self.settings
        window = s.failed_login_window_seconds
        now = time.time()
        window_index = int(now // window)
        key = f"login-fail:{ip}:{window_index}"
        count = await self.storage.incr(key, window + 1)
        reset = max(1, math.ceil((window_index + 1) * window - now))
        limit = s.failed_logins_per_ip
        return Reservation(
            key, window + 1, Bucket(limit=limit, remaining=limit - count, reset=reset)
        )

    async def release(self, reservation: Reservation) -> None:
        """Give the place back: the sign-in was not a failed password check.

        The key names the reservation's own window, so a release after the window turned
        over frees nothing in the new one.
        """
        await self.storage.incr(reservation.key, reservation.expiry, amount=-1)

    async def reset(self) -> None:
        await self.storage.reset()


def credential_key(scope: Scope, client_ip: str) -> str:
    authorization = header(scope, b"authorization")
    if authorization:
        digest = hashlib.sha256(authorization.encode()).hexdigest()[:32]
        return f"cred:{digest}"
    return f"cred-ip:{client_ip}"


def _headers(bucket: Bucket) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(bucket.limit).encode()),
        (b"ratelimit-remaining", str(max(0, bucket.remaining)).encode()),
        (b"ratelimit-reset", str(bucket.reset).encode()),
    ]


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        prefix: str,
        tokens: TokenService | None = None,
        revocations: RevocationStore | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.prefix = prefix
        self.tokens = tokens
        self.revocations = revocations

    def _revocation_question(
        self, scope: Scope
    ) -> tuple[tuple[str, str], list[str]] | tuple[None, None]:
        """Stage 5's question for this request's token, asked ahead in stage 3's round trip:
        the token's session and ID (unverified here — stage 4 verifies, and stage 5 uses the
        answer only for the token it verified) and the Redis keys that hold their state."""
        if self.tokens is None or self.revocations is None:
            return None, None
        authorization = header(scope, b"authorization")
        if not authorization or not authorization[:7].lower() == "bearer ":
            return None, None
        ids = self.tokens.peek_ids(authorization[7:].strip())
        if ids is None:
            return None, None
        keys = self.revocations.redis_keys(session_key(ids[0]), token_key(ids[1]))
        return (ids, keys) if keys else (None, None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open_path(scope["path"], self.prefix):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        reservation: Reservation | None = None
        ids, revocation_keys = self._revocation_question(scope)
        try:
            by_ip, by_credential, revoked = await self.limiter.gate(
                ctx.client_ip, credential_key(scope, ctx.client_ip), revocation_keys
            )
            buckets = [by_ip, by_credential]
            if ids is not None and revoked is not None:
                ctx.notes[REVOCATION_ANSWER] = (ids, revoked)
            if is_sign_in(scope["path"], self.prefix):
                reservation = await self.limiter.reserve_sign_in(ctx.client_ip)
                buckets.append(reservation.bucket)
        except Exception as exc:  # Redis unreachable: say so, never let traffic through blind
            log.error("rate_limit.storage_unavailable", error=str(exc))
            await send_error(
                scope,
                send,
                ApiError(
                    "SERVICE_UNAVAILABLE",
                    "The rate-limit store is unreachable; try again shortly.",
                    headers={"Retry-After": "5"},
                ),
            )
            return
        tightest = min(buckets, key=lambda b: b.remaining)
        rate_headers = _headers(tightest)
        status = 0

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            if tightest.exceeded:
                error = ApiError(
                    "RATE_LIMIT_EXCEEDED",
                    f"Too many requests; retry in {tightest.reset} s.",
                    headers={"Retry-After": str(tightest.reset)},
                )
                await send_error(scope, _with_headers(send_counted, rate_headers), error)
                return
            await self.app(scope, receive, _with_headers(send_counted, rate_headers))
        finally:
            # Only a failed password or code check (401) keeps its place; a right password
            # answered 401 MFA_REQUIRED (app.core.auth.service) failed nothing.
            if reservation is not None and (status != 401 or ctx.notes.get("password_accepted")):
                await self._release(reservation)

    async def _release(self, reservation: Reservation) -> None:
        try:
            await self.limiter.release(reservation)
        except Exception as exc:  # the place frees itself when the window ends
            log.warning("rate_limit.release_failed", error=str(exc))


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return wrapped

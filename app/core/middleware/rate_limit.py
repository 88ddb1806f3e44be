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
from app.settings import RateLimitSettings

log = structlog.get_logger("branchdesk.core.rate_limit")


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


class RateLimiter:
    """Counts requests per bucket; shared by every process through the storage."""

    def __init__(self, settings: RateLimitSettings, redis_url: str | None) -> None:
        self.settings = settings
        self.storage: Storage
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1).replace(
                "rediss://", "async+rediss://", 1
            )
            self.storage = RedisStorage(uri, implementation="redispy", key_prefix="bd:rl")
        else:
            self.storage = MemoryStorage()

    async def hit(self, name: str, limit: int, window: int, cost: int = 1) -> Bucket:
        now = time.time()
        window_index = int(now // window)
        reset = max(1, math.ceil((window_index + 1) * window - now))
        count = await self.storage.incr(f"{name}:{window_index}", window + 1, amount=cost)
        return Bucket(limit=limit, remaining=limit - count, reset=reset)

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
    def __init__(self, app: ASGIApp, limiter: RateLimiter, prefix: str) -> None:
        self.app = app
        self.limiter = limiter
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open_path(scope["path"], self.prefix):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        s = self.limiter.settings
        reservation: Reservation | None = None
        try:
            buckets = [
                await self.limiter.hit(f"ip:{ctx.client_ip}", s.per_ip_per_minute, 60),
                await self.limiter.hit(
                    credential_key(scope, ctx.client_ip), s.per_credential_per_minute, 60
                ),
            ]
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

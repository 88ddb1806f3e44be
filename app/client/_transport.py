"""The one place calls are retried, paced and logged: an httpx transport wrapper.

Retries are safe only when repeating the call cannot do anything twice: safe methods, or
writes carrying an ``Idempotency-Key`` (the server replays the stored answer). Every
attempt is the same ``httpx.Request``, so the key and ``X-Request-ID`` never change.
"""

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from ._errors import parse_retry_after
from ._ratelimit import RateLimitTracker, credential_key

__all__ = ["BankingTransport", "RetryPolicy", "is_retryable_request"]

logger = structlog.get_logger("branchdesk.client")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# 503 is the API's own "try again"; 502/504 are what a proxy in front says while the API
# restarts. None of them stores an idempotent answer, so a keyed retry runs afresh.
RETRY_STATUSES = frozenset({502, 503, 504})
# Below this much budget another attempt could not finish anyway.
_MIN_ATTEMPT_SECONDS = 0.05


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try.

    Attributes:
        max_retries: Retries after the first attempt (so ``max_retries + 1`` attempts).
        budget_seconds: Total time, from the first attempt, after which nothing is retried;
            retried attempts also get their timeouts cut to what is left of it.
        backoff_base: The first backoff ceiling in seconds; doubles on each retry.
        backoff_max: The largest backoff ceiling in seconds.
    """

    max_retries: int = 3
    budget_seconds: float = 10.0
    backoff_base: float = 0.25
    backoff_max: float = 4.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter for the ``retry``-th retry (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (retry - 1))
        return rng.uniform(0.0, ceiling)


def is_retryable_request(request: httpx.Request) -> bool:
    """Whether repeating ``request`` cannot have an effect twice."""
    return (
        request.method in SAFE_METHODS
        or "Idempotency-Key" in request.headers
        or "X-Idempotency-Key" in request.headers
    )


class BankingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport with pacing, retries and per-attempt logging.

    Args:
        inner: The transport that really sends (pooled HTTP, or a mock/ASGI one in tests).
        policy: Retry limits.
        tracker: Rate-limit state shared by all calls of one client.
        sleep: Awaitable sleep (injected in tests).
        clock: Monotonic clock in seconds (injected in tests).
        rng: Source of jitter.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        policy: RetryPolicy,
        tracker: RateLimitTracker,
        sleep: Sleep,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._tracker = tracker
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, retrying transient failures when that is safe."""
        retryable = is_retryable_request(request)
        key = credential_key(request)
        fields = {
            "method": request.method,
            "path": request.url.path,  # never the query: it can carry customer search terms
            "request_id": request.headers.get("X-Request-ID"),
            "tenant": request.headers.get("X-Tenant-ID"),
        }
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1:
                self._cap_timeout(request, started)
            pause = self._tracker.delay_for(key)
            if pause > 0:
                logger.info("banking_api.paced", delay_ms=round(pause * 1000), **fields)
                await self._sleep(pause)

            sent_at = self._clock()
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as exc:
                logger.warning(
                    "banking_api.call",
                    status=None,
                    error=type(exc).__name__,
                    duration_ms=self._ms_since(sent_at),
                    attempt=attempt,
                    **fields,
                )
                delay = self._delay(attempt, started, None) if retryable else None
                if delay is None:
                    raise
                await self._before_retry(delay, type(exc).__name__, attempt, fields)
                continue

            self._tracker.observe(key, response)
            status = response.status_code
            log = logger.warning if status >= 500 else logger.info
            log(
                "banking_api.call",
                status=status,
                duration_ms=self._ms_since(sent_at),
                attempt=attempt,
                **fields,
            )
            delay = self._response_delay(request, response, retryable, attempt, started)
            if delay is None:
                return response
            await response.aclose()
            await self._before_retry(delay, f"HTTP {status}", attempt, fields)

    async def aclose(self) -> None:
        """Close the inner transport (its connection pool)."""
        await self._inner.aclose()

    def _response_delay(
        self,
        request: httpx.Request,
        response: httpx.Response,
        retryable: bool,
        attempt: int,
        started: float,
    ) -> float | None:
        if not retryable:
            return None
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429 or status in RETRY_STATUSES:
            return self._delay(attempt, started, retry_after)
        # 409 IDEMPOTENCY_IN_PROGRESS (with Retry-After) means our own earlier attempt is
        # still running server-side: waiting gets us its stored answer. Other 409s carry no
        # Retry-After and are final.
        if status == 409 and retry_after is not None and request.method not in SAFE_METHODS:
            return self._delay(attempt, started, retry_after)
        return None

    def _delay(self, attempt: int, started: float, retry_after: float | None) -> float | None:
        """The wait before the next attempt, or ``None`` when we must give up."""
        if attempt > self._policy.max_retries:
            return None
        delay = retry_after if retry_after is not None else self._policy.backoff(attempt, self._rng)
        remaining = self._policy.budget_seconds - (self._clock() - started)
        # Waiting less than the server asked would only earn another refusal, so a
        # Retry-After beyond the budget ends the retries instead of being shortened.
        if delay + _MIN_ATTEMPT_SECONDS > remaining:
            return None
        return delay

    async def _before_retry(
        self, delay: float, reason: str, attempt: int, fields: dict[str, Any]
    ) -> None:
        logger.info(
            "banking_api.retry",
            reason=reason,
            delay_ms=round(delay * 1000),
            next_attempt=attempt + 1,
            **fields,
        )
        await self._sleep(delay)

    def _cap_timeout(self, request: httpx.Request, started: float) -> None:
        # A retry must not outlive the budget: cut each of its timeouts to what is left.
        remaining = max(
            _MIN_ATTEMPT_SECONDS, self._policy.budget_seconds - (self._clock() - started)
        )
        timeouts = request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            capped = {
                name: remaining if value is None else min(float(value), remaining)
                for name, value in timeouts.items()
            }
            request.extensions = {**request.extensions, "timeout": capped}

    def _ms_since(self, instant: float) -> float:
        return round((self._clock() - instant) * 1000, 1)

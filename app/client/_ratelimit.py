"""Rate-limit awareness: slow down before the API's limit instead of after it.

The API reports the tightest bucket on every response (``RateLimit-Limit``,
``RateLimit-Remaining``, ``RateLimit-Reset`` in seconds). The server counts per credential
(a hash of the bearer token) and per IP, so we track the same way: per token hash, or per
forwarded staff IP for anonymous calls such as login.
"""

import hashlib
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ._errors import parse_retry_after

__all__ = ["RateLimitTracker", "credential_key"]


def credential_key(request: httpx.Request) -> str:
    """The bucket a request counts against, without keeping the token itself."""
    authorization = request.headers.get("Authorization")
    if authorization:
        return "cred:" + hashlib.sha256(authorization.encode()).hexdigest()[:24]
    forwarded_for: str | None = request.headers.get("X-Forwarded-For")
    if forwarded_for:
        return "ip:" + forwarded_for.split(",")[0].strip()
    return "anonymous"


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset_at: float  # clock time at which the server's window resets
    hold_until: float = 0.0  # clock time before which a 429's Retry-After says wait


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw.split(",")[0].strip()))
    except ValueError:
        return None


class RateLimitTracker:
    """Remembers each credential's last reported budget and paces calls when it runs low.

    Args:
        clock: A monotonic clock in seconds.
        low_fraction: Pace when remaining falls below this fraction of the limit (at least 1).
        max_delay: Never hold a call longer than this many seconds.
        max_keys: How many credentials to remember (least recently seen are dropped).
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        low_fraction: float = 0.02,
        max_delay: float = 2.0,
        max_keys: int = 10_000,
    ) -> None:
        self._clock = clock
        self._low_fraction = low_fraction
        self._max_delay = max_delay
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def observe(self, key: str, response: httpx.Response) -> None:
        """Record the budget a response reports for ``key``."""
        headers = response.headers
        limit = _header_int(headers, "RateLimit-Limit")
        remaining = _header_int(headers, "RateLimit-Remaining")
        reset = _header_int(headers, "RateLimit-Reset")
        now = self._clock()
        bucket = self._buckets.get(key)
        if limit is not None and remaining is not None:
            reset_at = now + (reset if reset is not None else 60)
            hold_until = bucket.hold_until if bucket else 0.0
            bucket = _Bucket(limit, max(0, remaining), reset_at, hold_until)
        if response.status_code == 429:
            retry_after = parse_retry_after(headers.get("Retry-After"))
            if retry_after is not None:
                bucket = bucket or _Bucket(1, 0, now + retry_after)
                bucket.hold_until = now + retry_after
        if bucket is None:
            return
        self._buckets[key] = bucket
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)

    def delay_for(self, key: str) -> float:
        """Seconds to wait before the next call for ``key``, reserving one call of budget.

        Spreads the calls left in the window over the time left in it, so concurrent
        callers sharing a session slow down together rather than all hitting 429.
        """
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        now = self._clock()
        hold = max(0.0, bucket.hold_until - now)
        window_left = bucket.reset_at - now
        if window_left <= 0:
            # The server's window has rolled over; the next response will tell us more.
            del self._buckets[key]
            return min(hold, self._max_delay)
        threshold = max(1, math.ceil(bucket.limit * self._low_fraction))
        remaining = bucket.remaining
        # Count this call against the local estimate until the server reports again.
        bucket.remaining = max(0, remaining - 1)
        if remaining >= threshold:
            return min(hold, self._max_delay)
        pace = window_left if remaining <= 0 else window_left / remaining
        return min(max(hold, pace), self._max_delay)

"""The one way the core and the console open Redis: bounded waits, one quick reconnect.

redis-py's defaults wait 5 s for an answer and then retry three times with backoff, so
a Redis that accepts connections but answers nothing (paused, swapping, a network
partition) held a request for 20 s and more. Here every command waits at most
``REDIS_TIMEOUT_SECONDS`` (2 s by default) and is not retried after a timeout: the
request answers ``503`` with ``Retry-After`` and the client retries. A connection error is
retried once, at once: after a Redis restart every pooled connection is dead, and the
reconnect on the second try is what recovers by itself.
"""

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from app.settings import RedisSettings


def connect_redis(settings: RedisSettings) -> Redis:
    """A client for ``settings.url`` (which must be set)."""
    assert settings.url is not None
    return Redis.from_url(
        settings.url,
        socket_timeout=settings.timeout_seconds,
        socket_connect_timeout=settings.timeout_seconds,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )

"""What the fault suite found (issue 13), pinned down without a fault: a dependency that
is down or silent gives a 503 the client can retry, never a 500 or a hang."""

import asyncio
import time

import asyncpg
import pytest
import sqlalchemy as sa
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.core.exceptions import EXCEPTION_HANDLERS, handle_database
from app.db import is_connection_lost
from app.redis_client import connect_redis
from app.settings import ImproperlyConfigured, RedisSettings, load_settings


def _wrapped(cause: BaseException) -> sa.exc.DBAPIError:
    """What SQLAlchemy's asyncpg adapter raises: its own error, caused by asyncpg's."""
    adapted = Exception(str(cause))
    adapted.__cause__ = cause
    return sa.exc.DBAPIError("SELECT 1", None, adapted)


def test_a_refused_connect_wrapped_by_sqlalchemy_is_a_lost_connection() -> None:
    # "the database system is shutting down": a PostgreSQL restart, seen by the ORM path.
    refused = _wrapped(asyncpg.CannotConnectNowError("the database system is shutting down"))
    assert not isinstance(refused, sa.exc.OperationalError | sa.exc.InterfaceError)
    assert is_connection_lost(refused)


def test_other_database_errors_stay_what_they_are() -> None:
    assert not is_connection_lost(_wrapped(asyncpg.UniqueViolationError("duplicate key")))
    assert not is_connection_lost(_wrapped(asyncpg.DeadlockDetectedError("deadlock detected")))
    assert not is_connection_lost(ValueError("not a database error"))


def test_a_terminated_idle_connection_goes_to_the_database_handler() -> None:
    # Its next statement raises asyncpg's InternalClientError ("another operation is in
    # progress"), a plain Exception: without its own entry it reached the 500 handler.
    error = asyncpg.exceptions._base.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    )
    assert EXCEPTION_HANDLERS[type(error)] is handle_database
    assert is_connection_lost(error)


async def test_a_silent_redis_times_out_quickly_and_is_not_retried() -> None:
    """A server that accepts and never answers (a paused Redis): the command fails within
    the timeout, once — redis-py's defaults waited 5 s and retried three times."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = connect_redis(RedisSettings(url=f"redis://127.0.0.1:{port}/0", timeout_seconds=0.2))
    try:
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await client.ping()
        assert time.monotonic() - started < 1.0
        assert len(accepted) == 1  # no second try after the timeout
    finally:
        await client.aclose()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


def test_redis_timeout_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("BRANCHDESK_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_TIMEOUT_SECONDS", raising=False)
    assert load_settings().redis.timeout_seconds == 2.0
    monkeypatch.setenv("REDIS_TIMEOUT_SECONDS", "0.5")
    assert load_settings().redis.timeout_seconds == 0.5
    monkeypatch.setenv("REDIS_TIMEOUT_SECONDS", "0")
    with pytest.raises(ImproperlyConfigured, match="REDIS_TIMEOUT_SECONDS"):
        load_settings()

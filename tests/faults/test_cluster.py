"""The throwaway cluster itself: each fault happens, and the stack recovers from it."""

import asyncio
import threading
import time

import httpx
import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.redis_client import connect_redis
from app.settings import RedisSettings
from tests.faults.cluster import FaultStack, PostgresCluster


def test_core_worker_killed_is_restarted_by_uvicorn(stack: FaultStack) -> None:
    assert stack.core is not None
    before = stack.core.worker_pids()
    assert len(before) == 2
    killed = stack.core.kill_worker()
    stack.core.wait_ready(30)
    after = stack.core.worker_pids()
    assert killed not in after and len(after) == 2
    assert httpx.get(stack.core.api_url + "/health", timeout=5).status_code == 200


def test_postgres_restart_and_terminated_backends(stack: FaultStack) -> None:
    assert stack.pg.ready()
    stack.pg.psql("SELECT pg_sleep(0)", database="branchdesk")
    took = stack.pg.restart()
    assert took < 60 and stack.pg.ready()
    assert stack.pg.terminate_backends() >= 0
    # The migrated database survived the restart.
    assert int(stack.pg.psql("SELECT count(*) FROM alembic_version", database="branchdesk")) >= 1


def test_redis_restart_and_pause(stack: FaultStack) -> None:
    stack.redis.restart()
    assert stack.redis.ping()
    started = time.monotonic()
    stack.redis.make_unreachable(0.5)
    assert time.monotonic() - started >= 0.5
    assert stack.redis.ping()


def test_supervised_worker_restarts_after_kill(stack: FaultStack) -> None:
    worker = stack.supervise("worker")
    deadline = time.monotonic() + 10
    while worker.pid is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first = worker.kill()
    deadline = time.monotonic() + 10
    while (worker.pid in (None, first)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker.pid not in (None, first) and worker.starts == 2
    worker.close()


def test_cluster_leaves_nothing_behind() -> None:
    cluster = PostgresCluster().start()
    root = cluster.root
    assert root is not None and cluster.ready()
    cluster.close()
    assert not root.exists()


def test_the_cores_redis_client_reconnects_after_a_restart_and_times_out_when_paused(
    stack: FaultStack,
) -> None:
    """``app.redis_client``: after a restart every pooled connection is dead, and the
    next command reconnects by itself; a paused Redis fails a command within its timeout."""

    async def scenario() -> float:
        client = connect_redis(RedisSettings(url=stack.redis.url(5), timeout_seconds=0.5))
        try:
            assert await client.ping()
            await asyncio.to_thread(stack.redis.restart)
            assert await client.ping()  # no error surfaces: one immediate reconnect
            pause = threading.Thread(target=stack.redis.make_unreachable, args=(2.0,))
            pause.start()
            await asyncio.sleep(0.1)
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError):
                await client.ping()
            took = time.monotonic() - started
            await asyncio.to_thread(pause.join, 10)
            assert await client.ping()
            return took
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) < 1.5

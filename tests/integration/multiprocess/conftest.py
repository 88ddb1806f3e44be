"""Two core and two console processes on one machine, sharing PostgreSQL and Redis.

The README's promise: they "must behave exactly like one". That needs the shared engines:
with SQLite and in-process stores each process keeps its own rate limits, sessions and
live hub, so there is nothing honest to test. Without ``DATABASE_URL`` (PostgreSQL) and
``REDIS_URL`` these tests are deselected, with the reason printed in the header; CI sets
both and runs them.
"""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from tests.live_server import ROOT, LiveServer

HERE = Path(__file__).parent
DESELECTED = pytest.StashKey[int]()
# Small enough to reach in a test, for the cores of this cluster only (the tests send from
# an address of their own). Requests without a token (sign-ins) share the client IP's
# credential bucket, so it leaves room for those.
CREDENTIAL_LIMIT = 40


def shared_engines() -> str | None:
    """Why the cluster cannot run here, or ``None`` when it can."""
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith(("postgres://", "postgresql")):
        return "needs PostgreSQL (DATABASE_URL): SQLite is one process's file lock"
    if not os.environ.get("REDIS_URL"):
        return "needs Redis (REDIS_URL): in-process stores are not shared between processes"
    return None


def pytest_report_header(config: pytest.Config) -> str | None:
    reason = shared_engines()
    if reason is None:
        return "multiprocess: two core and two console processes on PostgreSQL + Redis"
    return f"multiprocess: deselected, {reason}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the cluster tests out (deselected, never skipped) without the shared engines."""
    reason = shared_engines()
    if reason is None:
        return
    mine = [i for i in items if HERE in Path(str(i.path)).parents]
    if not mine:
        return
    config.hook.pytest_deselected(items=mine)
    items[:] = [i for i in items if i not in mine]
    config.stash[DESELECTED] = len(mine)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say why, at the end of the run too (``-q`` hides the header)."""
    count = config.stash.get(DESELECTED, 0)
    if count:
        terminalreporter.write_line(
            f"multiprocess: {count} tests deselected, {shared_engines()}; "
            "set DATABASE_URL=postgresql://… and REDIS_URL=redis://… to run them (CI does)",
            yellow=True,
        )


@dataclass
class Cluster:
    """The processes, and where they answer."""

    core_a: LiveServer
    core_b: LiveServer
    console_a: LiveServer
    console_b: LiveServer


class Worker:
    """``python -m app worker`` (outbox delivery, sealing), stopped on exit."""

    def __init__(self) -> None:
        self._log: IO[bytes] = tempfile.NamedTemporaryFile(prefix="branchdesk-worker-")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            cwd=ROOT,
            env={**os.environ, "WORKER_DELIVERY_POLL_SECONDS": "0.2", "PYTHONUNBUFFERED": "1"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="session")
def cluster(database_ready) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    core_env = {
        "RATE_LIMIT_PER_CREDENTIAL": str(CREDENTIAL_LIMIT),
        # The suite's other processes share this Redis: only what these cores count matters.
        "RATE_LIMIT_PER_IP": "1000000",
    }
    core_a = LiveServer(command="core", env=core_env)
    core_b = LiveServer(command="core", env=core_env)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(LiveServer.start, [core_a, core_b]))
    # Each console talks to its own core, as two separate deployments would.
    console_a = LiveServer(command="console", banking_api_url=core_a.api_url)
    console_b = LiveServer(command="console", banking_api_url=core_b.api_url)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(LiveServer.start, [console_a, console_b]))
        yield Cluster(core_a, core_b, console_a, console_b)
    finally:
        for server in (console_a, console_b, core_a, core_b):
            server.stop()


@pytest.fixture
def worker() -> Iterator[Worker]:
    running = Worker()
    try:
        yield running
    finally:
        running.stop()

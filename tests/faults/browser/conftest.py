"""The console under faults, in Chromium: its own pytest process (sync Playwright).

    .venv/bin/python -m pytest tests/faults/browser -q -p no:asyncio

The run gets a stack of the fault suite's own (``tests/faults/cluster.py``: PostgreSQL,
Redis, two core processes; session-scoped here because Playwright's ``base_url`` is) and a
console process of its own talking to that core over HTTP, with its sessions in that
Redis. Chromium is the system one, launched as the browser suite launches it.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.faults.cluster import FaultStack, require_binaries
from tests.live_server import LiveServer

# The machine is shared and the core restarts within a test: give pages time.
expect.set_options(timeout=20_000)

# As tests/browser/conftest.py launches it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The console's wait for the core: short, so a slow core reads as "not answering" quickly.
CONSOLE_TIMEOUT_SECONDS = "3"


@pytest.fixture(scope="session")
def stack() -> Iterator[FaultStack]:
    """PostgreSQL + Redis of the run's own, migrated and seeded, two core processes."""
    require_binaries()
    with FaultStack(core_workers=2) as started:
        yield started


@pytest.fixture(scope="session")
def console(stack: FaultStack) -> Iterator[LiveServer]:
    """``branchdesk console`` on the stack's core and Redis."""
    assert stack.core is not None
    server = LiveServer(
        env={**stack.env, "BANKING_API_TIMEOUT_SECONDS": CONSOLE_TIMEOUT_SECONDS},
        command="console",
        banking_api_url=stack.core.api_url,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def base_url(console: LiveServer) -> str:
    return console.base_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave these out of a mixed run (Playwright's sync API holds the main thread's event
    loop): deselected, never reported as skipped; ``make soak`` runs them on their own."""
    here = Path(__file__).parent
    ours = [i for i in items if here in Path(str(i.path)).parents]
    if not ours or len(ours) == len(items):
        return
    config.hook.pytest_deselected(items=ours)
    items[:] = [i for i in items if i not in ours]

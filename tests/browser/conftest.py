"""Browser suite fixtures (sync pytest-playwright, run in their own pytest invocation).

    .venv/bin/python -m pytest tests/browser -q -p no:asyncio

The database is prepared here (not by the asyncio root fixtures) and the one-process server
runs as a subprocess; Chromium is the system one.
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.live_server import LiveServer

# The default 5 s is tight for a live search that crosses console → core → database on a
# loaded 2-core CI machine; a real regression still fails, just later.
expect.set_options(timeout=15_000)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session", autouse=True)
def live_server() -> Iterator[LiveServer]:
    from app.settings import reload_settings
    from tests.support import prepare_database

    # prepare_database uses asyncio.run(); Playwright's sync API may already run a loop
    # in this thread, so prepare in a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(prepare_database, reload_settings()).result()
    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    return live_server.base_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def console_messages(page: Page) -> list[str]:
    """Every console error and page error the page reports (CSP violations show up here)."""
    messages: list[str] = []
    page.on(
        "console", lambda m: messages.append(m.text) if m.type in {"error", "warning"} else None
    )
    page.on("pageerror", lambda e: messages.append(str(e)))
    return messages


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the browser tests out of a mixed run (``make test`` runs them on their own):
    Playwright's sync API holds an event loop in the main thread, which breaks the asyncio
    suites that share the invocation. They are deselected, never reported as skipped."""
    here = Path(__file__).parent
    browser_items = [i for i in items if here in Path(str(i.path)).parents]
    if not browser_items or len(browser_items) == len(items):
        return
    config.hook.pytest_deselected(items=browser_items)
    items[:] = [i for i in items if i not in browser_items]

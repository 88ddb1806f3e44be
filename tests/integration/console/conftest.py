"""Console suite fixtures: the one-process server, live, over HTTP."""

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from money_helpers import Core

from tests.live_server import LiveServer


@pytest.fixture(scope="session")
def live_server(database_ready) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def core(live_server) -> AsyncIterator[Core]:  # type: ignore[no-untyped-def]
    """The live core's API as sandbox staff (a suite that needs more overrides it)."""
    api = Core(live_server.api_url)
    yield api
    await api.close()


@pytest.fixture
async def browser(live_server) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A cookie-keeping client, like a browser, that does not follow redirects."""
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def console_settings(settings, live_server):  # type: ignore[no-untyped-def]
    """Settings for an in-process console app whose client calls the live core."""

    def build(**console: Any) -> Any:
        return dataclasses.replace(
            settings,
            console=dataclasses.replace(
                settings.console, **{"banking_api_url": live_server.api_url, **console}
            ),
        )

    return build


@pytest.fixture
async def console_app(console_settings):  # type: ignore[no-untyped-def]
    """Build in-process console apps (driven through httpx.ASGITransport); closed at the end."""
    from app.console.app import create_app
    from app.console.state import console_state

    apps: list[Any] = []

    def build(settings: Any = None, **console: Any) -> Any:
        app = create_app(settings or console_settings(**console))
        apps.append(app)
        return app

    yield build
    for app in apps:
        await console_state(app).close()

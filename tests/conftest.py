"""Shared fixtures: one migrated, seeded database per run, the real core app over HTTP.

The environment is fixed before the app is imported (settings are read once):
SQLite in a temporary folder and in-process stores by default; PostgreSQL and Redis
when ``DATABASE_URL`` / ``REDIS_URL`` are set (CI).
"""

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

_VAR = Path(tempfile.mkdtemp(prefix="branchdesk-test-"))
os.environ.setdefault("BRANCHDESK_VAR_DIR", str(_VAR))
# The whole suite comes from one address: keep the per-IP budget out of its way.
# The rate-limit tests build their own app with small limits.
os.environ.setdefault("RATE_LIMIT_PER_IP", "1000000")
os.environ.setdefault("RATE_LIMIT_PER_CREDENTIAL", "1000000")
os.environ.setdefault("RATE_LIMIT_FAILED_LOGINS", "100000")
# Live streams re-check their session at every heartbeat: a short one keeps those tests quick.
os.environ.setdefault("LIVE_HEARTBEAT_SECONDS", "1")
# The sandbox's console subscription points at a closed port unless a test says otherwise,
# so no delivery of the suite ever reaches a server someone else runs on :8000.
os.environ.setdefault("CONSOLE_WEBHOOK_URL", "http://127.0.0.1:9/webhooks/cba")
# The suite's receivers listen on 127.0.0.1 at whatever port is free: admit that one host,
# any port, over http (an allow-list host entry). Nothing else internal is admitted; the
# security tests build an app with the default allow-list (the console's receiver only).
os.environ.setdefault("WEBHOOK_ALLOWED_TARGETS", "http://127.0.0.1:*")

import httpx  # noqa: E402
import pytest  # noqa: E402

from tests.support import (  # noqa: E402
    API,
    SANDBOX_PASSWORD,
    TokenCache,
    prepare_database,
)


@pytest.fixture(scope="session")
def settings():  # type: ignore[no-untyped-def]
    from app.settings import reload_settings

    return reload_settings()


@pytest.fixture(scope="session")
def database_ready(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    prepare_database(settings)
    yield


@pytest.fixture(scope="session")
async def core_app(settings, database_ready):  # type: ignore[no-untyped-def]
    from app.core.app import create_app

    app = create_app(settings)
    yield app
    # Not app.lifespan(): its task group cannot span pytest's fixture tasks.
    await app.state.services.close()


@pytest.fixture(scope="session")
async def api(core_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=core_app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://testserver{API}") as c:
        yield c


@pytest.fixture(scope="session")
def tokens(api) -> TokenCache:  # type: ignore[no-untyped-def]
    return TokenCache(api)


@pytest.fixture(scope="session")
def sandbox_password() -> str:
    return SANDBOX_PASSWORD


@pytest.fixture
async def ledger_checked(core_app) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]
    """After the test, every ledger invariant must hold over the whole database."""
    from app.core.ledger.verify import verify_ledger

    yield
    async with core_app.state.services.db.session() as session:
        report = await verify_ledger(session)
    if not report.ok:
        pytest.fail("ledger invariants broken:\n" + "\n".join(report.breaches), pytrace=False)

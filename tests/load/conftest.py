"""The load suite: one real core process over HTTP, against the suite's own database.

Run it in its own pytest process (``tests/conftest.py`` prepares the database once per
session, and this suite owns it while it runs):

    python -m pytest tests/load -q -p no:playwright

The environment is the suite's: SQLite in a temporary folder by default, PostgreSQL and
Redis when ``DATABASE_URL`` / ``REDIS_URL`` are set.
"""

from collections.abc import Iterator

import pytest

from tests.load.server import CoreServer


@pytest.fixture(scope="session")
def core_server(settings, database_ready) -> Iterator[CoreServer]:  # type: ignore[no-untyped-def]
    """``python -m app core`` on a free port, on the prepared database."""
    server = CoreServer(command="core")
    server.start()
    try:
        yield server
    finally:
        server.stop()

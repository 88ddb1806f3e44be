"""The fault suite: its own PostgreSQL cluster, Redis server and core processes.

Run it in its own pytest process (it never uses DATABASE_URL / REDIS_URL, whatever they say:
faults are injected only into servers this suite started):

    python -m pytest tests/faults -q -p no:playwright
"""

from collections.abc import Iterator

import pytest

from tests.faults.cluster import FaultStack, require_binaries


@pytest.fixture(scope="module")
def stack() -> Iterator[FaultStack]:
    """PostgreSQL + Redis of the suite's own, migrated and seeded, two core processes."""
    require_binaries()
    with FaultStack(core_workers=2) as started:
        yield started

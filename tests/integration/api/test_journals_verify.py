"""The ledger verifier's journal invariants catch what they should.

Each test corrupts rows of its own journals in committed transactions, checks that the
verifier names the breach, and restores them (the ``ledger_checked`` fixture then
proves the ledger clean again).
"""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.ledger.models import Journal, JournalLine, Posting
from app.core.ledger.verify import verify_ledger
from tests.integration.api.journal_helpers import act, gl, line, posted, tenant_id
from tests.integration.api.ledger_helpers import expect

pytestmark = pytest.mark.usefixtures("ledger_checked")


@asynccontextmanager
async def corrupted(core_app: Any, *statements: Any) -> AsyncIterator[None]:
    """Apply ``(do, undo)`` statement pairs in committed transactions around the body."""
    db = core_app.state.services.db

    async def run(which: Callable[[tuple[Any, Any]], Any]) -> None:
        async with db.writer(), db.session() as session:
            for pair in statements:
                await session.execute(which(pair))
            await session.commit()

    await run(lambda pair: pair[0])
    try:
        yield
    finally:
        await run(lambda pair: pair[1])


async def breaches(core_app: Any) -> list[str]:
    async with core_app.state.services.db.session() as session:
        report = await verify_ledger(session, await tenant_id(core_app))
    return report.breaches


async def reversed_pair(api, tokens):
    chart = await gl(api, tokens)
    original = await posted(
        api,
        tokens,
        [line(chart["5200"]["id"], "6.00", "debit"), line(chart["2200"]["id"], "6.00", "credit")],
    )
    done = expect(await act(api, tokens, original["id"], "reverse", "manager", reason="x"), 200)
    return original, done["reversal_journal_id"], chart


async def test_a_mirror_that_does_not_cancel_is_named(core_app, api, tokens):
    original, mirror, chart = await reversed_pair(api, tokens)
    assert not await breaches(core_app)
    moved = sa.update(Posting).where(
        col(Posting.journal_id) == uuid.UUID(mirror),
        col(Posting.gl_account_id) == uuid.UUID(chart["5200"]["id"]),
    )
    async with corrupted(
        core_app,
        (
            moved.values(gl_account_id=uuid.UUID(chart["5100"]["id"])),
            sa.update(Posting)
            .where(
                col(Posting.journal_id) == uuid.UUID(mirror),
                col(Posting.gl_account_id) == uuid.UUID(chart["5100"]["id"]),
            )
            .values(gl_account_id=uuid.UUID(chart["5200"]["id"])),
        ),
    ):
        found = await breaches(core_app)
    assert any(original["journal_number"] in b and "do not cancel out" in b for b in found), found
    assert any("differ from its drafted lines" in b for b in found), found


async def test_broken_or_doubled_links_are_named(core_app, api, tokens):
    original, mirror, _chart = await reversed_pair(api, tokens)
    oid = uuid.UUID(original["id"])
    unlink = sa.update(Journal).where(col(Journal.id) == oid)
    async with corrupted(
        core_app,
        (
            unlink.values(reversal_journal_id=None),
            unlink.values(reversal_journal_id=uuid.UUID(mirror)),
        ),
    ):
        found = await breaches(core_app)
    assert any("does not link back" in b for b in found), found
    second = uuid.uuid4()
    row = (await _journal_row(core_app, uuid.UUID(mirror))) | {
        "id": second,
        "journal_number": "JVTWICE0000",
    }
    async with corrupted(
        core_app,
        (sa.insert(Journal).values(**row), sa.delete(Journal).where(col(Journal.id) == second)),
    ):
        found = await breaches(core_app)
    assert any(original["journal_number"] in b and "2 reversal journals" in b for b in found), found


async def _journal_row(core_app: Any, journal_id: uuid.UUID) -> dict[str, Any]:
    async with core_app.state.services.db.session() as session:
        journal = await session.get(Journal, journal_id)
        assert journal is not None
        return journal.model_dump()


async def test_postings_that_differ_from_the_drafted_lines_are_named(core_app, api, tokens):
    chart = await gl(api, tokens)
    journal = await posted(
        api,
        tokens,
        [line(chart["5200"]["id"], "3.00", "debit"), line(chart["2200"]["id"], "3.00", "credit")],
    )
    lines = sa.update(JournalLine).where(col(JournalLine.journal_id) == uuid.UUID(journal["id"]))
    async with corrupted(
        core_app,
        (
            lines.values(amount=JournalLine.amount + 1),
            lines.values(amount=JournalLine.amount - 1),
        ),
    ):
        found = await breaches(core_app)
    assert any(journal["journal_number"] in b and "drafted lines" in b for b in found), found

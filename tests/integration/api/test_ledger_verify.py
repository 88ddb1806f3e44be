"""The ledger verifier (and ``branchdesk ledger verify``) catches what it should.

Each test corrupts one throwaway account (or posting) in its own committed
transaction, checks that the verifier names it, and restores it, so the rest of the
run stays clean (the ``ledger_checked`` fixture then proves it is clean again).
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.accounts.models import Account, Hold
from app.core.ledger.models import GLAccount, Journal, Posting
from app.core.ledger.verify import verify_ledger
from app.core.ledger_verify import verify_command
from app.core.periods.models import FiscalPeriod
from app.core.tenants.models import Tenant
from app.db import utcnow
from tests.integration.api.ledger_helpers import deposit, expect, open_account, transfer

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def report_of(core_app, tenant_id=None):
    async with core_app.state.services.db.session() as session:
        return await verify_ledger(session, tenant_id)


@asynccontextmanager
async def corrupted(core_app, *statements: Any) -> AsyncIterator[None]:
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


async def demo_tenant_id(core_app) -> uuid.UUID:
    async with core_app.state.services.db.session() as session:
        return (
            await session.execute(sa.select(col(Tenant.id)).where(col(Tenant.code) == "demo_bank"))
        ).scalar_one()


async def test_clean_ledger_reports_ok_with_counts(core_app, api, tokens):
    await open_account(api, tokens, initial_deposit="1.00")
    report = await report_of(core_app)
    assert report.ok, report.breaches
    # the sandbox's two banks, and any bank a test made of its own (private_tenant.py)
    tenants = report.checked["tenants"]
    assert tenants >= 2
    assert report.checked["postings"] > 0 and report.checked["journals"] > 0
    assert report.checked["clearing_accounts"] >= 3
    assert report.checked["control_accounts"] == 5 * tenants
    scoped = await report_of(core_app, await demo_tenant_id(core_app))
    assert scoped.ok and scoped.checked["tenants"] == 1
    assert scoped.checked["postings"] < report.checked["postings"]
    assert "OK" in report.text()


async def test_stored_balance_drift_is_named(core_app, api, tokens):
    acct = await open_account(api, tokens, initial_deposit="40.00")
    row = sa.update(Account).where(col(Account.id) == uuid.UUID(acct["id"]))
    async with corrupted(
        core_app,
        (
            row.values(ledger_balance=Account.ledger_balance + 1),
            row.values(ledger_balance=Account.ledger_balance - 1),
        ),
    ):
        report = await report_of(core_app)
        assert not report.ok
        mine = [b for b in report.breaches if acct["account_number"] in b]
        assert any("sum of its postings" in b for b in mine), report.breaches
        assert any("latest posting" in b for b in mine), report.breaches
        assert any("GL 2102" in b and "customer accounts" in b for b in report.breaches)
        assert "40.01" in " ".join(mine)
    assert (await report_of(core_app)).ok


async def test_hold_drift_and_overdraft_are_named(core_app, api, tokens):
    acct = await open_account(api, tokens, initial_deposit="10.00")
    row = sa.update(Account).where(col(Account.id) == uuid.UUID(acct["id"]))
    async with corrupted(core_app, (row.values(hold_amount=500), row.values(hold_amount=0))):
        report = await report_of(core_app)
        assert any(acct["account_number"] in b and "hold_amount" in b for b in report.breaches), (
            report.breaches
        )
    # Below −overdraft: the balance and every trace of it agree, yet it is an overdraft.
    async with corrupted(
        core_app,
        (
            row.values(ledger_balance=-5_00),
            row.values(ledger_balance=10_00),
        ),
        (
            sa.update(Posting)
            .where(col(Posting.account_id) == uuid.UUID(acct["id"]))
            .values(balance_after=-5_00),
            sa.update(Posting)
            .where(col(Posting.account_id) == uuid.UUID(acct["id"]))
            .values(balance_after=10_00),
        ),
    ):
        report = await report_of(core_app)
        overdrafts = [b for b in report.breaches if "overdraft" in b]
        assert any(acct["account_number"] in b for b in overdrafts), report.breaches


async def test_unbalanced_journal_and_trial_balance_are_named(core_app, api, tokens):
    acct = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "25.00"), 201)
    journal_id = uuid.UUID(made["journal_id"])
    cash = sa.update(Posting).where(
        col(Posting.journal_id) == journal_id, col(Posting.account_id).is_(None)
    )
    async with corrupted(
        core_app,
        (cash.values(amount=Posting.amount + 3), cash.values(amount=Posting.amount - 3)),
    ):
        report = await report_of(core_app)
        async with core_app.state.services.db.session() as session:
            number = (await session.get(Journal, journal_id)).journal_number
        assert any(number in b and "does not balance" in b for b in report.breaches)
        assert any("trial balance in NGN" in b for b in report.breaches), report.breaches


async def test_posting_in_a_journal_that_is_not_posted_is_named(core_app, api, tokens):
    acct = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "2.00"), 201)
    journal = sa.update(Journal).where(col(Journal.id) == uuid.UUID(made["journal_id"]))
    async with corrupted(
        core_app, (journal.values(status="PENDING"), journal.values(status="POSTED"))
    ):
        report = await report_of(core_app)
        assert any("is PENDING but has 2 postings" in b for b in report.breaches)
        assert any(made["transaction_ref"] in b for b in report.breaches)  # COMPLETED unposted
    async with corrupted(
        core_app, (journal.values(status="REVERSED"), journal.values(status="POSTED"))
    ):
        report = await report_of(core_app)
        assert any("REVERSED without a posted mirror" in b for b in report.breaches)


async def test_clearing_imbalance_is_named(core_app, api, tokens):
    here = await open_account(api, tokens, initial_deposit="10.00")
    there = await open_account(api, tokens, branch="002")
    moved = expect(
        await transfer(
            api, tokens, here["id"], there["id"], "4.00", kind="inter-branch", who="manager"
        ),
        201,
    )
    async with core_app.state.services.db.session() as session:
        clearing_ids = (
            (
                await session.execute(
                    sa.select(col(GLAccount.id)).where(col(GLAccount.role) == "clearing")
                )
            )
            .scalars()
            .all()
        )
    leg = sa.update(Posting).where(
        col(Posting.journal_id) == uuid.UUID(moved["journal_id"]),
        col(Posting.gl_account_id).in_(clearing_ids),
        col(Posting.side) == "D",
    )
    async with corrupted(
        core_app, (leg.values(amount=Posting.amount + 1), leg.values(amount=Posting.amount - 1))
    ):
        report = await report_of(core_app)
        assert any("clearing accounts (1301-*)" in b for b in report.breaches), report.breaches


async def test_posting_after_a_period_closed_is_named(core_app, api, tokens):
    acct = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "3.00"), 201)
    async with core_app.state.services.db.session() as session:
        posting = (
            (
                await session.execute(
                    sa.select(Posting).where(
                        col(Posting.journal_id) == uuid.UUID(made["journal_id"])
                    )
                )
            )
            .scalars()
            .first()
        )
        period = (
            await session.execute(
                sa.select(FiscalPeriod).where(
                    col(FiscalPeriod.tenant_id) == posting.tenant_id,
                    col(FiscalPeriod.period_number) <= 12,
                    col(FiscalPeriod.start_date) <= posting.effective_date,
                    col(FiscalPeriod.end_date) >= posting.effective_date,
                )
            )
        ).scalar_one()
        before = (period.status, period.closed_at)
    row = sa.update(FiscalPeriod).where(col(FiscalPeriod.id) == period.id)
    closed_at = posting.posted_at.replace(year=posting.posted_at.year - 1)
    async with corrupted(
        core_app,
        (
            row.values(status="closed", closed_at=closed_at),
            row.values(status=before[0], closed_at=before[1]),
        ),
    ):
        report = await report_of(core_app)
        assert any(
            "after it was closed" in b and period.period_name in b for b in report.breaches
        ), report.breaches


async def test_orphan_hold_is_named(core_app, api, tokens):
    acct = await open_account(api, tokens, initial_deposit="5.00")
    hold = await deposit(api, tokens, acct["id"], "1.00")  # something unrelated first
    expect(hold, 201)
    async with core_app.state.services.db.session() as session:
        tenant_id = (await session.get(Account, uuid.UUID(acct["id"]))).tenant_id
    hold_id = uuid.uuid4()
    async with corrupted(
        core_app,
        (
            sa.insert(Hold).values(
                id=hold_id,
                tenant_id=tenant_id,
                account_id=uuid.UUID(acct["id"]),
                amount=100,
                reason="planted",
                status="ACTIVE",
                created_at=utcnow(),
            ),
            sa.delete(Hold).where(col(Hold.id) == hold_id),
        ),
    ):
        report = await report_of(core_app)
        assert any(
            acct["account_number"] in b and "active holds 1.00" in b for b in report.breaches
        ), report.breaches


async def test_cli_exit_codes(core_app, api, tokens, settings, capsys):
    acct = await open_account(api, tokens, initial_deposit="9.00")
    assert await asyncio.to_thread(verify_command, settings) == 0
    assert "ledger verify: OK" in capsys.readouterr().out
    row = sa.update(Account).where(col(Account.id) == uuid.UUID(acct["id"]))
    async with corrupted(
        core_app,
        (
            row.values(ledger_balance=Account.ledger_balance + 7),
            row.values(ledger_balance=Account.ledger_balance - 7),
        ),
    ):
        assert await asyncio.to_thread(verify_command, settings) == 1
        out = capsys.readouterr().out
        assert "breach" in out and acct["account_number"] in out
    assert await asyncio.to_thread(verify_command, settings) == 0

"""GL roll-ups: every report and GL balance is the same with them as without them.

A bank of the test's own takes moves at two branches, in two currencies, on two days.
Its figures — trial balance and balance sheet as of three dates, the income statement,
per currency and per branch; the GL tree and each GL account — are taken through the
API before any roll-up, after a partial run, after a full run, and after journals
backdated into days already rolled up. Each time they are compared with the same
figures with the tenant's roll-ups taken away (so every read sums the postings), and
some of them with what the moves imply. Then: postings made while the job runs are
neither lost nor counted twice, a posting still in flight (PostgreSQL: a lower ID not
yet committed) is never rolled past, and the verifier names a corrupted roll-up row.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from app.core.ledger.balances import gl_net, rolled_up_through
from app.core.ledger.models import GLAccount, GLRollup, GLRollupMark, Journal, Posting
from app.core.ledger.posting import CREDIT, DEBIT, Leg, post_journal
from app.core.ledger.rollups import GLRollupJob
from app.core.ledger.verify import verify_ledger
from app.core.periods.service import open_period_for
from app.db import Database, utcnow
from tests.integration.api.ledger_helpers import expect, minor
from tests.integration.api.private_tenant import PrivateTenant, make_tenant

CURRENCIES = ("NGN", "USD")
BRANCHES = (None, "001", "002")


# ---- the bank and its moves -----------------------------------------------------------


async def _today(bank: PrivateTenant) -> date:
    body = expect(await bank.api.get("/tenant", headers=bank.h("viewer")), 200)
    return date.fromisoformat(body["business_date"])


async def _chart(bank: PrivateTenant) -> dict[str, dict[str, Any]]:
    body = expect(await bank.api.get("/gl/accounts", headers=bank.h("viewer")), 200)
    found: dict[str, dict[str, Any]] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            found[node["code"]] = node
            walk(node["children"])

    walk(body["gl_accounts"])
    return found


async def _journal(
    bank: PrivateTenant,
    chart: dict[str, dict[str, Any]],
    debit: str,
    credit: str,
    amount: str,
    on: date,
) -> None:
    entries = [
        {
            "account_id": chart[code]["id"],
            "amount": amount,
            "entry_type": side,
            "currency_code": "NGN",
        }
        for code, side in ((debit, "debit"), (credit, "credit"))
    ]
    made = expect(
        await bank.api.post(
            "/journals",
            json={
                "journal_type": "GENERAL",
                "description": "roll-up test",
                "transaction_date": on.isoformat(),
                "effective_date": on.isoformat(),
                "entries": entries,
            },
            headers=bank.h("teller", key=True),
        ),
        201,
    )
    expect(await bank.api.post(f"/journals/{made['id']}/approve", headers=bank.h("officer")), 200)
    expect(await bank.api.post(f"/journals/{made['id']}/post", headers=bank.h("officer")), 200)


async def _cash(bank: PrivateTenant, path: str, account: dict[str, Any], amount: str, who: str):
    return expect(
        await bank.api.post(
            path,
            json={"account_id": account["id"], "amount": amount, "currency": account["currency"]},
            headers=bank.h(who, key=True),
        ),
        201,
    )


@dataclass
class Books:
    bank: PrivateTenant
    today: date
    earlier: date  # three days back, in an open period
    accounts: dict[str, dict[str, Any]]


async def _bank(core_app, api, tokens) -> Books:  # type: ignore[no-untyped-def]
    """A bank with moves today at both branches in NGN and USD, and one journal dated
    three days back."""
    bank = await make_tenant(core_app, api, tokens, extra_staff=(("teller2", "teller", "002"),))
    today = await _today(bank)
    earlier = today - timedelta(days=3)
    for year in sorted({earlier.year, today.year}):
        expect(await api.post(f"/fiscal-periods/year/{year}", headers=bank.h("admin")), 201)
    a1, a2 = await bank.open_account(), await bank.open_account()
    b1 = await bank.open_account(branch="002")
    usd = await bank.open_account(product="DOM001", currency="USD")
    await _cash(bank, "/deposits", a1, "1000.00", "teller")
    await _cash(bank, "/deposits", a2, "500.00", "teller")
    await _cash(bank, "/deposits", usd, "200.00", "teller")
    await _cash(bank, "/withdrawals", a1, "150.00", "teller")
    await _cash(bank, "/deposits", b1, "300.00", "teller2")
    await _cash(bank, "/withdrawals", b1, "20.00", "teller2")
    expect(
        await api.post(
            "/transfers/inter-branch",
            json={
                "source_account_id": a2["id"],
                "destination_account_id": b1["id"],
                "amount": "60.00",
                "currency": "NGN",
                "narration": "roll-up test",
            },
            headers=bank.h("manager", key=True),
        ),
        201,
    )
    chart = await _chart(bank)
    await _journal(bank, chart, "1400", "4200", "250.00", today)
    await _journal(bank, chart, "5200", "2200", "80.00", earlier)
    return Books(bank, today, earlier, {"a1": a1, "a2": a2, "b1": b1, "usd": usd})


# ---- figures, with and without the roll-ups --------------------------------------------


async def _report(bank: PrivateTenant, name: str, **params: Any) -> Any:
    query = {k: v for k, v in params.items() if v is not None}
    return expect(
        await bank.api.get(f"/reports/{name}", params=query, headers=bank.h("viewer")), 200
    )


async def figures(bank: PrivateTenant, days: list[date]) -> dict[Any, Any]:
    """Every GL figure the API shows for the bank, keyed by what was asked."""
    found: dict[Any, Any] = {}
    for currency in CURRENCIES:
        for branch in BRANCHES:
            for day in days:
                for name in ("trial-balance", "balance-sheet"):
                    found[(name, currency, branch, day)] = await _report(
                        bank, name, as_of=day.isoformat(), currency=currency, branch_code=branch
                    )
            found[("income-statement", currency, branch)] = await _report(
                bank, "income-statement", currency=currency, branch_code=branch
            )
            found[("income-statement", currency, branch, days[0])] = await _report(
                bank,
                "income-statement",
                currency=currency,
                branch_code=branch,
                to=days[0].isoformat(),
                **{"from": (days[0] - timedelta(days=40)).isoformat()},
            )
    chart = expect(await bank.api.get("/gl/accounts", headers=bank.h("viewer")), 200)
    found["tree"] = chart
    for code, node in (await _chart(bank)).items():
        if node["balance"] == "0.00":
            continue  # the tree above shows it; its page would too
        found[("gl", code)] = expect(
            await bank.api.get(f"/gl/accounts/{node['id']}", headers=bank.h("viewer")), 200
        )
        if not node["is_header"]:
            found[("entries", code)] = await _entries(bank, node["id"])
            found[("entries", code, days[-1])] = await _entries(
                bank, node["id"], **{"from": days[-1].isoformat()}
            )
    return found


async def _entries(bank: PrivateTenant, gl_id: str, **params: str) -> list[Any]:
    """Every entry of a GL account with its running balance, three to a page."""
    listed: list[Any] = []
    cursor = None
    while True:
        query = {"limit": "3", **params, **({"cursor": cursor} if cursor else {})}
        body = expect(
            await bank.api.get(
                f"/gl/accounts/{gl_id}/entries", params=query, headers=bank.h("viewer")
            ),
            200,
        )
        listed += [(e["id"], e["amount"], e["balance_after"]) for e in body["entries"]]
        if not body["has_more"]:
            return listed
        cursor = body["next_cursor"]


@asynccontextmanager
async def without_rollups(db: Database, tenant_id: uuid.UUID) -> AsyncIterator[None]:
    """The tenant's roll-up rows and mark taken away for the block, then put back."""
    async with db.writer(), db.session() as session:
        rows = [
            dict(r._mapping)
            for r in await session.execute(
                sa.select(GLRollup.__table__).where(col(GLRollup.tenant_id) == tenant_id)  # type: ignore[attr-defined]
            )
        ]
        marks = [
            dict(r._mapping)
            for r in await session.execute(
                sa.select(GLRollupMark.__table__).where(col(GLRollupMark.tenant_id) == tenant_id)  # type: ignore[attr-defined]
            )
        ]
        await session.execute(sa.delete(GLRollup).where(col(GLRollup.tenant_id) == tenant_id))
        await session.execute(
            sa.delete(GLRollupMark).where(col(GLRollupMark.tenant_id) == tenant_id)
        )
        await session.commit()
    try:
        yield
    finally:
        async with db.writer(), db.session() as session:
            if rows:
                await session.execute(sa.insert(GLRollup), rows)
            if marks:
                await session.execute(sa.insert(GLRollupMark), marks)
            await session.commit()


async def assert_same_without_rollups(
    bank: PrivateTenant, db: Database, days: list[date]
) -> dict[Any, Any]:
    """The bank's figures now, checked equal to the same figures summed from postings."""
    with_them = await figures(bank, days)
    async with without_rollups(db, uuid.UUID(bank.id)):
        assert await mark_of(db, bank) == 0
        plain = await figures(bank, days)
    differing = [key for key in plain if plain[key] != with_them[key]]
    assert not differing, f"figures differ with roll-ups: {differing[:5]}"
    return with_them


# ---- the job and what it left -----------------------------------------------------------


async def mark_of(db: Database, bank: PrivateTenant) -> int:
    async with db.session() as session:
        return await rolled_up_through(session, uuid.UUID(bank.id))


async def posting_ids(db: Database, bank: PrivateTenant) -> tuple[int, int, int]:
    """(first, last, count) of the bank's posting IDs."""
    async with db.session() as session:
        first, last, count = (
            await session.execute(
                sa.select(
                    sa.func.min(col(Posting.id)), sa.func.max(col(Posting.id)), sa.func.count()
                ).where(col(Posting.tenant_id) == uuid.UUID(bank.id))
            )
        ).one()
    return int(first), int(last), int(count)


async def rolled_up_count(db: Database, bank: PrivateTenant) -> int:
    async with db.session() as session:
        total = (
            await session.execute(
                sa.select(sa.func.coalesce(sa.func.sum(col(GLRollup.posting_count)), 0)).where(
                    col(GLRollup.tenant_id) == uuid.UUID(bank.id)
                )
            )
        ).scalar_one()
    return int(total)


async def roll_up_everything(db: Database, bank: PrivateTenant) -> None:
    """Run the job until the bank's every posting is rolled up."""
    job = GLRollupJob(db)
    _first, last, _count = await posting_ids(db, bank)
    for _ in range(10):
        if await mark_of(db, bank) >= last:
            return
        await job.run_once()
    raise AssertionError(f"the job stopped at {await mark_of(db, bank)}, before {last}")


async def ledger_report(db: Database, tenant_id: uuid.UUID | None = None):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return await verify_ledger(session, tenant_id)


# ---- the tests --------------------------------------------------------------------------


async def test_reports_are_the_same_before_during_and_after_rolling_up(
    api, tokens, core_app, ledger_checked
):
    db: Database = core_app.state.services.db
    books = await _bank(core_app, api, tokens)
    bank, today, earlier = books.bank, books.today, books.earlier
    days = [earlier - timedelta(days=1), earlier, today]
    first, last, count = await posting_ids(db, bank)

    # before any roll-up: every read sums the postings
    assert await mark_of(db, bank) == 0
    before = await assert_same_without_rollups(bank, db, days)
    tb = before[("trial-balance", "NGN", None, today)]
    lines = {line["code"]: (line["debit"], line["credit"]) for line in tb["lines"]}
    assert lines["1101-001"] == ("1350.00", "0.00") and lines["1101-002"] == ("280.00", "0.00")
    assert lines["1400"] == ("250.00", "0.00") and lines["5200"] == ("80.00", "0.00")
    assert tb["balanced"] is True
    back = before[("trial-balance", "NGN", None, earlier)]
    assert [(line["code"], line["debit"], line["credit"]) for line in back["lines"]] == [
        ("2200", "0.00", "80.00"),
        ("5200", "80.00", "0.00"),
    ]
    assert before[("trial-balance", "NGN", None, days[0])]["lines"] == []
    usd = before[("trial-balance", "USD", None, today)]
    assert [(line["code"], line["debit"]) for line in usd["lines"]] == [
        ("1101-001", "200.00"),
        ("2104", "0.00"),
    ]
    assert before[("trial-balance", "NGN", "002", today)]["balanced"] is True
    # the till's entries, newest first, each with the till's balance after it
    till = [(amount, after) for _id, amount, after in before[("entries", "1101-001")]]
    assert till == [
        ("150.00", "1550.00"),  # NGN and USD together, as the GL account page shows them
        ("200.00", "1700.00"),
        ("500.00", "1500.00"),
        ("1000.00", "1000.00"),
    ]

    # a partial run: part of the bank's postings rolled up, the rest read as postings
    await GLRollupJob(db, postings_per_run=5).run_once()
    partial = await mark_of(db, bank)
    assert first <= partial < last
    assert 0 < await rolled_up_count(db, bank) < count
    assert await assert_same_without_rollups(bank, db, days) == before

    # a full run
    await roll_up_everything(db, bank)
    assert await rolled_up_count(db, bank) == count
    assert await assert_same_without_rollups(bank, db, days) == before

    # backdated journals into days already rolled up, and into a day before them all
    chart = await _chart(bank)
    await _journal(bank, chart, "5200", "2200", "7.00", earlier)
    await _journal(bank, chart, "1400", "4200", "11.00", today)
    await _journal(bank, chart, "1400", "4200", "3.00", days[0])
    await _cash(bank, "/deposits", books.accounts["usd"], "5.00", "teller")
    after = await assert_same_without_rollups(bank, db, days)  # the new ones not rolled up
    back = after[("trial-balance", "NGN", None, earlier)]
    assert {line["code"]: line["debit"] for line in back["lines"]} == {
        "1400": "3.00",
        "2200": "0.00",
        "4200": "0.00",
        "5200": "87.00",
    }
    assert {
        line["code"]: line["credit"]
        for line in after[("trial-balance", "NGN", None, days[0])]["lines"]
    } == {"1400": "0.00", "4200": "3.00"}
    statement = await _report(
        bank, "income-statement", to=today.isoformat(), **{"from": days[0].isoformat()}
    )
    assert (statement["total_revenue"], statement["total_expenses"]) == ("264.00", "87.00")
    assert after[("trial-balance", "USD", None, today)]["total_debit"] == "205.00"

    await roll_up_everything(db, bank)
    assert await rolled_up_count(db, bank) == count + 8
    assert await assert_same_without_rollups(bank, db, days) == after
    report = await ledger_report(db, uuid.UUID(bank.id))
    assert report.ok, report.breaches
    assert report.checked["gl_rollups"] > 0


async def test_postings_made_while_the_job_runs_are_counted_once(
    api, tokens, core_app, ledger_checked
):
    db: Database = core_app.state.services.db
    books = await _bank(core_app, api, tokens)
    bank, today = books.bank, books.today
    a1 = await bank.open_account()
    b1 = await bank.open_account(branch="002")
    job = GLRollupJob(db, postings_per_run=3)  # small odd steps split the deposits' pairs
    stop = asyncio.Event()
    marks: list[int] = []  # the bank's mark after each run of the job

    async def keep_rolling() -> None:
        while not stop.is_set():
            await job.run_once()
            marks.append(await mark_of(db, bank))
            await asyncio.sleep(0)

    reads: list[dict[str, Any]] = []

    async def keep_reading() -> None:
        while not stop.is_set():
            reads.append(await _report(bank, "trial-balance"))
            await asyncio.sleep(0)

    made = {"teller": 0, "teller2": 0}

    async def deposits(account: dict[str, Any], who: str) -> None:
        # At least 10 each, and on until the job has moved the bank's mark twice meanwhile
        # (with many tenants in the database one run of the job takes a while).
        while made[who] < 10 or (len(set(marks) - {before}) < 2 and made[who] < 60):
            await _cash(bank, "/deposits", account, "1.00", who)
            made[who] += 1

    await roll_up_everything(db, bank)
    before = await mark_of(db, bank)
    rolling, reading = asyncio.create_task(keep_rolling()), asyncio.create_task(keep_reading())
    try:
        await asyncio.gather(deposits(a1, "teller"), deposits(b1, "teller2"))
    finally:
        stop.set()
        await asyncio.gather(rolling, reading)
    assert len(set(marks) - {before}) >= 2, "the job did not roll up while postings came in"
    assert reads
    for read in reads:  # every read while the job ran: balanced, cash = what customers hold
        lines = {line["code"]: line for line in read["lines"]}
        assert read["balanced"] is True
        cash = minor(lines["1101-001"]["debit"]) + minor(lines["1101-002"]["debit"])
        assert cash == minor(lines["2102"]["credit"])
    await roll_up_everything(db, bank)
    _first, _last, count = await posting_ids(db, bank)
    assert await rolled_up_count(db, bank) == count
    final = await _report(bank, "trial-balance")
    lines = {line["code"]: line for line in final["lines"]}
    assert minor(lines["1101-001"]["debit"]) == 1350_00 + made["teller"] * 100
    assert minor(lines["1101-002"]["debit"]) == 280_00 + made["teller2"] * 100
    await assert_same_without_rollups(bank, db, [today])


async def test_a_sum_taken_while_the_job_moves_the_mark_is_taken_again(api, tokens, core_app):
    """The mark is read before the sum; the sum reads it again in its own snapshot.

    Here the job moves the mark between the two (as it could between two statements of
    a report): a sum with the old mark counts the newly rolled postings twice, which the
    second read of the mark reveals, and ``gl_net`` takes the sum again."""
    from app.core.ledger.balances import _rows_to_sum

    db: Database = core_app.state.services.db
    bank = (await _bank(core_app, api, tokens)).bank
    tenant_id = uuid.UUID(bank.id)
    async with db.session() as session:
        exact = await gl_net(session, tenant_id)
        stale = await rolled_up_through(session, tenant_id)
    await roll_up_everything(db, bank)
    async with db.session() as session:
        union = _rows_to_sum(tenant_id, stale, {k: None for k in _FILTERS}, None)
        from app.core.ledger.balances import _mark_of

        rows = (
            await session.execute(
                sa.select(
                    union.c.gl_account_id, sa.func.sum(union.c.net), _mark_of(tenant_id)
                ).group_by(union.c.gl_account_id)
            )
        ).all()
        doubled = {row[0]: int(row[1]) for row in rows}
        assert int(rows[0][2]) != stale  # what gl_net checks
        assert doubled != exact  # what it would have got wrong
        assert await gl_net(session, tenant_id) == exact


_FILTERS = ("since", "through", "gl_account_ids", "currency", "branch_code")


async def test_a_posting_in_flight_is_never_rolled_past(api, tokens, core_app, ledger_checked):
    """Another connection posts a journal and keeps its transaction open (a lower posting
    ID, not committed). On PostgreSQL a later posting commits meanwhile; the job must stop
    below the open one. Once it commits, the next runs roll it up, and every figure is
    what the postings say."""
    db: Database = core_app.state.services.db
    books = await _bank(core_app, api, tokens)
    bank, today = books.bank, books.today
    await roll_up_everything(db, bank)
    tenant_id = uuid.UUID(bank.id)
    other = Database(db.settings)
    try:
        async with other.session() as open_session:
            async with open_session.begin():
                gl = {
                    a.code: a
                    for a in (
                        await open_session.execute(
                            sa.select(GLAccount).where(col(GLAccount.tenant_id) == tenant_id)
                        )
                    ).scalars()
                }
                period = await open_period_for(open_session, tenant_id, today)
                journal = Journal(
                    tenant_id=tenant_id,
                    journal_number=f"JVFLIGHT{uuid.uuid4().hex[:8].upper()}",
                    journal_type="GENERAL",
                    status="POSTED",
                    description="in flight",
                    transaction_date=today,
                    effective_date=today,
                    fiscal_period_id=None,
                    created_by=uuid.UUID(bank.users["officer"]),
                    created_by_email="officer@test",
                    posted_at=utcnow(),
                )
                assert period.status == "open"
                open_session.add(journal)
                result = await post_journal(
                    open_session,
                    journal,
                    [
                        Leg(gl["1400"].id, DEBIT, 4_00, "NGN"),
                        Leg(gl["4200"].id, CREDIT, 4_00, "NGN"),
                    ],
                    {},
                    effective_date=today,
                )
                await open_session.flush()
                in_flight = min(p.id for p in result.postings if p.id is not None)
                job = GLRollupJob(db)
                if db.is_sqlite:
                    # One writer at a time: nobody commits while it is open, and the horizon
                    # is the committed maximum, below the open one.
                    assert await job.horizon() < in_flight
                else:
                    # Postings share their period's lock: this one must not wait for the
                    # open transaction (a hot row would stall it until that one ends).
                    later = await bank.open_account()
                    await asyncio.wait_for(
                        _cash(bank, "/deposits", later, "9.00", "teller"), timeout=20
                    )
                    _first, last, _count = await posting_ids(db, bank)
                    assert last > in_flight
                    for _ in range(3):
                        await job.run_once()
                    assert await mark_of(db, bank) < in_flight, "rolled past a posting in flight"
                    # reads stay exact meanwhile: the committed later deposit is counted
                    tb = await _report(bank, "trial-balance")
                    cash = {line["code"]: line["debit"] for line in tb["lines"]}["1101-001"]
                    assert cash == "1359.00"
    finally:
        await other.dispose()
    await roll_up_everything(db, bank)
    assert await mark_of(db, bank) >= in_flight
    _first, _last, count = await posting_ids(db, bank)
    assert await rolled_up_count(db, bank) == count
    tb = await _report(bank, "trial-balance")
    assert {line["code"]: line["debit"] for line in tb["lines"]}["1400"] == "254.00"
    await assert_same_without_rollups(bank, db, [today])


async def test_the_verifier_names_a_corrupted_rollup_row(api, tokens, core_app):
    db: Database = core_app.state.services.db
    books = await _bank(core_app, api, tokens)
    bank, today = books.bank, books.today
    await roll_up_everything(db, bank)
    tenant_id = uuid.UUID(bank.id)
    assert (await ledger_report(db, tenant_id)).ok
    async with db.session() as session:
        cash = (
            await session.execute(
                sa.select(GLAccount).where(
                    col(GLAccount.tenant_id) == tenant_id, col(GLAccount.code) == "1101-001"
                )
            )
        ).scalar_one()
    row = sa.update(GLRollup).where(
        col(GLRollup.tenant_id) == tenant_id,
        col(GLRollup.gl_account_id) == cash.id,
        col(GLRollup.currency) == "NGN",
        col(GLRollup.effective_date) == today,
    )
    ghost = {
        "tenant_id": tenant_id,
        "effective_date": today - timedelta(days=1),
        "gl_account_id": cash.id,
        "currency": "NGN",
        "branch_code": "001",
        "net_debit": 5_00,
        "posting_count": 1,
    }
    for corrupt, undo, expected in (
        (
            row.values(net_debit=GLRollup.net_debit + 1),
            row.values(net_debit=GLRollup.net_debit - 1),
            "GL roll-up holds 1350.01 NGN",
        ),
        (
            row.values(posting_count=GLRollup.posting_count + 1),
            row.values(posting_count=GLRollup.posting_count - 1),
            "posting(s) ≠ postings 1350.00 NGN",
        ),
        (
            sa.insert(GLRollup).values(**ghost),
            sa.delete(GLRollup).where(
                col(GLRollup.tenant_id) == tenant_id,
                col(GLRollup.effective_date) == ghost["effective_date"],
            ),
            "≠ postings no postings",
        ),
    ):
        async with db.writer(), db.session() as session:
            await session.execute(corrupt)
            await session.commit()
        try:
            report = await ledger_report(db, tenant_id)
            assert not report.ok
            found = [b for b in report.breaches if "GL roll-up" in b]
            assert len(found) == 1 and "1101-001" in found[0] and expected in found[0], found
        finally:
            async with db.writer(), db.session() as session:
                await session.execute(undo)
                await session.commit()
    # a missing row: the postings it stood for are named
    async with without_rollups(db, tenant_id):
        async with db.writer(), db.session() as session:
            session.add(GLRollupMark(tenant_id=tenant_id, through_id=await _last_id(db, bank)))
            await session.commit()
        report = await ledger_report(db, tenant_id)
        assert any("GL roll-up holds no row" in b and "1101-001" in b for b in report.breaches)
        async with db.writer(), db.session() as session:
            await session.execute(
                sa.delete(GLRollupMark).where(col(GLRollupMark.tenant_id) == tenant_id)
            )
            await session.commit()
    assert (await ledger_report(db, tenant_id)).ok


async def _last_id(db: Database, bank: PrivateTenant) -> int:
    return (await posting_ids(db, bank))[1]

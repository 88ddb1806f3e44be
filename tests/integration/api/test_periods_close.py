"""Closing a period: what blocks it, the snapshot it keeps, and that nothing posts after.

Each test has a bank of its own (``make_tenant``): a close cannot be undone, and the
sandbox's periods must stay open for the rest of the run. Money gets into a period the
honest way — deposits and transfers on today's business date, in the current year's
periods, created through the API.
"""

import uuid
from datetime import date

import sqlalchemy as sa

from tests.integration.api.ledger_helpers import expect, minor
from tests.integration.api.private_tenant import PrivateTenant, make_tenant


async def _today(bank: PrivateTenant) -> date:
    body = expect(await bank.api.get("/tenant", headers=bank.h("viewer")), 200)
    return date.fromisoformat(body["business_date"])


async def _year(bank: PrivateTenant, year: int) -> dict[int, dict]:
    body = expect(await bank.api.post(f"/fiscal-periods/year/{year}", headers=bank.h("admin")), 201)
    return {p["period_number"]: p for p in body["fiscal_periods"]}


async def _close(bank: PrivateTenant, period_id: str):
    return await bank.api.post(f"/fiscal-periods/{period_id}/close", headers=bank.h("admin"))


async def _journal(bank: PrivateTenant, on: date, *, approve: bool = False) -> dict:
    """A manual journal (Dr 1400 Receivables, Cr 4200 Fee income 5.00) through the journals
    API: drafted by the teller, approved by the officer when ``approve``."""
    chart = expect(await bank.api.get("/gl/accounts", headers=bank.h("viewer")), 200)
    codes: dict[str, str] = {}

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            codes[node["code"]] = node["id"]
            walk(node["children"])

    walk(chart["gl_accounts"])
    made = expect(
        await bank.api.post(
            "/journals",
            json={
                "journal_type": "ACCRUAL",
                "description": "fee accrued, awaiting approval",
                "transaction_date": on.isoformat(),
                "effective_date": on.isoformat(),
                "entries": [
                    {
                        "account_id": codes["1400"],
                        "amount": "5.00",
                        "entry_type": "debit",
                        "currency_code": "NGN",
                    },
                    {
                        "account_id": codes["4200"],
                        "amount": "5.00",
                        "entry_type": "credit",
                        "currency_code": "NGN",
                    },
                ],
            },
            headers=bank.h("teller", key=True),
        ),
        201,
    )
    if approve:
        expect(
            await bank.api.post(f"/journals/{made['id']}/approve", headers=bank.h("officer")), 200
        )
    return made


async def _rows(core_app, model, **where):
    db = core_app.state.services.db
    async with db.session() as session:
        query = sa.select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list((await session.execute(query)).scalars().all())


async def test_close_lists_every_blocker_then_closes_with_its_snapshot(
    api, tokens, core_app, ledger_checked
):
    bank = await make_tenant(core_app, api, tokens, teller_approval_limit=2500_00)
    today = await _today(bank)
    periods = await _year(bank, today.year)
    a, b = await bank.open_account(), await bank.open_account()
    c = await bank.open_account(branch="002")
    expect(await bank.deposit(a["id"], "2000.00"), 201)
    expect(await bank.deposit(b["id"], "300.00"), 201)
    pending = expect(await bank.deposit(c["id"], "3000.00"), 201)
    assert pending["status"] == "PENDING_APPROVAL"
    journal = await _journal(bank, today)
    approved = await _journal(bank, today, approve=True)
    for number in range(1, today.month):  # the months before are empty: they close at once
        closed = expect(await _close(bank, periods[number]["id"]), 200)
        assert closed["trial_balance_snapshot"]["lines"] == []
    month = periods[today.month]

    blocked = expect(await _close(bank, month["id"]), 422, "PERIOD_CLOSE_BLOCKED")
    assert blocked["blocker_count"] == 3, blocked["details"]
    by_type = {(d["entity_type"], d["status"]): d for d in blocked["details"]}
    assert by_type[("transaction", "PENDING_APPROVAL")] == {
        "field": "teller_transaction",
        "code": "teller_transaction_pending",
        "value": pending["id"],
        "reason": "transaction awaiting approval",
        "entity_type": "transaction",
        "entity_id": pending["id"],
        "reference": pending["transaction_ref"],
        "status": "PENDING_APPROVAL",
        "date": today.isoformat(),
    }
    assert by_type[("journal", "APPROVED")]["entity_id"] == approved["id"]
    assert by_type[("journal", "PENDING")] == {
        "field": "journal",
        "code": "journal_pending",
        "value": journal["id"],
        "reason": "journal pending, not posted",
        "entity_type": "journal",
        "entity_id": journal["id"],
        "reference": journal["journal_number"],
        "status": "PENDING",
        "date": today.isoformat(),
    }
    still = expect(await api.get(f"/fiscal-periods/{month['id']}", headers=bank.h("viewer")), 200)
    assert still["status"] == "open" and still["trial_balance_snapshot"] is None
    # settle them one by one: the list shrinks
    expect(
        await api.post(
            f"/transactions/{pending['id']}/reject",
            json={"reason": "customer left"},
            headers=bank.h("officer"),
        ),
        200,
    )
    expect(
        await api.post(
            f"/journals/{journal['id']}/reject",
            json={"reason": "duplicate"},
            headers=bank.h("officer"),
        ),
        200,
    )
    blocked = expect(await _close(bank, month["id"]), 422, "PERIOD_CLOSE_BLOCKED")
    assert [d["entity_id"] for d in blocked["details"]] == [approved["id"]]
    expect(await api.post(f"/journals/{approved['id']}/post", headers=bank.h("manager")), 200)
    closed = expect(await _close(bank, month["id"]), 200)
    assert closed["status"] == "closed"
    assert closed["closed_by_email"] == f"admin@{bank.code}.test"
    assert closed["closed_by"] == bank.users["admin"]
    snapshot = closed["trial_balance_snapshot"]
    assert snapshot["as_of"] == month["end_date"]
    lines = {line["code"]: line for line in snapshot["lines"]}
    assert set(lines) == {"1101-001", "2102", "1400", "4200"}
    assert (lines["1400"]["debit"], lines["4200"]["credit"]) == ("5.00", "5.00")
    assert (lines["1101-001"]["debit"], lines["1101-001"]["credit"]) == ("2300.00", "0.00")
    assert (lines["2102"]["debit"], lines["2102"]["credit"]) == ("0.00", "2300.00")
    assert snapshot["totals"] == [
        {"currency": "NGN", "total_debit": "2305.00", "total_credit": "2305.00"}
    ]
    again = expect(await api.get(f"/fiscal-periods/{month['id']}", headers=bank.h("viewer")), 200)
    assert again["trial_balance_snapshot"] == snapshot

    # audited and announced in the same transaction
    from app.core.audit.models import AuditLog
    from app.core.webhooks.models import OutboxEvent

    audits = await _rows(core_app, AuditLog, action="period.closed", entity_id=month["id"])
    assert len(audits) == 1 and audits[0].after["status"] == "closed"
    assert audits[0].before["status"] == "open"
    events = [
        e
        for e in await _rows(core_app, OutboxEvent, type="period.closed")
        if e.data["id"] == month["id"]
    ]
    assert len(events) == 1

    # closed for good
    expect(await _close(bank, month["id"]), 409, "INVALID_STATE")
    expect(
        await api.get("/fiscal-periods/current", headers=bank.h("viewer")), 404, "PERIOD_NOT_FOUND"
    )


async def test_nothing_posts_into_a_closed_period(api, tokens, core_app, ledger_checked):
    bank = await make_tenant(core_app, api, tokens)
    today = await _today(bank)
    periods = await _year(bank, today.year)
    a, b = await bank.open_account(), await bank.open_account()
    c = await bank.open_account(branch="002")
    for account in (a, b, c):
        expect(await bank.deposit(account["id"], "500.00"), 201)
    for number in range(1, today.month + 1):
        expect(await _close(bank, periods[number]["id"]), 200)

    def transfer(source, target):
        return {
            "source_account_id": source["id"],
            "destination_account_id": target["id"],
            "amount": "10.00",
            "currency": "NGN",
            "narration": "after close",
        }

    refusals = [
        await bank.deposit(a["id"], "10.00"),
        await api.post(
            "/withdrawals",
            json={"account_id": a["id"], "amount": "10.00", "currency": "NGN"},
            headers=bank.h("teller", key=True),
        ),
        await api.post(
            "/transfers/internal", json=transfer(a, b), headers=bank.h("officer", key=True)
        ),
        await api.post(
            "/transfers/inter-branch", json=transfer(a, c), headers=bank.h("manager", key=True)
        ),
    ]
    for response in refusals:
        body = expect(response, 422, "PERIOD_CLOSED")
        assert body["details"][0]["value"] == today.isoformat()
    batch = expect(
        await api.post(
            "/transfers/batch",
            json={"mode": "independent", "transfers": [transfer(a, b), transfer(b, a)]},
            headers=bank.h("officer", key=True),
        ),
        200,
    )
    assert [r["error"]["code"] for r in batch["results"]] == ["PERIOD_CLOSED"] * 2
    customer = (await api.get(f"/accounts/{a['id']}", headers=bank.h("viewer"))).json()
    opened = await api.post(
        "/accounts",
        json={
            "customer_id": customer["customer_id"],
            "account_type": "CURRENT",
            "currency": "NGN",
            "product_code": "CUR001",
            "branch_code": "001",
            "initial_deposit": "50.00",
        },
        headers=bank.h("manager"),
    )
    expect(opened, 422, "PERIOD_CLOSED")
    for account in (a, b, c):
        body = expect(await api.get(f"/accounts/{account['id']}", headers=bank.h("viewer")), 200)
        assert minor(body["ledger_balance"]) == 500_00
    listed = expect(await api.get("/accounts", params={"limit": 50}, headers=bank.h("viewer")), 200)
    assert len(listed["accounts"]) == 3  # the refused opening left no account behind


async def test_earlier_open_periods_of_the_year_block(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=("admin", "viewer"))
    periods = await _year(bank, 2018)
    blocked = expect(await _close(bank, periods[5]["id"]), 422, "PERIOD_CLOSE_BLOCKED")
    assert [
        (d["entity_type"], d["entity_id"], d["reference"], d["status"]) for d in blocked["details"]
    ] == [
        ("fiscal_period", periods[n]["id"], periods[n]["period_name"], "open") for n in range(1, 5)
    ]
    expect(await _close(bank, periods[1]["id"]), 200)
    blocked = expect(await _close(bank, periods[3]["id"]), 422, "PERIOD_CLOSE_BLOCKED")
    assert [d["entity_id"] for d in blocked["details"]] == [periods[2]["id"]]
    # period 13 waits for all of 1-12
    blocked = expect(await _close(bank, periods[13]["id"]), 422, "PERIOD_CLOSE_BLOCKED")
    assert blocked["blocker_count"] == 11
    # another year's open periods do not block
    other = await _year(bank, 2017)
    assert other[1]["status"] == "open"
    expect(await _close(bank, periods[2]["id"]), 200)
    listed = expect(
        await api.get(
            "/fiscal-periods",
            params={"fiscal_year": "2018", "status": "closed"},
            headers=bank.h("viewer"),
        ),
        200,
    )
    assert sorted(p["period_number"] for p in listed["fiscal_periods"]) == [1, 2]


async def test_approving_a_pending_transaction_into_a_closed_period_is_refused(
    api, tokens, core_app, ledger_checked
):
    """A teller transaction left pending over a year end, approved after January closed.

    Blockers make this the only way an approval can meet a closed period (a pending
    transaction keeps its own period open, and the periods before it in its year). The
    business date is today, so the test moves the pending transaction's date to the last
    day of last year in the database: the state a bank is in on 2 January when a
    transaction from 31 December still waits.
    """
    from app.core.transactions.models import Transaction

    bank = await make_tenant(core_app, api, tokens, teller_approval_limit=100_00)
    today = await _today(bank)
    periods = await _year(bank, today.year)
    last_year = await _year(bank, today.year - 1)
    account = await bank.open_account()
    for _ in range(2):
        expect(await bank.deposit(account["id"], "100.00"), 201)
    pending = expect(
        await api.post(
            "/withdrawals",
            json={"account_id": account["id"], "amount": "150.00", "currency": "NGN"},
            headers=bank.h("teller", key=True),
        ),
        201,
    )
    assert pending["status"] == "PENDING_APPROVAL"
    db = core_app.state.services.db
    async with db.writer(), db.session() as session:
        await session.execute(
            sa.update(Transaction)
            .where(Transaction.id == uuid.UUID(pending["id"]))  # type: ignore[arg-type]
            .values(business_date=date(today.year - 1, 12, 31))
        )
        await session.commit()
    blocked = expect(await _close(bank, last_year[12]["id"]), 422, "PERIOD_CLOSE_BLOCKED")
    assert pending["id"] in {d["entity_id"] for d in blocked["details"]}
    for number in range(1, today.month + 1):
        expect(await _close(bank, periods[number]["id"]), 200)
    refused = expect(
        await api.post(f"/transactions/{pending['id']}/approve", headers=bank.h("officer")),
        422,
        "PERIOD_CLOSED",
    )
    assert refused["details"][0]["value"] == today.isoformat()
    after = expect(await api.get(f"/transactions/{pending['id']}", headers=bank.h("viewer")), 200)
    assert after["status"] == "PENDING_APPROVAL"
    body = expect(await api.get(f"/accounts/{account['id']}", headers=bank.h("viewer")), 200)
    assert (body["ledger_balance"], body["hold_amount"]) == ("200.00", "150.00")
    # rejecting moves no money, so it is still possible
    expect(
        await api.post(
            f"/transactions/{pending['id']}/reject",
            json={"reason": "period closed"},
            headers=bank.h("officer"),
        ),
        200,
    )


async def test_a_close_racing_deposits_snapshots_exactly_what_got_in(
    api, tokens, core_app, ledger_checked
):
    """Deposits and the close at once: each deposit either lands before the close (and is
    in the snapshot) or is refused PERIOD_CLOSED — none lands after (postings hold their
    period's row share-locked, the close takes it for update)."""
    import asyncio

    bank = await make_tenant(core_app, api, tokens)
    today = await _today(bank)
    periods = await _year(bank, today.year)
    account = await bank.open_account()
    for number in range(1, today.month):
        expect(await _close(bank, periods[number]["id"]), 200)

    async def deposit(n: int):
        await asyncio.sleep(0.006 * n)
        return await bank.deposit(account["id"], f"{n + 1}.00")

    async def close_soon():
        await asyncio.sleep(0.04)
        return await _close(bank, periods[today.month]["id"])

    results = await asyncio.gather(*[deposit(n) for n in range(16)], close_soon())
    *deposits, closed = results
    snapshot = expect(closed, 200)["trial_balance_snapshot"]
    landed = 0
    for response in deposits:
        if response.status_code == 201:
            landed += minor(response.json()["amount"])
        else:
            expect(response, 422, "PERIOD_CLOSED")
    lines = {line["code"]: line for line in snapshot["lines"]}
    in_snapshot = minor(lines["2102"]["credit"]) if "2102" in lines else 0
    assert in_snapshot == landed
    body = expect(await api.get(f"/accounts/{account['id']}", headers=bank.h("viewer")), 200)
    assert minor(body["ledger_balance"]) == landed

"""Year close, and manual journals meeting closed periods (ledger.md "Fiscal periods").

Each test has a bank of its own. Money reaches last year honestly: manual journals
(POST /journals, approved and posted by another officer) dated in last year's open
periods — the journals API allows any date in an open period up to the business date.
"""

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa

from tests.integration.api.ledger_helpers import expect, minor, money
from tests.integration.api.private_tenant import PrivateTenant, make_tenant


async def _today(bank: PrivateTenant) -> date:
    body = expect(await bank.api.get("/tenant", headers=bank.h("viewer")), 200)
    return date.fromisoformat(body["business_date"])


async def _year(bank: PrivateTenant, year: int) -> dict[int, dict]:
    body = expect(await bank.api.post(f"/fiscal-periods/year/{year}", headers=bank.h("admin")), 201)
    return {p["period_number"]: p for p in body["fiscal_periods"]}


async def _gl(bank: PrivateTenant) -> dict[str, dict]:
    body = expect(await bank.api.get("/gl/accounts", headers=bank.h("viewer")), 200)
    found: dict[str, dict] = {}

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            found[node["code"]] = node
            walk(node["children"])

    walk(body["gl_accounts"])
    return found


def _entries(gl: dict[str, dict], debit: str, credit: str, amount: str) -> list[dict[str, Any]]:
    return [
        {
            "account_id": gl[debit]["id"],
            "amount": amount,
            "entry_type": "debit",
            "currency_code": "NGN",
        },
        {
            "account_id": gl[credit]["id"],
            "amount": amount,
            "entry_type": "credit",
            "currency_code": "NGN",
        },
    ]


async def _draft(bank: PrivateTenant, entries, on: date, **fields) -> Any:
    body = {
        "journal_type": "GENERAL",
        "description": f"test entry {uuid.uuid4().hex[:6]}",
        "transaction_date": on.isoformat(),
        "effective_date": on.isoformat(),
        "entries": entries,
        **fields,
    }
    return await bank.api.post("/journals", json=body, headers=bank.h("teller", key=True))


async def _act(bank: PrivateTenant, journal_id: str, action: str, who: str = "officer", **body):
    key = action == "reverse"
    return await bank.api.post(
        f"/journals/{journal_id}/{action}", json=body or None, headers=bank.h(who, key=key)
    )


async def _posted(bank: PrivateTenant, entries, on: date, **fields) -> dict:
    made = expect(await _draft(bank, entries, on, **fields), 201)
    expect(await _act(bank, made["id"], "approve"), 200)
    return expect(await _act(bank, made["id"], "post", "manager"), 200)


async def _report(bank: PrivateTenant, name: str, **params) -> dict:
    return expect(
        await bank.api.get(f"/reports/{name}", params=params, headers=bank.h("viewer")), 200
    )


def _lines(report: dict) -> dict[str, tuple[int, int]]:
    return {line["code"]: (minor(line["debit"]), minor(line["credit"])) for line in report["lines"]}


async def test_year_close_moves_income_to_retained_earnings_and_locks_the_year(
    api, tokens, core_app, ledger_checked
):
    bank = await make_tenant(core_app, api, tokens)
    today = await _today(bank)
    year = today.year - 1
    periods = await _year(bank, year)
    await _year(bank, today.year)
    gl = await _gl(bank)
    moves = [  # (date, debit, credit, amount) — what the test itself posts into last year
        (date(year, 3, 10), "1400", "4200", "1000.00"),
        (date(year, 6, 15), "5200", "2200", "300.00"),
        (date(year, 11, 20), "1400", "4100", "500.00"),
        (date(year, 11, 25), "4200", "1400", "20.00"),  # a fee refunded
    ]
    for on, debit, credit, amount in moves:
        await _posted(bank, _entries(gl, debit, credit, amount), on)
    adjustment = await _posted(
        bank,
        _entries(gl, "5100", "2200", "50.00"),
        date(year, 12, 31),
        fiscal_period_id=periods[13]["id"],
        journal_type="ADJUSTMENT",
    )
    assert adjustment["status"] == "POSTED"
    moves.append((date(year, 12, 31), "5100", "2200", "50.00"))

    # what the ledger must say, computed from the moves alone
    net: dict[str, int] = {}
    for _on, debit, credit, amount in moves:
        net[debit] = net.get(debit, 0) + minor(amount)
        net[credit] = net.get(credit, 0) - minor(amount)
    revenue = -sum(v for k, v in net.items() if k.startswith("4"))
    expenses = sum(v for k, v in net.items() if k.startswith("5"))
    assert (revenue, expenses) == (148000, 35000)

    before = _lines(await _report(bank, "trial-balance", as_of=f"{year}-12-31"))
    assert before == {k: (max(v, 0), max(-v, 0)) for k, v in net.items() if v}
    statement = await _report(
        bank, "income-statement", **{"from": f"{year}-01-01", "to": f"{year}-12-31"}
    )
    assert (minor(statement["total_revenue"]), minor(statement["total_expenses"])) == (
        revenue,
        expenses,
    )
    assert minor(statement["net_income"]) == revenue - expenses
    sheet = await _report(bank, "balance-sheet", as_of=f"{year}-12-31")
    assert minor(sheet["current_year_earnings"]) == revenue - expenses
    assert sheet["balanced"] is True

    # 1-12 still open: the year close lists each of them
    blocked = expect(
        await api.post(f"/fiscal-periods/year/{year}/close", headers=bank.h("admin")),
        422,
        "PERIOD_CLOSE_BLOCKED",
    )
    assert [d["entity_id"] for d in blocked["details"]] == [periods[n]["id"] for n in range(1, 13)]
    for number in range(1, 13):
        expect(
            await api.post(
                f"/fiscal-periods/{periods[number]['id']}/close", headers=bank.h("admin")
            ),
            200,
        )
    # a journal waiting in period 13 blocks the year close too
    waiting = expect(
        await _draft(
            bank,
            _entries(gl, "5200", "2200", "5.00"),
            date(year, 12, 31),
            fiscal_period_id=periods[13]["id"],
        ),
        201,
    )
    blocked = expect(
        await api.post(f"/fiscal-periods/year/{year}/close", headers=bank.h("admin")),
        422,
        "PERIOD_CLOSE_BLOCKED",
    )
    assert [(d["entity_type"], d["entity_id"]) for d in blocked["details"]] == [
        ("journal", waiting["id"])
    ]
    expect(await _act(bank, waiting["id"], "reject", reason="not needed"), 200)

    closed = expect(
        await api.post(f"/fiscal-periods/year/{year}/close", headers=bank.h("admin")), 200
    )
    assert closed["fiscal_year"] == year and closed["status"] == "locked"
    assert [p["status"] for p in closed["fiscal_periods"]] == ["locked"] * 13
    assert closed["net_income"] == [{"currency": "NGN", "amount": money(revenue - expenses)}]
    closing = expect(
        await api.get(f"/journals/{closed['closing_journal_id']}", headers=bank.h("viewer")), 200
    )
    assert (closing["journal_type"], closing["status"]) == ("CLOSING", "POSTED")
    assert closing["effective_date"] == f"{year}-12-31"
    assert closing["fiscal_period_id"] == periods[13]["id"]

    # every revenue and expense balance is now in 3200, and the trial balance balances
    after = await _report(bank, "trial-balance", as_of=f"{year}-12-31")
    assert after["balanced"] is True and after["total_debit"] == after["total_credit"]
    expected = {k: (max(v, 0), max(-v, 0)) for k, v in net.items() if v and k[0] in "123"}
    expected["3200"] = (0, revenue - expenses)
    assert _lines(after) == expected
    assert after["from_snapshot_of"] == periods[13]["id"]
    for code in ("4100", "4200", "5100", "5200"):
        node = (await _gl(bank))[code]
        assert node["balance"] == "0.00", node
    # the year's income statement still shows the year's income (the closing entry is not)
    statement_after = await _report(
        bank, "income-statement", **{"from": f"{year}-01-01", "to": f"{year}-12-31"}
    )
    assert statement_after["net_income"] == statement["net_income"]
    sheet = await _report(bank, "balance-sheet", as_of=f"{year}-12-31")
    assert (sheet["current_year_earnings"], sheet["balanced"]) == ("0.00", True)
    assert {line["code"]: line["balance"] for line in sheet["equity"]["lines"]} == {
        "3200": money(revenue - expenses)
    }
    # the snapshot of period 13 is the closing trial balance
    p13 = expect(
        await api.get(f"/fiscal-periods/{periods[13]['id']}", headers=bank.h("viewer")), 200
    )
    snapshot = {
        line["code"]: (minor(line["debit"]), minor(line["credit"]))
        for line in p13["trial_balance_snapshot"]["lines"]
    }
    assert snapshot == expected

    # locked: nothing more in that year, and no second close
    for fields in ({}, {"fiscal_period_id": periods[13]["id"]}):
        on = date(year, 12, 31) if fields else date(year, 5, 5)
        refused = await _draft(bank, _entries(gl, "5200", "2200", "1.00"), on, **fields)
        expect(refused, 422, "PERIOD_CLOSED")
    expect(
        await api.post(f"/fiscal-periods/year/{year}/close", headers=bank.h("admin")),
        409,
        "INVALID_STATE",
    )
    expect(
        await api.post(f"/fiscal-periods/{periods[5]['id']}/close", headers=bank.h("admin")),
        409,
        "INVALID_STATE",
    )
    # a wrong entry of the locked year is corrected today, in the open period
    first = (await _posted_list(bank))[0]
    reversal = expect(await _act(bank, first, "reverse", "manager", reason="wrong fee"), 200)
    assert reversal["status"] == "REVERSED"
    mirror = expect(
        await api.get(f"/journals/{reversal['reversal_journal_id']}", headers=bank.h("viewer")), 200
    )
    assert mirror["effective_date"] == today.isoformat()
    # today's trial balance starts from period 13's snapshot and adds what came after
    now = await _report(bank, "trial-balance")
    assert now["from_snapshot_of"] == periods[13]["id"] and now["balanced"] is True
    expected["1400"] = (expected["1400"][0] - 1000_00, 0)
    expected["4200"] = (1000_00, 0)  # the refund of last year's fee is this year's
    assert _lines(now) == expected


async def _posted_list(bank: PrivateTenant) -> list[str]:
    body = expect(
        await bank.api.get(
            "/journals", params={"status": "POSTED", "limit": 50}, headers=bank.h("viewer")
        ),
        200,
    )
    ordinary = [j for j in body["journals"] if j["journal_type"] == "GENERAL"]
    return [j["id"] for j in sorted(ordinary, key=lambda j: j["effective_date"])]


async def test_journals_cannot_post_or_reverse_into_a_closed_period(
    api, tokens, core_app, ledger_checked
):
    bank = await make_tenant(core_app, api, tokens)
    today = await _today(bank)
    periods = await _year(bank, today.year)
    gl = await _gl(bank)
    done = await _posted(bank, _entries(gl, "1400", "4200", "100.00"), today)
    for number in range(1, today.month + 1):
        expect(
            await api.post(
                f"/fiscal-periods/{periods[number]['id']}/close", headers=bank.h("admin")
            ),
            200,
        )
    expect(await _draft(bank, _entries(gl, "1400", "4200", "1.00"), today), 422, "PERIOD_CLOSED")
    # the mirror would be dated today, and no open period holds today (journals' wording)
    refused = expect(
        await _act(bank, done["id"], "reverse", "manager", reason="typo"), 422, "NO_OPEN_PERIOD"
    )
    assert refused["details"][0]["value"] == today.isoformat()
    still = expect(await api.get(f"/journals/{done['id']}", headers=bank.h("viewer")), 200)
    assert still["status"] == "POSTED" and still["reversal_journal_id"] is None
    tb = await _report(bank, "trial-balance")
    assert _lines(tb) == {"1400": (100_00, 0), "4200": (0, 100_00)}


async def test_an_approved_journal_cannot_post_once_its_period_closed(
    api, tokens, core_app, ledger_checked
):
    """Post re-checks the period. An APPROVED journal blocks its period's close, so only a
    close that won a race could get there; the test plays that race by closing the
    period in the database between approval and post."""
    from app.core.periods.models import FiscalPeriod

    bank = await make_tenant(core_app, api, tokens)
    today = await _today(bank)
    periods = await _year(bank, today.year)
    gl = await _gl(bank)
    made = expect(await _draft(bank, _entries(gl, "1400", "4200", "70.00"), today), 201)
    expect(await _act(bank, made["id"], "approve"), 200)
    db = core_app.state.services.db
    async with db.writer(), db.session() as session:
        await session.execute(
            sa.update(FiscalPeriod)
            .where(FiscalPeriod.id == uuid.UUID(periods[today.month]["id"]))  # type: ignore[arg-type]
            .values(status="closed")
        )
        await session.commit()
    expect(await _act(bank, made["id"], "post", "manager"), 422, "PERIOD_CLOSED")
    still = expect(await api.get(f"/journals/{made['id']}", headers=bank.h("viewer")), 200)
    assert still["status"] == "APPROVED"
    assert (await _report(bank, "trial-balance"))["lines"] == []

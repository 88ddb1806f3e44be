"""Reports: every figure checked against sums the test computes on its own.

A bank of the test's own takes a known set of moves today (cash at two branches' tills,
transfers, two manual journals, a USD deposit, one deposit left pending). The trial
balance is compared line by line with the GL entries API (each posting listed one by
one, summed here) and with the moves; the other reports with the moves.
"""

import uuid
from collections import defaultdict
from datetime import date, timedelta

from tests.integration.api.ledger_helpers import expect, minor, money
from tests.integration.api.private_tenant import PrivateTenant, make_tenant


async def _today(bank: PrivateTenant) -> date:
    body = expect(await bank.api.get("/tenant", headers=bank.h("viewer")), 200)
    return date.fromisoformat(body["business_date"])


async def _gl(bank: PrivateTenant) -> dict[str, dict]:
    body = expect(await bank.api.get("/gl/accounts", headers=bank.h("viewer")), 200)
    found: dict[str, dict] = {}

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            found[node["code"]] = node
            walk(node["children"])

    walk(body["gl_accounts"])
    return found


async def _report(bank: PrivateTenant, name: str, **params) -> dict:
    return expect(
        await bank.api.get(f"/reports/{name}", params=params, headers=bank.h("viewer")), 200
    )


async def _entries_net(bank: PrivateTenant, gl_id: str) -> dict[str, int]:
    """Σ debits − Σ credits per currency of one GL account, from its entries, page by page."""
    net: dict[str, int] = defaultdict(int)
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        body = expect(
            await bank.api.get(
                f"/gl/accounts/{gl_id}/entries", params=params, headers=bank.h("viewer")
            ),
            200,
        )
        for entry in body["entries"]:
            sign = 1 if entry["entry_type"] == "debit" else -1
            net[entry["currency"]] += sign * minor(entry["amount"])
        if not body["has_more"]:
            return dict(net)
        cursor = body["next_cursor"]


async def _cash(
    bank: PrivateTenant, kind: str, account: dict, amount: str, who: str, currency="NGN"
):
    path = "/deposits" if kind == "deposit" else "/withdrawals"
    return expect(
        await bank.api.post(
            path,
            json={"account_id": account["id"], "amount": amount, "currency": currency},
            headers=bank.h(who, key=True),
        ),
        201,
    )


async def _journal(bank: PrivateTenant, gl: dict, debit: str, credit: str, amount: str, on: date):
    entries = [
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
    made = expect(
        await bank.api.post(
            "/journals",
            json={
                "journal_type": "GENERAL",
                "description": "report test",
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


async def _books(core_app, api, tokens):
    """The bank and what the test did to it."""
    bank = await make_tenant(
        core_app,
        api,
        tokens,
        teller_approval_limit=5000_00,
        extra_staff=(("teller2", "teller", "002"),),
    )
    today = await _today(bank)
    expect(await api.post(f"/fiscal-periods/year/{today.year}", headers=bank.h("admin")), 201)
    a1, a2 = await bank.open_account(), await bank.open_account()
    b1 = await bank.open_account(branch="002")
    usd = await bank.open_account(product="DOM001", currency="USD")
    await _cash(bank, "deposit", a1, "1000.00", "teller")
    await _cash(bank, "deposit", a2, "500.00", "teller")
    await _cash(bank, "deposit", usd, "200.00", "teller", "USD")
    await _cash(bank, "withdrawal", a1, "150.00", "teller")
    await _cash(bank, "deposit", b1, "300.00", "teller2")
    await _cash(bank, "deposit", a1, "40.00", "teller2")  # a branch-001 account at 002's till
    await _cash(bank, "withdrawal", b1, "20.00", "teller2")
    waiting = await _cash(bank, "deposit", a2, "6000.00", "teller")
    assert waiting["status"] == "PENDING_APPROVAL"
    expect(
        await api.post(
            "/transfers/internal",
            json={
                "source_account_id": a1["id"],
                "destination_account_id": a2["id"],
                "amount": "100.00",
                "currency": "NGN",
                "narration": "x",
            },
            headers=bank.h("officer", key=True),
        ),
        201,
    )
    expect(
        await api.post(
            "/transfers/inter-branch",
            json={
                "source_account_id": a2["id"],
                "destination_account_id": b1["id"],
                "amount": "60.00",
                "currency": "NGN",
                "narration": "y",
            },
            headers=bank.h("manager", key=True),
        ),
        201,
    )
    gl = await _gl(bank)
    await _journal(bank, gl, "1400", "4200", "250.00", today)
    await _journal(bank, gl, "5200", "2200", "80.00", today)
    return bank, today, gl


async def test_reports_agree_with_the_entries_and_the_moves(api, tokens, core_app, ledger_checked):
    bank, today, gl = await _books(core_app, api, tokens)

    # trial balance: every leaf with a balance, equal to the sum of its listed entries
    tb = await _report(bank, "trial-balance")
    assert (tb["as_of"], tb["currency"], tb["branch_code"]) == (today.isoformat(), "NGN", None)
    independent = {}
    for code, node in gl.items():
        if node["is_header"]:
            continue
        net = (await _entries_net(bank, node["id"])).get("NGN", 0)
        if net:
            independent[code] = (max(net, 0), max(-net, 0))
    got = {line["code"]: (minor(line["debit"]), minor(line["credit"])) for line in tb["lines"]}
    assert got == independent
    assert tb["total_debit"] == tb["total_credit"] and tb["balanced"] is True
    assert minor(tb["total_debit"]) == sum(d for d, _c in independent.values())
    assert sorted(tb["currencies"]) == ["NGN", "USD"]
    # and with the moves themselves
    assert got["1101-001"] == (1000_00 + 500_00 - 150_00, 0)
    assert got["1101-002"] == (300_00 + 40_00 - 20_00, 0)
    assert got["2102"] == (0, 1000_00 + 500_00 - 150_00 + 300_00 + 40_00 - 20_00)
    assert got["1400"] == (250_00, 0) and got["4200"] == (0, 250_00)
    assert got["5200"] == (80_00, 0) and got["2200"] == (0, 80_00)
    assert got["1301-001"][0] - got["1301-001"][1] == -(got["1301-002"][0] - got["1301-002"][1])
    usd_tb = await _report(bank, "trial-balance", currency="usd")
    assert [(line["code"], line["debit"], line["credit"]) for line in usd_tb["lines"]] == [
        ("1101-001", "200.00", "0.00"),
        ("2104", "0.00", "200.00"),
    ]
    # one branch's books balance on their own
    branch = await _report(bank, "trial-balance", branch_code="002")
    lines = {line["code"]: line for line in branch["lines"]}
    assert branch["balanced"] is True and branch["branch_code"] == "002"
    assert lines["1101-002"]["debit"] == "320.00" and "1101-001" not in lines
    # as of yesterday there was nothing
    empty = await _report(bank, "trial-balance", as_of=(today - timedelta(days=1)).isoformat())
    assert (empty["lines"], empty["total_debit"]) == ([], "0.00")

    # balance sheet: assets = liabilities + equity + this year's earnings
    sheet = await _report(bank, "balance-sheet")
    assets = {line["code"]: minor(line["balance"]) for line in sheet["assets"]["lines"]}
    liabilities = {line["code"]: minor(line["balance"]) for line in sheet["liabilities"]["lines"]}
    assert assets["1101-001"] == 1350_00 and assets["1400"] == 250_00
    assert liabilities == {"2102": 1670_00, "2200": 80_00}
    assert sheet["equity"]["lines"] == []
    assert minor(sheet["current_year_earnings"]) == 250_00 - 80_00
    assert minor(sheet["total_assets"]) == sum(assets.values())
    assert minor(sheet["total_liabilities"]) == 1750_00
    assert sheet["total_assets"] == sheet["total_liabilities_and_equity"]
    assert sheet["balanced"] is True

    # income statement with its monthly trend
    statement = await _report(bank, "income-statement")
    assert statement["from"] == f"{today.year}-01-01" and statement["to"] == today.isoformat()
    assert [(x["code"], x["balance"]) for x in statement["revenue"]["lines"]] == [
        ("4200", "250.00")
    ]
    assert [(x["code"], x["balance"]) for x in statement["expenses"]["lines"]] == [
        ("5200", "80.00")
    ]
    assert (statement["total_revenue"], statement["total_expenses"], statement["net_income"]) == (
        "250.00",
        "80.00",
        "170.00",
    )
    months = statement["months"]
    assert [m["month"] for m in months] == [
        f"{today.year}-{n:02d}" for n in range(1, today.month + 1)
    ]
    assert months[-1] == {
        "month": f"{today.year}-{today.month:02d}",
        "label": months[-1]["label"],
        "revenue": "250.00",
        "expenses": "80.00",
        "net": "170.00",
    }
    assert all(m["net"] == "0.00" for m in months[:-1])
    before = await _report(
        bank,
        "income-statement",
        to=(today - timedelta(days=1)).isoformat(),
        **{"from": f"{today.year - 1}-12-01"},
    )
    assert before["net_income"] == "0.00" and len(before["months"]) >= 2

    # teller summary: completed cash only (the pending deposit is not cash yet)
    summary = await _report(bank, "teller-summary")
    rows = {(t["email"].split("@")[0], t["currency"]): t for t in summary["tellers"]}
    assert set(rows) == {("teller", "NGN"), ("teller", "USD"), ("teller2", "NGN")}
    teller = rows[("teller", "NGN")]
    assert teller["user_id"] == bank.users["teller"] and teller["branch_code"] == "001"
    assert teller["deposits"] == {"count": 2, "amount": "1500.00"}
    assert teller["withdrawals"] == {"count": 1, "amount": "150.00"}
    assert (teller["net_cash"], teller["transaction_count"]) == ("1350.00", 3)
    assert rows[("teller", "USD")]["net_cash"] == "200.00"
    other = rows[("teller2", "NGN")]
    assert (other["deposits"]["amount"], other["withdrawals"]["amount"], other["net_cash"]) == (
        "340.00",
        "20.00",
        "320.00",
    )
    ngn = next(t for t in summary["totals"] if t["currency"] == "NGN")
    assert (ngn["deposits"]["count"], ngn["net_cash"]) == (4, money(1350_00 + 320_00))
    # the tills' net cash is what the teller-cash GL accounts hold
    assert minor(teller["net_cash"]) == got["1101-001"][0]
    assert minor(other["net_cash"]) == got["1101-002"][0]
    only = await _report(bank, "teller-summary", branch_code="002")
    assert [t["email"].split("@")[0] for t in only["tellers"]] == ["teller2"]
    mine = await _report(bank, "teller-summary", user_id=bank.users["teller"])
    assert {t["currency"] for t in mine["tellers"]} == {"NGN", "USD"}
    yesterday = await _report(bank, "teller-summary", date=(today - timedelta(days=1)).isoformat())
    assert (yesterday["tellers"], yesterday["totals"]) == ([], [])


async def test_trial_balance_starts_from_a_closed_periods_snapshot(
    api, tokens, core_app, ledger_checked
):
    bank, today, _gl_accounts = await _books(core_app, api, tokens)
    plain = await _report(bank, "trial-balance")
    listed = expect(
        await api.get(
            "/fiscal-periods",
            params={"fiscal_year": str(today.year), "limit": 20},
            headers=bank.h("viewer"),
        ),
        200,
    )
    earlier = sorted(
        (p for p in listed["fiscal_periods"] if p["period_number"] < today.month),
        key=lambda p: p["period_number"],
    )
    for period in earlier:
        expect(
            await api.post(f"/fiscal-periods/{period['id']}/close", headers=bank.h("admin")), 200
        )
    again = await _report(bank, "trial-balance")
    assert again["from_snapshot_of"] == (earlier[-1]["id"] if earlier else None)
    assert {k: v for k, v in again.items() if k != "from_snapshot_of"} == {
        k: v for k, v in plain.items() if k != "from_snapshot_of"
    }


async def test_sandbox_trial_balance_balances_in_every_currency(api, tokens):
    from tests.integration.api.ledger_helpers import h

    viewer = await h(tokens, "viewer")
    tb = expect(await api.get("/reports/trial-balance", headers=viewer), 200)
    assert tb["currency"] == "NGN" and tb["lines"]
    for currency in tb["currencies"]:
        body = expect(
            await api.get("/reports/trial-balance", params={"currency": currency}, headers=viewer),
            200,
        )
        assert body["balanced"] is True and body["total_debit"] == body["total_credit"]
        assert all(
            line["code"] and (line["debit"] == "0.00") != (line["credit"] == "0.00")
            for line in body["lines"]
        )


async def test_bad_report_input_is_refused(api, tokens):
    from tests.integration.api.ledger_helpers import h

    viewer = await h(tokens, "viewer")
    cases = [
        ("trial-balance", {"as_of": "2026-13-01"}, 400, "as_of"),
        ("trial-balance", {"as_of": "yesterday"}, 400, "as_of"),
        ("trial-balance", {"branch_code": "999"}, 400, "branch_code"),
        ("trial-balance", {"currency": "XXX"}, 400, "currency"),
        ("balance-sheet", {"as_of": "2026/01/01"}, 400, "as_of"),
        ("balance-sheet", {"branch_code": "nope"}, 400, "branch_code"),
        ("income-statement", {"from": "2026-05-01", "to": "2026-04-30"}, 400, "from"),
        ("income-statement", {"from": "2001-01-01", "to": "2026-04-30"}, 400, "from"),
        ("income-statement", {"to": "soon"}, 400, "to"),
        ("income-statement", {"currency": "ABC"}, 400, "currency"),
        ("teller-summary", {"date": "2026-02-30"}, 400, "date"),
        ("teller-summary", {"branch_code": "404"}, 400, "branch_code"),
        ("teller-summary", {"user_id": "not-a-user"}, 404, None),
    ]
    for name, params, status, field in cases:
        response = await api.get(f"/reports/{name}", params=params, headers=viewer)
        assert response.status_code == status, (name, params, response.text)
        if field:
            assert response.json()["details"][0]["field"] == field, (name, params, response.text)
    unknown = await api.get(
        "/reports/teller-summary", params={"user_id": str(uuid.uuid4())}, headers=viewer
    )
    assert expect(unknown, 200)["tellers"] == []

"""Composite reads (``GET /views/...``, issue 11): each says what its parts say, in one call.

Every figure is checked against the resource endpoints it stands for: the account view
against ``GET /accounts/{id}`` and the whole statement, the approvals view against the
lists of pending items, the counts against the items. Bad input gets the contract's
errors; an API key reads nothing here that its scopes would not let it read elsewhere.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.core.views import accounts as account_views
from tests.integration.api.ledger_helpers import (
    deposit,
    expect,
    h,
    minor,
    open_account,
    statement,
    transfer,
    unique,
)
from tests.integration.api.private_tenant import make_tenant
from tests.support import headers


async def _busy_account(api: Any, tokens: Any, postings: int) -> tuple[dict[str, Any], str]:
    """An account with ``postings`` postings (a deposit, then transfers back and forth)."""
    mine = await open_account(api, tokens)
    other = await open_account(api, tokens)
    expect(await deposit(api, tokens, mine["id"], "900000.00"), 201)
    expect(await deposit(api, tokens, other["id"], "900000.00"), 201)
    for n in range(postings - 1):
        source, target = (mine, other) if n % 2 else (other, mine)
        expect(await transfer(api, tokens, source["id"], target["id"], f"{n + 1}.25"), 201)
    return mine, other["id"]


async def _view(api: Any, tokens: Any, account_id: str, **params: Any) -> Any:
    return expect(
        await api.get(
            f"/views/accounts/{account_id}", params=params, headers=await h(tokens, "viewer")
        ),
        200,
    )


def _totals(lines: list[dict[str, Any]]) -> dict[str, int]:
    credits = sum(minor(p["amount"]) for p in lines if p["entry_type"] == "credit")
    debits = sum(minor(p["amount"]) for p in lines if p["entry_type"] == "debit")
    oldest, newest = lines[-1], lines[0]
    return {
        "count": len(lines),
        "credits": credits,
        "debits": debits,
        "opening": minor(oldest["balance_after"]) - minor(oldest["signed_amount"]),
        "closing": minor(newest["balance_after"]),
    }


def _as_minor(totals: dict[str, Any]) -> dict[str, int]:
    return {
        "count": totals["count"],
        "credits": minor(totals["credits"]),
        "debits": minor(totals["debits"]),
        "opening": minor(totals["opening_balance"]),
        "closing": minor(totals["closing_balance"]),
    }


@pytest.mark.parametrize("chart_points", [2000, 3], ids=["all in the chart", "more than it"])
async def test_the_account_view_is_the_account_and_its_statement(
    api, tokens, monkeypatch, chart_points
):
    monkeypatch.setattr(account_views, "CHART_POINTS", chart_points)
    mine, _ = await _busy_account(api, tokens, 7)
    account_id = mine["id"]
    today = date.fromisoformat(
        expect(await api.get("/tenant", headers=await h(tokens, "viewer")), 200)["business_date"]
    )
    span = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    view = await _view(api, tokens, account_id, limit=4, **span)

    expected_account = expect(
        await api.get(f"/accounts/{account_id}", headers=await h(tokens, "viewer")), 200
    )
    assert view["account"] == expected_account
    assert view["account"]["customer_name"]

    every = await statement(api, tokens, account_id, **span)
    assert len(every) == 7
    first_page = expect(
        await api.get(
            f"/accounts/{account_id}/transactions",
            params={**span, "limit": 4},
            headers=await h(tokens, "viewer"),
        ),
        200,
    )
    assert view["transactions"] == first_page["transactions"] == every[:4]
    assert view["has_more"] is True
    # The view's cursor continues the statement where its page ended.
    rest = expect(
        await api.get(
            f"/accounts/{account_id}/transactions",
            params={**span, "limit": 50, "cursor": view["next_cursor"]},
            headers=await h(tokens, "viewer"),
        ),
        200,
    )
    assert rest["transactions"] == every[4:]

    assert _as_minor(view["totals"]) == _totals(every)
    assert view["balance_points_complete"] is (7 <= chart_points)
    assert len(view["balance_points"]) == min(7, chart_points)
    assert view["balance_points"] == [
        {k: p[k] for k in ("posted_at", "balance_after", "signed_amount")}
        for p in every[:chart_points]
    ]


async def test_an_empty_range_and_a_whole_page(api, tokens):
    mine, _ = await _busy_account(api, tokens, 3)
    empty = await _view(api, tokens, mine["id"], **{"from": "1999-01-01", "to": "1999-01-31"})
    assert empty["transactions"] == [] and empty["balance_points"] == []
    assert empty["has_more"] is False and empty["next_cursor"] is None
    assert _as_minor(empty["totals"]) == dict.fromkeys(
        ("count", "credits", "debits", "opening", "closing"), 0
    )
    whole = await _view(api, tokens, mine["id"])
    assert len(whole["transactions"]) == 3 and whole["has_more"] is False
    assert whole["next_cursor"] is None
    assert Decimal(whole["totals"]["closing_balance"]) == Decimal(
        whole["account"]["ledger_balance"]
    )


async def test_the_account_view_refuses_bad_input(api, tokens):
    mine = await open_account(api, tokens)
    viewer = await h(tokens, "viewer")
    for params, field in (
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
    ):
        body = expect(
            await api.get(f"/views/accounts/{mine['id']}", params=params, headers=viewer),
            400,
            "VALIDATION_ERROR",
        )
        assert body["details"][0]["field"] == field
    for missing in ("not-an-id", "7f3c8a56-0000-4000-8000-000000000000"):
        expect(
            await api.get(f"/views/accounts/{missing}", headers=viewer), 404, "ACCOUNT_NOT_FOUND"
        )


async def test_another_banks_account_is_not_found(api, tokens):
    mine = await open_account(api, tokens)
    other_bank = await h(tokens, "other_tenant")
    expect(
        await api.get(f"/views/accounts/{mine['id']}", headers=other_bank),
        404,
        "ACCOUNT_NOT_FOUND",
    )


async def _key_token(api: Any, tokens: Any, scopes: list[str]) -> str:
    created = expect(
        await api.post(
            "/api-keys",
            json={"name": unique("views-"), "role": "viewer", "scopes": scopes},
            headers=await h(tokens, "admin"),
        ),
        201,
    )
    issued = expect(
        await api.post("/auth/token", json={"api_key": created["api_key"]}, headers=headers(None)),
        200,
    )
    token: str = issued["access_token"]
    return token


@pytest.mark.parametrize(
    ("path", "scopes", "missing"),
    [
        ("/views/accounts/{id}", ["transactions:read"], "accounts:read"),
        ("/views/accounts/{id}", ["accounts:read"], "transactions:read"),
        ("/views/approvals", ["transactions:read"], "gl:read"),
        ("/views/approvals/waiting", ["gl:read"], "transactions:read"),
        ("/views/transactions/{id}", ["transactions:read"], "accounts:read"),
    ],
)
async def test_a_view_needs_every_scope_of_its_parts(api, tokens, path, scopes, missing):
    mine = await open_account(api, tokens)
    token = await _key_token(api, tokens, scopes)
    made = expect(await deposit(api, tokens, mine["id"], "10.00"), 201)
    target = made["id"] if path.startswith("/views/transactions") else mine["id"]
    body = expect(
        await api.get(path.format(id=target), headers=headers(token)),
        403,
        "INSUFFICIENT_SCOPE",
    )
    assert missing in body["message"]
    both = await _key_token(api, tokens, ["accounts:read", "transactions:read", "gl:read"])
    expect(await api.get(path.format(id=target), headers=headers(both)), 200)


async def test_the_approvals_view_lists_what_waits_with_its_accounts(core_app, api, tokens):
    # A bank of its own: the shared sandbox's queue holds whatever other tests left.
    bank = await make_tenant(core_app, api, tokens, teller_approval_limit=100_00)
    today = date.fromisoformat(
        expect(await api.get("/tenant", headers=bank.h("viewer")), 200)["business_date"]
    )
    expect(await api.post(f"/fiscal-periods/year/{today.year}", headers=bank.h("admin")), 201)
    one, two = await bank.open_account(), await bank.open_account()
    expect(await bank.deposit(one["id"], "50.00"), 201)  # under the limit: completed
    pending = expect(await bank.deposit(one["id"], "150.00"), 201)
    assert pending["status"] == "PENDING_APPROVAL"
    gl = expect(await api.get("/gl/accounts", headers=bank.h("viewer")), 200)["gl_accounts"]
    journal_body = {
        "journal_type": "GENERAL",
        "description": "views: pending",
        "transaction_date": today.isoformat(),
        "effective_date": today.isoformat(),
        "entries": [
            {"account_id": one["id"], "amount": "10.00", "entry_type": "debit",
             "currency_code": "NGN"},
            {"account_id": two["id"], "amount": "10.00", "entry_type": "credit",
             "currency_code": "NGN"},
        ],
    }  # fmt: skip
    assert gl
    made = [
        expect(
            await api.post(
                "/journals",
                json={**journal_body, "description": f"views {n}"},
                headers=bank.h(who, key=True),
            ),
            201,
        )
        for n, who in enumerate(("teller", "teller", "officer"))
    ]
    expect(await api.post(f"/journals/{made[2]['id']}/approve", headers=bank.h("manager")), 200)
    instruction = expect(
        await api.post(
            "/standing-instructions",
            json={
                "source_account_id": one["id"],
                "destination_account_id": two["id"],
                "amount": "5.00",
                "currency": "NGN",
                "frequency": "MONTHLY",
                "start_date": (today + timedelta(days=3)).isoformat(),
                "narration": "views: rent",
            },
            headers=bank.h("officer"),
        ),
        201,
    )

    view = expect(await api.get("/views/approvals", headers=bank.h("viewer")), 200)

    # Journals as the list shows them without lines: the list's own bodies minus entries.
    listed = expect(
        await api.get("/journals", params={"status": "PENDING"}, headers=bank.h("viewer")),
        200,
    )["journals"]
    assert [j["id"] for j in view["journals_pending"]["items"]] == [made[1]["id"], made[0]["id"]]
    for summary, full in zip(view["journals_pending"]["items"], listed, strict=True):
        assert "entries" not in summary
        assert (
            summary["totals"]
            == full["totals"]
            == [{"currency_code": "NGN", "debit": "10.00", "credit": "10.00"}]
        )
        assert {k: v for k, v in full.items() if k not in {"entries", "fiscal_period"}} == summary
    (approved,) = view["journals_approved"]["items"]
    assert approved["id"] == made[2]["id"]
    assert approved["approved_by"] == bank.users["manager"]
    assert approved["approved_by_email"] == f"manager@{bank.code}.test"

    (waiting,) = view["transactions_pending"]["items"]
    assert waiting["id"] == pending["id"] and waiting["amount"] == "150.00"
    assert waiting["account_number"] == one["account_number"]
    assert waiting["customer_name"] and waiting["counterparty_account_number"] is None
    expected = expect(
        await api.get(f"/transactions/{pending['id']}", headers=bank.h("viewer")), 200
    )
    assert {k: waiting[k] for k in expected} == expected

    (si,) = view["standing_instructions_pending"]["items"]
    assert si["id"] == instruction["id"]
    assert si["source_account_number"] == one["account_number"]
    assert si["destination_account_number"] == two["account_number"]
    assert si["next_execution_date"] == instruction["next_execution_date"]
    assert all(not view[k]["has_more"] for k in view if k != "waiting")

    counts = {
        "journals": {bank.users["teller"]: 2},
        "transactions": {bank.users["teller"]: 1},
        "standing_instructions": {bank.users["officer"]: 1},
    }
    assert view["waiting"] == counts
    assert expect(await api.get("/views/approvals/waiting", headers=bank.h("viewer")), 200) == (
        counts
    )
    # A decision changes the count at once.
    expect(await api.post(f"/transactions/{pending['id']}/approve", headers=bank.h("officer")), 200)
    after = expect(await api.get("/views/approvals/waiting", headers=bank.h("viewer")), 200)
    assert after["transactions"] == {}

    small = expect(await api.get("/views/approvals?limit=1", headers=bank.h("viewer")), 200)
    assert len(small["journals_pending"]["items"]) == 1
    assert small["journals_pending"]["has_more"] is True
    expect(
        await api.get("/views/approvals?limit=500", headers=bank.h("viewer")),
        400,
        "VALIDATION_ERROR",
    )


async def test_journals_without_entries_are_the_list_without_lines(api, tokens):
    viewer = await h(tokens, "viewer")
    full = expect(await api.get("/journals", params={"limit": 30}, headers=viewer), 200)
    slim = expect(
        await api.get("/journals", params={"limit": 30, "entries": "false"}, headers=viewer),
        200,
    )
    assert slim["next_cursor"] == full["next_cursor"] and slim["has_more"] == full["has_more"]
    assert len(slim["journals"]) == len(full["journals"]) > 0
    for summary, journal in zip(slim["journals"], full["journals"], strict=True):
        assert summary == {
            k: v for k, v in journal.items() if k not in {"entries", "fiscal_period"}
        }
        assert summary["totals"] == journal["totals"]
    expect(
        await api.get("/journals", params={"entries": "perhaps"}, headers=viewer),
        400,
        "VALIDATION_ERROR",
    )


async def test_the_transaction_view_is_the_transaction_with_its_accounts(api, tokens):
    one, two = await open_account(api, tokens), await open_account(api, tokens)
    expect(await deposit(api, tokens, one["id"], "500.00"), 201)
    moved = expect(await transfer(api, tokens, one["id"], two["id"], "120.00"), 201)
    viewer = await h(tokens, "viewer")
    expected = expect(await api.get(f"/transactions/{moved['id']}", headers=viewer), 200)
    holders = {}
    for account in (one, two):
        customer = expect(
            await api.get(f"/customers/{account['customer_id']}", headers=viewer), 200
        )
        holders[account["id"]] = customer["display_name"]
    for key in (moved["id"], moved["transaction_ref"], moved["transaction_ref"].lower()):
        view = expect(await api.get(f"/views/transactions/{key}", headers=viewer), 200)
        assert {k: view[k] for k in expected} == expected
        assert view["account_number"] == one["account_number"]
        assert view["customer_name"] == holders[one["id"]]
        assert view["counterparty_account_number"] == two["account_number"]
        assert view["counterparty_customer_name"] == holders[two["id"]]
    cash = expect(await deposit(api, tokens, two["id"], "7.00"), 201)
    view = expect(await api.get(f"/views/transactions/{cash['id']}", headers=viewer), 200)
    assert view["counterparty_account_id"] is None
    assert view["counterparty_account_number"] is None
    for missing in ("TXN-NOPE", "7f3c8a56-0000-4000-8000-000000000000"):
        expect(
            await api.get(f"/views/transactions/{missing}", headers=viewer),
            404,
            "RESOURCE_NOT_FOUND",
        )
    expect(
        await api.get(
            f"/views/transactions/{moved['id']}", headers=await h(tokens, "other_tenant")
        ),
        404,
        "RESOURCE_NOT_FOUND",
    )

"""Reads: transaction lists and lookups, statements and GL entries with running balances."""

import base64
import json
import uuid
from datetime import date, timedelta

import pytest

from tests.integration.api.ledger_helpers import (
    assert_running_balances,
    deposit,
    expect,
    gl_nodes,
    h,
    minor,
    open_account,
    statement,
    transfer,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def business_day(api, tokens) -> date:
    tenant = expect(await api.get("/tenant", headers=await h(tokens, "viewer")), 200)
    return date.fromisoformat(tenant["business_date"])


async def test_transaction_list_filters_and_lookups(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="100.00")
    other = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "20.00"), 201)
    taken = expect(await withdraw(api, tokens, acct["id"], "5.00"), 201)
    moved = expect(await transfer(api, tokens, acct["id"], other["id"], "15.00"), 201)
    expect(await withdraw(api, tokens, acct["id"], "1000.00"), 422)  # refused: not listed
    viewer = await h(tokens, "viewer")
    today = await business_day(api, tokens)

    async def refs(**params):
        page = expect(await api.get("/transactions", params=params, headers=viewer), 200)
        return [t["id"] for t in page["transactions"]]

    everything = await refs(account_id=acct["id"])
    assert everything[:3] == [moved["id"], taken["id"], made["id"]]  # newest first
    assert len(everything) == 4  # and the opening deposit
    assert await refs(account_id=other["id"]) == [moved["id"]]  # as counterparty
    assert await refs(account_id=acct["id"], type="withdrawal") == [taken["id"]]
    assert await refs(account_id=acct["id"], type="TRANSFER") == [moved["id"]]
    assert await refs(account_id=acct["id"], status="REJECTED") == []
    assert len(await refs(account_id=acct["id"], status="COMPLETED")) == 4
    assert len(await refs(account_id=acct["id"], **{"from": today.isoformat()})) == 4
    assert len(await refs(account_id=acct["id"], to=today.isoformat())) == 4
    tomorrow = (today + timedelta(days=1)).isoformat()
    yesterday = (today - timedelta(days=1)).isoformat()
    assert await refs(account_id=acct["id"], **{"from": tomorrow}) == []
    assert await refs(account_id=acct["id"], to=yesterday) == []
    # Paging with limit=1 walks the same list.
    walked, cursor = [], None
    while True:
        params = {"account_id": acct["id"], "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = expect(await api.get("/transactions", params=params, headers=viewer), 200)
        walked += [t["id"] for t in page["transactions"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert walked == everything
    bad_date = await api.get("/transactions", params={"from": "23/11/2026"}, headers=viewer)
    assert expect(bad_date, 400, "VALIDATION_ERROR")["details"][0]["field"] == "from"
    bad_cursor = await api.get("/transactions", params={"cursor": "nope"}, headers=viewer)
    expect(bad_cursor, 400, "INVALID_FORMAT")
    by_id = expect(await api.get(f"/transactions/{taken['id']}", headers=viewer), 200)
    assert by_id == taken
    by_ref = await api.get(f"/transactions/{taken['transaction_ref']}", headers=viewer)
    assert expect(by_ref, 200)["id"] == taken["id"]
    lower = await api.get(f"/transactions/{taken['transaction_ref'].lower()}", headers=viewer)
    assert expect(lower, 200)["id"] == taken["id"]
    expect(await api.get(f"/transactions/{uuid.uuid4()}", headers=viewer), 404)
    expect(await api.get("/transactions/TXN-NOPE", headers=viewer), 404)
    other_tenant = await h(tokens, "other_tenant")
    expect(await api.get(f"/transactions/{taken['id']}", headers=other_tenant), 404)
    leaked = expect(
        await api.get("/transactions", params={"account_id": acct["id"]}, headers=other_tenant),
        200,
    )
    assert leaked["transactions"] == []


async def test_statement_running_balances_newest_first(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="500.00")
    other = await open_account(api, tokens, initial_deposit="50.00")
    expect(await withdraw(api, tokens, acct["id"], "120.25"), 201)
    expect(await deposit(api, tokens, acct["id"], "0.75", who="teller2"), 201)
    expect(await transfer(api, tokens, acct["id"], other["id"], "80.00"), 201)
    expect(await transfer(api, tokens, other["id"], acct["id"], "30.00"), 201)
    entries = await statement(api, tokens, acct["id"])
    assert [(e["entry_type"], e["amount"]) for e in entries] == [
        ("credit", "30.00"),
        ("debit", "80.00"),
        ("credit", "0.75"),
        ("debit", "120.25"),
        ("credit", "500.00"),
    ]
    assert [e["balance_after"] for e in entries] == [
        "330.50",
        "300.50",
        "380.50",
        "379.75",
        "500.00",
    ]
    assert_running_balances(entries)
    assert entries[1]["signed_amount"] == "-80.00"
    page = expect(
        await api.get(
            f"/accounts/{acct['id']}/transactions",
            params={"limit": 2},
            headers=await h(tokens, "viewer"),
        ),
        200,
    )
    assert page["has_more"] and page["account"]["ledger_balance"] == "330.50"
    assert [e["id"] for e in page["transactions"]] == [e["id"] for e in entries[:2]]
    assert await statement(api, tokens, acct["id"], limit=1) == entries
    today = await business_day(api, tokens)
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert await statement(api, tokens, acct["id"], **{"from": tomorrow}) == []
    assert await statement(api, tokens, acct["id"], to=today.isoformat()) == entries


async def test_gl_tree_and_entries(api, tokens):
    nodes = await gl_nodes(api, tokens)
    for code in ("1000", "1100", "1101-001", "1101-002", "1301-001", "2101", "2105", "5300"):
        assert code in nodes, code
    assert nodes["1000"]["is_header"] and nodes["1000"]["parent_id"] is None
    assert nodes["1101-001"]["parent_id"] == nodes["1100"]["id"]
    assert not nodes["1101-001"]["allow_manual_entries"]
    assert nodes["1400"]["allow_manual_entries"]
    # Assets = liabilities + equity + (revenue − expenses): the sheet balances.
    total = {
        code: minor(nodes[code]["balance"]) for code in ("1000", "2000", "3000", "4000", "5000")
    }
    assert total["1000"] == total["2000"] + total["3000"] + total["4000"] - total["5000"]
    acct = await open_account(api, tokens, initial_deposit="10.00")
    expect(await withdraw(api, tokens, acct["id"], "3.00"), 201)
    viewer = await h(tokens, "viewer")
    cash = nodes["1101-001"]
    one = expect(await api.get(f"/gl/accounts/{cash['id']}", headers=viewer), 200)
    assert "children" not in one and one["code"] == "1101-001"
    page = expect(
        await api.get(f"/gl/accounts/{cash['id']}/entries", params={"limit": 50}, headers=viewer),
        200,
    )
    entries = page["entries"]
    assert entries[0]["entry_type"] == "credit" and entries[0]["amount"] == "3.00"
    assert entries[0]["balance_after"] == one["balance"]
    assert_running_balances(entries, credit_normal=False)
    control = nodes["2102"]
    control_entries = expect(
        await api.get(f"/gl/accounts/{control['id']}/entries", params={"limit": 5}, headers=viewer),
        200,
    )["entries"]
    assert_running_balances(control_entries, credit_normal=True)
    expect(
        await api.get(f"/gl/accounts/{uuid.uuid4()}", headers=viewer), 404, "GL_ACCOUNT_NOT_FOUND"
    )
    expect(
        await api.get(f"/gl/accounts/{cash['id']}", headers=await h(tokens, "other_tenant")),
        404,
        "GL_ACCOUNT_NOT_FOUND",
    )


async def test_out_of_range_statement_cursor_is_invalid_format(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="1.00")
    cursor = base64.urlsafe_b64encode(json.dumps(["9" * 23]).encode()).decode().rstrip("=")
    response = await api.get(
        f"/accounts/{acct['id']}/transactions",
        params={"cursor": cursor},
        headers=await h(tokens, "viewer"),
    )
    expect(response, 400, "INVALID_FORMAT")

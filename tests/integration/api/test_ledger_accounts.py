"""Accounts: opening, lookups, filters, freeze/unfreeze/close, holds and branch scope."""

import uuid

import pytest

from tests.integration.api.ledger_helpers import (
    account,
    balances,
    deposit,
    expect,
    h,
    luhn_valid,
    make_customer,
    minor,
    open_account,
    statement,
    transfer,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def test_open_with_initial_deposit(api, tokens):
    opened = await open_account(api, tokens, product="SAV001", initial_deposit="2500.50")
    number = opened["account_number"]
    assert len(number) == 10 and number.isdigit() and luhn_valid(number)
    assert opened["status"] == "ACTIVE"
    assert (opened["ledger_balance"], opened["available_balance"]) == ("2500.50", "2500.50")
    assert opened["daily_withdrawal_limit"] == "2000000.00"
    receipt = opened["initial_deposit_transaction"]
    assert (receipt["type"], receipt["status"], receipt["amount"]) == (
        "DEPOSIT",
        "COMPLETED",
        "2500.50",
    )
    assert receipt["balance_after"] == "2500.50"
    fetched = await account(api, tokens, opened["id"])
    assert fetched["ledger_balance"] == "2500.50"
    entries = await statement(api, tokens, opened["id"])
    assert [(e["entry_type"], e["amount"], e["balance_after"]) for e in entries] == [
        ("credit", "2500.50", "2500.50")
    ]


async def test_account_numbers_are_unique_and_check_digited(api, tokens):
    customer = await make_customer(api, tokens)
    numbers = [
        (await open_account(api, tokens, customer_id=customer["id"]))["account_number"]
        for _ in range(3)
    ]
    assert len(set(numbers)) == 3
    assert all(luhn_valid(n) for n in numbers)
    # One digit wrong is caught by the check digit.
    wrong = numbers[0][:-1] + str((int(numbers[0][-1]) + 1) % 10)
    assert not luhn_valid(wrong)


async def test_open_validation_lists_every_bad_field(api, tokens):
    customer = await make_customer(api, tokens)
    body = {
        "customer_id": customer["id"],
        "account_type": "SAVINGS",
        "currency": "USD",
        "product_code": "SAV001",
        "branch_code": "999",
    }
    response = await api.post("/accounts", json=body, headers=await h(tokens, "manager"))
    details = expect(response, 400, "VALIDATION_ERROR")["details"]
    assert {d["field"] for d in details} == {"currency", "branch_code"}
    unknown = await api.post(
        "/accounts",
        json={**body, "product_code": "NOPE01", "currency": "NGN", "branch_code": "001"},
        headers=await h(tokens, "officer"),
    )
    assert [d["field"] for d in expect(unknown, 400, "VALIDATION_ERROR")["details"]] == [
        "product_code"
    ]
    mismatch = await api.post(
        "/accounts",
        json={**body, "account_type": "CURRENT", "currency": "NGN", "branch_code": "001"},
        headers=await h(tokens, "officer"),
    )
    assert [d["field"] for d in expect(mismatch, 400, "VALIDATION_ERROR")["details"]] == [
        "account_type"
    ]
    for bad in ("-5", "1.234", "abc"):
        response = await api.post(
            "/accounts",
            json={**body, "currency": "NGN", "branch_code": "001", "initial_deposit": bad},
            headers=await h(tokens, "officer"),
        )
        details = expect(response, 400, "VALIDATION_ERROR")["details"]
        assert details[0]["field"] == "initial_deposit", bad
    ghost = await api.post(
        "/accounts",
        json={**body, "customer_id": str(uuid.uuid4()), "currency": "NGN", "branch_code": "001"},
        headers=await h(tokens, "officer"),
    )
    expect(ghost, 404, "CUSTOMER_NOT_FOUND")


async def test_officer_opens_only_in_own_branch(api, tokens):
    customer = await make_customer(api, tokens)
    body = {
        "customer_id": customer["id"],
        "account_type": "CURRENT",
        "currency": "NGN",
        "product_code": "CUR001",
        "branch_code": "002",
    }
    response = await api.post("/accounts", json=body, headers=await h(tokens, "officer"))
    expect(response, 403, "BRANCH_SCOPE")
    by_manager = await api.post("/accounts", json=body, headers=await h(tokens, "manager"))
    assert expect(by_manager, 201)["branch_code"] == "002"


async def test_lookup_by_number_and_filters(api, tokens):
    customer = await make_customer(api, tokens)
    ngn = await open_account(api, tokens, customer_id=customer["id"], initial_deposit="10.00")
    usd = await open_account(
        api, tokens, branch="002", product="DOM001", currency="USD", customer_id=customer["id"]
    )
    viewer = await h(tokens, "viewer")
    by_number = expect(
        await api.get(f"/accounts/by-number/{ngn['account_number']}", headers=viewer), 200
    )
    assert by_number["id"] == ngn["id"]
    assert by_number["customer_name"] == customer["display_name"]
    assert by_number["holds"] == []
    missing = await api.get("/accounts/by-number/0000000000", headers=viewer)
    expect(missing, 404, "ACCOUNT_NOT_FOUND")

    async def ids(**params):
        page = expect(
            await api.get(
                "/accounts", params={"customer_id": customer["id"], **params}, headers=viewer
            ),
            200,
        )
        return [a["id"] for a in page["accounts"]]

    assert await ids() == [usd["id"], ngn["id"]]  # newest first
    assert await ids(currency="usd") == [usd["id"]]
    assert await ids(branch_code="001") == [ngn["id"]]
    assert await ids(status="ACTIVE") == [usd["id"], ngn["id"]]
    assert await ids(status="FROZEN") == []
    assert await ids(q=ngn["account_number"]) == [ngn["id"]]
    assert await ids(q=customer["last_name"].lower()) == [usd["id"], ngn["id"]]
    assert await ids(limit=1) == [usd["id"]]
    other = await api.get(f"/accounts/{ngn['id']}", headers=await h(tokens, "other_tenant"))
    expect(other, 404, "ACCOUNT_NOT_FOUND")
    by_number_other = await api.get(
        f"/accounts/by-number/{ngn['account_number']}", headers=await h(tokens, "other_tenant")
    )
    expect(by_number_other, 404, "ACCOUNT_NOT_FOUND")
    bad_cursor = await api.get("/accounts", params={"cursor": "%%%"}, headers=viewer)
    expect(bad_cursor, 400, "INVALID_FORMAT")


async def test_freeze_blocks_debits_not_credits(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="1000.00")
    other = await open_account(api, tokens, initial_deposit="50.00")
    officer = await h(tokens, "officer")
    frozen = await api.post(
        f"/accounts/{acct['id']}/freeze", json={"reason": "court order"}, headers=officer
    )
    body = expect(frozen, 200)
    assert (body["status"], body["status_reason"]) == ("FROZEN", "court order")
    expect(await withdraw(api, tokens, acct["id"], "10.00"), 422, "ACCOUNT_FROZEN")
    expect(await transfer(api, tokens, acct["id"], other["id"], "10.00"), 422, "ACCOUNT_FROZEN")
    assert expect(await deposit(api, tokens, acct["id"], "5.00"), 201)["balance_after"] == "1005.00"
    expect(await transfer(api, tokens, other["id"], acct["id"], "5.00"), 201)
    again = await api.post(f"/accounts/{acct['id']}/freeze", json={"reason": "x"}, headers=officer)
    expect(again, 409, "INVALID_STATE")
    no_reason = await api.post(f"/accounts/{acct['id']}/unfreeze", json={}, headers=officer)
    assert expect(no_reason, 400, "MISSING_FIELD")["details"][0]["field"] == "reason"
    thawed = await api.post(
        f"/accounts/{acct['id']}/unfreeze", json={"reason": "order lifted"}, headers=officer
    )
    assert expect(thawed, 200)["status"] == "ACTIVE"
    assert (
        expect(await withdraw(api, tokens, acct["id"], "10.00"), 201)["balance_after"] == "1000.00"
    )
    expect(
        await api.post(f"/accounts/{acct['id']}/unfreeze", json={"reason": "x"}, headers=officer),
        409,
        "INVALID_STATE",
    )


async def test_close_needs_zero_balance_and_then_refuses_credits(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="75.25")
    officer = await h(tokens, "officer")
    refused = await api.post(
        f"/accounts/{acct['id']}/close", json={"reason": "customer left"}, headers=officer
    )
    expect(refused, 409, "INVALID_STATE")
    expect(await withdraw(api, tokens, acct["id"], "75.25"), 201)
    hold = await api.post(
        f"/accounts/{acct['id']}/holds", json={"amount": "1.00", "reason": "lien"}, headers=officer
    )
    hold_id = expect(hold, 201)["id"]
    held = await api.post(
        f"/accounts/{acct['id']}/close", json={"reason": "customer left"}, headers=officer
    )
    expect(held, 409, "INVALID_STATE")  # a hold blocks closing too
    expect(await api.delete(f"/accounts/{acct['id']}/holds/{hold_id}", headers=officer), 200)
    closed = await api.post(
        f"/accounts/{acct['id']}/close", json={"reason": "customer left"}, headers=officer
    )
    body = expect(closed, 200)
    assert body["status"] == "CLOSED" and body["closed_at"]
    expect(await deposit(api, tokens, acct["id"], "1.00"), 422, "ACCOUNT_NOT_ACTIVE")
    expect(await withdraw(api, tokens, acct["id"], "1.00"), 422, "ACCOUNT_NOT_ACTIVE")
    other = await open_account(api, tokens, initial_deposit="5.00")
    expect(await transfer(api, tokens, other["id"], acct["id"], "1.00"), 422, "ACCOUNT_NOT_ACTIVE")
    for action in ("freeze", "unfreeze", "close"):
        response = await api.post(
            f"/accounts/{acct['id']}/{action}", json={"reason": "x"}, headers=officer
        )
        expect(response, 409, "INVALID_STATE")
    no_hold = await api.post(
        f"/accounts/{acct['id']}/holds", json={"amount": "1.00", "reason": "x"}, headers=officer
    )
    expect(no_hold, 422, "ACCOUNT_NOT_ACTIVE")


async def test_holds_reduce_available_and_release_restores(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="1000.00")
    officer = await h(tokens, "officer")
    placed = await api.post(
        f"/accounts/{acct['id']}/holds",
        json={"amount": "300.00", "reason": "cheque clearing"},
        headers=officer,
    )
    hold = expect(placed, 201)
    assert (hold["amount"], hold["status"]) == ("300.00", "ACTIVE")
    assert await balances(api, tokens, acct["id"]) == {
        "ledger": 1000_00,
        "available": 700_00,
        "hold": 300_00,
    }
    detail = await account(api, tokens, acct["id"])
    assert [x["id"] for x in detail["holds"]] == [hold["id"]]
    expect(await withdraw(api, tokens, acct["id"], "700.01"), 422, "INSUFFICIENT_FUNDS")
    expect(await withdraw(api, tokens, acct["id"], "100.00"), 201)
    released = await api.delete(f"/accounts/{acct['id']}/holds/{hold['id']}", headers=officer)
    assert expect(released, 200)["status"] == "RELEASED"
    assert await balances(api, tokens, acct["id"]) == {
        "ledger": 900_00,
        "available": 900_00,
        "hold": 0,
    }
    twice = await api.delete(f"/accounts/{acct['id']}/holds/{hold['id']}", headers=officer)
    expect(twice, 409, "INVALID_STATE")
    ghost = await api.delete(f"/accounts/{acct['id']}/holds/{uuid.uuid4()}", headers=officer)
    expect(ghost, 404)


async def test_a_hold_larger_than_available_blocks_every_withdrawal(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="200.00")
    officer = await h(tokens, "officer")
    expect(
        await api.post(
            f"/accounts/{acct['id']}/holds",
            json={"amount": "250.00", "reason": "garnishee"},
            headers=officer,
        ),
        201,
    )
    assert await balances(api, tokens, acct["id"]) == {
        "ledger": 200_00,
        "available": -50_00,
        "hold": 250_00,
    }
    body = expect(await withdraw(api, tokens, acct["id"], "0.01"), 422, "INSUFFICIENT_FUNDS")
    assert body["details"][0]["field"] == "amount"
    assert minor((await account(api, tokens, acct["id"]))["ledger_balance"]) == 200_00


async def test_hold_validation(api, tokens):
    acct = await open_account(api, tokens)
    officer = await h(tokens, "officer")
    for body, field in (
        ({"amount": "0", "reason": "x"}, "amount"),
        ({"amount": "1.001", "reason": "x"}, "amount"),
        ({"amount": "1.00", "reason": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ):
        response = await api.post(f"/accounts/{acct['id']}/holds", json=body, headers=officer)
        assert expect(response, 400, "VALIDATION_ERROR")["details"][0]["field"] == field
    teller = await api.post(
        f"/accounts/{acct['id']}/holds",
        json={"amount": "1.00", "reason": "x"},
        headers=await h(tokens, "teller"),
    )
    expect(teller, 403, "INSUFFICIENT_ROLE")


async def test_branch_scope_for_officers_managers_act_tenant_wide(api, tokens):
    far = await open_account(api, tokens, branch="002", initial_deposit="500.00")
    far2 = await open_account(api, tokens, branch="002", initial_deposit="10.00")
    officer = await h(tokens, "officer")
    manager = await h(tokens, "manager")
    for path, body in (
        (f"/accounts/{far['id']}/freeze", {"reason": "x"}),
        (f"/accounts/{far['id']}/close", {"reason": "x"}),
        (f"/accounts/{far['id']}/holds", {"amount": "1.00", "reason": "x"}),
    ):
        expect(await api.post(path, json=body, headers=officer), 403, "BRANCH_SCOPE")
    expect(await transfer(api, tokens, far["id"], far2["id"], "1.00"), 403, "BRANCH_SCOPE")
    # Existence is checked before branch scope.
    ghost = await api.post(
        f"/accounts/{uuid.uuid4()}/freeze", json={"reason": "x"}, headers=officer
    )
    expect(ghost, 404, "ACCOUNT_NOT_FOUND")
    # The manager (of branch 001) acts on branch 002.
    hold = expect(
        await api.post(
            f"/accounts/{far['id']}/holds", json={"amount": "1.00", "reason": "x"}, headers=manager
        ),
        201,
    )
    expect(
        await api.delete(f"/accounts/{far['id']}/holds/{hold['id']}", headers=officer),
        403,
        "BRANCH_SCOPE",
    )
    expect(await api.delete(f"/accounts/{far['id']}/holds/{hold['id']}", headers=manager), 200)
    frozen = await api.post(f"/accounts/{far['id']}/freeze", json={"reason": "x"}, headers=manager)
    assert expect(frozen, 200)["status"] == "FROZEN"
    thawed = await api.post(
        f"/accounts/{far['id']}/unfreeze", json={"reason": "x"}, headers=manager
    )
    assert expect(thawed, 200)["status"] == "ACTIVE"
    moved = await transfer(api, tokens, far["id"], far2["id"], "1.00", who="manager")
    assert expect(moved, 201)["balance_after"] == "499.00"
    # Cash is taken for any account, whatever the teller's branch.
    expect(await deposit(api, tokens, far["id"], "1.00"), 201)
    assert (await account(api, tokens, far["id"]))["ledger_balance"] == "500.00"


@pytest.mark.parametrize("candidates", [500, 0], ids=["through-indexes", "common-term-scan"])
async def test_search_finds_by_number_alias_holder_and_phone(api, tokens, monkeypatch, candidates):
    """``?q=`` finds the same accounts whether each way's matches are few (looked up
    through the search indexes) or many (tested as the newest-first scan meets them)."""
    from app.core.accounts import service

    monkeypatch.setattr(service, "SEARCH_CANDIDATES", candidates)
    customer = await make_customer(api, tokens)
    first = await open_account(api, tokens, customer_id=customer["id"])
    second = await open_account(api, tokens, customer_id=customer["id"])
    viewer = await h(tokens, "viewer")

    async def ids(q, **params):
        page = expect(await api.get("/accounts", params={"q": q, **params}, headers=viewer), 200)
        return [a["id"] for a in page["accounts"]]

    assert await ids(first["account_number"]) == [first["id"]]
    assert await ids(first["account_number"][:9]) == [first["id"]]  # a prefix
    assert await ids(second["alias"][2:]) == [second["id"]]  # part of the alias
    holder = customer["last_name"][3:].lower()
    assert await ids(holder) == [second["id"], first["id"]]  # newest first
    assert await ids(customer["phone"][4:]) == [second["id"], first["id"]]
    assert await ids(holder, limit=1) == [second["id"]]
    assert await ids("no such holder " + customer["last_name"]) == []
    other = await api.get(
        "/accounts", params={"q": customer["last_name"]}, headers=await h(tokens, "other_tenant")
    )
    assert expect(other, 200)["accounts"] == []

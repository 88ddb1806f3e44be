"""Cash: deposits and withdrawals, their journals, clearing, validation and limits."""

import uuid

import pytest

from tests.integration.api.ledger_helpers import (
    balances,
    clearing_total,
    deposit,
    expect,
    gl_balances,
    gl_nodes,
    h,
    money,
    open_account,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def test_deposit_and_withdrawal_post_through_teller_cash(api, tokens):
    acct = await open_account(api, tokens)
    gl_before = await gl_balances(api, tokens)
    made = expect(
        await deposit(api, tokens, acct["id"], "1500.00", narration="salary", depositor_name="Ade"),
        201,
    )
    assert made["type"] == "DEPOSIT" and made["status"] == "COMPLETED"
    assert (made["amount"], made["currency"], made["balance_after"]) == (
        "1500.00",
        "NGN",
        "1500.00",
    )
    assert made["transaction_ref"].startswith("TXN") and made["journal_id"]
    assert (made["narration"], made["depositor_name"], made["branch_code"]) == (
        "salary",
        "Ade",
        "001",
    )
    taken = expect(await withdraw(api, tokens, acct["id"], "400.50"), 201)
    assert (taken["type"], taken["balance_after"]) == ("WITHDRAWAL", "1099.50")
    assert await balances(api, tokens, acct["id"]) == {
        "ledger": 1099_50,
        "available": 1099_50,
        "hold": 0,
    }
    gl_after = await gl_balances(api, tokens)
    assert gl_after["1101-001"] - gl_before["1101-001"] == 1099_50
    assert gl_after["2102"] - gl_before["2102"] == 1099_50  # control = its accounts
    assert gl_after["1100"] - gl_before["1100"] == 1099_50  # headers sum their subtree
    assert gl_after["2000"] - gl_before["2000"] == 1099_50
    assert clearing_total(gl_after) == 0
    # The journal is posted and findable from its GL entries.
    cash_id = (await gl_nodes(api, tokens))["1101-001"]["id"]
    entries = expect(
        await api.get(
            f"/gl/accounts/{cash_id}/entries",
            params={"limit": 2},
            headers=await h(tokens, "viewer"),
        ),
        200,
    )["entries"]
    assert [(e["journal_id"], e["entry_type"], e["amount"]) for e in entries] == [
        (taken["journal_id"], "credit", "400.50"),
        (made["journal_id"], "debit", "1500.00"),
    ]
    assert entries[0]["balance_after"] == money(gl_after["1101-001"])


async def test_cash_at_another_branch_runs_through_clearing(api, tokens):
    acct = await open_account(api, tokens, branch="001", initial_deposit="100.00")
    before = await gl_balances(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "250.00", who="teller2"), 201)
    assert (made["branch_code"], made["balance_after"]) == ("002", "350.00")
    mid = await gl_balances(api, tokens)
    assert mid["1101-002"] - before["1101-002"] == 250_00  # the cash is at branch 002
    assert mid["1101-001"] == before["1101-001"]
    assert mid["1301-001"] - before["1301-001"] == 250_00
    assert mid["1301-002"] - before["1301-002"] == -250_00
    assert clearing_total(mid) == 0
    expect(await withdraw(api, tokens, acct["id"], "300.00", who="teller2"), 201)
    after = await gl_balances(api, tokens)
    assert after["1101-002"] - before["1101-002"] == -50_00
    assert after["1301-001"] - before["1301-001"] == -50_00
    assert after["1301-002"] - before["1301-002"] == 50_00
    assert clearing_total(after) == 0
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 50_00


@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "0.00",
        "-5.00",
        "1.234",
        "abc",
        "",
        " 5",
        "1,000.00",
        "9999999999999.00",
        "1e3",
        "1E3",
        "+5",
        "0x10",
        "NaN",
        "Infinity",
        1.234,
        -1,
        0,
        True,
        None,
        [1],
        {"value": 1},
        1e20,
    ],
)
async def test_bad_amounts_are_validation_errors_naming_amount(api, tokens, amount):
    acct = await open_account(api, tokens)
    response = await deposit(api, tokens, acct["id"], amount)
    body = expect(response, 400)
    assert body["code"] in {"VALIDATION_ERROR", "MISSING_FIELD"}, body
    assert body["details"][0]["field"] == "amount", body


@pytest.mark.parametrize(
    ("amount", "stored"),
    [
        (1.5, "1.50"),
        (7, "7.00"),
        ("0.5", "0.50"),
        ("999999.99", "999999.99"),
        ("1000000.00", "1000000.00"),
    ],
)
async def test_good_amounts_including_exact_json_numbers(api, tokens, amount, stored):
    acct = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], amount), 201)
    assert (made["amount"], made["status"], made["balance_after"]) == (stored, "COMPLETED", stored)


async def test_the_largest_amount_is_accepted_and_waits_for_approval(api, tokens):
    acct = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "999999999999.99"), 201)
    assert (made["status"], made["amount"]) == ("PENDING_APPROVAL", "999999999999.99")
    reject = await api.post(
        f"/transactions/{made['id']}/reject",
        json={"reason": "test"},
        headers=await h(tokens, "officer"),
    )
    assert expect(reject, 200)["status"] == "REJECTED"
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 0


async def test_currency_account_and_key_errors(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="10.00")
    body = expect(await deposit(api, tokens, acct["id"], "1.00", currency="USD"), 422)
    assert body["code"] == "CURRENCY_MISMATCH" and body["details"][0]["field"] == "currency"
    expect(
        await withdraw(api, tokens, acct["id"], "1.00", currency="EUR"), 422, "CURRENCY_MISMATCH"
    )
    unsupported = expect(await deposit(api, tokens, acct["id"], "1.00", currency="XYZ"), 400)
    assert unsupported["details"][0]["field"] == "currency"
    expect(await deposit(api, tokens, str(uuid.uuid4()), "1.00"), 404, "ACCOUNT_NOT_FOUND")
    expect(await deposit(api, tokens, "not-a-uuid", "1.00"), 404, "ACCOUNT_NOT_FOUND")
    no_key = await api.post(
        "/deposits",
        json={"account_id": acct["id"], "amount": "1.00", "currency": "NGN"},
        headers=await h(tokens, "teller"),
    )
    expect(no_key, 400, "IDEMPOTENCY_KEY_REQUIRED")
    viewer = await api.post(
        "/deposits",
        json={"account_id": acct["id"], "amount": "1.00", "currency": "NGN"},
        headers=await h(tokens, "viewer", key=True),
    )
    expect(viewer, 403, "INSUFFICIENT_ROLE")
    other = await api.post(
        "/deposits",
        json={"account_id": acct["id"], "amount": "1.00", "currency": "NGN"},
        headers=await h(tokens, "other_tenant", key=True),
    )
    expect(other, 404, "ACCOUNT_NOT_FOUND")  # another tenant's account does not exist
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 10_00


async def test_withdrawal_beyond_funds(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="100.00")
    body = expect(await withdraw(api, tokens, acct["id"], "100.01"), 422, "INSUFFICIENT_FUNDS")
    assert body["details"][0]["field"] == "amount"
    assert expect(await withdraw(api, tokens, acct["id"], "100.00"), 201)["balance_after"] == "0.00"
    expect(await withdraw(api, tokens, acct["id"], "0.01"), 422, "INSUFFICIENT_FUNDS")


async def test_replayed_deposit_posts_once(api, tokens):
    acct = await open_account(api, tokens)
    headers = await h(tokens, "teller", key=True)
    body = {"account_id": acct["id"], "amount": "12.00", "currency": "NGN"}
    first = await api.post("/deposits", json=body, headers=headers)
    second = await api.post("/deposits", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 12_00


async def test_daily_withdrawal_limit_of_savings(api, tokens):
    """SAV001 allows 2,000,000.00 a day; each step stays within the approval limit."""
    acct = await open_account(api, tokens, product="SAV001")
    for _ in range(3):
        expect(await deposit(api, tokens, acct["id"], "1000000.00"), 201)
    expect(await withdraw(api, tokens, acct["id"], "1000000.00"), 201)
    expect(await withdraw(api, tokens, acct["id"], "999999.99"), 201)
    body = expect(await withdraw(api, tokens, acct["id"], "0.02"), 422, "LIMIT_EXCEEDED")
    assert body["details"][0]["field"] == "amount"
    expect(await withdraw(api, tokens, acct["id"], "0.01"), 201)  # exactly the limit
    expect(await withdraw(api, tokens, acct["id"], "0.01"), 422, "LIMIT_EXCEEDED")
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 1000000_00
    # A current account has no daily limit.
    current = await open_account(api, tokens, product="CUR001")
    for _ in range(3):
        expect(await deposit(api, tokens, current["id"], "1000000.00"), 201)
    for _ in range(3):
        expect(await withdraw(api, tokens, current["id"], "1000000.00"), 201)


async def test_foreign_currency_cash_balances_per_currency(api, tokens):
    usd = await open_account(api, tokens, product="DOM001", currency="USD")
    made = expect(await deposit(api, tokens, usd["id"], "250.00", currency="USD"), 201)
    assert (made["currency"], made["balance_after"]) == ("USD", "250.00")
    far = expect(
        await withdraw(api, tokens, usd["id"], "40.00", currency="USD", who="teller2"), 201
    )
    assert far["balance_after"] == "210.00"
    expect(await deposit(api, tokens, usd["id"], "1.00", currency="NGN"), 422, "CURRENCY_MISMATCH")
    assert (await balances(api, tokens, usd["id"]))["ledger"] == 210_00

"""Transfers: internal, inter-branch through clearing, refusals, money conserved."""

import uuid

import pytest

from tests.integration.api.ledger_helpers import (
    balances,
    clearing_total,
    expect,
    gl_balances,
    h,
    open_account,
    transfer,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def test_internal_transfer_same_branch(api, tokens):
    source = await open_account(api, tokens, initial_deposit="1000.00")
    destination = await open_account(api, tokens, product="SAV001", initial_deposit="10.00")
    gl_before = await gl_balances(api, tokens)
    moved = expect(await transfer(api, tokens, source["id"], destination["id"], "250.75"), 201)
    assert (moved["type"], moved["status"], moved["amount"]) == ("TRANSFER", "COMPLETED", "250.75")
    assert moved["account_id"] == source["id"]
    assert moved["counterparty_account_id"] == destination["id"]
    assert moved["balance_after"] == "749.25"  # the source's
    assert moved["narration"] == "ledger test transfer"
    assert (await balances(api, tokens, source["id"]))["ledger"] == 749_25
    assert (await balances(api, tokens, destination["id"]))["ledger"] == 260_75
    gl_after = await gl_balances(api, tokens)
    # Current → savings: one control account down, the other up; cash untouched.
    assert gl_after["2102"] - gl_before["2102"] == -250_75
    assert gl_after["2101"] - gl_before["2101"] == 250_75
    assert gl_after["1101-001"] == gl_before["1101-001"]
    assert gl_after["1301-001"] == gl_before["1301-001"]


async def test_money_is_conserved_by_transfers(api, tokens):
    a = await open_account(api, tokens, initial_deposit="500.00")
    b = await open_account(api, tokens, initial_deposit="300.00")

    async def total():
        return (await balances(api, tokens, a["id"]))["ledger"] + (
            await balances(api, tokens, b["id"])
        )["ledger"]

    start = await total()
    for source, destination, amount, status in (
        (a, b, "100.00", 201),
        (b, a, "399.99", 201),
        (b, a, "0.02", 422),  # b holds 0.01
        (a, b, "799.98", 201),
        (a, b, "0.01", 201),  # a now empty
        (a, b, "0.01", 422),
    ):
        response = await transfer(api, tokens, source["id"], destination["id"], amount)
        assert response.status_code == status, response.text
        assert await total() == start
    assert (await balances(api, tokens, a["id"]))["ledger"] == 0
    assert (await balances(api, tokens, b["id"]))["ledger"] == 800_00


async def test_transfer_refusals(api, tokens):
    source = await open_account(api, tokens, initial_deposit="100.00")
    destination = await open_account(api, tokens)
    body = expect(
        await transfer(api, tokens, source["id"], source["id"], "1.00"), 422, "SAME_ACCOUNT"
    )
    assert body["details"][0]["field"] == "destination_account_id"
    expect(
        await transfer(api, tokens, source["id"], destination["id"], "100.01"),
        422,
        "INSUFFICIENT_FUNDS",
    )
    ghost = str(uuid.uuid4())
    missing = expect(await transfer(api, tokens, source["id"], ghost, "1.00"), 404)
    assert missing["code"] == "ACCOUNT_NOT_FOUND"
    assert missing["details"][0]["field"] == "destination_account_id"
    expect(
        await transfer(api, tokens, source["id"], destination["id"], "1.00", currency="USD"),
        422,
        "CURRENCY_MISMATCH",
    )
    usd = await open_account(api, tokens, product="DOM001", currency="USD")
    expect(await transfer(api, tokens, source["id"], usd["id"], "1.00"), 422, "CURRENCY_MISMATCH")
    bad = expect(await transfer(api, tokens, source["id"], destination["id"], "1.001"), 400)
    assert bad["details"][0]["field"] == "amount"
    teller = await transfer(api, tokens, source["id"], destination["id"], "1.00", who="teller")
    expect(teller, 403, "INSUFFICIENT_ROLE")
    # A frozen source refuses the debit; a frozen destination still takes the credit.
    officer = await h(tokens, "officer")
    expect(
        await api.post(
            f"/accounts/{source['id']}/freeze", json={"reason": "check"}, headers=officer
        ),
        200,
    )
    expect(
        await transfer(api, tokens, source["id"], destination["id"], "1.00"), 422, "ACCOUNT_FROZEN"
    )
    top_up = await open_account(api, tokens, initial_deposit="5.00")
    expect(await transfer(api, tokens, top_up["id"], source["id"], "5.00"), 201)
    assert (await balances(api, tokens, source["id"]))["ledger"] == 105_00
    assert (await balances(api, tokens, destination["id"]))["ledger"] == 0


async def test_across_branches_needs_the_inter_branch_endpoint(api, tokens):
    here = await open_account(api, tokens, branch="001", initial_deposit="100.00")
    there = await open_account(api, tokens, branch="002", initial_deposit="100.00")
    for who in ("officer", "manager"):
        response = await transfer(api, tokens, here["id"], there["id"], "1.00", who=who)
        expect(response, 422, "INTER_BRANCH_REQUIRED")
    by_officer = await transfer(
        api, tokens, here["id"], there["id"], "1.00", kind="inter-branch", who="officer"
    )
    expect(by_officer, 403, "INSUFFICIENT_ROLE")
    # The inter-branch endpoint is for different branches only.
    same = await open_account(api, tokens, branch="001")
    same_branch = await transfer(
        api, tokens, here["id"], same["id"], "1.00", kind="inter-branch", who="manager"
    )
    expect(same_branch, 400, "VALIDATION_ERROR")
    assert (await balances(api, tokens, here["id"]))["ledger"] == 100_00


async def test_inter_branch_transfer_moves_each_branchs_clearing(api, tokens):
    here = await open_account(api, tokens, branch="001", initial_deposit="1000.00")
    there = await open_account(api, tokens, branch="002", initial_deposit="100.00")
    before = await gl_balances(api, tokens)
    out = await transfer(
        api, tokens, here["id"], there["id"], "400.00", kind="inter-branch", who="manager"
    )
    moved = expect(out, 201)
    assert (moved["type"], moved["balance_after"]) == ("INTER_BRANCH_TRANSFER", "600.00")
    mid = await gl_balances(api, tokens)
    assert mid["1301-001"] - before["1301-001"] == -400_00
    assert mid["1301-002"] - before["1301-002"] == 400_00
    assert clearing_total(mid) == 0
    assert mid["1101-001"] == before["1101-001"] and mid["1101-002"] == before["1101-002"]
    back = await transfer(
        api, tokens, there["id"], here["id"], "150.00", kind="inter-branch", who="manager2"
    )
    assert expect(back, 201)["balance_after"] == "350.00"
    after = await gl_balances(api, tokens)
    assert after["1301-001"] - before["1301-001"] == -250_00
    assert after["1301-002"] - before["1301-002"] == 250_00
    assert clearing_total(after) == 0
    assert (await balances(api, tokens, here["id"]))["ledger"] == 750_00
    assert (await balances(api, tokens, there["id"]))["ledger"] == 350_00
    expect(
        await transfer(
            api, tokens, there["id"], here["id"], "350.01", kind="inter-branch", who="manager"
        ),
        422,
        "INSUFFICIENT_FUNDS",
    )


async def test_transfer_replay_executes_once(api, tokens):
    source = await open_account(api, tokens, initial_deposit="100.00")
    destination = await open_account(api, tokens)
    headers = await h(tokens, "officer", key=True)
    body = {
        "source_account_id": source["id"],
        "destination_account_id": destination["id"],
        "amount": "60.00",
        "currency": "NGN",
        "narration": "once",
    }
    first = await api.post("/transfers/internal", json=body, headers=headers)
    again = await api.post("/transfers/internal", json=body, headers=headers)
    assert (first.status_code, again.content) == (201, first.content)
    # The refused one (only 40.00 left) is stored and replayed too.
    key = await h(tokens, "officer", key=True)
    refused = await api.post("/transfers/internal", json=body, headers=key)
    refused_again = await api.post("/transfers/internal", json=body, headers=key)
    expect(refused, 422, "INSUFFICIENT_FUNDS")
    assert refused_again.content == refused.content
    assert refused_again.headers["idempotent-replayed"] == "true"
    assert (await balances(api, tokens, destination["id"]))["ledger"] == 60_00

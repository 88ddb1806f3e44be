"""Transactions above the teller approval limit wait for a checker (maker ≠ checker)."""

import uuid

import pytest

from tests.integration.api.ledger_helpers import (
    balances,
    deposit,
    expect,
    h,
    open_account,
    transfer,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def funded(api, tokens, millions: int = 3):
    acct = await open_account(api, tokens)  # CUR001: no daily withdrawal limit
    for _ in range(millions):
        expect(await deposit(api, tokens, acct["id"], "1000000.00"), 201)  # at the limit: posted
    return acct


async def decide(api, tokens, who, transaction_id, action="approve", **body):
    return await api.post(
        f"/transactions/{transaction_id}/{action}", json=body or None, headers=await h(tokens, who)
    )


async def test_pending_withdrawal_holds_then_approval_posts(api, tokens):
    acct = await funded(api, tokens)
    pending = expect(await withdraw(api, tokens, acct["id"], "1500000.00"), 201)
    assert pending["status"] == "PENDING_APPROVAL" and pending["journal_id"] is None
    assert await balances(api, tokens, acct["id"]) == {
        "ledger": 3000000_00,
        "available": 1500000_00,
        "hold": 1500000_00,
    }
    listed = expect(
        await api.get(
            "/transactions",
            params={"status": "PENDING_APPROVAL", "account_id": acct["id"]},
            headers=await h(tokens, "viewer"),
        ),
        200,
    )
    assert [t["id"] for t in listed["transactions"]] == [pending["id"]]
    # The held funds are not available to anything else meanwhile.
    second = expect(await withdraw(api, tokens, acct["id"], "1500000.00"), 201)
    assert second["status"] == "PENDING_APPROVAL"
    expect(await withdraw(api, tokens, acct["id"], "0.01"), 422, "INSUFFICIENT_FUNDS")
    expect(await withdraw(api, tokens, acct["id"], "1000000.01"), 422, "INSUFFICIENT_FUNDS")
    expect(await decide(api, tokens, "teller", pending["id"]), 403, "INSUFFICIENT_ROLE")
    approved = expect(await decide(api, tokens, "officer", pending["id"]), 200)
    assert approved["status"] == "COMPLETED" and approved["journal_id"]
    assert approved["approved_by"] and approved["balance_after"] == "1500000.00"
    after = await balances(api, tokens, acct["id"])
    assert after["ledger"] == 1500000_00
    assert after["hold"] == 1500000_00  # only the second one is still held
    twice = await decide(api, tokens, "manager", pending["id"])
    expect(twice, 409, "INVALID_STATE")
    rejected_late = await decide(api, tokens, "manager", pending["id"], "reject", reason="late")
    expect(rejected_late, 409, "INVALID_STATE")
    # The hold of the first one was consumed, not left behind.
    detail = expect(
        await api.get(f"/accounts/{acct['id']}", headers=await h(tokens, "viewer")), 200
    )
    assert [(x["amount"], x["transaction_id"]) for x in detail["holds"]] == [
        ("1500000.00", second["id"])
    ]
    # A hold securing a pending transaction is not released by hand.
    held = detail["holds"][0]
    expect(
        await api.delete(
            f"/accounts/{acct['id']}/holds/{held['id']}", headers=await h(tokens, "officer")
        ),
        409,
        "INVALID_STATE",
    )
    # Leave nothing pending behind (it would block closing the period).
    expect(await decide(api, tokens, "officer", second["id"], "reject", reason="done"), 200)
    assert (await balances(api, tokens, acct["id"]))["available"] == 1500000_00


async def test_maker_cannot_approve_and_rejection_releases_the_hold(api, tokens):
    acct = await funded(api, tokens, 2)
    pending = expect(await withdraw(api, tokens, acct["id"], "1200000.00", who="officer"), 201)
    assert pending["status"] == "PENDING_APPROVAL"
    expect(await decide(api, tokens, "officer", pending["id"]), 403, "SELF_APPROVAL_FORBIDDEN")
    expect(
        await decide(api, tokens, "officer", pending["id"], "reject", reason="mine"),
        403,
        "SELF_APPROVAL_FORBIDDEN",
    )
    no_reason = await decide(api, tokens, "manager", pending["id"], "reject")
    assert no_reason.status_code == 400, no_reason.text
    rejected = expect(
        await decide(api, tokens, "manager", pending["id"], "reject", reason="signature mismatch"),
        200,
    )
    assert (rejected["status"], rejected["rejection_reason"]) == ("REJECTED", "signature mismatch")
    assert rejected["journal_id"] is None
    assert await balances(api, tokens, acct["id"]) == {
        "ledger": 2000000_00,
        "available": 2000000_00,
        "hold": 0,
    }
    expect(await decide(api, tokens, "manager", pending["id"]), 409, "INVALID_STATE")
    expect(await decide(api, tokens, "officer", str(uuid.uuid4())), 404, "RESOURCE_NOT_FOUND")
    other = await decide(api, tokens, "other_tenant", pending["id"])
    expect(other, 404, "RESOURCE_NOT_FOUND")


async def test_pending_deposit_moves_nothing_until_approved(api, tokens):
    acct = await open_account(api, tokens)
    pending = expect(await deposit(api, tokens, acct["id"], "1000000.01"), 201)
    assert pending["status"] == "PENDING_APPROVAL"
    assert await balances(api, tokens, acct["id"]) == {"ledger": 0, "available": 0, "hold": 0}
    expect(await withdraw(api, tokens, acct["id"], "1.00"), 422, "INSUFFICIENT_FUNDS")
    approved = expect(await decide(api, tokens, "officer", pending["id"]), 200)
    assert (approved["status"], approved["balance_after"]) == ("COMPLETED", "1000000.01")
    assert await balances(api, tokens, acct["id"]) == {
        "ledger": 1000000_01,
        "available": 1000000_01,
        "hold": 0,
    }


async def test_pending_transfer_and_a_frozen_source_at_approval(api, tokens):
    source = await funded(api, tokens, 2)
    destination = await open_account(api, tokens)
    pending = expect(
        await transfer(api, tokens, source["id"], destination["id"], "1100000.00"), 201
    )
    assert pending["status"] == "PENDING_APPROVAL"
    officer = await h(tokens, "officer")
    expect(
        await api.post(f"/accounts/{source['id']}/freeze", json={"reason": "x"}, headers=officer),
        200,
    )
    # Approval re-checks the source: a frozen account is not debited.
    expect(await decide(api, tokens, "manager", pending["id"]), 422, "ACCOUNT_FROZEN")
    assert (await balances(api, tokens, source["id"]))["hold"] == 1100000_00
    expect(
        await api.post(f"/accounts/{source['id']}/unfreeze", json={"reason": "x"}, headers=officer),
        200,
    )
    approved = expect(await decide(api, tokens, "manager", pending["id"]), 200)
    assert approved["status"] == "COMPLETED"
    assert await balances(api, tokens, source["id"]) == {
        "ledger": 900000_00,
        "available": 900000_00,
        "hold": 0,
    }
    assert (await balances(api, tokens, destination["id"]))["ledger"] == 1100000_00

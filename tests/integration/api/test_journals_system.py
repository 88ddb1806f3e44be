"""Reversing system journals (docs/decisions.md, "Journals and GL accounts"): a deposit's,
a withdrawal's or a transfer's journal can be reversed by a manager other than its
teller; funds are checked; the transaction is marked REVERSED with it. Closing and
reversal journals are not reversible."""

import pytest

from tests.integration.api.journal_helpers import act, audit_actions, get_journal, ledger_counts
from tests.integration.api.ledger_helpers import (
    balances,
    clearing_total,
    deposit,
    expect,
    gl_balances,
    h,
    open_account,
    transfer,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def transaction(api, tokens, transaction_id):
    return expect(
        await api.get(f"/transactions/{transaction_id}", headers=await h(tokens, "viewer")), 200
    )


async def test_reversing_a_deposit_takes_the_money_back_and_marks_it(api, tokens, core_app):
    acct = await open_account(api, tokens)
    cash_before = (await gl_balances(api, tokens))["1101-001"]
    made = expect(await deposit(api, tokens, acct["id"], "250.00"), 201)
    journal = await get_journal(api, tokens, made["journal_id"])
    assert (journal["journal_type"], journal["created_by_email"]) == ("CASH", "teller@demo.bank")
    # A reversal is a manager's, and never by the teller who took the cash.
    expect(
        await act(api, tokens, journal["id"], "reverse", "officer", reason="x"),
        403,
        "INSUFFICIENT_ROLE",
    )
    reversed_ = expect(
        await act(api, tokens, journal["id"], "reverse", "manager", reason="wrong account"), 200
    )
    assert reversed_["status"] == "REVERSED"
    assert await balances(api, tokens, acct["id"]) == {"ledger": 0, "available": 0, "hold": 0}
    assert (await gl_balances(api, tokens))["1101-001"] == cash_before
    after = await transaction(api, tokens, made["id"])
    assert after["status"] == "REVERSED" and after["journal_id"] == journal["id"]
    audit = await audit_actions(core_app, made["id"])
    assert audit[-1][0] == "transaction.reversed"
    assert audit[-1][1]["status"] == "COMPLETED" and audit[-1][2]["status"] == "REVERSED"
    expect(
        await act(api, tokens, journal["id"], "reverse", "manager2", reason="x"),
        409,
        "ALREADY_REVERSED",
    )


async def test_a_managers_own_deposit_is_reversed_by_another_manager(api, tokens):
    acct = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "40.00", who="manager"), 201)
    before = await balances(api, tokens, acct["id"])
    expect(
        await act(api, tokens, made["journal_id"], "reverse", "manager", reason="x"),
        403,
        "SELF_APPROVAL_FORBIDDEN",
    )
    assert await balances(api, tokens, acct["id"]) == before
    expect(await act(api, tokens, made["journal_id"], "reverse", "manager2", reason="x"), 200)
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 0


async def test_a_spent_deposit_cannot_be_reversed(api, tokens, core_app):
    acct = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "90.00"), 201)
    expect(await withdraw(api, tokens, acct["id"], "60.00"), 201)
    before = await ledger_counts(core_app)
    expect(
        await act(api, tokens, made["journal_id"], "reverse", "manager", reason="x"),
        422,
        "INSUFFICIENT_FUNDS",
    )
    assert await ledger_counts(core_app) == before
    assert (await transaction(api, tokens, made["id"]))["status"] == "COMPLETED"


async def test_reversing_a_withdrawal_and_a_cross_branch_transfer(api, tokens):
    source = await open_account(api, tokens, initial_deposit="500.00")
    out = expect(await withdraw(api, tokens, source["id"], "100.00"), 201)
    expect(
        await act(api, tokens, out["journal_id"], "reverse", "manager", reason="not paid out"), 200
    )
    assert (await balances(api, tokens, source["id"]))["ledger"] == 500_00
    assert (await transaction(api, tokens, out["id"]))["status"] == "REVERSED"
    elsewhere = await open_account(api, tokens, branch="002")
    moved = expect(
        await transfer(
            api, tokens, source["id"], elsewhere["id"], "120.00", kind="inter-branch", who="manager"
        ),
        201,
    )
    journal = await get_journal(api, tokens, moved["journal_id"])
    assert {e["gl_account_code"] for e in journal["entries"]} >= {"1301-001", "1301-002"}
    expect(
        await act(api, tokens, moved["journal_id"], "reverse", "manager2", reason="duplicate"), 200
    )
    assert (await balances(api, tokens, source["id"]))["ledger"] == 500_00
    assert (await balances(api, tokens, elsewhere["id"]))["ledger"] == 0
    assert clearing_total(await gl_balances(api, tokens)) == 0
    # A reversed withdrawal no longer counts against the daily limit, nor shows as completed.
    listed = expect(
        await api.get(
            "/transactions",
            params={"account_id": source["id"], "status": "REVERSED"},
            headers=await h(tokens, "viewer"),
        ),
        200,
    )
    assert {t["id"] for t in listed["transactions"]} == {out["id"], moved["id"]}


async def test_a_reversal_journal_is_not_reversible(api, tokens):
    acct = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "5.00"), 201)
    reversed_ = expect(
        await act(api, tokens, made["journal_id"], "reverse", "manager", reason="x"), 200
    )
    mirror = reversed_["reversal_journal_id"]
    before = await balances(api, tokens, acct["id"])
    body = expect(
        await act(api, tokens, mirror, "reverse", "manager2", reason="x"), 409, "INVALID_STATE"
    )
    assert body["details"][0]["field"] == "journal_type"
    assert await balances(api, tokens, acct["id"]) == before

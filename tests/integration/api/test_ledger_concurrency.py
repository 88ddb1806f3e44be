"""Concurrent postings: no lost update, no overdraft (SQLite serializes, PostgreSQL locks)."""

import asyncio

import pytest

from tests.integration.api.ledger_helpers import (
    assert_running_balances,
    balances,
    deposit,
    expect,
    open_account,
    statement,
    transfer,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def test_concurrent_withdrawals_never_overdraw(api, tokens):
    acct = await open_account(api, tokens, initial_deposit="500.00")
    responses = await asyncio.gather(
        *(withdraw(api, tokens, acct["id"], "100.00") for _ in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [422] * 15, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 422} == {"INSUFFICIENT_FUNDS"}
    after = sorted(minor_after(r) for r in responses if r.status_code == 201)
    assert after == [0, 100_00, 200_00, 300_00, 400_00]  # each balance seen exactly once
    assert await balances(api, tokens, acct["id"]) == {"ledger": 0, "available": 0, "hold": 0}
    entries = await statement(api, tokens, acct["id"])
    assert len(entries) == 6
    assert_running_balances(entries)


def minor_after(response):
    text = response.json()["balance_after"]
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int(cents)


async def test_concurrent_crossing_transfers_conserve_money(api, tokens):
    a = await open_account(api, tokens, initial_deposit="300.00")
    b = await open_account(api, tokens, initial_deposit="300.00")
    jobs = []
    for i in range(24):
        source, destination = (a, b) if i % 2 else (b, a)
        jobs.append(transfer(api, tokens, source["id"], destination["id"], "70.00"))
    jobs += [deposit(api, tokens, a["id"], "1.00") for _ in range(3)]
    responses = await asyncio.gather(*jobs)
    assert all(r.status_code in (201, 422) for r in responses), [r.text for r in responses]
    refused = {r.json()["code"] for r in responses if r.status_code == 422}
    assert refused <= {"INSUFFICIENT_FUNDS"}
    final = [(await balances(api, tokens, x["id"]))["ledger"] for x in (a, b)]
    assert sum(final) == 603_00
    assert min(final) >= 0
    for x in (a, b):
        entries = await statement(api, tokens, x["id"])
        assert_running_balances(entries)
        assert all(int(e["balance_after"].replace(".", "")) >= 0 for e in entries)
    expect(await withdraw(api, tokens, a["id"], "0.01"), 201)

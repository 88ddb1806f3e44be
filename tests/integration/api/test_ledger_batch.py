"""Batch transfers: independent (per-item outcome) and atomic (all or none)."""

import pytest

from tests.integration.api.ledger_helpers import balances, expect, h, open_account

pytestmark = pytest.mark.usefixtures("ledger_checked")


def item(source, destination, amount, **extra):
    return {
        "source_account_id": source["id"],
        "destination_account_id": destination["id"],
        "amount": amount,
        "currency": "NGN",
        "narration": "batch item",
        **extra,
    }


async def ledgers(api, tokens, *accounts):
    return [(await balances(api, tokens, a["id"]))["ledger"] for a in accounts]


async def test_independent_batch_reports_each_item(api, tokens):
    a = await open_account(api, tokens, initial_deposit="100.00")
    b = await open_account(api, tokens)
    far = await open_account(api, tokens, branch="002")
    headers = await h(tokens, "officer", key=True)
    body = {
        "mode": "independent",
        "transfers": [
            item(a, b, "30.00"),
            item(a, b, "500.00"),  # insufficient funds
            item(a, b, "1.001"),  # bad amount
            item(a, far, "1.00"),  # across branches: needs a manager
            item(b, a, "10.00"),
            item(a, a, "1.00"),  # same account
        ],
    }
    response = await api.post("/transfers/batch", json=body, headers=headers)
    results = expect(response, 200)["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, "COMPLETED"),
        (1, "FAILED"),
        (2, "FAILED"),
        (3, "FAILED"),
        (4, "COMPLETED"),
        (5, "FAILED"),
    ]
    assert [r.get("error", {}).get("code") for r in results] == [
        None,
        "INSUFFICIENT_FUNDS",
        "VALIDATION_ERROR",
        "INSUFFICIENT_ROLE",
        None,
        "SAME_ACCOUNT",
    ]
    assert results[0]["transaction"]["balance_after"] == "70.00"
    # An item's error has its refusal's details as they are, their extra members too.
    assert results[1]["error"]["details"][0]["available_balance"] == "₦70.00"
    assert results[4]["transaction"]["balance_after"] == "20.00"
    assert await ledgers(api, tokens, a, b, far) == [80_00, 20_00, 0]
    replay = await api.post("/transfers/batch", json=body, headers=headers)
    assert replay.content == response.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert await ledgers(api, tokens, a, b, far) == [80_00, 20_00, 0]


async def test_atomic_batch_with_a_bad_item_posts_nothing(api, tokens):
    a = await open_account(api, tokens, initial_deposit="100.00")
    b = await open_account(api, tokens, initial_deposit="5.00")
    headers = await h(tokens, "officer", key=True)
    body = {
        "mode": "atomic",
        "transfers": [
            item(a, b, "60.00"),
            item(b, a, "1.00"),
            item(a, b, "50.00"),
            item(b, a, "1.00"),
        ],
    }
    response = await api.post("/transfers/batch", json=body, headers=headers)
    rejected = expect(response, 422, "BATCH_REJECTED")
    assert [(r["index"], r["status"]) for r in rejected["results"]] == [
        (0, "NOT_EXECUTED"),
        (1, "NOT_EXECUTED"),
        (2, "FAILED"),
        (3, "NOT_EXECUTED"),
    ]
    assert rejected["results"][2]["error"]["code"] == "INSUFFICIENT_FUNDS"
    assert await ledgers(api, tokens, a, b) == [100_00, 5_00]
    listed = expect(
        await api.get(
            "/transactions", params={"account_id": a["id"]}, headers=await h(tokens, "viewer")
        ),
        200,
    )
    assert [t["type"] for t in listed["transactions"]] == ["DEPOSIT"]  # only the opening one
    replay = await api.post("/transfers/batch", json=body, headers=headers)
    assert (replay.status_code, replay.content) == (422, response.content)
    assert replay.headers["idempotent-replayed"] == "true"


async def test_atomic_batch_all_good_posts_everything(api, tokens):
    a = await open_account(api, tokens, initial_deposit="100.00")
    b = await open_account(api, tokens)
    far = await open_account(api, tokens, branch="002")
    body = {
        "mode": "atomic",
        "transfers": [
            item(a, b, "60.00"),
            item(b, a, "10.00"),
            item(a, far, "25.00"),  # across branches: a manager's batch routes it
            item(b, far, "5.00"),
        ],
    }
    response = await api.post(
        "/transfers/batch", json=body, headers=await h(tokens, "manager", key=True)
    )
    results = expect(response, 200)["results"]
    assert [r["status"] for r in results] == ["COMPLETED"] * 4
    assert [r["transaction"]["type"] for r in results] == [
        "TRANSFER",
        "TRANSFER",
        "INTER_BRANCH_TRANSFER",
        "INTER_BRANCH_TRANSFER",
    ]
    assert await ledgers(api, tokens, a, b, far) == [25_00, 45_00, 30_00]


async def test_batch_validation(api, tokens):
    a = await open_account(api, tokens)
    officer = await h(tokens, "officer", key=True)
    for body in (
        {"mode": "sometimes", "transfers": [item(a, a, "1.00")]},
        {"mode": "atomic", "transfers": []},
        {"mode": "atomic", "transfers": [item(a, a, "1.00")] * 1001},
    ):
        response = await api.post("/transfers/batch", json=body, headers=officer)
        assert response.status_code == 400, response.text
    no_key = await api.post(
        "/transfers/batch",
        json={"mode": "atomic", "transfers": [item(a, a, "1.00")]},
        headers=await h(tokens, "officer"),
    )
    expect(no_key, 400, "IDEMPOTENCY_KEY_REQUIRED")

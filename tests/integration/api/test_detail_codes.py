"""Every item of an error's ``details`` carries a machine-readable ``code`` (issue 12):
representative refusals from each source — msgspec bodies, pydantic bodies and their
validators, hand checks in the services, the chain — and none of them changes anything."""

import pytest

from app.core.detail_codes import DetailCode
from tests.integration.api.ledger_helpers import (
    balances,
    deposit,
    expect,
    h,
    make_customer,
    open_account,
    unique,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")

KNOWN = {c.value for c in DetailCode}


def codes(body: dict) -> dict[str, str]:
    """``field -> code`` of a refusal, checking every item has a known code."""
    for item in body["details"]:
        assert item.get("code") in KNOWN, item
    return {item["field"]: item["code"] for item in body["details"]}


async def test_deposit_amounts_name_their_code_and_move_nothing(api, tokens):
    account = await open_account(api, tokens)
    before = await balances(api, tokens, account["id"])
    for amount, code in (
        ("0", "not_positive"),
        ("1.234", "too_many_decimals"),
        ("1000000000000.00", "too_large"),
        ("-5.00", "invalid_format"),
        ("1e3", "invalid_format"),
    ):
        body = expect(await deposit(api, tokens, account["id"], amount), 400, "VALIDATION_ERROR")
        assert codes(body) == {"amount": code}, (amount, body)
        assert body["details"][0]["value"] == amount
    assert await balances(api, tokens, account["id"]) == before


async def test_msgspec_bodies_name_every_field_with_its_code(api, tokens):
    response = await api.post(
        "/deposits",
        json={"account_id": "", "amount": "1.00", "currency": "NGNN", "tip": 1},
        headers=await h(tokens, "teller", key=True),
    )
    body = expect(response, 400, "VALIDATION_ERROR")
    assert codes(body) == {
        "account_id": "required",
        "currency": "too_long",
        "tip": "unknown_field",
    }


async def test_pydantic_bodies_and_their_validators_name_their_codes(api, tokens):
    customer = await api.post(
        "/customers",
        json={"customer_type": "PERSON", "first_name": "x" * 300, "email": "not-an-email"},
        headers=await h(tokens, "officer"),
    )
    assert codes(expect(customer, 400, "VALIDATION_ERROR")) == {
        "customer_type": "invalid_choice",
        "first_name": "too_long",
        "email": "invalid_format",
    }
    hook = await api.post(
        "/webhooks",
        json={
            "name": "  ",
            "url": "https://user:pw@hooks.example.com/x",
            "events": ["no.such.event"],
            "secret": "has spaces in it, sixteen+",
        },
        headers=await h(tokens, "admin"),
    )
    assert codes(expect(hook, 400, "VALIDATION_ERROR")) == {
        "name": "required",
        "url": "credentials_in_url",
        "events": "invalid_choice",
        "secret": "not_printable",
    }
    key = await api.post(
        "/api-keys",
        json={"name": "too much", "role": "viewer", "scopes": ["admin:full"]},
        headers=await h(tokens, "admin"),
    )
    assert codes(expect(key, 400, "VALIDATION_ERROR")) == {"scopes": "scope_not_in_role"}


async def test_service_refusals_name_their_codes(api, tokens):
    body = expect(
        await api.post(
            "/customers",
            json={"customer_type": "INDIVIDUAL", "first_name": "A", "last_name": "B"},
            headers=await h(tokens, "officer"),
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert codes(body) == {"phone": "contact_required"}
    customer = await make_customer(api, tokens)
    opening = await api.post(
        "/accounts",
        json={
            "customer_id": customer["id"],
            "account_type": "CURRENT",
            "currency": "NGN",
            "product_code": "NOPE01",
            "branch_code": "999",
        },
        headers=await h(tokens, "officer"),
    )
    assert codes(expect(opening, 400, "VALIDATION_ERROR")) == {
        "product_code": "unknown_product",
        "branch_code": "unknown_branch",
    }
    account = await open_account(api, tokens)
    expect(await deposit(api, tokens, account["id"], "10.00"), 201)
    short = expect(await withdraw(api, tokens, account["id"], "10.01"), 422, "INSUFFICIENT_FUNDS")
    assert set(codes(short).values()) == {"insufficient_funds"}
    assert (await balances(api, tokens, account["id"]))["ledger"] == 10_00
    theirs = await open_account(api, tokens, branch="002")
    scoped = expect(
        await api.post(
            f"/accounts/{theirs['id']}/freeze",
            json={"reason": "x"},
            headers=await h(tokens, "officer"),
        ),
        403,
        "BRANCH_SCOPE",
    )
    assert codes(scoped) == {"branch_code": "branch_scope"}
    assert scoped["details"][0]["value"] == "002"


async def test_admin_rules_name_their_codes(api, tokens):
    admin = await h(tokens, "admin")
    me = expect(await api.get("/auth/me", headers=admin), 200)
    refused = expect(
        await api.patch(f"/users/{me['id']}", json={"is_active": False}, headers=admin),
        409,
        "INVALID_STATE",
    )
    assert codes(refused) == {"is_active": "self_deactivation"}
    refused = expect(
        await api.patch(f"/users/{me['id']}", json={"roles": ["manager"]}, headers=admin),
        409,
        "INVALID_STATE",
    )
    assert codes(refused) == {"roles": "self_demotion"}
    duplicate = await api.post(
        "/users",
        json={
            "email": "teller@demo.bank",
            "name": "Twin",
            "password": "Long enough #2026",
            "roles": ["teller"],
            "branch_id": "001",
        },
        headers=admin,
    )
    assert codes(expect(duplicate, 409, "DUPLICATE_RESOURCE")) == {"email": "duplicate"}
    nowhere = await api.post(
        "/users",
        json={
            "email": f"{unique()}@demo.bank",
            "name": "Nowhere",
            "password": "Long enough #2026",
            "roles": ["teller"],
            "branch_id": "ZZZ",
        },
        headers=admin,
    )
    assert codes(expect(nowhere, 400, "VALIDATION_ERROR")) == {"branch_id": "unknown_branch"}


async def test_the_chain_names_its_codes(api, tokens):
    listed = expect(
        await api.get("/accounts", params={"limit": 0}, headers=await h(tokens, "viewer")),
        400,
        "VALIDATION_ERROR",
    )
    assert codes(listed) == {"limit": "out_of_range"}
    keyless = await api.post(
        "/deposits",
        json={"account_id": "x", "amount": "1.00", "currency": "NGN"},
        headers=await h(tokens, "teller"),
    )
    assert codes(expect(keyless, 400, "IDEMPOTENCY_KEY_REQUIRED")) == {
        "Idempotency-Key": "required"
    }
    malformed = await api.post(
        "/customers",
        content=b"{not json",
        headers={**await h(tokens, "officer"), "Content-Type": "application/json"},
    )
    assert codes(expect(malformed, 400)) == {"body": "malformed_json"}


async def test_an_empty_list_is_empty_list_and_creates_nothing(api, tokens):
    admin = await h(tokens, "admin")
    email = f"{unique()}@demo.bank"
    nobody = await api.post(
        "/users",
        json={
            "email": email,
            "name": "No roles",
            "password": "Long enough #2026",
            "roles": [],
            "branch_id": "001",
        },
        headers=admin,
    )
    assert codes(expect(nobody, 400, "VALIDATION_ERROR")) == {"roles": "empty_list"}
    listed = expect(await api.get("/users", params={"q": email}, headers=admin), 200)
    assert email not in {u["email"] for u in listed["users"]}
    me = expect(await api.get("/auth/me", headers=admin), 200)
    emptied = await api.patch(f"/users/{me['id']}", json={"roles": []}, headers=admin)
    assert codes(expect(emptied, 400, "VALIDATION_ERROR")) == {"roles": "empty_list"}
    hook = await api.post(
        "/webhooks",
        json={"name": "nothing", "url": "https://hooks.example.com/x", "events": []},
        headers=admin,
    )
    assert codes(expect(hook, 400, "VALIDATION_ERROR")) == {"events": "empty_list"}


async def test_a_teller_approval_limit_names_what_is_wrong_with_it(api, tokens, core_app):
    from tests.integration.api.private_tenant import make_tenant

    bank = await make_tenant(core_app, api, tokens, teller_approval_limit=500_00)
    for limit, code in (
        ("-5.00", "invalid_format"),
        ("+5.00", "invalid_format"),
        ("abc", "invalid_format"),
        ("1e5", "invalid_format"),
        ("1.234", "too_many_decimals"),
        ("0", "not_positive"),
        ("0.00", "not_positive"),
        ("1000000000000", "too_large"),
    ):
        refused = await api.put(
            "/tenant/settings", json={"teller_approval_limit": limit}, headers=bank.h("admin")
        )
        assert codes(expect(refused, 400, "VALIDATION_ERROR")) == {"teller_approval_limit": code}, (
            limit
        )
    settings = expect(await api.get("/tenant", headers=bank.h("admin")), 200)["settings"]
    assert settings["teller_approval_limit"] == "500.00"


async def test_gl_currency_and_same_branch_transfers_name_their_codes(api, tokens):
    from tests.integration.api.journal_helpers import gl

    officer = await h(tokens, "officer")
    parent = (await gl(api, tokens))["5000"]
    code = unique("59-")
    made = await api.post(
        "/gl/accounts",
        json={
            "code": code,
            "name": "Unknown currency expenses",
            "category": "EXPENSE",
            "parent_id": parent["id"],
            "currency_code": "XYZ",
        },
        headers=officer,
    )
    assert codes(expect(made, 400, "VALIDATION_ERROR")) == {"currency_code": "unsupported_currency"}
    assert code not in (await gl(api, tokens))
    a = await open_account(api, tokens, initial_deposit="20.00")
    b = await open_account(api, tokens)
    before = await balances(api, tokens, a["id"])
    same = await api.post(
        "/transfers/inter-branch",
        json={
            "source_account_id": a["id"],
            "destination_account_id": b["id"],
            "amount": "5.00",
            "currency": "NGN",
        },
        headers=await h(tokens, "manager", key=True),
    )
    body = expect(same, 400, "VALIDATION_ERROR")
    assert codes(body) == {"destination_account_id": "same_branch"}
    assert body["details"][0]["value"] == b["branch_code"]
    assert await balances(api, tokens, a["id"]) == before

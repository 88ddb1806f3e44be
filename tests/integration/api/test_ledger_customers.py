"""Customers: create, validate, search, read with accounts, paginate, tenant isolation."""

import uuid

import pytest

from tests.integration.api.ledger_helpers import expect, h, make_customer, open_account, unique

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def test_create_individual_and_corporate(api, tokens):
    person = await make_customer(api, tokens, date_of_birth="1990-04-01", address="1 Marina")
    assert person["customer_type"] == "INDIVIDUAL"
    assert person["display_name"] == f"Ledger {person['last_name']}"
    assert person["customer_number"].startswith("CUS")
    assert person["branch_code"] == "001"
    assert person["date_of_birth"] == "1990-04-01"
    company = await make_customer(
        api,
        tokens,
        customer_type="CORPORATE",
        first_name=None,
        last_name=None,
        company_name=f"Acme {unique()} Ltd",
    )
    assert company["customer_type"] == "CORPORATE"
    assert company["display_name"] == company["company_name"]
    assert company["customer_number"] != person["customer_number"]


async def test_teller_cannot_create_customers(api, tokens):
    response = await api.post(
        "/customers",
        json={
            "customer_type": "INDIVIDUAL",
            "first_name": "A",
            "last_name": "B",
            "phone": "+2341234567",
        },
        headers=await h(tokens, "teller"),
    )
    expect(response, 403, "INSUFFICIENT_ROLE")


async def test_validation_lists_every_missing_field(api, tokens):
    response = await api.post(
        "/customers", json={"customer_type": "INDIVIDUAL"}, headers=await h(tokens, "officer")
    )
    body = expect(response, 400, "VALIDATION_ERROR")
    assert {d["field"] for d in body["details"]} == {"first_name", "last_name", "phone"}
    corporate = await api.post(
        "/customers",
        json={"customer_type": "CORPORATE", "email": "x@y.test"},
        headers=await h(tokens, "officer"),
    )
    assert [d["field"] for d in expect(corporate, 400, "VALIDATION_ERROR")["details"]] == [
        "company_name"
    ]


async def test_validation_lists_every_malformed_field(api, tokens):
    response = await api.post(
        "/customers",
        json={
            "customer_type": "PERSON",
            "first_name": "A",
            "last_name": "B",
            "email": "not-an-email",
            "phone": "call me",
            "date_of_birth": "yesterday",
        },
        headers=await h(tokens, "officer"),
    )
    body = expect(response, 400, "VALIDATION_ERROR")
    fields = {d["field"].split(".")[-1] for d in body["details"]}
    assert {"customer_type", "email", "phone", "date_of_birth"} <= fields, body


async def test_search_by_name_phone_email_and_number(api, tokens):
    tag = unique("Zq")
    customer = await make_customer(api, tokens, last_name=f"Searchable{tag}")
    viewer = await h(tokens, "viewer")
    for q in (
        f"searchable{tag}".upper(),  # name, any case
        customer["phone"][-8:],
        customer["email"],
        customer["customer_number"],
        customer["customer_number"].lower(),
    ):
        found = expect(await api.get("/customers", params={"q": q}, headers=viewer), 200)
        assert [c["id"] for c in found["customers"]] == [customer["id"]], q
    none = expect(await api.get("/customers", params={"q": unique("nobody")}, headers=viewer), 200)
    assert none == {"customers": [], "has_more": False, "next_cursor": None}


async def test_search_treats_like_wildcards_literally(api, tokens):
    found = expect(
        await api.get("/customers", params={"q": "%_%"}, headers=await h(tokens, "viewer")), 200
    )
    assert found["customers"] == []


async def test_detail_lists_the_customers_accounts(api, tokens):
    customer = await make_customer(api, tokens)
    first = await open_account(api, tokens, customer_id=customer["id"], initial_deposit="100.00")
    second = await open_account(
        api, tokens, product="DOM001", currency="USD", customer_id=customer["id"]
    )
    detail = expect(
        await api.get(f"/customers/{customer['id']}", headers=await h(tokens, "viewer")), 200
    )
    assert detail["customer_number"] == customer["customer_number"]
    by_id = {a["id"]: a for a in detail["accounts"]}
    assert set(by_id) == {first["id"], second["id"]}
    assert by_id[first["id"]]["ledger_balance"] == "100.00"
    assert by_id[second["id"]]["currency"] == "USD"
    assert by_id[second["id"]]["ledger_balance"] == "0.00"


async def test_unknown_and_other_tenants_customer_is_404(api, tokens):
    customer = await make_customer(api, tokens)
    other = await api.get(f"/customers/{customer['id']}", headers=await h(tokens, "other_tenant"))
    expect(other, 404, "CUSTOMER_NOT_FOUND")
    for bad in (str(uuid.uuid4()), "not-a-uuid"):
        missing = await api.get(f"/customers/{bad}", headers=await h(tokens, "viewer"))
        expect(missing, 404, "CUSTOMER_NOT_FOUND")
    # Nor does the other tenant find it by searching.
    found = await api.get(
        "/customers", params={"q": customer["email"]}, headers=await h(tokens, "other_tenant")
    )
    assert expect(found, 200)["customers"] == []


async def test_cursor_pagination_walks_every_match_once(api, tokens):
    tag = unique("Page")
    made = [(await make_customer(api, tokens, last_name=f"{tag}{i}"))["id"] for i in range(3)]
    viewer = await h(tokens, "viewer")
    seen, cursor = [], None
    while True:
        params = {"q": tag, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = expect(await api.get("/customers", params=params, headers=viewer), 200)
        assert len(page["customers"]) <= 1
        seen += [c["id"] for c in page["customers"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == list(reversed(made))  # newest first, each once


@pytest.mark.parametrize("cursor", ["garbage!", "W10", "WyJ4IiwgInkiXQ", "WzEsMl0"])
async def test_malformed_cursor_is_invalid_format(api, tokens, cursor):
    response = await api.get(
        "/customers", params={"cursor": cursor}, headers=await h(tokens, "viewer")
    )
    expect(response, 400, "INVALID_FORMAT")

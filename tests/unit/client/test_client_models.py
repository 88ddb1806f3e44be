"""Typed answers: models decode the contract exactly (money, dates, times) or fail clearly."""

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import msgspec
import pytest
from client_fakes import json_response

from app.client import (
    Account,
    ApiKey,
    ApprovalsView,
    BankingAPIInvalidResponse,
    BankingAPIValidationError,
    CloseBlockers,
    IdentityProvider,
    IncomeStatement,
    Journal,
    Page,
    Tenant,
    Transaction,
    Webhook,
    WebhookDelivery,
    parse_business_date,
    parse_money,
    parse_timestamp,
)

TENANT = {
    "id": "t-1",
    "code": "demo_bank",
    "name": "Demo Bank",
    "base_currency": "NGN",
    "timezone": "Africa/Lagos",
    "is_active": True,
    "business_date": "2026-12-07",
    "settings": {
        "teller_approval_limit": "1000000.00",
        "allow_same_maker_checker": False,
        "mfa_required_role": "none",
    },
}

ACCOUNT = {
    "id": "a-1",
    "account_number": "0000000067",
    "customer_id": "c-1",
    "product_code": "SAV001",
    "account_type": "SAVINGS",
    "currency": "NGN",
    "branch_code": "001",
    "alias": None,
    "status": "ACTIVE",
    "status_reason": None,
    "ledger_balance": "999999999999.99",
    "available_balance": "0.10",
    "hold_amount": "0.20",
    "overdraft_limit": "0.00",
    "daily_withdrawal_limit": None,
    "created_at": "2026-12-07T22:13:07.307968Z",
    "closed_at": None,
    "customer_name": "Emeka Nwosu",
}


def answering(body):
    return lambda request: json_response(200, body)


async def test_tenant_business_date_is_a_date_and_money_a_decimal(make_client):
    tenant = await make_client(answering(TENANT)).get("/tenant", model=Tenant, token="t")
    assert tenant.business_date == date(2026, 12, 7)
    assert type(tenant.business_date) is date
    limit = tenant.settings.teller_approval_limit
    assert isinstance(limit, Decimal) and limit == Decimal("1000000.00")
    assert str(limit) == "1000000.00"  # the text as sent: the minor digits are kept


async def test_money_is_exact_never_a_float(make_client):
    account = await make_client(answering(ACCOUNT)).get("/accounts/a-1", model=Account, token="t")
    # 0.1 + 0.2 is 0.30000000000000004 in floats; the decimal strings add up exactly.
    assert account.available_balance + account.hold_amount == Decimal("0.30")
    assert account.ledger_balance == Decimal("999999999999.99")
    assert str(account.ledger_balance) == "999999999999.99"
    assert account.created_at == datetime(2026, 12, 7, 22, 13, 7, 307968, tzinfo=UTC)
    assert account.daily_withdrawal_limit is None and account.holds == []


async def test_unknown_fields_are_ignored(make_client):
    grown = {**TENANT, "loyalty_tier": "gold", "settings": {**TENANT["settings"], "new": 1}}
    tenant = await make_client(answering(grown)).get("/tenant", model=Tenant, token="t")
    assert tenant.code == "demo_bank"
    assert not hasattr(tenant, "loyalty_tier")


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("business_date", "07/12/2026", "$.business_date"),
        ("business_date", "2026-12-07T00:00:00Z", "$.business_date"),
        ("business_date", "2026-02-30", "$.business_date"),
        ("business_date", None, "$.business_date"),
        ("code", 7, "$.code"),
    ],
)
async def test_a_bad_field_is_a_clear_invalid_response(make_client, field, value, where):
    body = {**TENANT, field: value}
    with pytest.raises(BankingAPIInvalidResponse) as caught:
        await make_client(answering(body)).get("/tenant", model=Tenant, token="t", request_id="r9")
    error = caught.value
    assert error.code == "INVALID_RESPONSE" and error.status == 502
    assert error.request_id == "r9"
    assert [d.field for d in error.details] == [where]
    assert "Tenant" in error.message


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity", "1,000.00", "0x10", ""])
async def test_money_that_is_not_a_decimal_string_is_refused(make_client, amount):
    body = copy.deepcopy(TENANT)
    body["settings"]["teller_approval_limit"] = amount
    with pytest.raises(BankingAPIInvalidResponse) as caught:
        await make_client(answering(body)).get("/tenant", model=Tenant, token="t")
    assert caught.value.details[0].field == "$.settings.teller_approval_limit"
    assert "decimal string" in (caught.value.details[0].reason or "")


async def test_a_json_number_is_read_from_its_digits_never_through_a_float(make_client):
    body = copy.deepcopy(TENANT)
    body["settings"]["teller_approval_limit"] = 0.1  # json.dumps writes the digits "0.1"
    tenant = await make_client(answering(body)).get("/tenant", model=Tenant, token="t")
    assert tenant.settings.teller_approval_limit == Decimal("0.1")  # not 0.1000000000000000055…
    assert type(tenant.settings.teller_approval_limit) is Decimal


async def test_money_encodes_back_as_a_decimal_string():
    # A plain Decimal: msgspec (and Litestar, which uses it) write the text, never a float.
    limit = msgspec.convert({"a": "1000000.00"}, dict[str, Decimal])["a"]
    assert msgspec.json.encode({"limit": limit}) == b'{"limit":"1000000.00"}'


async def test_a_missing_field_and_a_naive_timestamp_are_refused(make_client):
    missing = {k: v for k, v in ACCOUNT.items() if k != "available_balance"}
    with pytest.raises(BankingAPIInvalidResponse) as caught:
        await make_client(answering(missing)).get("/accounts/a", model=Account, token="t")
    assert "available_balance" in caught.value.message
    naive = {**ACCOUNT, "created_at": "2026-12-07T22:13:07"}
    with pytest.raises(BankingAPIInvalidResponse) as caught:
        await make_client(answering(naive)).get("/accounts/a", model=Account, token="t")
    assert caught.value.details[0].field == "$.created_at"


async def test_an_answer_that_is_not_json_or_is_empty_is_invalid(make_client):
    html = make_client(lambda r: httpx.Response(200, content=b"<html>proxy</html>"))
    with pytest.raises(BankingAPIInvalidResponse):
        await html.get("/tenant", model=Tenant, token="t")
    empty = make_client(lambda r: httpx.Response(204))
    with pytest.raises(BankingAPIInvalidResponse):
        await empty.get("/tenant", model=Tenant, token="t")
    # The untyped call still takes any answer as it comes.
    assert await empty.get("/tenant", token="t") is None


async def test_an_error_answer_still_raises_its_own_error_with_a_model(make_client):
    body = {
        "code": "VALIDATION_ERROR",
        "message": "Check amount.",
        "details": [{"field": "amount", "code": "not_positive", "reason": "> 0", "value": "0"}],
    }
    client = make_client(lambda r: json_response(400, body))
    with pytest.raises(BankingAPIValidationError) as caught:
        await client.post("/deposits", model=Transaction, token="t", json={})
    assert caught.value.details[0].code == "not_positive"


async def test_the_digital_banking_envelope_is_unwrapped_for_a_model(make_client):
    client = make_client(answering({"success": True, "data": TENANT}))
    tenant = await client.get("/tenant", model=Tenant, token="t")
    assert tenant.business_date == date(2026, 12, 7)
    failed = make_client(answering({"success": False, "error": "No", "code": "ACCOUNT_FROZEN"}))
    with pytest.raises(Exception) as caught:
        await failed.get("/tenant", model=Tenant, token="t")
    assert getattr(caught.value, "code", None) == "ACCOUNT_FROZEN"


async def test_typed_pages_and_paginate(make_client):
    pages = {
        None: {"accounts": [ACCOUNT], "has_more": True, "next_cursor": "c2"},
        "c2": {"accounts": [{**ACCOUNT, "id": "a-2"}], "has_more": False, "next_cursor": None},
    }
    client = make_client(lambda r: json_response(200, pages[r.url.params.get("cursor")]))
    page = await client.get_page("/accounts", model=Account, token="t")
    assert isinstance(page, Page) and page.has_more and page.next_cursor == "c2"
    assert isinstance(page.items[0], Account)
    # The list's key defaults to the model's plural; field= names another.
    same = await client.get_page("/accounts", model=Account, field="accounts", token="t")
    assert same == page
    walked = [a.id async for a in client.paginate("/accounts", model=Account, token="t")]
    assert walked == ["a-1", "a-2"]


async def test_a_page_whose_item_is_wrong_names_the_item(make_client):
    body = {"accounts": [ACCOUNT, {**ACCOUNT, "ledger_balance": "NaN"}], "has_more": False}
    client = make_client(answering(body))
    with pytest.raises(BankingAPIInvalidResponse) as caught:
        await client.get_page("/accounts", model=Account, token="t")
    assert caught.value.details[0].field == "$.accounts[1].ledger_balance"
    wrong_key = make_client(answering({"items": []}))
    with pytest.raises(BankingAPIInvalidResponse):
        await wrong_key.get_page("/accounts", model=Account, token="t")


async def test_approvals_view_nests_typed_queues(make_client):
    journal = {
        "id": "j-1",
        "journal_number": "JV1",
        "journal_type": "GENERAL",
        "status": "PENDING",
        "description": "Accrual",
        "transaction_date": "2026-12-07",
        "effective_date": "2026-12-07",
        "totals": [{"currency_code": "NGN", "debit": "10.00", "credit": "10.00"}],
        "created_by": "u-1",
        "created_at": "2026-12-07T10:00:00+01:00",
    }
    body = {
        "journals_pending": {"items": [journal], "has_more": True},
        "journals_approved": {"items": [], "has_more": False},
        "transactions_pending": {"items": [], "has_more": False},
        "standing_instructions_pending": {"items": [], "has_more": False},
        "waiting": {"journals": {"u-1": 3}, "transactions": {}, "standing_instructions": {}},
    }
    view = await make_client(answering(body)).get(
        "/views/approvals", model=ApprovalsView, token="t"
    )
    first = view.journals_pending.items[0]
    assert isinstance(first, Journal) and view.journals_pending.has_more
    assert first.totals[0].debit == Decimal("10.00")
    assert first.created_at == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert first.entries == [] and view.waiting.journals == {"u-1": 3}


def test_parse_money():
    assert parse_money("1500.00") == Decimal("1500.00")
    assert str(parse_money("0.50")) == "0.50"
    assert parse_money("-20.5") == Decimal("-20.5")
    assert type(parse_money("7")) is Decimal
    for bad in ["", "1e5", "NaN", "1,000", "+1", " 1", "1.", ".5", 1.5, 7, None]:
        with pytest.raises(ValueError, match="decimal string"):
            parse_money(bad)


def test_parse_business_date():
    assert parse_business_date("2026-12-07") == date(2026, 12, 7)
    for bad in ["2026-12-7", "2026-02-30", "2026-12-07T00:00:00Z", "20261207", "", None]:
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            parse_business_date(bad)


def test_parse_timestamp():
    assert parse_timestamp("2026-12-07T10:00:00Z") == datetime(2026, 12, 7, 10, tzinfo=UTC)
    plus_one = parse_timestamp("2026-12-07T11:00:00+01:00")
    assert plus_one.utcoffset() == timedelta(hours=1)
    assert plus_one == datetime(2026, 12, 7, 10, tzinfo=UTC)
    for bad in ["2026-12-07T10:00:00", "2026-12-07", "yesterday", None]:
        with pytest.raises(ValueError, match="RFC 3339"):
            parse_timestamp(bad)


async def test_identity_provider_never_carries_its_secret(make_client):
    body = {
        "display_name": "Staff SSO",
        "issuer": "https://id.bank.test",
        "client_id": "branchdesk",
        "client_secret_set": True,
        "scopes": "openid email",
        "groups_claim": "groups",
        "email_claim": "email",
        "require_verified_email": True,
        "create_users": False,
        "default_branch": None,
        "group_mappings": [{"group": "tellers", "role": "teller", "branch_id": "001"}],
        "enabled": True,
        "updated_at": "2026-12-07T10:00:00Z",
        "updated_by": "u-1",
    }
    client = make_client(answering(body))
    provider = await client.get("/tenant/identity-provider", model=IdentityProvider, token="t")
    assert provider.group_mappings[0].role == "teller" and provider.client_secret_set
    assert not hasattr(provider, "client_secret")


def test_secrets_stay_out_of_repr():
    key = msgspec.convert(
        {
            "id": "k-1",
            "name": "batch",
            "role": "viewer",
            "prefix": "bdk_ab",
            "created_at": "2026-12-07T10:00:00Z",
            "api_key": "bdk_ab_the-secret",
        },
        ApiKey,
    )
    hook = msgspec.convert(
        {
            "id": "w-1",
            "name": "n",
            "url": "https://x.test/h",
            "is_active": True,
            "created_at": "2026-12-07T10:00:00Z",
            "secret": "whsec_the-secret",
        },
        Webhook,
    )
    assert key.api_key == "bdk_ab_the-secret" and "the-secret" not in repr(key)
    assert hook.secret == "whsec_the-secret" and "the-secret" not in repr(hook)


async def test_income_statement_reads_from_as_from_(make_client):
    section = {"lines": [], "total": "0.00"}
    body = {
        "from": "2026-01-01",
        "to": "2026-12-07",
        "currency": "NGN",
        "revenue": section,
        "expenses": section,
        "total_revenue": "0.00",
        "total_expenses": "0.00",
        "net_income": "-12.50",
    }
    client = make_client(answering(body))
    statement = await client.get("/reports/income-statement", model=IncomeStatement, token="t")
    assert statement.from_ == date(2026, 1, 1) and statement.net_income == Decimal("-12.50")


async def test_close_blockers_of_codes_md(make_client):
    body = {
        "period_id": "p-1",
        "can_close": False,
        "close_blockers": [
            {
                "kind": "journal",
                "id": "j-1",
                "reference": "JV1",
                "status": "PENDING",
                "description": "Accrual",
                "amount": "10.00",
                "currency": "NGN",
                "date": "2026-12-01",
            },
            {"kind": "earlier_period", "id": "p-0", "status": "open"},
        ],
    }
    client = make_client(answering(body))
    blockers = await client.get(
        "/fiscal-periods/p-1/close-blockers", model=CloseBlockers, token="t"
    )
    journal, earlier = blockers.close_blockers
    assert journal.amount == Decimal("10.00") and journal.date == date(2026, 12, 1)
    assert earlier.amount is None and earlier.reference is None


async def test_webhook_deliveries_with_their_attempts(make_client):
    delivery = {
        "id": "d-1",
        "webhook_id": "w-1",
        "event_id": "evt_1",
        "event_type": "journal.posted",
        "status": "PENDING",
        "attempt_count": 1,
        "next_attempt_at": "2026-12-07T10:05:00Z",
        "last_attempt_at": "2026-12-07T10:00:00Z",
        "last_status_code": 503,
        "last_error": None,
        "delivered_at": None,
        "created_at": "2026-12-07T09:59:59Z",
        "attempts": [
            {
                "number": 1,
                "attempted_at": "2026-12-07T10:00:00Z",
                "status_code": 503,
                "error": None,
                "duration_ms": 12,
            }
        ],
    }
    client = make_client(answering({"deliveries": [delivery], "has_more": False}))
    page = await client.get_page("/webhooks/w-1/deliveries", model=WebhookDelivery, token="t")
    (only,) = page.items
    assert only.attempts[0].status_code == 503 and only.delivered_at is None
    assert only.next_attempt_at == datetime(2026, 12, 7, 10, 5, tzinfo=UTC)

"""Contract tests: the shared client against the real core app (httpx.ASGITransport)."""

import uuid
from datetime import date
from decimal import Decimal

import httpx
import pytest

from app.client import (
    Account,
    AccountView,
    ApiKey,
    ApprovalsView,
    AuditEvent,
    AuditVerification,
    BalanceSheet,
    BankingAPIAuthError,
    BankingAPIConflict,
    BankingAPINotFound,
    BankingAPIPermissionError,
    BankingAPIValidationError,
    BankingClient,
    BatchResults,
    Branch,
    Chart,
    CloseBlockers,
    Customer,
    FiscalPeriod,
    GLAccount,
    GLEntry,
    IncomeStatement,
    InMemoryTokenHolder,
    Job,
    Journal,
    Product,
    SecondFactor,
    StandingExecution,
    StandingInstruction,
    Statement,
    TellerSummary,
    Tenant,
    TokenRefresher,
    TokenSet,
    Transaction,
    TransactionView,
    TrialBalance,
    User,
    UsersSummary,
    Webhook,
    WebhookDelivery,
)
from tests.support import API, SANDBOX_PASSWORD, TENANT


@pytest.fixture
async def client(core_app):
    transport = httpx.ASGITransport(app=core_app, client=("127.0.0.1", 41000))
    async with BankingClient(
        base_url=f"http://testserver{API}", tenant_id=TENANT, transport=transport
    ) as banking:
        yield banking


async def test_login_me_and_logout(client):
    result = await client.login("officer@demo.bank", SANDBOX_PASSWORD, request_id="contract-1")
    assert result.user.roles == ["officer"]
    assert result.tenant.code == TENANT
    me = await client.me(result.access_token)
    assert "accounts:write" in me.scopes
    await client.logout(result.access_token)
    with pytest.raises(BankingAPIAuthError) as refused:
        await client.me(result.access_token)
    assert refused.value.code == "TOKEN_REVOKED"


async def test_typed_errors_carry_code_details_and_request_id(client):
    with pytest.raises(BankingAPIAuthError) as bad_login:
        await client.login("officer@demo.bank", "wrong", request_id="contract-2")
    assert bad_login.value.code == "INVALID_CREDENTIALS"
    assert bad_login.value.request_id == "contract-2"
    viewer = await client.login("viewer@demo.bank", SANDBOX_PASSWORD)
    with pytest.raises(BankingAPIPermissionError) as forbidden:
        await client.get("/users", token=viewer.access_token)
    assert forbidden.value.code == "INSUFFICIENT_ROLE"
    with pytest.raises(BankingAPINotFound) as missing:
        await client.get(f"/customers/{uuid.uuid4()}", token=viewer.access_token)
    assert missing.value.code == "CUSTOMER_NOT_FOUND"
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    with pytest.raises(BankingAPIValidationError) as invalid:
        await client.post("/branches", token=admin.access_token, json={"code": "!", "name": ""})
    assert {d["field"] for d in invalid.value.details} >= {"code"}


async def test_idempotent_write_replays_through_the_client(client):
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    key = f"contract-{uuid.uuid4().hex}"
    body = {"code": uuid.uuid4().hex[:8].upper(), "name": "Contract Branch"}
    first = await client.post("/branches", token=admin.access_token, json=body, idempotency_key=key)
    again = await client.post("/branches", token=admin.access_token, json=body, idempotency_key=key)
    assert again == first
    with pytest.raises(BankingAPIConflict) as conflict:
        await client.post(
            "/branches",
            token=admin.access_token,
            json={**body, "name": "Other"},
            idempotency_key=key,
        )
    assert conflict.value.code == "IDEMPOTENCY_CONFLICT"


async def test_paginate_walks_every_page(client):
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    everything = (await client.get("/users", token=admin.access_token, params={"limit": 200}))[
        "users"
    ]
    walked = [
        u async for u in client.paginate("/users", "users", token=admin.access_token, page_size=2)
    ]
    assert [u["id"] for u in walked] == [u["id"] for u in everything]
    assert len(walked) >= 7  # the sandbox staff of demo_bank, and more


async def test_refresher_refreshes_against_the_real_core(client):
    from datetime import UTC, datetime, timedelta

    result = await client.login("teller@demo.bank", SANDBOX_PASSWORD)
    soon = datetime.now(UTC) + timedelta(seconds=60)  # inside the 5-minute margin
    holder = InMemoryTokenHolder(
        TokenSet(
            access_token=result.access_token, refresh_token=result.refresh_token, expires_at=soon
        )
    )
    refresher = TokenRefresher(client)
    fresh = await refresher.access_token(holder, TENANT)
    assert fresh != result.access_token
    assert (await client.me(fresh)).roles == ["teller"]
    stored = await holder.load()
    assert stored is not None and stored.refresh_token != result.refresh_token


# -- typed reads: each resource of the teller pages and home through its model ---------------


def decimal_text(value) -> str:
    """How the core writes an amount: the typed value must keep exactly that text."""
    return format(value, "f")


async def test_tenant_and_me_through_their_models(client):
    teller = await client.login("teller@demo.bank", SANDBOX_PASSWORD)
    raw = await client.get("/tenant", token=teller.access_token)
    tenant = await client.get("/tenant", model=Tenant, token=teller.access_token)
    assert tenant.business_date == date.fromisoformat(raw["business_date"])
    assert tenant.code == TENANT and tenant.base_currency == raw["base_currency"]
    limit = tenant.settings.teller_approval_limit
    assert isinstance(limit, Decimal)
    assert decimal_text(limit) == raw["settings"]["teller_approval_limit"]
    me = await client.me(teller.access_token)
    assert me.roles == ["teller"] and me.tenant.code == TENANT


async def test_accounts_and_customers_through_their_models(client):
    officer = await client.login("officer@demo.bank", SANDBOX_PASSWORD)
    token = officer.access_token
    raw = (await client.get("/accounts", token=token, params={"limit": 200}))["accounts"]
    typed = [a async for a in client.paginate("/accounts", model=Account, token=token, page_size=3)]
    assert [a.id for a in typed] == [a["id"] for a in raw]
    for account, sent in zip(typed, raw, strict=True):
        assert isinstance(account, Account)
        for money in ("ledger_balance", "available_balance", "hold_amount", "overdraft_limit"):
            assert decimal_text(getattr(account, money)) == sent[money]
        assert account.created_at.tzinfo is not None
        assert account.customer_name == sent["customer_name"]

    one = await client.get(f"/accounts/{typed[0].id}", model=Account, token=token)
    assert one.id == typed[0].id and isinstance(one.holds, list)
    statement = await client.get(f"/accounts/{one.id}/transactions", model=Statement, token=token)
    assert statement.account.id == one.id
    view = await client.get(f"/views/accounts/{one.id}", model=AccountView, token=token)
    assert view.account.account_number == one.account_number
    assert view.totals.closing_balance == one.ledger_balance or view.has_more
    for line in view.transactions:
        assert isinstance(line.effective_date, date) and isinstance(line.balance_after, Decimal)

    page = await client.get_page("/customers", model=Customer, token=token, page_size=2)
    assert len(page.items) == 2 and page.has_more
    customer = await client.get(f"/customers/{one.customer_id}", model=Customer, token=token)
    assert one.id in {a.id for a in customer.accounts}
    assert customer.display_name


async def test_teller_transactions_and_approvals_through_their_models(client):
    teller = await client.login("teller@demo.bank", SANDBOX_PASSWORD)
    manager = await client.login("manager@demo.bank", SANDBOX_PASSWORD)
    tenant = await client.get("/tenant", model=Tenant, token=teller.access_token)
    account = (
        await client.get_page(
            "/accounts",
            model=Account,
            token=teller.access_token,
            params={"status": "ACTIVE", "currency": tenant.base_currency},
            page_size=1,
        )
    ).items[0]

    small = await client.post(
        "/deposits",
        model=Transaction,
        token=teller.access_token,
        json={"account_id": account.id, "amount": Decimal("12.34"), "currency": account.currency},
        idempotency_key=uuid.uuid4().hex,
    )
    assert small.status == "COMPLETED" and small.amount == Decimal("12.34")
    assert small.balance_after == account.ledger_balance + Decimal("12.34")
    assert small.business_date == tenant.business_date

    above_limit = tenant.settings.teller_approval_limit + Decimal("0.01")
    pending = await client.post(
        "/deposits",
        model=Transaction,
        token=teller.access_token,
        json={"account_id": account.id, "amount": above_limit, "currency": account.currency},
        idempotency_key=uuid.uuid4().hex,
    )
    assert pending.status == "PENDING_APPROVAL" and pending.balance_after is None

    listed = await client.get_page(
        "/transactions",
        model=Transaction,
        token=teller.access_token,
        params={"status": "PENDING_APPROVAL"},
    )
    assert pending.id in {t.id for t in listed.items}
    shown = await client.get(
        f"/views/transactions/{pending.id}", model=TransactionView, token=teller.access_token
    )
    assert shown.account_number == account.account_number and shown.amount == above_limit

    queue = await client.get(
        "/views/approvals", model=ApprovalsView, token=manager.access_token, params={"limit": 200}
    )
    waiting = {t.id: t for t in queue.transactions_pending.items}
    assert pending.id in waiting or queue.transactions_pending.has_more
    assert queue.waiting.transactions.get(pending.created_by, 0) >= 1
    for journal in queue.journals_pending.items + queue.journals_approved.items:
        assert all(total.debit == total.credit for total in journal.totals)

    journals = await client.get_page("/journals", model=Journal, token=manager.access_token)
    posted = await client.get(
        f"/journals/{small.journal_id}", model=Journal, token=manager.access_token
    )
    assert posted.status == "POSTED" and len(posted.entries) >= 2
    assert sum(e.amount for e in posted.entries if e.entry_type == "debit") == Decimal("12.34")
    assert journals.items and isinstance(journals.items[0].transaction_date, date)

    await client.post(
        f"/transactions/{pending.id}/reject",
        token=manager.access_token,
        json={"reason": "contract test"},
    )


# -- typed reads: the back office's resources ---------------------------------------------


async def test_periods_ledger_and_reports_through_their_models(client):
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    token = admin.access_token
    periods = [p async for p in client.paginate("/fiscal-periods", model=FiscalPeriod, token=token)]
    assert periods and all(p.start_date <= p.end_date for p in periods)
    current = await client.get("/fiscal-periods/current", model=FiscalPeriod, token=token)
    one = await client.get(f"/fiscal-periods/{current.id}", model=FiscalPeriod, token=token)
    assert one.status == "open" and one.trial_balance_snapshot is None

    chart = await client.get("/gl/accounts", model=Chart, token=token)
    leaves = list(walk(chart.gl_accounts))
    assert leaves and all(isinstance(node.balance, Decimal) for node in leaves)
    cash = next(node for node in leaves if node.role == "teller_cash")
    single = await client.get(f"/gl/accounts/{cash.id}", model=GLAccount, token=token)
    assert single.balance == cash.balance and single.children == []
    entries = await client.get_page(f"/gl/accounts/{cash.id}/entries", model=GLEntry, token=token)
    assert entries.items and all(isinstance(e.balance_after, Decimal) for e in entries.items)

    trial = await client.get("/reports/trial-balance", model=TrialBalance, token=token)
    assert trial.balanced and trial.total_debit == sum(line.debit for line in trial.lines)
    sheet = await client.get("/reports/balance-sheet", model=BalanceSheet, token=token)
    assert sheet.total_assets == sum(line.balance for line in sheet.assets.lines)
    income = await client.get("/reports/income-statement", model=IncomeStatement, token=token)
    assert income.from_ <= income.to and income.months
    tellers = await client.get("/reports/teller-summary", model=TellerSummary, token=token)
    assert all(row.deposits.count >= 0 for row in tellers.tellers)


async def test_admin_resources_through_their_models(client):
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    token = admin.access_token
    branches = await client.get_page("/branches", model=Branch, token=token)
    assert "001" in {b.code for b in branches.items}
    products = await client.get_page("/products", model=Product, token=token)
    assert all(p.currencies for p in products.items)
    users = [u async for u in client.paginate("/users", model=User, token=token, page_size=3)]
    assert "admin@demo.bank" in {u.email for u in users}
    assert all(u.created_at.tzinfo is not None for u in users)
    teller = next(u for u in users if u.email == "teller@demo.bank")
    factor = await client.get(f"/users/{teller.id}/second-factor", model=SecondFactor, token=token)
    assert factor.enrolled in {True, False} and factor.pending_reset is None

    created = await client.post(
        "/api-keys", model=ApiKey, token=token, json={"name": "typed", "role": "viewer"}
    )
    assert created.api_key and created.api_key not in repr(created)
    keys = await client.get_page("/api-keys", model=ApiKey, token=token, page_size=200)
    assert created.id in {k.id for k in keys.items}
    assert all(k.api_key is None for k in keys.items)
    await client.delete(f"/api-keys/{created.id}", token=token)

    hook = await client.post(
        "/webhooks",
        model=Webhook,
        token=token,
        json={"name": "typed", "url": "http://127.0.0.1:9/typed", "events": ["journal.posted"]},
    )
    assert hook.secret and hook.secret not in repr(hook)
    listed = await client.get_page("/webhooks", model=Webhook, token=token, page_size=200)
    assert hook.id in {w.id for w in listed.items}
    deliveries = await client.get_page(
        f"/webhooks/{hook.id}/deliveries", model=WebhookDelivery, token=token
    )
    assert deliveries.items == []
    await client.delete(f"/webhooks/{hook.id}", token=token)

    events = await client.get_page("/audit-logs", model=AuditEvent, token=token, page_size=20)
    assert "webhook" in {e.entity_type for e in events.items}
    assert all(e.at.tzinfo is not None for e in events.items)
    verified = await client.get("/audit-logs/verify", model=AuditVerification, token=token)
    assert verified.valid


async def test_standing_instructions_and_jobs_through_their_models(client):
    officer = await client.login("officer@demo.bank", SANDBOX_PASSWORD)
    manager = await client.login("manager@demo.bank", SANDBOX_PASSWORD)
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    tenant = await client.get("/tenant", model=Tenant, token=officer.access_token)
    accounts = await client.get_page(
        "/accounts",
        model=Account,
        token=officer.access_token,
        params={"status": "ACTIVE", "currency": tenant.base_currency, "branch_code": "001"},
        page_size=2,
    )
    source, destination = accounts.items
    made = await client.post(
        "/standing-instructions",
        model=StandingInstruction,
        token=officer.access_token,
        json={
            "source_account_id": source.id,
            "destination_account_id": destination.id,
            "amount": "1.50",
            "currency": tenant.base_currency,
            "frequency": "DAILY",
            "start_date": tenant.business_date.isoformat(),
            "narration": "typed client",
        },
    )
    assert made.status == "PENDING_APPROVAL" and made.amount == Decimal("1.50")
    assert made.start_date == tenant.business_date and made.approved_at is None
    approved = await client.post(
        f"/standing-instructions/{made.id}/approve",
        model=StandingInstruction,
        token=manager.access_token,
        json={},
    )
    assert approved.status == "ACTIVE" and approved.approved_at is not None
    listed = await client.get_page(
        "/standing-instructions", model=StandingInstruction, token=officer.access_token
    )
    assert made.id in {s.id for s in listed.items}

    job = await client.post(
        "/jobs/standing-instructions/trigger", model=Job, token=admin.access_token, json={}
    )
    assert job.job_type == "STANDING_INSTRUCTIONS" and job.business_date == tenant.business_date
    assert job.instructions_executed >= 1 and job.completed_at is not None
    runs = await client.get_page(
        f"/standing-instructions/{made.id}/executions",
        model=StandingExecution,
        token=officer.access_token,
    )
    (run,) = runs.items
    assert run.business_date == tenant.business_date and run.amount == Decimal("1.50")
    assert run.status == "COMPLETED" and run.job_id == job.job_id
    await client.post(
        f"/standing-instructions/{made.id}/cancel", token=officer.access_token, json={}
    )


async def test_batch_results_through_their_model(client):
    officer = await client.login("officer@demo.bank", SANDBOX_PASSWORD)
    tenant = await client.get("/tenant", model=Tenant, token=officer.access_token)
    accounts = await client.get_page(
        "/accounts",
        model=Account,
        token=officer.access_token,
        params={"status": "ACTIVE", "currency": tenant.base_currency, "branch_code": "001"},
        page_size=2,
    )
    source, destination = accounts.items
    move = {
        "source_account_id": source.id,
        "destination_account_id": destination.id,
        "currency": tenant.base_currency,
        "narration": "typed batch",
    }
    batch = await client.post(
        "/transfers/batch",
        model=BatchResults,
        token=officer.access_token,
        json={
            "mode": "independent",
            "transfers": [{**move, "amount": "0.01"}, {**move, "amount": "0"}],
        },
        idempotency_key=uuid.uuid4().hex,
    )
    done, failed = batch.results
    assert done.status == "COMPLETED" and done.transaction is not None
    assert done.transaction.amount == Decimal("0.01")
    assert failed.status == "FAILED" and failed.error is not None
    assert failed.error.code == "VALIDATION_ERROR"


async def test_new_reads_of_issue_12_through_their_models(client):
    """``/users/summary`` and ``/fiscal-periods/{id}/close-blockers`` (codes.md)."""
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    token = admin.access_token
    current = await client.get("/fiscal-periods/current", model=FiscalPeriod, token=token)
    summary = await client.get("/users/summary", model=UsersSummary, token=token)
    blockers = await client.get(
        f"/fiscal-periods/{current.id}/close-blockers", model=CloseBlockers, token=token
    )
    assert summary.total == summary.active + summary.inactive
    assert blockers.period_id == current.id
    assert blockers.can_close == (not blockers.close_blockers)
    assert blockers.blocker_count is None or blockers.blocker_count >= len(blockers.close_blockers)
    for blocker in blockers.close_blockers:
        assert blocker.kind in {"journal", "teller_transaction", "earlier_period"}


def walk(nodes):
    """Every leaf of the chart."""
    for node in nodes:
        if node.children:
            yield from walk(node.children)
        else:
            yield node


async def test_refusals_carry_the_detail_codes_of_issue_12(client):
    """A refused write's ``details`` reach the caller with their ``code`` (codes.md)."""
    teller = await client.login("teller@demo.bank", SANDBOX_PASSWORD)
    account = (
        await client.get_page("/accounts", model=Account, token=teller.access_token, page_size=1)
    ).items[0]
    with pytest.raises(BankingAPIValidationError) as refused:
        await client.post(
            "/deposits",
            model=Transaction,
            token=teller.access_token,
            json={"account_id": account.id, "amount": "0", "currency": account.currency},
            idempotency_key=uuid.uuid4().hex,
        )
    (detail,) = [d for d in refused.value.details if d.field == "amount"]
    assert detail.reason and detail.value == "0"
    assert detail.code == "not_positive"

"""Real answers are exactly their documented models (issue 12): every member the model
names, no member it does not (the models refuse unknown members), types as the document
says. Each call goes through the real core; each body is converted into its model."""

from typing import Any

import msgspec
import pytest

from app.core.contract.answers import Operation, answers
from tests.integration.api.ledger_helpers import (
    deposit,
    expect,
    h,
    make_customer,
    open_account,
    transfer,
    withdraw,
)

# Fixtures of their own modules: a core in production mode, a running OIDC provider.
from tests.integration.api.test_mfa import production_api  # noqa: F401
from tests.integration.api.test_sso import identity_provider  # noqa: F401

pytestmark = pytest.mark.usefixtures("ledger_checked", "answer_models")

# Each operation's model, as its handler states it (filled once from the app under test).
ANSWERS: dict[Operation, type[msgspec.Struct]] = {}


@pytest.fixture
def answer_models(core_app: Any) -> None:
    if not ANSWERS:
        ANSWERS.update(answers(core_app))


def check(method: str, path: str, body: Any) -> Any:
    """``body`` as the model the document names for (method, path)."""
    return msgspec.convert(body, ANSWERS[(method, path)], strict=True)


async def test_customer_and_account_answers_are_their_models(api, tokens):
    officer = await h(tokens, "officer")
    customer = await make_customer(api, tokens)
    check("POST", "/customers", customer)
    opened = await open_account(api, tokens, customer_id=customer["id"], initial_deposit="25.00")
    typed = check("POST", "/accounts", opened)
    assert typed.initial_deposit_transaction.amount == "25.00"
    plain = await open_account(api, tokens, customer_id=customer["id"])
    assert "initial_deposit_transaction" not in plain
    check("POST", "/accounts", plain)
    detail = expect(await api.get(f"/customers/{customer['id']}", headers=officer), 200)
    assert len(check("GET", "/customers/{customer_id}", detail).accounts) == 2
    listed = expect(await api.get("/customers", params={"limit": 2}, headers=officer), 200)
    check("GET", "/customers", listed)
    one = expect(await api.get(f"/accounts/{opened['id']}", headers=officer), 200)
    assert check("GET", "/accounts/{account_id}", one).customer_name
    by_number = expect(
        await api.get(f"/accounts/by-number/{opened['account_number']}", headers=officer), 200
    )
    check("GET", "/accounts/by-number/{account_number}", by_number)
    page = expect(await api.get("/accounts", params={"limit": 3}, headers=officer), 200)
    check("GET", "/accounts", page)
    check("GET", "/products", expect(await api.get("/products", headers=officer), 200))
    hold = expect(
        await api.post(
            f"/accounts/{opened['id']}/holds",
            json={"amount": "5.00", "reason": "lien"},
            headers=officer,
        ),
        201,
    )
    check("POST", "/accounts/{account_id}/holds", hold)
    held = expect(await api.get(f"/accounts/{opened['id']}", headers=officer), 200)
    assert [x.id for x in check("GET", "/accounts/{account_id}", held).holds] == [hold["id"]]
    released = expect(
        await api.delete(f"/accounts/{opened['id']}/holds/{hold['id']}", headers=officer), 200
    )
    check("DELETE", "/accounts/{account_id}/holds/{hold_id}", released)
    for action in ("freeze", "unfreeze"):
        changed = expect(
            await api.post(
                f"/accounts/{plain['id']}/{action}", json={"reason": "check"}, headers=officer
            ),
            200,
        )
        check("POST", f"/accounts/{{account_id}}/{action}", changed)
    closed = expect(
        await api.post(f"/accounts/{plain['id']}/close", json={"reason": "done"}, headers=officer),
        200,
    )
    assert check("POST", "/accounts/{account_id}/close", closed).closed_at is not None


async def test_money_answers_are_their_models(api, tokens):
    a = await open_account(api, tokens, initial_deposit="100.00")
    b = await open_account(api, tokens)
    check("POST", "/deposits", expect(await deposit(api, tokens, a["id"], "10.00"), 201))
    check("POST", "/withdrawals", expect(await withdraw(api, tokens, a["id"], "1.00"), 201))
    moved = expect(await transfer(api, tokens, a["id"], b["id"], "2.00"), 201)
    check("POST", "/transfers/internal", moved)
    viewer = await h(tokens, "viewer")
    for ref in (moved["id"], moved["transaction_ref"]):
        one = expect(await api.get(f"/transactions/{ref}", headers=viewer), 200)
        check("GET", "/transactions/{id_or_ref}", one)
    listed = expect(
        await api.get("/transactions", params={"account_id": a["id"]}, headers=viewer), 200
    )
    assert len(check("GET", "/transactions", listed).transactions) >= 3
    statement = expect(await api.get(f"/accounts/{a['id']}/transactions", headers=viewer), 200)
    assert check("GET", "/accounts/{account_id}/transactions", statement).transactions
    batch = expect(
        await api.post(
            "/transfers/batch",
            json={
                "mode": "independent",
                "transfers": [
                    {
                        "source_account_id": a["id"],
                        "destination_account_id": b["id"],
                        "amount": "1.00",
                        "currency": "NGN",
                    },
                    {
                        "source_account_id": a["id"],
                        "destination_account_id": b["id"],
                        "amount": "0",
                        "currency": "NGN",
                    },
                ],
            },
            headers=await h(tokens, "officer", key=True),
        ),
        200,
    )
    results = check("POST", "/transfers/batch", batch).results
    assert [r.status for r in results] == ["COMPLETED", "FAILED"]
    assert results[1].error.details[0].code == "not_positive"


async def test_approval_answers_are_their_models(api, tokens, core_app):
    from tests.integration.api.private_tenant import make_tenant

    bank = await make_tenant(core_app, api, tokens, teller_approval_limit=10_00)
    today = expect(await api.get("/tenant", headers=bank.h("viewer")), 200)["business_date"]
    expect(await api.post(f"/fiscal-periods/year/{today[:4]}", headers=bank.h("admin")), 201)
    account = await bank.open_account()
    for decision in ("approve", "reject"):
        pending = expect(await bank.deposit(account["id"], "50.00"), 201)
        assert check("POST", "/deposits", pending).status == "PENDING_APPROVAL"
        body = {"reason": "not today"} if decision == "reject" else None
        decided = expect(
            await api.post(
                f"/transactions/{pending['id']}/{decision}",
                json=body,
                headers=bank.h("officer", key=True),
            ),
            200,
        )
        check("POST", f"/transactions/{{transaction_id}}/{decision}", decided)


async def test_tenant_staff_and_period_answers_are_their_models(api, tokens, core_app):
    from tests.integration.api.private_tenant import make_tenant

    bank = await make_tenant(core_app, api, tokens)
    admin = bank.h("admin")
    check("GET", "/tenant", expect(await api.get("/tenant", headers=admin), 200))
    check("GET", "/branches", expect(await api.get("/branches", headers=admin), 200))
    branch = expect(
        await api.post("/branches", json={"code": "009", "name": "Yaba"}, headers=admin), 201
    )
    check("POST", "/branches", branch)
    users = expect(await api.get("/users", params={"limit": 2}, headers=admin), 200)
    assert check("GET", "/users", users).has_more is True
    check("GET", "/users/summary", expect(await api.get("/users/summary", headers=admin), 200))
    user_id = bank.users["viewer"]
    check("GET", "/users/{user_id}", expect(await api.get(f"/users/{user_id}", headers=admin), 200))
    patched = expect(
        await api.patch(f"/users/{user_id}", json={"name": "Vera Viewer"}, headers=admin), 200
    )
    check("PATCH", "/users/{user_id}", patched)
    unlocked = expect(await api.post(f"/users/{user_id}/unlock", headers=admin), 200)
    check("POST", "/users/{user_id}/unlock", unlocked)
    revoked = expect(await api.post(f"/users/{user_id}/revoke-sessions", headers=admin), 200)
    check("POST", "/users/{user_id}/revoke-sessions", revoked)
    key = expect(
        await api.post("/api-keys", json={"name": "reports", "role": "viewer"}, headers=admin),
        201,
    )
    assert check("POST", "/api-keys", key).api_key
    keys = expect(await api.get("/api-keys", headers=admin), 200)
    assert all(k.api_key is msgspec.UNSET for k in check("GET", "/api-keys", keys).api_keys)

    today = expect(await api.get("/tenant", headers=admin), 200)["business_date"]
    year = expect(await api.post(f"/fiscal-periods/year/{today[:4]}", headers=admin), 201)
    periods = check("POST", "/fiscal-periods/year/{year}", year).fiscal_periods
    listed = expect(await api.get("/fiscal-periods", headers=admin), 200)
    check("GET", "/fiscal-periods", listed)
    current = expect(await api.get("/fiscal-periods/current", headers=admin), 200)
    check("GET", "/fiscal-periods/current", current)
    first = periods[0].id
    one = expect(await api.get(f"/fiscal-periods/{first}", headers=admin), 200)
    assert check("GET", "/fiscal-periods/{period_id}", one).trial_balance_snapshot is None
    blockers = expect(await api.get(f"/fiscal-periods/{first}/close-blockers", headers=admin), 200)
    check("GET", "/fiscal-periods/{period_id}/close-blockers", blockers)
    if today[5:7] != "01":
        closed = expect(await api.post(f"/fiscal-periods/{first}/close", headers=admin), 200)
        snapshot = check("POST", "/fiscal-periods/{period_id}/close", closed)
        assert snapshot.trial_balance_snapshot is not None
    made = expect(
        await api.post(
            "/fiscal-periods",
            json={
                "fiscal_year": 2031,
                "period_number": 1,
                "period_name": "January 2031",
                "start_date": "2031-01-01",
                "end_date": "2031-01-31",
            },
            headers=admin,
        ),
        201,
    )
    check("POST", "/fiscal-periods", made)


async def test_standing_and_webhook_answers_are_their_models(api, tokens, core_app):
    from tests.integration.api.private_tenant import make_tenant

    bank = await make_tenant(core_app, api, tokens)
    admin = bank.h("admin")
    today = expect(await api.get("/tenant", headers=admin), 200)["business_date"]
    expect(await api.post(f"/fiscal-periods/year/{today[:4]}", headers=admin), 201)
    a, b = await bank.open_account(), await bank.open_account()
    made = expect(
        await api.post(
            "/standing-instructions",
            json={
                "source_account_id": a["id"],
                "destination_account_id": b["id"],
                "amount": "12.50",
                "currency": "NGN",
                "frequency": "MONTHLY",
                "start_date": today,
                "narration": "rent",
            },
            headers=bank.h("officer"),
        ),
        201,
    )
    check("POST", "/standing-instructions", made)
    approved = expect(
        await api.post(f"/standing-instructions/{made['id']}/approve", headers=bank.h("manager")),
        200,
    )
    check("POST", "/standing-instructions/{instruction_id}/approve", approved)
    one = expect(await api.get(f"/standing-instructions/{made['id']}", headers=admin), 200)
    check("GET", "/standing-instructions/{instruction_id}", one)
    listed = expect(await api.get("/standing-instructions", headers=admin), 200)
    check("GET", "/standing-instructions", listed)
    run = expect(await api.post("/jobs/standing-instructions/trigger", json={}, headers=admin), 200)
    assert check("POST", "/jobs/standing-instructions/trigger", run).status == "COMPLETED"
    trail = expect(await api.get("/audit-logs", params={"limit": 20}, headers=admin), 200)
    assert check("GET", "/audit-logs", trail).audit_logs
    runs = expect(
        await api.get(f"/standing-instructions/{made['id']}/executions", headers=admin), 200
    )
    assert check("GET", "/standing-instructions/{instruction_id}/executions", runs).executions
    cancelled = expect(
        await api.post(
            f"/standing-instructions/{made['id']}/cancel",
            json={"reason": "moved out"},
            headers=bank.h("officer"),
        ),
        200,
    )
    check("POST", "/standing-instructions/{instruction_id}/cancel", cancelled)

    hook = expect(
        await api.post(
            "/webhooks",
            json={"name": "books", "url": "http://127.0.0.1:9/hook", "events": ["period.closed"]},
            headers=admin,
        ),
        201,
    )
    assert check("POST", "/webhooks", hook).secret
    check("GET", "/webhooks", expect(await api.get("/webhooks", headers=admin), 200))
    one_hook = expect(await api.get(f"/webhooks/{hook['id']}", headers=admin), 200)
    assert check("GET", "/webhooks/{webhook_id}", one_hook).secret is msgspec.UNSET
    patched = expect(
        await api.patch(f"/webhooks/{hook['id']}", json={"is_active": False}, headers=admin), 200
    )
    check("PATCH", "/webhooks/{webhook_id}", patched)
    deliveries = expect(await api.get(f"/webhooks/{hook['id']}/deliveries", headers=admin), 200)
    check("GET", "/webhooks/{webhook_id}/deliveries", deliveries)


async def test_ledger_and_journal_answers_are_their_models(api, tokens):
    from tests.integration.api.journal_helpers import act, draft, gl, line, new_gl_account

    viewer = await h(tokens, "viewer")
    check("GET", "/gl/accounts", expect(await api.get("/gl/accounts", headers=viewer), 200))
    made = await new_gl_account(api, tokens)
    check("POST", "/gl/accounts", made)
    one = expect(await api.get(f"/gl/accounts/{made['id']}", headers=viewer), 200)
    check("GET", "/gl/accounts/{gl_account_id}", one)
    renamed = expect(
        await api.patch(
            f"/gl/accounts/{made['id']}",
            json={"name": "Renamed"},
            headers=await h(tokens, "officer"),
        ),
        200,
    )
    check("PATCH", "/gl/accounts/{gl_account_id}", renamed)
    chart = await gl(api, tokens)
    entries = [
        line(chart["1400"]["id"], "3.00", "debit"),
        line(chart["4200"]["id"], "3.00", "credit"),
    ]
    drafted = expect(await draft(api, tokens, entries), 201)
    check("POST", "/journals", drafted)
    approved = expect(await act(api, tokens, drafted["id"], "approve"), 200)
    check("POST", "/journals/{journal_id}/approve", approved)
    posted = expect(await act(api, tokens, drafted["id"], "post"), 200)
    check("POST", "/journals/{journal_id}/post", posted)
    reversed_ = expect(
        await act(api, tokens, drafted["id"], "reverse", "manager", reason="wrong account"), 200
    )
    check("POST", "/journals/{journal_id}/reverse", reversed_)
    other = expect(await draft(api, tokens, entries), 201)
    rejected = expect(await act(api, tokens, other["id"], "reject", reason="duplicate"), 200)
    check("POST", "/journals/{journal_id}/reject", rejected)
    whole = expect(await api.get(f"/journals/{drafted['id']}", headers=viewer), 200)
    assert check("GET", "/journals/{journal_id}", whole).entries
    for with_entries in ("true", "false"):
        page = expect(
            await api.get(
                "/journals", params={"limit": 5, "entries": with_entries}, headers=viewer
            ),
            200,
        )
        check("GET", "/journals", page)
    lines = expect(
        await api.get(f"/gl/accounts/{chart['4200']['id']}/entries", headers=viewer), 200
    )
    assert check("GET", "/gl/accounts/{gl_account_id}/entries", lines).entries


async def test_sign_in_answers_are_their_models(api, tokens, core_app):
    from tests.integration.api.private_tenant import make_tenant
    from tests.support import SANDBOX_PASSWORD

    bank = await make_tenant(core_app, api, tokens, sign_in=("admin",))
    tenant = {"X-Tenant-ID": bank.code}
    signed_in = expect(
        await api.post(
            "/auth/login",
            json={"email": f"viewer@{bank.code}.test", "password": SANDBOX_PASSWORD},
            headers=tenant,
        ),
        200,
    )
    pair = check("POST", "/auth/login", signed_in)
    me = expect(
        await api.get(
            "/auth/me", headers={**tenant, "Authorization": f"Bearer {pair.access_token}"}
        ),
        200,
    )
    assert check("GET", "/auth/me", me).kind == "user"
    rotated = expect(
        await api.post("/auth/refresh", json={"refresh_token": pair.refresh_token}, headers=tenant),
        200,
    )
    check("POST", "/auth/refresh", rotated)
    key = expect(
        await api.post(
            "/api-keys", json={"name": "robot", "role": "viewer"}, headers=bank.h("admin")
        ),
        201,
    )
    exchanged = expect(
        await api.post("/auth/token", json={"api_key": key["api_key"]}, headers=tenant), 200
    )
    assert check("POST", "/auth/token", exchanged).user.email == "api-key:robot"


def _gl_codes(chart: dict) -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            found[node["code"]] = node["id"]
            walk(node["children"])

    walk(chart["gl_accounts"])
    return found


async def test_report_and_view_answers_are_their_models(api, tokens, core_app):
    from tests.integration.api.journal_helpers import line
    from tests.integration.api.private_tenant import make_tenant

    bank = await make_tenant(core_app, api, tokens, teller_approval_limit=10_00)
    viewer, admin = bank.h("viewer"), bank.h("admin")
    today = expect(await api.get("/tenant", headers=viewer), 200)["business_date"]
    expect(await api.post(f"/fiscal-periods/year/{today[:4]}", headers=admin), 201)
    a, b = await bank.open_account(), await bank.open_account(branch="002")
    for account, amount in ((a, "8.00"), (a, "1.00"), (b, "3.00")):
        expect(await bank.deposit(account["id"], amount), 201)
    pending = expect(await bank.deposit(a["id"], "40.00"), 201)
    gl = _gl_codes(expect(await api.get("/gl/accounts", headers=viewer), 200))
    fee = [line(gl["1400"], "2.00", "debit"), line(gl["4200"], "2.00", "credit")]
    for _ in range(2):
        drafted = expect(
            await api.post(
                "/journals",
                json={
                    "journal_type": "GENERAL",
                    "description": "fee accrued",
                    "transaction_date": today,
                    "effective_date": today,
                    "entries": fee,
                },
                headers=bank.h("teller", key=True),
            ),
            201,
        )
    approved = expect(
        await api.post(f"/journals/{drafted['id']}/approve", headers=bank.h("officer")), 200
    )
    assert approved["status"] == "APPROVED"
    expect(
        await api.post(
            "/standing-instructions",
            json={
                "source_account_id": a["id"],
                "destination_account_id": b["id"],
                "amount": "1.00",
                "currency": "NGN",
                "frequency": "MONTHLY",
                "start_date": today,
                "narration": "allowance",
            },
            headers=bank.h("officer"),
        ),
        201,
    )

    trial = expect(await api.get("/reports/trial-balance", headers=viewer), 200)
    assert check("GET", "/reports/trial-balance", trial).balanced is True
    branch = expect(
        await api.get("/reports/trial-balance", params={"branch_code": "002"}, headers=viewer),
        200,
    )
    assert check("GET", "/reports/trial-balance", branch).branch_code == "002"
    sheet = expect(await api.get("/reports/balance-sheet", headers=viewer), 200)
    assert check("GET", "/reports/balance-sheet", sheet).assets.lines
    income = expect(
        await api.get("/reports/income-statement", params={"from": today}, headers=viewer), 200
    )
    assert check("GET", "/reports/income-statement", income).from_ == today
    cash = expect(await api.get("/reports/teller-summary", headers=viewer), 200)
    summary = check("GET", "/reports/teller-summary", cash)
    assert [t.deposits.count for t in summary.totals] == [3]
    assert summary.tellers[0].name

    page = expect(
        await api.get(f"/views/accounts/{a['id']}", params={"limit": 1}, headers=viewer), 200
    )
    view = check("GET", "/views/accounts/{account_id}", page)
    assert view.has_more is True and view.next_cursor
    queue = expect(await api.get("/views/approvals", headers=viewer), 200)
    approvals = check("GET", "/views/approvals", queue)
    assert [len(approvals.journals_pending.items), len(approvals.journals_approved.items)] == [1, 1]
    assert [t.id for t in approvals.transactions_pending.items] == [pending["id"]]
    assert approvals.standing_instructions_pending.items[0].source_account_number
    waiting = expect(await api.get("/views/approvals/waiting", headers=viewer), 200)
    assert check("GET", "/views/approvals/waiting", waiting).transactions == {
        bank.users["teller"]: 1
    }
    receipt = expect(await api.get(f"/views/transactions/{pending['id']}", headers=viewer), 200)
    labelled = check("GET", "/views/transactions/{id_or_ref}", receipt)
    assert labelled.account_number == a["account_number"]
    assert labelled.counterparty_account_number is None


async def test_year_close_and_audit_verification_are_their_models(api, tokens, core_app):
    from tests.integration.api.journal_helpers import line
    from tests.integration.api.private_tenant import make_tenant

    bank = await make_tenant(core_app, api, tokens)
    admin = bank.h("admin")
    today = expect(await api.get("/tenant", headers=admin), 200)["business_date"]
    year = int(today[:4]) - 1
    made = expect(await api.post(f"/fiscal-periods/year/{year}", headers=admin), 201)
    gl = _gl_codes(expect(await api.get("/gl/accounts", headers=admin), 200))
    drafted = expect(
        await api.post(
            "/journals",
            json={
                "journal_type": "GENERAL",
                "description": "last year's fee",
                "transaction_date": f"{year}-06-30",
                "effective_date": f"{year}-06-30",
                "entries": [
                    line(gl["1400"], "7.00", "debit"),
                    line(gl["4200"], "7.00", "credit"),
                ],
            },
            headers=bank.h("teller", key=True),
        ),
        201,
    )
    expect(await api.post(f"/journals/{drafted['id']}/approve", headers=bank.h("officer")), 200)
    expect(await api.post(f"/journals/{drafted['id']}/post", headers=bank.h("manager")), 200)
    for period in made["fiscal_periods"]:
        if period["period_number"] <= 12:
            expect(await api.post(f"/fiscal-periods/{period['id']}/close", headers=admin), 200)
    closed = expect(await api.post(f"/fiscal-periods/year/{year}/close", headers=admin), 200)
    typed = check("POST", "/fiscal-periods/year/{year}/close", closed)
    assert typed.closing_journal_id and [n.amount for n in typed.net_income] == ["7.00"]
    assert {p.status for p in typed.fiscal_periods} == {"locked"}

    verified = expect(await api.get("/audit-logs/verify", headers=admin), 200)
    assert check("GET", "/audit-logs/verify", verified).first_broken_id is None


async def test_second_factor_answers_are_their_models(
    api,
    tokens,
    core_app,
    production_api,  # noqa: F811 (the fixture imported above)
):
    import time

    from app.core.auth import totp
    from tests.integration.api.test_mfa import _bank, _challenge, bank_user
    from tests.support import headers

    bank = await _bank(core_app, api, tokens)
    public = headers(None, bank.code)
    challenge = await _challenge(api, bank, "officer", "MFA_ENROLMENT_REQUIRED")
    started = expect(
        await api.post("/auth/mfa/enrol", json={"challenge": challenge}, headers=public), 200
    )
    seed = check("POST", "/auth/mfa/enrol", started).secret
    confirmed = expect(
        await api.post(
            "/auth/mfa/enrol/confirm",
            json={"challenge": challenge, "code": totp.code_at(seed, time.time())},
            headers=public,
        ),
        200,
    )
    enrolled = check("POST", "/auth/mfa/enrol/confirm", confirmed)
    assert len(enrolled.recovery_codes) == 10
    challenge = await _challenge(api, bank, "officer", "MFA_REQUIRED")
    code = totp.code_at(seed, time.time() + totp.STEP_SECONDS)
    verified = expect(
        await api.post(
            "/auth/mfa/verify", json={"challenge": challenge, "code": code}, headers=public
        ),
        200,
    )
    assert check("POST", "/auth/mfa/verify", verified).recovery_codes_left is msgspec.UNSET
    challenge = await _challenge(api, bank, "officer", "MFA_REQUIRED")
    recovered = expect(
        await api.post(
            "/auth/mfa/verify",
            json={"challenge": challenge, "recovery_code": enrolled.recovery_codes[0]},
            headers=public,
        ),
        200,
    )
    assert check("POST", "/auth/mfa/verify", recovered).recovery_codes_left == 9

    user_id = bank_user(bank)
    path = f"/users/{user_id}/second-factor"
    status = expect(await production_api.get(path, headers=bank.h("admin")), 200)
    assert check("GET", "/users/{user_id}/second-factor", status).pending_reset is None
    for decision, who in (("cancel", "admin"), ("approve", "admin2")):
        requested = expect(
            await production_api.post(
                f"{path}/reset", json={"reason": "new phone"}, headers=bank.h("admin")
            ),
            200,
        )
        pending = check("POST", "/users/{user_id}/second-factor/reset", requested)
        assert pending.status == "PENDING_APPROVAL"
        waiting = expect(await production_api.get(path, headers=bank.h("admin")), 200)
        assert check("GET", "/users/{user_id}/second-factor", waiting).pending_reset == pending
        decided = expect(
            await production_api.post(f"{path}/reset/{decision}", json={}, headers=bank.h(who)),
            200,
        )
        typed = check("POST", f"/users/{{user_id}}/second-factor/reset/{decision}", decided)
        assert typed.decided_by == bank.users[who]


async def test_identity_provider_and_sso_answers_are_their_models(
    api,
    tokens,
    core_app,
    identity_provider,  # noqa: F811 (the fixture imported above)
):
    from tests.integration.api.private_tenant import make_tenant
    from tests.integration.api.test_sso import account, provider_settings, sign_in
    from tests.support import headers

    bank = await make_tenant(core_app, api, tokens, sign_in=("admin",))
    admin = bank.h("admin")
    saved = expect(
        await api.put(
            "/tenant/identity-provider", json=provider_settings(identity_provider), headers=admin
        ),
        200,
    )
    typed = check("PUT", "/tenant/identity-provider", saved)
    assert typed.client_secret_set is True
    assert [m.branch_id for m in typed.group_mappings] == [None, "001", "002"]
    shown = expect(await api.get("/tenant/identity-provider", headers=admin), 200)
    check("GET", "/tenant/identity-provider", shown)
    public = expect(await api.get("/auth/oidc/provider", headers=headers(None, bank.code)), 200)
    check("GET", "/auth/oidc/provider", public)
    person = account(bank, "teller", "bd-tellers")
    signed_in = expect(await sign_in(api, bank, identity_provider, person), 200)
    assert check("POST", "/auth/oidc/token", signed_in).identity_provider.id_token_hint


async def test_operational_answers_are_their_models(api):
    check("GET", "/health", expect(await api.get("/health"), 200))
    ready = await api.get("/ready")
    # The suite's database is migrated by its fixtures; a 503 would still be the model.
    assert check("GET", "/ready", ready.json()).status == (
        "ready" if ready.is_success else "not_ready"
    )
    keys = check(
        "GET", "/.well-known/jwks.json", expect(await api.get("/.well-known/jwks.json"), 200)
    )
    assert {k.kty for k in keys.keys} == {"RSA"}


async def test_deletes_and_sign_out_answer_204_with_no_body(api, tokens, core_app):
    from tests.integration.api.private_tenant import make_tenant

    bank = await make_tenant(core_app, api, tokens)
    admin = bank.h("admin")
    key = expect(
        await api.post("/api-keys", json={"name": "gone", "role": "viewer"}, headers=admin), 201
    )
    hook = expect(
        await api.post(
            "/webhooks",
            json={"name": "gone", "url": "http://127.0.0.1:9/hook", "events": ["period.closed"]},
            headers=admin,
        ),
        201,
    )
    answers = [
        await api.delete(f"/api-keys/{key['id']}", headers=admin),
        await api.delete(f"/webhooks/{hook['id']}", headers=admin),
        await api.delete("/tenant/identity-provider", headers=admin),
        await api.post("/auth/logout", headers=bank.h("viewer")),
    ]
    assert [(a.status_code, a.content) for a in answers] == [(204, b"")] * 4
    assert expect(await api.get("/auth/me", headers=bank.h("viewer")), 401)

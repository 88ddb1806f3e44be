"""The console role matrix and navigation, generated from the route and permission tables.

Every console route × {anonymous, viewer, teller, officer, manager, admin} → the expected
status. A new route joins the matrix by itself; a new *public* route must be added to
``PUBLIC_ROUTES`` below or the suite fails.
"""

from dataclasses import dataclass

import pytest
from console_helpers import (
    ROLE_EMAILS,
    ROLE_NAMES,
    asgi_client,
    csrf_token,
    nav_labels,
    sign_in,
)
from litestar import get, post

from app.console.permissions import (
    NAV_ITEMS,
    ROLE_RANK,
    ROLES,
    RouteRule,
    can,
    nav_for,
    route_table,
)
from app.console.state import console_state

# What public routes answer: (anonymous, signed in), with the form they are sent.
PUBLIC_ROUTES: dict[tuple[str, str], tuple[int, int]] = {
    ("GET", "/login"): (200, 303),
    ("POST", "/login"): (400, 400),  # sent empty: re-rendered with a message, no sign-in
    ("POST", "/logout"): (303, 303),
    # Single sign-on (issue 14): the sandbox bank has no provider, so "start" says so on
    # the sign-in page; a callback nobody started is refused there too.
    ("GET", "/login/sso"): (400, 303),
    ("GET", "/login/sso/callback"): (400, 400),
    # The second factor's steps: without a sign-in waiting for one, back to sign in (or
    # home, for someone signed in).
    ("GET", "/login/mfa"): (303, 303),
    ("POST", "/login/mfa"): (303, 303),
    ("GET", "/login/mfa/enrol"): (303, 303),
    ("POST", "/login/mfa/enrol"): (303, 303),
    ("GET", "/{path:path}"): (404, 404),  # any unknown page, in the shell when signed in
    # The core's webhooks prove themselves by signature, never by session: unsigned, 401.
    ("POST", "/webhooks/cba"): (401, 401),
}

# Routes that answer with a stream that never ends by itself: the matrix reads the status
# (and, for a refusal, the body) and closes the stream.
STREAMING_ROUTES = {("GET", "/live/events")}

# What a role that may use a route gets when the matrix calls it with its placeholder path
# values (no such record) or an empty form, where that is not the usual 200 (GET) / 303
# (POST, redirected back to its form). Permission is still checked first: lower roles get
# 403 and anonymous users are sent to sign in, as for every route.
PERMITTED_STATUS: dict[tuple[str, str], int] = {
    ("GET", "/teller/receipts/{ref:str}"): 404,  # no transaction has the ref "ref"
    ("GET", "/approvals/transactions/{transaction_id:str}"): 404,
    # Customers and accounts: no customer or account has the ID "customer_id:str" or
    # "account_id:str"; empty forms are shown again with what is missing.
    ("POST", "/customers"): 400,
    ("GET", "/customers/{customer_id:str}"): 404,
    ("POST", "/accounts"): 400,
    ("GET", "/accounts/{account_id:str}"): 404,
    ("GET", "/accounts/{account_id:str}/statement"): 404,
    ("GET", "/accounts/{account_id:str}/statement.csv"): 404,
    ("GET", "/accounts/{account_id:str}/freeze"): 404,
    ("POST", "/accounts/{account_id:str}/freeze"): 404,
    ("GET", "/accounts/{account_id:str}/unfreeze"): 404,
    ("POST", "/accounts/{account_id:str}/unfreeze"): 404,
    ("GET", "/accounts/{account_id:str}/close"): 404,
    ("POST", "/accounts/{account_id:str}/close"): 404,
    ("GET", "/accounts/{account_id:str}/holds/new"): 404,
    ("POST", "/accounts/{account_id:str}/holds"): 404,
    ("POST", "/accounts/{account_id:str}/holds/{hold_id:str}/release"): 404,
    # Fiscal periods: no period has the ID "period_id:str" and no year is "year:str"; an
    # empty "Create year" form is shown again with what is missing.
    ("GET", "/periods/{period_id:str}"): 404,
    ("GET", "/periods/{period_id:str}/snapshot.csv"): 404,
    ("GET", "/periods/{period_id:str}/close"): 404,
    ("POST", "/periods/{period_id:str}/close"): 404,
    ("GET", "/periods/year/{year:str}/close"): 404,
    ("POST", "/periods/year/{year:str}/close"): 404,
    ("POST", "/periods/years"): 400,
    # Standing instructions: no instruction has the ID "instruction_id:str"; the empty
    # create form is shown again with what is missing; "Run today's instructions" sent
    # without the form's key runs nothing and says the form was out of date.
    ("GET", "/standing/{instruction_id:str}"): 404,
    ("POST", "/standing/{instruction_id:str}/approve"): 404,
    ("POST", "/standing/{instruction_id:str}/cancel"): 404,
    ("POST", "/standing"): 400,
    ("POST", "/standing/run"): 400,
    # Journals: no journal has the ID "journal_id:str" (the console says so before asking
    # the core). An empty composer form is kept as a draft and shown again (303, the default).
    ("GET", "/journals/{journal_id:str}"): 404,
    ("POST", "/journals/{journal_id:str}/approve"): 404,
    ("POST", "/journals/{journal_id:str}/reject"): 404,
    ("POST", "/journals/{journal_id:str}/post"): 404,
    ("GET", "/journals/{journal_id:str}/reverse"): 404,
    ("POST", "/journals/{journal_id:str}/reverse"): 404,
    # Admin: no staff user or API key has the ID "user_id:str" / "key_id:str"; empty forms
    # are shown again with what is missing (no idempotency key: nothing is sent).
    ("POST", "/admin/staff"): 400,
    ("GET", "/admin/staff/{user_id:str}"): 404,
    ("POST", "/admin/staff/{user_id:str}"): 404,
    ("POST", "/admin/staff/{user_id:str}/unlock"): 404,
    ("GET", "/admin/staff/{user_id:str}/deactivate"): 404,
    ("POST", "/admin/staff/{user_id:str}/deactivate"): 404,
    ("GET", "/admin/staff/{user_id:str}/reactivate"): 404,
    ("POST", "/admin/staff/{user_id:str}/reactivate"): 404,
    ("GET", "/admin/staff/{user_id:str}/revoke-sessions"): 404,
    ("POST", "/admin/staff/{user_id:str}/revoke-sessions"): 404,
    ("POST", "/admin/branches"): 400,
    ("POST", "/admin/settings"): 400,
    ("POST", "/admin/sign-in"): 400,  # sent without its key: nothing is sent, form again
    ("POST", "/admin/sign-in/remove"): 400,
    ("POST", "/admin/staff/{user_id:str}/second-factor/reset"): 404,
    ("POST", "/admin/staff/{user_id:str}/second-factor/approve"): 404,
    ("POST", "/admin/staff/{user_id:str}/second-factor/cancel"): 404,
    ("POST", "/admin/api-keys"): 400,
    ("GET", "/admin/api-keys/{key_id:str}/created"): 404,
    ("GET", "/admin/api-keys/{key_id:str}/revoke"): 404,
    ("POST", "/admin/api-keys/{key_id:str}/revoke"): 404,
    ("POST", "/admin/webhooks"): 400,
    ("GET", "/admin/webhooks/{webhook_id:str}"): 404,
    ("POST", "/admin/webhooks/{webhook_id:str}"): 404,
    ("GET", "/admin/webhooks/{webhook_id:str}/created"): 404,
    ("GET", "/admin/webhooks/{webhook_id:str}/delete"): 404,
    ("POST", "/admin/webhooks/{webhook_id:str}/delete"): 404,
    ("GET", "/admin/webhooks/{webhook_id:str}/deliveries"): 404,
    ("POST", "/admin/webhooks/{webhook_id:str}/deliveries/{delivery_id:str}/retry"): 404,
}


@dataclass(frozen=True)
class Roles:
    roles: list[str]


@pytest.fixture(scope="module")
async def rules(settings) -> list[RouteRule]:  # type: ignore[no-untyped-def]
    from app.console.app import create_app

    app = create_app(settings)
    try:
        return route_table(app)
    finally:
        await console_state(app).close()


def expected_status(rule: RouteRule, role: str) -> int:
    if rule.public:
        anonymous, signed_in = PUBLIC_ROUTES[(rule.method, rule.path)]
        return anonymous if role == "anonymous" else signed_in
    if role == "anonymous":
        return 303  # to sign in
    assert rule.min_role is not None
    if ROLE_RANK[role] < ROLE_RANK[rule.min_role]:
        return 403
    if (rule.method, rule.path) in PERMITTED_STATUS:
        return PERMITTED_STATUS[(rule.method, rule.path)]
    return 200 if rule.method == "GET" else 303


def test_every_public_route_is_in_the_matrix(rules):
    public = {(r.method, r.path) for r in rules if r.public}
    assert public == set(PUBLIC_ROUTES)


def test_every_route_declares_a_known_permission(rules):
    assert rules, "the route table is empty"
    for rule in rules:
        assert rule.public or rule.min_role in ROLES


def test_route_table_lists_home(rules):
    assert RouteRule("GET", "/", "home.view", "viewer") in rules


@pytest.mark.parametrize("role", ROLE_NAMES)
async def test_role_matrix(role, rules, browser):
    if role != "anonymous":
        assert (await sign_in(browser, ROLE_EMAILS[role])).status_code == 303
    # Sign-out ends the session, so it goes last.
    ordered = sorted(rules, key=lambda r: (r.path == "/logout", r.method != "GET", r.path))
    for rule in ordered:
        path = rule.path.replace("{path:path}", "no-such-page").replace("{", "").replace("}", "")
        if (rule.method, rule.path) in STREAMING_ROUTES:
            async with browser.stream(rule.method, path) as response:
                if response.status_code != 200:
                    await response.aread()
        elif rule.method == "GET":
            response = await browser.get(path)
        else:
            token = await csrf_token(browser)
            response = await browser.request(rule.method, path, data={"_csrf_token": token})
        expected = expected_status(rule, role)
        assert response.status_code == expected, (role, rule, response.text[:400])
        if expected == 303 and role == "anonymous" and not rule.public:
            assert response.headers["location"].startswith("/login")
        if expected == 403:
            assert f"You need the {rule.min_role.title()} role for this" in response.text  # type: ignore[union-attr]


@pytest.mark.parametrize("role", [r for r in ROLE_NAMES if r != "anonymous"])
async def test_navigation_matches_the_permission_table(role, browser):
    await sign_in(browser, ROLE_EMAILS[role])
    html = (await browser.get("/")).text
    expected = [item.label for item in nav_for(Roles([role]))]
    assert nav_labels(html) == expected
    # Every shown item is one the role can use; every hidden available item it cannot.
    for item in NAV_ITEMS:
        if item.available:
            assert (item.label in expected) == can(Roles([role]), item.permission)


async def test_navigation_today_explicitly(browser):
    """The role × labels result for the pages that exist now."""
    seen: dict[str, list[str]] = {}
    for role, email in ROLE_EMAILS.items():
        browser.cookies.clear()
        await sign_in(browser, email)
        seen[role] = nav_labels((await browser.get("/")).text)
    browser.cookies.clear()
    await sign_in(browser, "admin@fmfb.bank", tenant="fmfb")
    seen["admin@fmfb"] = nav_labels((await browser.get("/")).text)
    finance = ["Standing instructions", "Fiscal periods", "Reports"]
    everyone = ["Home", "Customers", "Accounts"]
    teller = [*everyone, "Deposit", "Withdrawal", "My day"]
    officer = [*teller, "Transfers", "Journals", "Approvals", *finance]
    manager = [*officer, "Audit"]
    admin = [*manager, "Admin"]
    assert seen == {
        "viewer": [*everyone, "Journals", *finance],
        "teller": [*teller, "Journals", *finance],
        "officer": officer,
        "manager": manager,
        "admin": admin,
        "admin@fmfb": admin,
    }


def test_navigation_table_order_and_minimum_roles():
    assert [item.label for item in NAV_ITEMS] == [
        "Home",
        "Customers",
        "Accounts",
        "Deposit",
        "Withdrawal",
        "My day",
        "Transfers",
        "Journals",
        "Approvals",
        "Standing instructions",
        "Fiscal periods",
        "Reports",
        "Audit",
        "Admin",
    ]
    assert {item.label: item.min_role for item in NAV_ITEMS} == {
        "Home": "viewer",
        "Customers": "viewer",
        "Accounts": "viewer",
        "Deposit": "teller",
        "Withdrawal": "teller",
        "My day": "teller",
        "Transfers": "officer",
        "Journals": "viewer",
        "Approvals": "officer",
        "Standing instructions": "viewer",
        "Fiscal periods": "viewer",
        "Reports": "viewer",
        "Audit": "manager",
        "Admin": "admin",
    }
    # When every page exists, each role sees exactly the items its rank allows.
    for role in ROLES:
        labels = [i.label for i in NAV_ITEMS if can(Roles([role]), i.permission)]
        assert labels == [i.label for i in NAV_ITEMS if ROLE_RANK[role] >= ROLE_RANK[i.min_role]]


async def test_home_header_says_who_and_where(browser):
    await sign_in(browser, "teller2@demo.bank")
    html = (await browser.get("/")).text
    assert "Titi Teller" in html
    assert 'class="badge badge--role badge--teller">Teller<' in html
    assert "<dt>Branch</dt><dd>002</dd>" in html
    assert "<dt>Tenant</dt><dd>Demo Bank</dd>" in html
    assert "Business date" in html
    assert "₦1,000,000.00" in html
    assert ">Sign out</button>" in html
    assert "<title>Home · Branchdesk</title>" in html
    assert 'class="skip-link" href="#main"' in html


async def test_guards_refuse_lower_roles_with_the_role_needed(console_app):
    """Routes for higher roles (later pages) are refused by the same guard, page or action."""

    @get("/test-only/audit", opt={"permission": "audit.view"})
    async def audit_page() -> str:
        return "audit"

    @post("/test-only/admin-action", opt={"permission": "admin.manage"}, status_code=200)
    async def admin_action() -> str:
        return "done"

    app = console_app()
    app.register(audit_page)
    app.register(admin_action)
    extra = [r for r in route_table(app) if r.path.startswith("/test-only")]
    assert {(r.method, r.path, r.min_role) for r in extra} == {
        ("GET", "/test-only/audit", "manager"),
        ("POST", "/test-only/admin-action", "admin"),
    }
    for role in ROLE_NAMES:
        async with asgi_client(app) as client:
            if role != "anonymous":
                await sign_in(client, ROLE_EMAILS[role])
            for rule in extra:
                if rule.method == "GET":
                    response = await client.get(rule.path)
                else:
                    token = await csrf_token(client)
                    response = await client.post(rule.path, data={"_csrf_token": token})
                want = expected_status(rule, role)
                if want == 303 and role != "anonymous":
                    want = 200  # the test action answers 200 itself
                assert response.status_code == want, (role, rule)
                if want == 403:
                    role_label = (rule.min_role or "").title()
                    assert f"You need the {role_label} role for this; ask an admin." in (
                        response.text
                    )

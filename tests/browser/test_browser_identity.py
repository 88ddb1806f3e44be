"""Staff identity in a real browser (issue 14): single sign-on through a real OpenID
provider (``tests/oidc``, the certified ``oidc-provider`` run with node), and the TOTP
second factor.

The sandbox's second bank (``fmfb``) gets the provider for this module (removed after it),
and each test makes its own staff users, so no other test's sign-in changes. For the
second factor the bank asks managers and above for it while the module runs.
"""

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from browser_helpers import expect_home, shot
from playwright.sync_api import Browser, Page, expect

from app.core.auth import totp
from tests.live_server import LiveServer
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Account, IdentityProvider
from tests.support import SANDBOX_PASSWORD

BANK = "fmfb"
PASSWORD = "Identity-Browser-2026"


class BankAPI:
    """The live core as fmfb's admin."""

    def __init__(self, api_url: str) -> None:
        self.http = httpx.Client(base_url=api_url, timeout=30)
        login = self.http.post(
            "/auth/login",
            json={"email": "admin@fmfb.bank", "password": SANDBOX_PASSWORD},
            headers={"X-Tenant-ID": BANK},
        )
        assert login.status_code == 200, login.text
        self.token = login.json()["access_token"]

    def call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "X-Tenant-ID": BANK}
        if method != "GET":
            headers["Idempotency-Key"] = f"browser-{uuid.uuid4().hex}"
        answer = self.http.request(method, path, headers=headers, **kw)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def new_staff(self, role: str) -> dict[str, Any]:
        tag = uuid.uuid4().hex[:8]
        user: dict[str, Any] = self.call(
            "POST",
            "/users",
            json={
                "email": f"id-{tag}@fmfb.bank",
                "name": f"Ifeoma {tag}",
                "password": PASSWORD,
                "roles": [role],
                "branch_id": "001",
            },
        )
        return user

    def audit(self, action: str, entity_id: str | None = None) -> list[dict[str, Any]]:
        params = {"action": action, "limit": 200}
        if entity_id:
            params["entity_id"] = entity_id
        found: list[dict[str, Any]] = self.call("GET", "/audit-logs", params=params)["audit_logs"]
        return found


@pytest.fixture(scope="module")
def bank(live_server: LiveServer) -> Iterator[BankAPI]:
    api = BankAPI(live_server.api_url)
    yield api
    api.http.close()


@pytest.fixture(scope="module")
def idp(live_server: LiveServer, bank: BankAPI) -> Iterator[IdentityProvider]:
    """The provider, registered for the live console, as fmfb's single sign-on."""
    provider = IdentityProvider(
        redirect_uris=[f"{live_server.base_url}/login/sso/callback"],
        post_logout_redirect_uris=[f"{live_server.base_url}/login?signed_out=1"],
    ).start()
    bank.call(
        "PUT",
        "/tenant/identity-provider",
        json={
            "display_name": "Test IdP",
            "issuer": provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            # Like a Keycloak client scope "groups" with its group-membership mapper.
            "scopes": "openid email profile groups",
            "group_mappings": [
                {"group": "bd-tellers", "role": "teller"},
                {"group": "bd-officers", "role": "officer", "branch_id": "001"},
            ],
        },
    )
    # The console keeps each bank's provider a minute: start it afresh.
    httpx.get(f"{live_server.base_url}/login/sso?tenant={BANK}", follow_redirects=False)
    try:
        yield provider
    finally:
        bank.call("DELETE", "/tenant/identity-provider")
        httpx.get(f"{live_server.base_url}/login/sso?tenant={BANK}", follow_redirects=False)
        provider.stop()


def person_for(user: dict[str, Any], *groups: str) -> Account:
    return Account(
        id=f"sub-{user['id']}", email=user["email"], name=user["name"], groups=list(groups)
    )


def provider_login(page: Page, login: str) -> None:
    """The provider's own sign-in form (its development form: any password)."""
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("provider-password")
    page.locator('button[type="submit"]').click()


def start_sso(page: Page) -> None:
    page.goto(f"/login?tenant={BANK}")
    page.get_by_role("link", name="Sign in with Test IdP").click()


def test_sign_in_through_the_provider_roles_follow_groups_and_sign_out_ends_both(
    page: Page, idp: IdentityProvider, bank: BankAPI
) -> None:
    user = bank.new_staff("teller")
    person = person_for(user, "bd-officers")
    idp.put_account(person)
    start_sso(page)
    expect(page).to_have_url(re.compile(rf"^{re.escape(idp.issuer)}/interaction/"))
    provider_login(page, person.id)
    expect_home(page)
    shot(page, "sso-home")
    header = page.locator("header.topbar")
    expect(header).to_contain_text(user["name"])
    expect(header).to_contain_text("Officer")  # the provider's group, not the old role
    (change,) = bank.audit("user.updated", user["id"])
    assert change["before"]["roles"] == ["teller"] and change["after"]["roles"] == ["officer"]
    assert change["after"]["source"] == "identity_provider"

    # Sign-out ends the console's and the core's session, then the provider's.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out of Branchdesk")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"^{re.escape(idp.issuer)}/session/end"))
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(re.compile(r"/login\?signed_out=1$"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))

    # The provider's session ended too: the next sign-in asks for the login again, and
    # the new groups apply (audited again).
    person.groups = ["bd-tellers"]
    idp.put_account(person)
    start_sso(page)
    expect(page.locator('input[name="login"]')).to_be_visible()
    provider_login(page, person.id)
    expect_home(page)
    expect(page.locator("header.topbar")).to_contain_text("Teller")
    assert [c["after"]["roles"] for c in bank.audit("user.updated", user["id"])] == [
        ["teller"],
        ["officer"],
    ]  # newest first


def watch(page: Page, fragment: str) -> list[str]:
    """Every URL the page requests that contains ``fragment`` (redirects included)."""
    seen: list[str] = []
    page.on(
        "request", lambda request: seen.append(request.url) if fragment in request.url else None
    )
    return seen


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_an_answer_with_the_wrong_state_is_refused(
    page: Page, idp: IdentityProvider, bank: BankAPI
) -> None:
    """The provider answers a sign-in this browser no longer waits for: a second sign-in
    began in another tab, so the answer's ``state`` is not the one kept."""
    person = person_for(bank.new_staff("teller"), "bd-tellers")
    idp.put_account(person)
    start_sso(page)
    expect(page.locator('input[name="login"]')).to_be_visible()
    other = page.context.new_page()
    start_sso(other)
    expect(other.locator('input[name="login"]')).to_be_visible()
    provider_login(page, person.id)  # the first tab's sign-in, answered now
    expect(page.get_by_role("alert")).to_contain_text("does not match the one this browser")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))  # nobody signed in
    other.close()


def test_a_replayed_code_is_refused(page: Page, idp: IdentityProvider, bank: BankAPI) -> None:
    person = person_for(bank.new_staff("teller"), "bd-tellers")
    idp.put_account(person)
    callbacks = watch(page, "/login/sso/callback")
    start_sso(page)
    provider_login(page, person.id)
    expect_home(page)
    used = callbacks[0]
    # The same answer again: this browser started no sign-in that it answers.
    page.goto(used)
    expect(page.get_by_role("alert")).to_contain_text("could not be matched to one started here")
    # A new sign-in, answered with the spent code: the provider refuses to redeem it.
    page.context.clear_cookies()
    requests = watch(page, f"{idp.issuer}/auth?")
    start_sso(page)
    expect(page.locator('input[name="login"]')).to_be_visible()
    state = query_of(requests[-1])["state"]
    replay = {"code": query_of(used)["code"], "state": state, "iss": idp.issuer}
    page.goto("/login/sso/callback?" + urlencode(replay))
    expect(page.get_by_role("alert")).to_contain_text("already used or has expired")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_an_expired_id_token_is_refused(page: Page, idp: IdentityProvider, bank: BankAPI) -> None:
    person = person_for(bank.new_staff("teller"), "bd-tellers")
    idp.put_account(person)
    idp.shift_token_clock(-3600)  # the provider's ID tokens expired an hour ago
    try:
        start_sso(page)
        provider_login(page, person.id)
        expect(page.get_by_role("alert")).to_contain_text("could not be checked")
    finally:
        idp.shift_token_clock(0)
    refusals = bank.audit("auth.sso_refused")
    assert refusals[0]["after"]["reason"] == "it has expired"


def test_an_answer_from_a_provider_the_bank_did_not_configure_is_refused_and_audited(
    page: Page, live_server: LiveServer, idp: IdentityProvider, bank: BankAPI
) -> None:
    person = person_for(bank.new_staff("teller"), "bd-tellers")
    other = IdentityProvider(
        redirect_uris=[f"{live_server.base_url}/login/sso/callback"], accounts=[person]
    ).start()
    try:
        # A mix-up: this sign-in's request is answered by another provider.
        requests = watch(page, f"{idp.issuer}/auth?")
        start_sso(page)
        expect(page.locator('input[name="login"]')).to_be_visible()
        page.goto(f"{other.issuer}/auth?{urlsplit(requests[-1]).query}")
        provider_login(page, person.id)
        expect(page.get_by_role("alert")).to_contain_text("sign-in service this bank does not use")
    finally:
        other.stop()
    refused = bank.audit("auth.sso_refused")[0]
    assert refused["after"] == {"reason": "unknown_issuer", "issuer": other.issuer}
    assert refused["outcome"] == "refused"


def test_a_deactivated_user_cannot_sign_in_through_the_provider(
    page: Page, idp: IdentityProvider, bank: BankAPI
) -> None:
    user = bank.new_staff("teller")
    bank.call("PATCH", f"/users/{user['id']}", json={"is_active": False})
    person = person_for(user, "bd-tellers")
    idp.put_account(person)
    start_sso(page)
    provider_login(page, person.id)
    expect(page.get_by_role("alert")).to_contain_text("This staff account is deactivated")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


# -- the second factor ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def managers_need_a_factor(bank: BankAPI) -> Iterator[None]:
    bank.call("PUT", "/tenant/settings", json={"mfa_required_role": "manager"})
    try:
        yield
    finally:
        bank.call("PUT", "/tenant/settings", json={"mfa_required_role": "none"})


def password_sign_in(page: Page, email: str) -> None:
    page.goto(f"/login?tenant={BANK}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def enrol(page: Page, email: str) -> tuple[str, list[str]]:
    """Sign in, add the factor from the QR page's key, return it and the recovery codes."""
    password_sign_in(page, email)
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    shot(page, "mfa-enrol")
    seed = page.locator(".secret-key").inner_text().replace(" ", "")
    page.get_by_label("Code from your app").fill(totp.code_at(seed, time.time()))
    page.get_by_role("button", name="Turn on and sign in").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = page.locator(".recovery-codes li").all_inner_texts()
    shot(page, "mfa-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    expect_home(page)
    return seed, codes


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def test_enrol_sign_in_with_a_code_and_a_reused_code_is_refused(
    page: Page, bank: BankAPI, managers_need_a_factor: None, console_messages: list[str]
) -> None:
    user = bank.new_staff("manager")
    seed, codes = enrol(page, user["email"])
    assert len(codes) == 10
    sign_out(page)
    password_sign_in(page, user["email"])
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    code = totp.code_at(seed, time.time() + totp.STEP_SECONDS)  # the app's next code
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Verify").click()
    expect_home(page)
    sign_out(page)
    password_sign_in(page, user["email"])
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("That code was already used")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    assert all("401" in m for m in console_messages), console_messages


def test_a_recovery_code_signs_in_once(
    page: Page, bank: BankAPI, managers_need_a_factor: None
) -> None:
    user = bank.new_staff("manager")
    _seed, codes = enrol(page, user["email"])
    sign_out(page)
    password_sign_in(page, user["email"])
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Recovery code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect_home(page)
    sign_out(page)
    password_sign_in(page, user["email"])
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Recovery code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("not right, or was already used")


def test_wrong_codes_lock_the_account(
    page: Page, browser: Browser, bank: BankAPI, managers_need_a_factor: None
) -> None:
    user = bank.new_staff("manager")
    seed, _codes = enrol(page, user["email"])
    sign_out(page)
    password_sign_in(page, user["email"])
    right = totp.code_at(seed, time.time() + totp.STEP_SECONDS)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):
        page.get_by_label("Code", exact=True).fill(wrong)
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    page.get_by_label("Code", exact=True).fill(wrong)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_contain_text("locked after too many wrong codes")
    # Locked: the password alone is refused now, as after wrong passwords.
    password_sign_in(page, user["email"])
    expect(page.get_by_role("alert")).to_contain_text("This account is locked")
    (locked,) = bank.audit("auth.account_locked", user["id"])
    assert locked["outcome"] == "locked"

"""Live updates in a real browser: a manager's open approvals page shows a journal a teller
has just submitted elsewhere, without a reload.

The whole path is real: the teller's ``POST /journals`` (the API, as another client would)
writes the event to the outbox; the one-process server's worker delivers it, signed, to the
console's receiver; the receiver pushes it over the manager's event stream; htmx asks for
the queue and the badge again through their normal, permission-checked routes.
"""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_helpers import expect_home, sign_in
from playwright.sync_api import Browser, Page, expect

from tests.live_server import LiveServer
from tests.support import SANDBOX_PASSWORD, TENANT


class CoreAPI:
    """The live core over HTTP, as sandbox staff."""

    def __init__(self, api_url: str) -> None:
        self.http = httpx.Client(base_url=api_url, timeout=30)
        self.tokens: dict[str, str] = {}

    def call(self, method: str, path: str, as_user: str, **kw: Any) -> Any:
        if as_user not in self.tokens:
            login = self.http.post(
                "/auth/login",
                json={"email": as_user, "password": SANDBOX_PASSWORD},
                headers={"X-Tenant-ID": TENANT},
            )
            assert login.status_code == 200, login.text
            self.tokens[as_user] = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {self.tokens[as_user]}", "X-Tenant-ID": TENANT}
        if method != "GET":
            headers["Idempotency-Key"] = f"browser-{uuid.uuid4().hex}"
        answer = self.http.request(method, path, headers=headers, **kw)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None


@pytest.fixture(scope="module")
def core(live_server: LiveServer) -> Iterator[CoreAPI]:
    api = CoreAPI(live_server.api_url)
    yield api
    api.http.close()


@pytest.fixture(scope="module")
def deliveries_to_this_console(core: CoreAPI, live_server: LiveServer) -> Iterator[None]:
    """Point the sandbox's console subscription at this server's receiver (the suite seeds
    it at a closed port, so no delivery ever reaches someone else's server)."""
    hooks = core.call("GET", "/webhooks", as_user="admin@demo.bank")["webhooks"]
    [hook] = [h for h in hooks if h["name"] == "Console live updates"]
    core.call(
        "PATCH",
        f"/webhooks/{hook['id']}",
        as_user="admin@demo.bank",
        json={"url": f"{live_server.base_url}/webhooks/cba"},
    )
    yield
    core.call(
        "PATCH", f"/webhooks/{hook['id']}", as_user="admin@demo.bank", json={"url": hook["url"]}
    )


def gl_ids(core: CoreAPI) -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            found[node["code"]] = node["id"]
            walk(node.get("children") or [])

    walk(core.call("GET", "/gl/accounts", as_user="teller@demo.bank")["gl_accounts"])
    return found


def submit_journal(core: CoreAPI, description: str) -> dict[str, Any]:
    """A teller's manual journal, submitted for approval (``PENDING``)."""
    ids = gl_ids(core)
    today = core.call("GET", "/tenant", as_user="teller@demo.bank")["business_date"]
    body = {
        "journal_type": "GENERAL",
        "description": description,
        "transaction_date": today,
        "effective_date": today,
        "entries": [
            {
                "account_id": ids[code],
                "amount": "4321.00",
                "entry_type": side,
                "currency_code": "NGN",
            }
            for code, side in (("5200", "debit"), ("2200", "credit"))
        ],
    }
    result: dict[str, Any] = core.call("POST", "/journals", as_user="teller@demo.bank", json=body)
    assert result["status"] == "PENDING"
    return result


def badge_count(page: Page) -> int:
    text = page.locator("#nav-badge-approvals .nav-badge").all_inner_texts()
    return int(text[0].split()[0].rstrip("+")) if text else 0


def test_a_new_pending_journal_appears_on_an_open_approvals_page(
    page: Page, core: CoreAPI, deliveries_to_this_console: None, console_messages: list[str]
) -> None:
    sign_in(page, "manager@demo.bank")
    expect_home(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    expect(page.get_by_role("heading", name="Approvals", level=1)).to_be_visible()
    before = badge_count(page)
    # A mark on this very document: a reload or a navigation would wipe it.
    page.evaluate("window.__stillTheSamePage = true")

    description = f"Live journal {uuid.uuid4().hex[:8]}"
    journal = submit_journal(core, description)

    row = page.get_by_role("row").filter(has_text=description)
    expect(row).to_be_visible(timeout=20_000)
    expect(row.locator(f"a[href^='/journals/{journal['id']}']")).to_be_visible()
    expect(row.get_by_role("checkbox")).to_be_visible()  # the manager may approve it
    expect(page.locator("#nav-badge-approvals .nav-badge")).to_have_text(
        f"{before + 1} waiting", timeout=10_000
    )
    assert page.evaluate("window.__stillTheSamePage === true"), "the page was reloaded"
    assert not [m for m in console_messages if "Content Security Policy" in m], console_messages


def test_a_ticked_box_survives_the_live_refresh_and_a_teller_has_no_badge(
    browser: Browser, core: CoreAPI, live_server: LiveServer, deliveries_to_this_console: None
) -> None:
    teller_context = browser.new_context(base_url=live_server.base_url)
    officer_context = browser.new_context(base_url=live_server.base_url)
    try:
        teller = teller_context.new_page()
        sign_in(teller, "teller@demo.bank")
        expect_home(teller)
        # A teller has no approvals queue: the badge slot is not even on the page.
        expect(teller.locator("#nav-badge-approvals")).to_have_count(0)

        first = submit_journal(core, f"Live journal {uuid.uuid4().hex[:8]}")
        officer = officer_context.new_page()
        sign_in(officer, "officer@demo.bank")
        expect_home(officer)
        officer.goto("/approvals")
        box = officer.locator(f"input[name=ids][value='{first['id']}']")
        box.check()
        second = f"Live journal {uuid.uuid4().hex[:8]}"
        submit_journal(core, second)
        expect(officer.get_by_role("row").filter(has_text=second)).to_be_visible(timeout=20_000)
        # A box ticked for "Approve selected" stays ticked through the live refresh.
        expect(box).to_be_checked()
    finally:
        teller_context.close()
        officer_context.close()


def test_signing_out_elsewhere_says_the_page_no_longer_updates(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(base_url=live_server.base_url)
    try:
        first = context.new_page()
        sign_in(first, "manager@demo.bank")
        expect_home(first)
        first.goto("/approvals")
        other_tab = context.new_page()
        other_tab.goto("/")
        other_tab.get_by_role("button", name="Sign out").click()
        notice = first.get_by_role("alert").filter(has_text="Your session has ended")
        expect(notice).to_be_visible(timeout=10_000)
        expect(notice.get_by_role("link", name="Sign in again")).to_have_attribute(
            "href", "/login?expired=1&next=%2Fapprovals"
        )
    finally:
        context.close()

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

import pytest
from browser_helpers import CoreAPI, expect_home, sign_in
from playwright.sync_api import Browser, Page, expect

from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def core(live_server: LiveServer) -> Iterator[CoreAPI]:
    api = CoreAPI(live_server.api_url)
    yield api
    api.close()


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


def submit_journal(core: CoreAPI, description: str) -> dict[str, Any]:
    """A teller's manual journal, submitted for approval (``PENDING``)."""
    result = core.draft_journal("4321.00", description=description, journal_type="GENERAL")
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


def test_a_live_refresh_after_sign_out_elsewhere_keeps_the_page_and_says_why(
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
        expect(other_tab.get_by_role("heading", name="Sign in")).to_be_visible()
        # A live signal arriving before the stream notices the sign-out: the badge re-asks
        # for itself, is told to sign in, and the page stays where it is and says so.
        first.evaluate(
            """() => new Promise((resolve) => {
                document.addEventListener("htmx:beforeOnLoad", () => resolve(null), {once: true});
                htmx.trigger(document.getElementById("nav-badge-approvals"), "sse:approvals");
            })"""
        )
        # Had the refresh followed its redirect, the sign-in page would be loaded by now.
        first.wait_for_timeout(1000)
        assert first.url.endswith("/approvals"), first.url
        notice = first.get_by_role("alert").filter(has_text="Your session has ended")
        expect(notice).to_be_visible(timeout=10_000)
        expect(first.get_by_role("heading", name="Approvals", exact=True)).to_be_visible()
    finally:
        context.close()

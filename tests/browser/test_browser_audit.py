"""The Audit page in a real browser: a manager follows one request from the console's log
to the core's trail, reads a record's before/after, verifies the trail, filters."""

import re

from browser_helpers import expect_home, sign_in
from playwright.sync_api import Page, expect


def test_a_manager_follows_a_request_from_the_console_to_the_ledger(
    page: Page, console_messages: list[str]
) -> None:
    sign_in(page, "manager@demo.bank")
    expect_home(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page).to_have_title("Audit · Branchdesk")
    expect(page.get_by_role("heading", name="Audit", level=1)).to_be_visible()

    # "Verify the trail" answers in place.
    page.get_by_role("button", name="Verify the trail").click()
    expect(page.locator("#verify-panel")).to_contain_text(
        re.compile("The trail is intact|The trail has been altered")
    )
    expect(page.get_by_role("button", name="Verify again")).to_be_visible()

    # The console's own log: this manager's sign-in, with its request ID.
    page.get_by_role("link", name="Console action log").click()
    expect(page).to_have_url(re.compile(r"/audit/console$"))
    page.get_by_label("Action", exact=True).fill("auth.sign_in")
    page.get_by_label("User", exact=True).fill("manager@demo.bank")
    page.get_by_role("button", name="Apply").click()
    first = page.locator("table.audit-table tbody tr").first
    expect(first).to_contain_text("auth.sign_in")
    first.locator("a.request-id").click()

    # One request, both sides: the console's sign-in and the core's login record.
    expect(page.get_by_role("heading", name="One request", level=1)).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("In the console"))).to_contain_text(
        "auth.sign_in"
    )
    core_side = page.get_by_role("region", name=re.compile("In the core audit trail"))
    expect(core_side).to_contain_text("auth.login")
    expect(core_side).to_contain_text("manager@demo.bank")

    # A record with a before/after reads as fields, not JSON.
    page.goto("/audit?action=transaction.*")
    summary = page.locator("details.changes summary").first
    expect(summary).to_contain_text(re.compile(r"Created with \d+ fields|fields? changed"))
    summary.click()
    expect(page.locator("details.changes[open] th[scope=row]").first).to_be_visible()

    # Bad filters are said next to the field, and nothing is searched.
    page.get_by_label("From", exact=True).fill("2026-12-05")
    page.get_by_label("To", exact=True).fill("2026-12-01")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("The end date is before the start date.")).to_be_visible()
    assert not [m for m in console_messages if "Content Security Policy" in m], console_messages

"""console.md flow 2 in a real browser, with the exact labels: a teller drafts a balanced
journal in the composer (stopped while it is unbalanced, the difference shown live); a
manager approves it from the queue and posts it; the teller cannot approve their own; a
second manager reverses it with a reason and both journals show their link; bulk approve
of three journals shows three results."""

import re
import uuid
from collections.abc import Iterator

import pytest
from browser_helpers import CoreAPI, expect_home, htmx_idle, shot, sign_in, sign_out
from playwright.sync_api import Page, expect

from tests.live_server import LiveServer

OWN = "You made this journal; another officer must approve it."


@pytest.fixture(scope="session")
def core(live_server: LiveServer) -> Iterator[CoreAPI]:
    api = CoreAPI(live_server.api_url)
    yield api
    api.close()


def choose_account(page: Page, line: int, text: str, name: str) -> None:
    """Type into a line's "Account" and wait for the live search to show (and pick) it."""
    fieldset = page.locator(f"#line-{line}")
    fieldset.get_by_label("Account", exact=True).fill(text)
    match = fieldset.locator(".match", has_text=name)
    expect(match).to_be_visible()
    expect(match.get_by_role("radio")).to_be_checked()


def test_a_journal_from_draft_to_reversal(
    page: Page, core: CoreAPI, console_messages: list[str]
) -> None:
    # A teller drafts it.
    sign_in(page, "teller@demo.bank")
    expect_home(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Journals").click()
    expect(page.get_by_role("heading", name="Journals", level=1)).to_be_visible()
    page.get_by_role("link", name="New journal").click()
    expect(page.get_by_role("heading", name="New journal", level=1)).to_be_visible()
    description = f"Accrued audit fees {uuid.uuid4().hex[:6]}"
    page.get_by_label("Description").fill(description)
    expect(page.get_by_label("Effective date")).to_have_value(
        core.call("GET", "/tenant")["business_date"]
    )
    choose_account(page, 0, "5200", "Operating expense")
    page.locator("#line-0").get_by_label("Debit").fill("15,000.00")
    choose_account(page, 1, "payab", "Payables")
    page.locator("#line-1").get_by_label("Credit").fill("14000")

    # Unbalanced: the difference, live, and no way to submit.
    totals = page.locator("#composer-totals")
    expect(totals.locator('[data-total="difference"]')).to_have_text("₦1,000.00")
    expect(totals).to_contain_text("differ by ₦1,000.00")
    submit = page.get_by_role("button", name="Submit for approval")
    expect(submit).to_be_disabled()
    shot(page, "j1-composer-unbalanced")

    # A third line, then removed again (htmx, the values kept).
    page.get_by_role("button", name="Add line").click()
    expect(page.locator("fieldset.journal-line")).to_have_count(3)
    expect(page.locator("#line-2").get_by_label("Account", exact=True)).to_be_focused()
    expect(page.locator("#line-0").get_by_label("Debit")).to_have_value("15,000.00")
    page.get_by_role("button", name="Remove line 3").click()
    expect(page.locator("fieldset.journal-line")).to_have_count(2)
    expect(page.get_by_role("button", name="Remove line")).to_have_count(0)
    htmx_idle(page)

    page.locator("#line-1").get_by_label("Credit").fill("15000")
    expect(totals.locator('[data-total="difference"]')).to_have_text("₦0.00")
    expect(totals).to_contain_text("Balanced: debits equal credits.")
    expect(submit).to_be_enabled()
    shot(page, "j2-composer-balanced")
    submit.click()
    expect(page.get_by_text("Submitted for approval.")).to_be_visible()
    expect(page.locator(".page-head__title .badge")).to_have_text("Awaiting approval")
    number = page.locator(".page-head__title .mono").inner_text()
    assert re.fullmatch(r"JV[A-Z0-9]+", number)
    journal_url = page.url.split("?")[0]
    # The teller cannot approve their own.
    expect(page.get_by_text(OWN)).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    shot(page, "j3-journal-pending")
    sign_out(page)

    # A manager approves it from the queue, then posts it.
    sign_in(page, "manager@demo.bank")
    expect_home(page)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.locator(".nav-badge")).to_be_visible()
    nav.get_by_role("link", name="Approvals").click()
    expect(page.get_by_role("heading", name="Approvals", level=1)).to_be_visible()
    journals = page.locator("#approvals-journals")
    expect(journals).to_contain_text(description)
    shot(page, "j4-approvals")
    journals.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=f"Journal {number}")).to_be_visible()
    lines = page.locator(".journal-lines")
    expect(lines).to_contain_text("Operating expense")
    expect(lines).to_contain_text("Payables")
    expect(lines.locator("tfoot")).to_contain_text("₦15,000.00")
    expect(page.locator(".timeline")).to_contain_text("teller@demo.bank")
    shot(page, "j5-approval-detail")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Approved. It can be posted now")).to_be_visible()
    page.locator("#approvals-to_post").get_by_role("link", name=number).click()
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_text("Posted: the balances have changed.")).to_be_visible()
    journal_id = journal_url.rsplit("/", 1)[1]
    assert core.journal(journal_id)["status"] == "POSTED"
    sign_out(page)

    # A second manager reverses it with a reason; both journals show their link.
    sign_in(page, "manager2@demo.bank")
    expect_home(page)
    page.goto(journal_url)
    page.get_by_label("Reason").fill("Booked to the wrong period")
    page.get_by_role("button", name="Reverse", exact=True).click()
    expect(page.get_by_text("Booked to the wrong period")).to_be_visible()
    shot(page, "j6-confirm-reversal")
    page.get_by_role("button", name="Confirm reversal").click()
    expect(page.get_by_text("This is the reversal")).to_be_visible()
    expect(page.locator(".page-head__title .badge")).to_have_text("Posted")
    back = page.get_by_role("link", name=f"Reverses {number}")
    expect(back).to_be_visible()
    mirror_number = page.locator(".page-head__title .mono").inner_text()
    shot(page, "j7-mirror")
    back.click()
    expect(page.get_by_role("heading", name=f"Journal {number}")).to_be_visible()
    expect(page.locator(".page-head__title .badge")).to_have_text("Reversed")
    expect(page.get_by_role("link", name=f"Reversed by {mirror_number}").first).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Booked to the wrong period")
    expect(page.locator(".timeline")).to_contain_text("manager2@demo.bank")
    assert core.journal(journal_id)["status"] == "REVERSED"
    assert console_messages == [], console_messages


def test_bulk_approve_of_three_journals_shows_three_results(page: Page, core: CoreAPI) -> None:
    made = [core.draft_journal(f"{n},000.00".replace(",", "")) for n in (11, 12, 13)]
    sign_in(page, "manager2@demo.bank")
    expect_home(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    journals = page.locator("#approvals-journals")
    for j in made:
        journals.get_by_label(f"Select {j['journal_number']}").check()
    journals.get_by_role("button", name="Approve selected").click()
    results = page.locator(".results")
    expect(results).to_be_visible()
    for j in made:
        row = results.locator("tr", has_text=j["journal_number"])
        expect(row).to_contain_text("Approved. It can be posted now")
    expect(results.locator("tbody tr")).to_have_count(3)
    shot(page, "j8-bulk-results")
    assert [core.journal(j["id"])["status"] for j in made] == ["APPROVED"] * 3

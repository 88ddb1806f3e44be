"""console.md flow 3 in a real browser, with its exact labels: an admin creates a year's
periods, finds the close of January blocked by a pending journal, follows the link, has
the journal handled (rejected by the admin, who did not make it), closes the period and
reads its snapshot; a non-admin sees no close button and is refused when posting anyway.

The year is a past one nobody uses (journals may not be dated after the business date, so
a blocker journal in next year's January is impossible); the sandbox's current-year
periods stay open for the other tests.
"""

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from browser_helpers import CoreAPI, expect_home, htmx_idle, sign_in
from playwright.sync_api import Page, expect

from tests.live_server import LiveServer


class PeriodsCore(CoreAPI):
    """The live core, as the admin unless told, for setting years and journals up."""

    default_user = "admin@demo.bank"

    def free_year(self) -> int:
        # Asked year by year: the suites before this one may have created more periods
        # than one page of the unfiltered list holds.
        year = 2001
        while self.call("GET", "/fiscal-periods", params={"fiscal_year": str(year)})[
            "fiscal_periods"
        ]:
            year += 1
        return year

    def draft_period_journal(self, effective_date: str, description: str) -> dict[str, Any]:
        return self.draft_journal(
            "980.00",
            debit="1400",
            credit="4200",
            description=description,
            effective_date=effective_date,
            journal_type="GENERAL",
        )


@pytest.fixture(scope="session")
def core(live_server: LiveServer) -> Iterator[PeriodsCore]:
    api = PeriodsCore(live_server.api_url)
    yield api
    api.close()


def test_an_admin_closes_a_period_behind_its_checklist(
    page: Page, core: PeriodsCore, console_messages: list[str]
) -> None:
    year = core.free_year()
    sign_in(page, "admin@demo.bank")
    expect_home(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Fiscal periods").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Fiscal periods \d{4}$"))).to_be_visible()

    # Create the year (once htmx has wired the page up: see htmx_idle).
    htmx_idle(page)
    page.get_by_label("New fiscal year").fill(str(year))
    page.get_by_role("button", name="Create year").click()
    expect(page.get_by_role("heading", name=f"Fiscal periods {year}")).to_be_visible()
    expect(page.get_by_text("The year's periods were created")).to_be_visible()
    rows = page.locator("tr.period-row")
    expect(rows).to_have_count(13)
    january_row = rows.filter(has_text=f"January {year}")
    expect(january_row.locator(".badge--period")).to_have_text("Open")

    # A teller drafts a journal dated in January: it blocks the close.
    journal = core.draft_period_journal(f"{year}-01-15", f"Fees accrued <b>{year}</b>")
    january_row.get_by_role("link", name="Close period").click()
    expect(page.get_by_role("heading", name=f"Close January {year}")).to_be_visible()
    blockers = page.locator("#blockers")
    expect(blockers).to_contain_text(f"Journal {journal['journal_number']}")
    expect(blockers).to_contain_text("waiting for approval")
    expect(blockers).to_contain_text(f"Fees accrued <b>{year}</b>")  # literally, as typed
    expect(page.get_by_role("button", name="Confirm close")).to_have_count(0)
    expect(page.get_by_role("heading", name="Trial balance as of")).to_be_visible()

    # Follow the link and get it handled: the admin did not make it, so may reject it.
    blockers.get_by_role("link", name=re.compile(journal["journal_number"])).click()
    expect(page).to_have_url(re.compile(rf"/journals/{journal['id']}$"))
    htmx_idle(page)
    page.get_by_label("Reason").first.fill("Belongs to another period")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".page-head__title")).to_contain_text("Rejected")

    # Back to the checklist: nothing blocks now; confirm the close.
    page.goto(f"/periods?year={year}")
    page.locator("tr.period-row", has_text=f"January {year}").get_by_role(
        "link", name="Close period"
    ).click()
    expect(page.get_by_text("Nothing blocks this period")).to_be_visible()
    page.get_by_role("button", name="Confirm close").click()

    # The snapshot: the trial balance stored at close.
    expect(page.get_by_role("heading", name=re.compile(rf"^January {year}"))).to_be_visible()
    expect(page.get_by_text("Period closed.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Trial balance at close"))).to_be_visible()
    expect(page.locator(".page-head__title .badge--period")).to_have_text("Closed")
    expect(page.locator("tfoot .total-row").first).to_be_visible()
    closed = core.call("GET", f"/fiscal-periods/{journal['fiscal_period_id']}")
    assert closed["status"] == "closed"
    page.goto(f"/periods?year={year}")
    expect(
        page.locator("tr.period-row", has_text=f"January {year}").locator(".badge--period")
    ).to_have_text("Closed")
    assert not [m for m in console_messages if "Content Security Policy" in m], console_messages


def test_a_non_admin_sees_no_close_and_is_refused_anyway(page: Page, core: PeriodsCore) -> None:
    current = core.call("GET", "/fiscal-periods/current")
    sign_in(page, "manager@demo.bank")
    expect_home(page)
    page.goto("/periods")
    expect(page.locator("tr.period-row")).to_have_count(13)
    expect(page.get_by_role("link", name="Close period")).to_have_count(0)
    expect(page.get_by_role("button", name="Create year")).to_have_count(0)
    expect(page.get_by_role("link", name="Close year")).to_have_count(0)
    page.goto(f"/periods/{current['id']}")
    expect(page.get_by_role("link", name="Close period")).to_have_count(0)

    # Posting to the close URL directly (with a valid CSRF token) is refused.
    token = page.locator('input[name="_csrf_token"]').first.get_attribute("value")
    assert token
    answer = page.request.post(
        f"/periods/{current['id']}/close",
        form={"_csrf_token": token, "idempotency_key": f"console-{uuid.uuid4().hex}"},
    )
    assert answer.status == 403
    assert "You need the Admin role for this" in answer.text()
    page.goto(f"/periods/{current['id']}/close")
    expect(page.get_by_role("heading", name="You don't have access to this")).to_be_visible()
    assert core.call("GET", f"/fiscal-periods/{current['id']}")["status"] == "open"

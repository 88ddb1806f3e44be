"""Fiscal periods in the console against the live core: the year's periods by role, create a
year, the pre-close checklist with what blocks a close (and its links), "Confirm close",
the snapshot and its CSV, close year, and everything refused that should be.

Closes happen only in past years nobody else uses (``free_year``): the sandbox's
current-year periods stay open for the rest of the run.
"""

import csv
import io
import re
import uuid
from decimal import Decimal
from typing import Any

from console_helpers import csrf_from, csrf_token, sign_in
from period_helpers import (
    action_log,
    close_through,
    create_year,
    draft_journal,
    form_fields,
    free_year,
    gl_account,
    page_text,
    post_form,
    year_periods,
)


async def test_everyone_reads_the_periods_only_admins_see_the_writes(browser, core):
    current = await core.call("GET", "/fiscal-periods/current", expect=200)
    for email in ("viewer@demo.bank", "manager@demo.bank"):
        browser.cookies.clear()
        await sign_in(browser, email)
        page = await browser.get("/periods")
        assert page.status_code == 200
        assert "<title>Fiscal periods" in page.text
        text = page_text(page.text)
        assert f"Fiscal periods {current['fiscal_year']}" in text
        assert current["period_name"] in text and "Current" in text
        assert 'class="badge badge--period badge--period-open">Open<' in page.text
        assert ">Create year</button>" not in page.text
        assert ">Close period</a>" not in page.text and "Close year" not in page.text
        assert 'action="/periods/years"' not in page.text
    browser.cookies.clear()
    await sign_in(browser, "admin@demo.bank")
    page = await browser.get("/periods")
    assert ">Create year</button>" in page.text
    assert '<label class="field__label" for="field-year">New fiscal year</label>' in page.text
    assert (
        f'href="/periods/{current["id"]}/close"' in page.text and ">Close period</a>" in page.text
    )
    assert f'href="/periods/year/{current["fiscal_year"]}/close">Close year</a>' in page.text


async def test_admin_creates_a_year_closes_january_and_sees_its_snapshot(browser, core, settings):
    year = await free_year(core)
    # Something to show in the snapshot: a posted journal dated in January of that year, on
    # two GL accounts of its own (other suites post to the standard chart in earlier years,
    # and a trial balance as of a date sums everything up to it).
    await create_year(core, year)
    before = await core.call(
        "GET", "/reports/trial-balance", params={"as_of": f"{year}-01-31"}, expect=200
    )
    debit, credit = (
        await own_gl_account(core, "1000", "ASSET"),
        await own_gl_account(core, "4000", "REVENUE"),
    )
    journal = await draft_journal(
        core, f"{year}-01-20", amount="1234567.89", debit=debit, credit=credit
    )
    await core.call("POST", f"/journals/{journal['id']}/approve", as_user="officer@demo.bank")
    await core.call("POST", f"/journals/{journal['id']}/post", as_user="manager@demo.bank")
    periods = await year_periods(core, year)
    january = periods[1]

    await sign_in(browser, "admin@demo.bank")
    listing = await browser.get(f"/periods?year={year}")
    text = page_text(listing.text)
    assert f"Fiscal periods {year}" in text
    for number in range(1, 14):
        assert f'href="/periods/{periods[number]["id"]}"' in listing.text
    assert f"Year-end adjustments {year}" in text and "Closes with the year" in text

    checklist = await browser.get(f"/periods/{january['id']}/close")
    assert checklist.status_code == 200
    text = page_text(checklist.text)
    assert "Pre-close checklist" in text
    assert f"Nothing blocks this period: no journal or teller transaction of January {year}" in text
    assert ">Confirm close</button>" in checklist.text
    assert f"Trial balance as of {_short(year, 1, 31)}" in text
    live = await core.call(
        "GET", "/reports/trial-balance", params={"as_of": f"{year}-01-31"}, expect=200
    )
    total = Decimal(before["total_debit"]) + Decimal("1234567.89")
    assert Decimal(live["total_debit"]) == Decimal(live["total_credit"]) == total
    shown = f"₦{_thousands(live['total_debit'])}"
    assert f"Total {shown} {shown}" in text  # the core's totals, debits = credits

    fields = await form_fields(
        browser, f"/periods/{january['id']}/close", f"/periods/{january['id']}/close"
    )
    closed = await browser.post(f"/periods/{january['id']}/close", data=fields)
    assert closed.status_code == 303
    assert closed.headers["location"] == f"/periods/{january['id']}?done=closed"
    assert await action_log(settings, fields["idempotency_key"]) == [
        ("periods.close", "success", None)
    ]
    after = await core.call("GET", f"/fiscal-periods/{january['id']}", expect=200)
    assert after["status"] == "closed"
    assert after["closed_by_email"] == "admin@demo.bank"

    snapshot_page = await browser.get(closed.headers["location"])
    text = page_text(snapshot_page.text)
    assert "Period closed." in text
    assert f"Trial balance at close, as of {_short(year, 1, 31)}" in text
    assert 'badge--period-closed">Closed<' in snapshot_page.text
    snapshot = after["trial_balance_snapshot"]
    ngn = next(t for t in snapshot["totals"] if t["currency"] == "NGN")
    assert f"₦{_thousands(ngn['total_debit'])}" in text
    for line in snapshot["lines"]:
        assert line["code"] in text and line["name"] in text
    assert "₦1,234,567.89" in text  # the journal's lines, as people read figures

    download = await browser.get(f"/periods/{january['id']}/snapshot.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert f"trial-balance-january-{year}-at-close.csv" in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["Code", "Account", "Debit", "Credit", "Currency"]
    expected = sorted(
        ([line["code"], line["name"], line["debit"], line["credit"], line["currency"]])
        for line in snapshot["lines"]
    )
    assert sorted(r for r in rows[1:] if r[0]) == expected
    totals = [r for r in rows if r[1] == "Total"]
    assert ["", "Total", ngn["total_debit"], ngn["total_credit"], "NGN"] in totals

    # A closed period offers no close; its checklist says so.
    again = await browser.get(f"/periods/{january['id']}/close")
    assert "This period is already closed." in page_text(again.text)
    assert ">Confirm close</button>" not in again.text


async def test_checklist_lists_what_blocks_with_links_and_the_core_decides(browser, core, settings):
    year = await free_year(core)
    periods = await create_year(core, year)
    january, february = periods[1], periods[2]
    journal = await draft_journal(
        core, f"{year}-02-10", description='Accrual <script>alert("x")</script> & "rent"'
    )
    await sign_in(browser, "admin@demo.bank")
    page = await browser.get(f"/periods/{february['id']}/close")
    text = page_text(page.text)
    assert "2 things must be handled before February" in text
    # Each blocker links to where it is handled.
    assert f'href="/periods/{january["id"]}">January {year}</a>' in page.text
    assert f'href="/journals/{journal["id"]}">Journal {journal["journal_number"]}' in page.text
    # What the core's close-blockers read says of it: its state, its date, its amount.
    assert "waiting for approval" in text and f"dated {_short(year, 2, 10)}" in text
    assert "₦250.00" in text
    # The injected description is shown as text, never run.
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;rent&#34;" in page.text
    assert '<script>alert("x")' not in page.text
    assert ">Confirm close</button>" not in page.text

    # Sent anyway (a crafted form): the core refuses and lists the blockers itself.
    key_page = await browser.get(f"/periods/{january['id']}/close")
    crafted_key = f"console-{uuid.uuid4().hex}"
    refused = await browser.post(
        f"/periods/{february['id']}/close",
        data={"_csrf_token": csrf_from(key_page.text), "idempotency_key": crafted_key},
    )
    assert refused.status_code == 422
    assert await action_log(settings, crafted_key) == [
        ("periods.close", "failure", "PERIOD_CLOSE_BLOCKED")
    ]
    text = page_text(refused.text)
    assert "This period can't close yet" in text
    assert "The banking service refused the close because of:" in text
    core_list = re.search(r'<ul class="blockers" id="core-blockers">(.*?)</ul>', refused.text, re.S)
    assert core_list, "the core's own blockers are not listed"
    assert f'href="/journals/{journal["id"]}"' in core_list.group(1)
    assert f'href="/periods/{january["id"]}"' in core_list.group(1)
    assert (await core.call("GET", f"/fiscal-periods/{february['id']}"))["status"] == "open"

    # Handle both: reject the journal (not by its maker), close January; then it closes.
    await core.call(
        "POST",
        f"/journals/{journal['id']}/reject",
        as_user="manager@demo.bank",
        json={"reason": "Wrong month"},
        expect=200,
    )
    assert (
        await post_form(
            browser, f"/periods/{january['id']}/close", f"/periods/{january['id']}/close"
        )
    ).status_code == 303
    ready = await browser.get(f"/periods/{february['id']}/close")
    assert "Nothing blocks this period" in page_text(ready.text)
    closed = await post_form(
        browser, f"/periods/{february['id']}/close", f"/periods/{february['id']}/close"
    )
    assert closed.status_code == 303
    assert (await core.call("GET", f"/fiscal-periods/{february['id']}"))["status"] == "closed"


async def test_current_period_checklist_lists_a_pending_teller_transaction(browser, core):
    account = await core.open_account(opening="10.00")
    pending = await core.deposit(account["id"], "1750000.00")
    assert pending["status"] == "PENDING_APPROVAL"
    current = await core.call("GET", "/fiscal-periods/current", expect=200)
    await sign_in(browser, "admin@demo.bank")
    page = await browser.get(f"/periods/{current['id']}/close")
    text = page_text(page.text)
    assert f'href="/approvals/transactions/{pending["id"]}"' in page.text
    # As the core's close-blockers read names it (a teller transaction, by its reference).
    assert f"Transaction {pending['transaction_ref']}" in text
    assert "awaiting approval, ₦1,750,000.00" in text
    assert ">Confirm close</button>" not in page.text
    # Home shows the same readiness to the admin, with the link to the checklist.
    home = await browser.get("/")
    assert f"Current period: {current['period_name']}" in page_text(home.text)
    assert f'href="/periods/{current["id"]}/close"' in home.text
    await core.call(
        "POST",
        f"/transactions/{pending['id']}/reject",
        as_user="officer@demo.bank",
        json={"reason": "Test tidy-up"},
        expect=200,
    )
    assert (await core.call("GET", f"/fiscal-periods/{current['id']}"))["status"] == "open"


async def test_close_year_says_what_it_does_and_locks_the_year(browser, core):
    year = await free_year(core)
    periods = await create_year(core, year)
    journal = await draft_journal(core, f"{year}-03-15", amount="5000.00")
    await core.call("POST", f"/journals/{journal['id']}/approve", as_user="officer@demo.bank")
    await core.call("POST", f"/journals/{journal['id']}/post", as_user="manager@demo.bank")
    await sign_in(browser, "admin@demo.bank")

    page = await browser.get(f"/periods/year/{year}/close")
    text = page_text(page.text)
    assert "3200 Retained earnings" in text
    assert "Every month must be closed first. Still open:" in text
    assert f'href="/periods/{periods[12]["id"]}">December {year}</a>' in page.text
    assert ">Close year</button>" not in page.text

    await close_through(core, periods, 12)
    page = await browser.get(f"/periods/year/{year}/close")
    assert f"All twelve months of {year} are closed." in page_text(page.text)
    closed = await post_form(browser, f"/periods/year/{year}/close", f"/periods/year/{year}/close")
    assert closed.status_code == 303
    assert closed.headers["location"].startswith(f"/periods?year={year}&done=year_closed&journal=")
    listing = await browser.get(closed.headers["location"])
    link = re.search(r'href="/journals/([0-9a-f-]{36})">See the closing journal</a>', listing.text)
    assert link, "no link to the closing journal"
    closing_journal = await core.call("GET", f"/journals/{link.group(1)}", expect=200)
    assert closing_journal["journal_type"] == "CLOSING"
    assert closing_journal["fiscal_period_id"] == periods[13]["id"]
    assert any(e["gl_account_code"] == "3200" for e in closing_journal["entries"])
    text = page_text(listing.text)
    assert "Year closed: the closing journal moved the year's revenue and expenses" in text
    assert listing.text.count('badge--period-locked">Locked<') == 13
    assert "Close year" not in text
    after = await year_periods(core, year)
    assert {p["status"] for p in after.values()} == {"locked"}
    # Closing an already closed year is refused in words.
    again = await browser.get(f"/periods/year/{year}/close")
    assert f"{year} is already closed" in page_text(again.text)


async def test_non_admins_are_refused_every_write(browser, core):
    year = await free_year(core)
    periods = await create_year(core, year)
    january = periods[1]
    for email in ("viewer@demo.bank", "officer@demo.bank", "manager@demo.bank"):
        browser.cookies.clear()
        await sign_in(browser, email)
        detail = await browser.get(f"/periods/{january['id']}")
        assert detail.status_code == 200
        assert ">Close period</a>" not in detail.text
        token = await csrf_token(browser)
        for path, fields in (
            (f"/periods/{january['id']}/close", {}),
            (f"/periods/year/{year}/close", {}),
            ("/periods/years", {"year": str(year + 1)}),
        ):
            refused = await browser.post(
                path,
                data={"_csrf_token": token, "idempotency_key": "console-" + "b" * 32, **fields},
            )
            assert refused.status_code == 403, (email, path)
            assert "You need the Admin role for this" in refused.text
        assert (await browser.get(f"/periods/{january['id']}/close")).status_code == 403
    assert (await core.call("GET", f"/fiscal-periods/{january['id']}"))["status"] == "open"
    assert year + 1 not in {
        p["fiscal_year"]
        for p in (await core.call("GET", "/fiscal-periods", params={"fiscal_year": str(year + 1)}))[
            "fiscal_periods"
        ]
    }


async def test_create_year_bad_input_is_shown_by_the_field(browser, core):
    await sign_in(browser, "admin@demo.bank")
    answer = await post_form(browser, "/periods", "/periods/years", year="20x1")
    assert answer.status_code == 400
    assert "Enter the year as four digits, like 2027." in answer.text
    assert 'value="20x1"' in answer.text  # what was typed stays
    current = await core.call("GET", "/fiscal-periods/current", expect=200)
    duplicate = await post_form(
        browser, "/periods", "/periods/years", year=str(current["fiscal_year"])
    )
    assert duplicate.status_code == 409
    assert f"{current['fiscal_year']} already has its fiscal periods." in duplicate.text


async def test_period_writes_need_the_csrf_token(browser, core):
    year = await free_year(core)
    periods = await create_year(core, year)
    await sign_in(browser, "admin@demo.bank")
    for path, fields in (
        ("/periods/years", {"year": str(year + 1)}),
        (f"/periods/{periods[1]['id']}/close", {}),
        (f"/periods/year/{year}/close", {}),
    ):
        refused = await browser.post(
            path, data={"idempotency_key": "console-" + "c" * 32, **fields}
        )
        assert refused.status_code == 403, path
        assert "nothing was changed" in refused.text
    assert (await core.call("GET", f"/fiscal-periods/{periods[1]['id']}"))["status"] == "open"
    taken = await core.call("GET", "/fiscal-periods", params={"fiscal_year": str(year + 1)})
    assert taken["fiscal_periods"] == []


async def test_unknown_periods_are_not_found(browser):
    await sign_in(browser, "admin@demo.bank")
    missing = "00000000-0000-4000-8000-000000000000"
    for path in (f"/periods/{missing}", f"/periods/{missing}/close", "/periods/year/1800/close"):
        page = await browser.get(path)
        assert page.status_code == 404, path


def _short(year: int, month: int, day: int) -> str:
    from datetime import date

    value = date(year, month, day)
    return f"{value:%a} {value.day} {value:%b %Y}"


async def own_gl_account(core: Any, parent_code: str, category: str) -> str:
    """A new leaf GL account under ``parent_code``; its code."""
    parent = await gl_account(core, parent_code)
    code = f"{parent_code[0]}9-{uuid.uuid4().hex[:8]}"
    await core.call(
        "POST",
        "/gl/accounts",
        as_user="officer@demo.bank",
        json={
            "code": code,
            "name": f"Period test {code}",
            "category": category,
            "parent_id": parent["id"],
        },
        expect=201,
    )
    return code


def _thousands(amount: str) -> str:
    whole, _, cents = amount.partition(".")
    return f"{int(whole):,}.{cents or '00'}"

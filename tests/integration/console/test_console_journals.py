"""Journals in the console against the live server: the composer (with and without htmx),
the list and its filters, a journal's page with its timeline, and every action by role."""

import html
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from console_helpers import csrf_from, sign_in
from journal_helpers import (
    HTMX,
    business_date,
    gl_ids,
    journal,
    journals_by,
    make_journal,
    move,
    open_composer,
    press,
)
from money_helpers import KEY, Core, field_errors


@pytest.fixture(scope="session")
async def core(live_server) -> AsyncIterator[Core]:  # type: ignore[no-untyped-def]
    api = Core(live_server.api_url)
    yield api
    await api.close()


@pytest.fixture(scope="module")
async def gl(core: Core) -> dict[str, str]:
    return await gl_ids(core)


def unique(prefix: str = "Accrual") -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


def lines_on(page: str) -> int:
    return len(re.findall(r'<fieldset class="journal-line', page))


# -- the composer -------------------------------------------------------------------------


async def test_composer_has_the_labels_and_the_business_date(browser, core):
    await sign_in(browser, "teller@demo.bank")
    page = await browser.get("/journals/new")
    assert page.status_code == 200
    text = page.text
    assert ">New journal</h1>" in text
    for label in ("Account", "Debit", "Credit"):
        assert text.count(f'">{label}</label>') == 2  # on each of the two first lines
    assert '<label class="field__label" for="field-description">Description</label>' in text
    assert '<label class="field__label" for="field-effective_date">Effective date</label>' in text
    assert f'name="effective_date" type="date" value="{await business_date(core)}"' in text
    assert ">Add line</button>" in text and ">Submit for approval</button>" in text
    assert ">Remove line</button>" not in text  # two lines is the least a journal has
    assert KEY.search(text)
    # "Journals" → "New journal": the list links to it for those who may compose.
    listing = await browser.get("/journals")
    assert 'href="/journals/new">New journal</a>' in listing.text


async def test_add_and_remove_line_without_javascript(browser, gl):
    await sign_in(browser, "teller@demo.bank")
    csrf, key = await open_composer(browser)
    lines = [("5200", gl["5200"], "100.00", ""), ("2200", gl["2200"], "", "40.00")]
    added = await press(
        browser, "add_line", csrf=csrf, key=key, description="Office rent", lines=lines
    )
    assert added.status_code == 303
    assert added.headers["location"] == f"/journals/new?draft={key}"
    page = (await browser.get(added.headers["location"])).text
    assert lines_on(page) == 3
    assert 'value="Office rent"' in page and 'value="100.00"' in page and 'value="40.00"' in page
    assert f'name="idempotency_key" value="{key}"' in page  # nothing was sent: same key
    assert page.count(">Remove line</button>") == 3
    assert 'id="line-2-account"' in page and "autofocus" in page
    # Fill the new line, then remove the middle one: the others keep their values.
    three = [*lines, ("4200", gl["4200"], "", "60.00")]
    removed = await press(
        browser, "remove_line:1", csrf=csrf, key=key, description="Office rent", lines=three
    )
    page = (await browser.get(removed.headers["location"])).text
    assert lines_on(page) == 2
    assert 'value="100.00"' in page and 'value="60.00"' in page
    assert 'value="40.00"' not in page
    assert "Fee income" in page  # the remaining second line is the fee income one


async def test_add_line_with_htmx_swaps_the_lines_and_the_totals(browser, gl):
    await sign_in(browser, "teller@demo.bank")
    csrf, key = await open_composer(browser)
    lines = [("5200", gl["5200"], "1,000.50", ""), ("2200", gl["2200"], "", "900")]
    answer = await press(browser, "add_line", csrf=csrf, key=key, lines=lines, headers=HTMX)
    assert answer.status_code == 200
    fragment = answer.text.strip()
    assert "<html" not in fragment and "<nav" not in fragment
    assert fragment.startswith('<div id="composer-lines"')
    assert lines_on(fragment) == 3
    assert '<section id="composer-totals"' in fragment
    assert re.search(r'id="composer-totals"[^>]*hx-swap-oob="true"', fragment)
    assert re.search(r'id="composer-submit"[^>]*hx-swap-oob="true"', fragment)
    assert "₦1,000.50" in fragment and "₦900.00" in fragment and "₦100.50" in fragment
    assert answer.headers["vary"] == "HX-Request"


async def test_live_totals_add_up_in_decimal(browser, gl):
    await sign_in(browser, "teller@demo.bank")
    csrf, key = await open_composer(browser)
    # 0.10 + 0.20 is 0.30 exactly (in floats it is not): balanced.
    lines = [
        ("5200", gl["5200"], "0.10", ""),
        ("5100", gl["5100"], "0.20", ""),
        ("2200", gl["2200"], "", "0.30"),
    ]
    answer = await press(
        browser, "", csrf=csrf, key=key, lines=lines, headers=HTMX, path="/journals/new/totals"
    )
    assert answer.status_code == 200
    fragment = answer.text.strip()
    assert fragment.startswith('<section id="composer-totals"')
    assert 'data-total="difference">₦0.00<' in fragment
    assert "Balanced: debits equal credits." in fragment
    assert 'data-balanced="true"' in fragment
    # Unbalanced: the difference and why it can't be submitted, live.
    lines[2] = ("2200", gl["2200"], "", "0.25")
    answer = await press(
        browser, "", csrf=csrf, key=key, lines=lines, headers=HTMX, path="/journals/new/totals"
    )
    assert 'data-total="difference">₦0.05<' in answer.text
    assert 'data-balanced="false"' in answer.text
    assert "differ by ₦0.05" in answer.text
    # A line that is not an amount is named.
    lines[1] = ("5100", gl["5100"], "12,3x", "")
    answer = await press(
        browser, "", csrf=csrf, key=key, lines=lines, headers=HTMX, path="/journals/new/totals"
    )
    assert "Check the amount on line 2." in answer.text


async def test_account_search_offers_postable_gl_and_customer_accounts(browser, core):
    account = await core.open_account(opening="50.00")
    await sign_in(browser, "teller@demo.bank")
    gl_found = await browser.get(
        "/journals/accounts", params={"line": "1", "lines-1-account": "payab"}, headers=HTMX
    )
    assert gl_found.status_code == 200
    assert 'name="lines-1-account_id"' in gl_found.text
    assert "Payables" in gl_found.text and ">GL</span>" in gl_found.text
    # Headers and accounts that take system postings only are never offered.
    for code in ("2100", "2101", "1101-001"):
        found = await browser.get(
            "/journals/accounts", params={"line": "0", "lines-0-account": code}, headers=HTMX
        )
        assert f'match__number mono">{code}<' not in found.text, code
    customer = await browser.get(
        "/journals/accounts",
        params={"line": "0", "lines-0-account": account["account_number"]},
        headers=HTMX,
    )
    assert account["account_number"] in customer.text
    assert account["customer_name"] in customer.text
    assert f'value="{account["id"]}" checked' in customer.text  # the only match is chosen


async def test_unbalanced_journal_is_refused_and_nothing_is_sent(browser, core, gl):
    await sign_in(browser, "teller@demo.bank")
    csrf, key = await open_composer(browser)
    description = unique("Unbalanced")
    lines = [("5200", gl["5200"], "100.00", ""), ("2200", gl["2200"], "", "90.00")]
    answer = await press(
        browser, "submit", csrf=csrf, key=key, description=description,
        effective_date=await business_date(core), lines=lines,
    )  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/journals/new?draft={key}"
    page = (await browser.get(answer.headers["location"])).text
    assert "The journal does not balance" in page
    assert "differ by ₦10.00" in page
    assert f'name="idempotency_key" value="{key}"' in page  # still unsent: the same key
    assert await journals_by(core, "teller@demo.bank", description) == []


async def test_incomplete_lines_and_header_are_explained(browser, core, gl):
    await sign_in(browser, "teller@demo.bank")
    csrf, key = await open_composer(browser)
    lines = [("5200", gl["5200"], "100.00", "100.00"), ("no such account zzz", "", "", "100")]
    answer = await press(
        browser, "submit", csrf=csrf, key=key, description="", effective_date="2099-01-01",
        lines=lines,
    )  # fmt: skip
    page = (await browser.get(answer.headers["location"])).text
    errors = field_errors(page)
    assert "Enter a description: what this journal is for." in errors
    assert any(e.startswith("The effective date can't be after today's business date") for e in errors)
    assert "Enter either a debit or a credit on a line, not both." in errors
    assert any("No account that takes manual entries matches" in e for e in errors)


async def test_balanced_journal_is_submitted_once(browser, core, gl):
    account = await core.open_account(opening="500.00")
    await sign_in(browser, "teller@demo.bank")
    csrf, key = await open_composer(browser)
    description = unique("Fee refund")
    today = await business_date(core)
    # A customer account found by its number (no account chosen: the only match is taken).
    lines = [("4200", gl["4200"], "1,250.00", ""), (account["account_number"], "", "", "1250")]
    answer = await press(
        browser, "submit", csrf=csrf, key=key, description=description, effective_date=today,
        lines=lines,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text[:300]
    location = answer.headers["location"]
    assert re.fullmatch(r"/journals/[0-9a-f-]{36}\?done=submitted", location)
    page = (await browser.get(location)).text
    assert "Submitted for approval." in page
    assert "Pending approval" in page
    made = await journals_by(core, "teller@demo.bank", description)
    assert len(made) == 1
    j = made[0]
    assert j["status"] == "PENDING" and j["effective_date"] == today
    assert [(e["entry_type"], e["amount"]) for e in j["entries"]] == [
        ("debit", "1250.00"),
        ("credit", "1250.00"),
    ]
    assert j["entries"][1]["account_id"] == account["id"]
    # The same form sent again (a double click, a resubmission): the same journal.
    again = await press(
        browser, "submit", csrf=csrf, key=key, description=description, effective_date=today,
        lines=lines,
    )  # fmt: skip
    assert again.headers["location"].split("?")[0] == location.split("?")[0]
    assert len(await journals_by(core, "teller@demo.bank", description)) == 1
    # Nothing moved: a pending journal changes no balance.
    assert (await core.account(account["id"]))["ledger_balance"] == "500.00"


async def test_core_refusals_are_shown_next_to_their_lines(browser, core, gl):
    frozen = await core.open_account(opening="100.00")
    await core.call(
        "POST", f"/accounts/{frozen['id']}/freeze", json={"reason": "Court order"}, expect=200
    )
    await sign_in(browser, "teller@demo.bank")
    csrf, key = await open_composer(browser)
    description = unique("Debit a frozen account")
    lines = [(frozen["account_number"], frozen["id"], "20.00", ""), ("4200", gl["4200"], "", "20")]
    answer = await press(
        browser, "submit", csrf=csrf, key=key, description=description,
        effective_date=await business_date(core), lines=lines,
    )  # fmt: skip
    location = answer.headers["location"]
    assert location.startswith("/journals/new?draft=")
    page = (await browser.get(location)).text
    line_0 = re.search(r'<fieldset class="journal-line[^"]*" id="line-0">.*?</fieldset>', page, re.S)
    assert line_0 and "This account is frozen: nothing can be debited from it." in line_0.group(0)
    assert "The banking service refused this journal" in page
    # The core recorded its refusal under the key: the corrected form goes out under a new one.
    fresh = KEY.search(page)
    assert fresh and fresh.group(1) != key
    assert await journals_by(core, "teller@demo.bank", description) == []


async def test_viewer_cannot_compose(browser):
    await sign_in(browser, "viewer@demo.bank")
    assert (await browser.get("/journals/new")).status_code == 403
    listing = await browser.get("/journals")
    assert listing.status_code == 200
    assert 'href="/journals/new"' not in listing.text

"""Journals in the console against the live server: the composer (with and without htmx),
the list and its filters, a journal's page with its timeline, and every action by role."""

import html
import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from console_helpers import csrf_from, sign_in
from console_journal_helpers import (
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
from markupsafe import escape
from money_helpers import KEY, Core, field_errors


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
    after = "The effective date can't be after today's business date"
    assert any(e.startswith(after) for e in errors)
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
    assert "Awaiting approval" in page
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
    line_0 = re.search(r'class="journal-line[^"]*" id="line-0">.*?</fieldset>', page, re.S)
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


# -- the list -------------------------------------------------------------------------------


def rows_of(page: str) -> list[str]:
    return re.findall(r'<a class="mono" href="/journals/([0-9a-f-]{36})">', page)


async def test_list_filters_by_status_dates_and_maker(browser, core):
    mine = await make_journal(core, maker="teller2@demo.bank", description=unique("Listed"))
    posted = await make_journal(core, maker="teller2@demo.bank", description=unique("Posted"))
    await move(core, posted, "approve", "officer@demo.bank")
    await move(core, posted, "post", "officer@demo.bank")
    other = await make_journal(core, maker="teller@demo.bank", description=unique("Other"))
    teller2 = posted["created_by"]
    today = await business_date(core)
    await sign_in(browser, "viewer@demo.bank")

    everything = (await browser.get("/journals")).text
    assert ">Journals</h1>" in everything
    assert f'href="/journals/{mine["id"]}">{mine["journal_number"]}</a>' in everything
    assert "Awaiting approval" in everything and "₦250.00" in everything
    assert 'class="badge badge--status badge--journal-posted">Posted<' in everything
    assert "teller2@demo.bank" in everything

    by_maker = (await browser.get("/journals", params={"maker": teller2})).text
    assert mine["id"] in rows_of(by_maker) and posted["id"] in rows_of(by_maker)
    assert other["id"] not in rows_of(by_maker)
    assert f'<option value="{teller2}" selected>' in by_maker

    posted_only = await browser.get("/journals", params={"status": "POSTED", "maker": teller2})
    assert rows_of(posted_only.text)[0] == posted["id"]
    assert mine["id"] not in rows_of(posted_only.text)

    dated = await browser.get("/journals", params={"from": today, "to": today, "maker": teller2})
    assert posted["id"] in rows_of(dated.text)
    # Long before anything any suite dates a journal on (the earliest, 1989-1990).
    before = await browser.get("/journals", params={"to": "1900-01-01"})
    assert rows_of(before.text) == [] and "No journal matches these filters." in before.text
    # Filters a person mistyped are said, not sent.
    wrong = await browser.get("/journals", params={"from": "yesterday"})
    assert wrong.status_code == 200 and "Enter dates like 2026-11-23." in wrong.text
    backwards = await browser.get("/journals", params={"from": today, "to": "2000-01-01"})
    assert "“From” is after “To”" in backwards.text
    # An htmx filter change answers with the results only.
    fragment = await browser.get("/journals", params={"status": "POSTED"}, headers=HTMX)
    assert fragment.text.strip().startswith('<section id="journal-results"')


async def test_list_loads_more_by_keyset(browser, core):
    made = [
        await make_journal(core, maker="teller2@demo.bank", amount=f"{n + 1}.00") for n in range(27)
    ]
    maker = made[0]["created_by"]
    await sign_in(browser, "viewer@demo.bank")
    first = (await browser.get("/journals", params={"maker": maker, "status": "PENDING"})).text
    first_rows = rows_of(first)
    assert len(first_rows) == 25
    assert first_rows[0] == made[-1]["id"]  # newest first
    more = re.search(r'href="(/journals\?[^"]*cursor=[^"]+)"', first)
    assert more, "no Load more link"
    next_url = html.unescape(more.group(1))
    page_two = await browser.get(next_url, headers=HTMX)
    assert page_two.status_code == 200
    assert "<table" not in page_two.text  # just the rows
    second_rows = rows_of(page_two.text)
    assert second_rows and not set(second_rows) & set(first_rows)
    assert made[0]["id"] in first_rows + second_rows
    # Without htmx the same address is the whole page, a later page of the list.
    whole = (await browser.get(next_url)).text
    assert "Showing a later page." in whole and rows_of(whole) == second_rows


# -- one journal: timeline, links, actions by role -------------------------------------------


def lagos(value: str) -> str:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(
        ZoneInfo("Africa/Lagos")
    )
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}"


async def test_detail_shows_lines_totals_period_and_the_whole_timeline(browser, core):
    made = await make_journal(core, amount="1234567.89", description=unique("Timeline"))
    await move(core, made, "approve", "officer@demo.bank")
    await move(core, made, "post", "manager@demo.bank")
    reversed_ = await move(core, made, "reverse", "manager2@demo.bank", reason="Wrong account")
    original = await journal(core, made["id"])
    mirror = await journal(core, reversed_["reversal_journal_id"])
    await sign_in(browser, "viewer@demo.bank")
    page = (await browser.get(f"/journals/{made['id']}")).text
    assert f"<title>Journal {made['journal_number']} · Branchdesk</title>" in page
    assert "Operating expense" in page and "Payables" in page
    assert page.count("₦1,234,567.89") >= 4  # both lines and both totals
    assert original["fiscal_period"]["period_name"] in page
    for label, who, at in (
        ("Made", "teller@demo.bank", original["created_at"]),
        ("Approved", "officer@demo.bank", original["approved_at"]),
        ("Posted", "manager@demo.bank", original["posted_at"]),
        ("Reversed", "manager2@demo.bank", original["reversed_at"]),
    ):
        assert re.search(rf"<strong>{label}</strong> by [^<]*{re.escape(who)}", page), label
        assert lagos(at) in page, label
    assert "Wrong account" in page
    assert f">Reversed by {mirror['journal_number']}</a>" in page
    assert 'badge--journal-reversed">Reversed<' in page
    mirror_page = (await browser.get(f"/journals/{mirror['id']}")).text
    assert f">Reverses {made['journal_number']}</a>" in mirror_page
    assert "Reversal journal" in mirror_page
    # A viewer is offered no action at all.
    assert ">Approve</button>" not in page and ">Reverse</button>" not in page


async def test_rejected_journal_shows_who_and_why(browser, core):
    made = await make_journal(core, description=unique("To reject"))
    await sign_in(browser, "officer@demo.bank")
    page = (await browser.get(f"/journals/{made['id']}")).text
    keys = KEY.findall(page)
    refused = await browser.post(
        f"/journals/{made['id']}/reject",
        data={"_csrf_token": csrf_from(page), "idempotency_key": keys[1], "reason": " "},
    )
    assert refused.headers["location"].endswith("error=REASON_REQUIRED&verb=reject")
    again = (await browser.get(refused.headers["location"])).text
    assert "Give a reason; it is kept with the journal" in again
    assert (await journal(core, made["id"]))["status"] == "PENDING"
    done = await browser.post(
        f"/journals/{made['id']}/reject",
        data={"_csrf_token": csrf_from(page), "idempotency_key": keys[1], "reason": "Duplicate"},
    )
    assert done.headers["location"] == f"/journals/{made['id']}?done=rejected"
    page = (await browser.get(done.headers["location"])).text
    assert "Rejected. The reason is kept with the journal" in page
    assert re.search(r"<strong>Rejected</strong> by You \(officer@demo.bank\)", page)
    assert "Duplicate" in page
    assert (await journal(core, made["id"]))["rejection_reason"] == "Duplicate"


def buttons(page: str) -> set[str]:
    return set(re.findall(r"<button [^>]*>([^<]+)</button>", page))


async def test_actions_follow_role_and_state(browser, core):
    made = await make_journal(core, description=unique("Roles"))
    url = f"/journals/{made['id']}"
    offered: dict[str, set[str]] = {}
    for email in ("viewer@demo.bank", "teller@demo.bank", "teller2@demo.bank", "officer@demo.bank"):
        browser.cookies.clear()
        await sign_in(browser, email)
        offered[email] = buttons((await browser.get(url)).text) & {
            "Approve", "Reject", "Post", "Reverse",
        }  # fmt: skip
    assert offered == {
        "viewer@demo.bank": set(),
        "teller@demo.bank": set(),  # the maker
        "teller2@demo.bank": set(),
        "officer@demo.bank": {"Approve", "Reject"},
    }
    # The server refuses what the page does not offer: a teller approving, an officer reversing.
    browser.cookies.clear()
    await sign_in(browser, "teller2@demo.bank")
    page = (await browser.get(url)).text
    denied = await browser.post(f"{url}/approve", data={"_csrf_token": csrf_from(page)})
    assert denied.status_code == 403 and "You need the Officer role for this" in denied.text

    # Officer approves, then posts (from the journal's page).
    browser.cookies.clear()
    await sign_in(browser, "officer@demo.bank")
    page = (await browser.get(url)).text
    approved = await browser.post(
        f"{url}/approve",
        data={"_csrf_token": csrf_from(page), "idempotency_key": KEY.findall(page)[0]},
    )
    assert approved.headers["location"] == f"{url}?done=approved"
    page = (await browser.get(approved.headers["location"])).text
    assert "Approved. It can be posted now" in page
    assert buttons(page) & {"Approve", "Reject", "Post", "Reverse"} == {"Post"}
    posted = await browser.post(
        f"{url}/post",
        data={"_csrf_token": csrf_from(page), "idempotency_key": KEY.findall(page)[0]},
    )
    assert posted.headers["location"] == f"{url}?done=posted"
    page = (await browser.get(posted.headers["location"])).text
    assert "Posted: the balances have changed." in page
    assert "Reverse" not in buttons(page)  # officers do not reverse
    denied = await browser.post(
        f"{url}/reverse", data={"_csrf_token": csrf_from(page), "reason": "x", "confirmed": "yes"}
    )
    assert denied.status_code == 403 and "You need the Manager role for this" in denied.text
    # Approving it again is refused by the core, in words.
    again = await browser.post(
        f"{url}/approve",
        data={"_csrf_token": csrf_from(page), "idempotency_key": f"console-{uuid.uuid4().hex}"},
    )
    assert again.headers["location"] == f"{url}?error=INVALID_STATE&verb=approve"
    assert "no longer in that state" in (await browser.get(again.headers["location"])).text
    assert (await journal(core, made["id"]))["status"] == "POSTED"


async def test_reverse_asks_for_a_reason_then_a_confirmation_then_shows_the_mirror(browser, core):
    made = await make_journal(core, maker="teller@demo.bank", description=unique("Reverse me"))
    await move(core, made, "approve", "officer@demo.bank")
    await move(core, made, "post", "officer@demo.bank")
    url = f"/journals/{made['id']}"
    await sign_in(browser, "manager2@demo.bank")
    page = (await browser.get(url)).text
    assert "Reverse" in buttons(page)
    assert '<label class="field__label" for="field-reason">Reason</label>' in page
    csrf, key = csrf_from(page), KEY.findall(page)[-1]
    empty = await browser.post(f"{url}/reverse", data={"_csrf_token": csrf, "idempotency_key": key})
    assert empty.status_code == 400
    assert "Give a reason; it is kept with the journal" in empty.text
    confirm = await browser.post(
        f"{url}/reverse",
        data={"_csrf_token": csrf, "idempotency_key": key, "reason": "Posted twice"},
    )
    assert confirm.status_code == 200
    assert ">Confirm reversal</button>" in confirm.text and "Posted twice" in confirm.text
    assert (await journal(core, made["id"]))["status"] == "POSTED"  # nothing yet
    confirmed = {"reason": "Posted twice", "confirmed": "yes"}
    done = await browser.post(
        f"{url}/reverse",
        data={**confirmed, "_csrf_token": csrf, "idempotency_key": key},
    )
    assert done.status_code == 303
    original = await journal(core, made["id"])
    assert original["status"] == "REVERSED"
    mirror_id = original["reversal_journal_id"]
    assert done.headers["location"] == f"/journals/{mirror_id}?done=reversed"
    mirror = (await browser.get(done.headers["location"])).text
    assert "This is the reversal" in mirror
    assert f">Reverses {made['journal_number']}</a>" in mirror
    assert "This is a reversal journal; a reversal is not itself reversed." in mirror
    # The same confirmed form again (a double click) reverses nothing twice.
    twice = await browser.post(
        f"{url}/reverse",
        data={**confirmed, "_csrf_token": csrf, "idempotency_key": key},
    )
    assert twice.headers["location"] == f"/journals/{mirror_id}?done=reversed"
    # With a new form, the core says it is done already.
    page = (await browser.get(url)).text
    assert "Reverse" not in buttons(page)
    late = await browser.post(
        f"{url}/reverse",
        data={"_csrf_token": csrf, "idempotency_key": f"console-{uuid.uuid4().hex}",
              "reason": "Again", "confirmed": "yes"},
    )  # fmt: skip
    assert late.status_code == 409
    assert "This journal has already been reversed." in late.text


async def test_the_maker_cannot_reverse_their_own_journal(browser, core):
    made = await make_journal(core, maker="manager@demo.bank", description=unique("Own"))
    await move(core, made, "approve", "officer@demo.bank")
    await move(core, made, "post", "officer@demo.bank")
    url = f"/journals/{made['id']}"
    await sign_in(browser, "manager@demo.bank")
    page = (await browser.get(url)).text
    assert "Reverse" not in buttons(page)
    assert "You made this journal; another manager must reverse it." in page
    forced = await browser.post(
        f"{url}/reverse",
        data={"_csrf_token": csrf_from(page), "idempotency_key": f"console-{uuid.uuid4().hex}",
              "reason": "Mine", "confirmed": "yes"},
    )  # fmt: skip
    assert forced.status_code == 403
    assert "You made this journal; another manager must reverse it." in forced.text
    assert (await journal(core, made["id"]))["status"] == "POSTED"


async def test_unknown_journal_is_not_found(browser):
    await sign_in(browser, "viewer@demo.bank")
    missing = await browser.get(f"/journals/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert "We could not find that journal." in missing.text
    assert (await browser.get("/journals/not-an-id")).status_code == 404


# -- security: CSRF on every new write (S4), text shown literally (S5) ----------------------


async def test_every_journal_write_needs_the_csrf_token(browser, core, gl):
    pending = await make_journal(core, description=unique("CSRF"))
    posted = await make_journal(core, description=unique("CSRF posted"))
    await move(core, posted, "approve", "officer@demo.bank")
    await move(core, posted, "post", "officer@demo.bank")
    await sign_in(browser, "manager2@demo.bank")
    description = unique("Forged")
    today = await business_date(core)
    fields = {
        "description": description, "effective_date": today, "journal_type": "GENERAL",
        "lines-0-account_id": gl["5200"], "lines-0-debit": "5",
        "lines-1-account_id": gl["2200"], "lines-1-credit": "5",
        "idempotency_key": f"console-{uuid.uuid4().hex}", "reason": "Forged",
        "confirmed": "yes", "ids": pending["id"],
    }  # fmt: skip
    writes = [
        ("/journals/new", {"action": "submit"}),
        ("/journals/new", {"action": "add_line"}),
        ("/journals/new/totals", {}),
        (f"/journals/{pending['id']}/approve", {}),
        (f"/journals/{pending['id']}/reject", {}),
        (f"/journals/{posted['id']}/reverse", {}),
        ("/approvals/journals/approve-selected", {}),
    ]
    for path, extra in writes:
        for headers in ({"Origin": "https://evil.example"}, {**HTMX}):
            refused = await browser.post(path, data={**fields, **extra}, headers=headers)
            assert refused.status_code == 403, path
            assert "nothing was changed" in refused.text, path
    approved = await make_journal(core, description=unique("CSRF approved"))
    await move(core, approved, "approve", "officer@demo.bank")
    refused = await browser.post(f"/journals/{approved['id']}/post", data=fields)
    assert refused.status_code == 403
    assert (await journal(core, pending["id"]))["status"] == "PENDING"
    assert (await journal(core, posted["id"]))["status"] == "POSTED"
    assert (await journal(core, approved["id"]))["status"] == "APPROVED"
    assert await journals_by(core, "manager2@demo.bank", description) == []


INJECTED = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'; DROP TABLE journals;--"


async def test_injected_text_is_shown_literally(browser, core, gl):
    await sign_in(browser, "teller@demo.bank")
    csrf, key = await open_composer(browser)
    description = f"{INJECTED} {uuid.uuid4().hex[:6]}"
    escaped = str(escape(INJECTED))  # what Jinja's autoescape writes
    # Typed as an account search: echoed back, escaped, in the field and in the message.
    searched = await press(
        browser, "submit", csrf=csrf, key=key, description=description,
        effective_date=await business_date(core),
        lines=[("5200", gl["5200"], "9.99", ""), (INJECTED, "", "", "9.99")],
    )  # fmt: skip
    page = (await browser.get(searched.headers["location"])).text
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert f'value="{escaped}"' in page
    assert f"No account that takes manual entries matches “{escape(INJECTED[:64])}”" in page
    answer = await press(
        browser, "submit", csrf=csrf, key=key, description=description,
        effective_date=await business_date(core),
        lines=[("5200", gl["5200"], "9.99", ""), ("2200", gl["2200"], "", "9.99")],
    )  # fmt: skip
    assert answer.headers["location"].endswith("?done=submitted"), answer.headers["location"]
    made = (await journals_by(core, "teller@demo.bank", description))[0]
    assert made["description"] == description  # stored as typed
    await move(core, made, "reject", "officer@demo.bank", reason=INJECTED)
    for path in (f"/journals/{made['id']}", "/journals"):
        page = (await browser.get(path)).text
        assert "<script>alert(1)</script>" not in page, path
        assert "<img src=x" not in page, path
        assert escaped in page, path
    # A 10 kB description is cut to what a journal holds, never an error page.
    csrf, key = await open_composer(browser)
    long_text = "x" * 10_000
    answer = await press(
        browser, "submit", csrf=csrf, key=key, description=long_text,
        effective_date=await business_date(core),
        lines=[("5200", gl["5200"], "1.00", ""), ("2200", gl["2200"], "", "1.00")],
    )  # fmt: skip
    assert answer.headers["location"].endswith("?done=submitted")
    assert len(await journals_by(core, "teller@demo.bank", "x" * 500)) == 1


async def test_a_cash_journal_is_shown_and_reversed_like_any_other(browser, core):
    account = await core.open_account(opening="10.00")
    deposit = await core.deposit(account["id"], "300.00")
    url = f"/journals/{deposit['journal_id']}"
    await sign_in(browser, "manager2@demo.bank")
    page = (await browser.get(url)).text
    assert "Cash journal" in page
    assert "1101-001" in page and "Teller cash" in page  # the till it went into
    assert f'href="/accounts/{account["id"]}">{account["account_number"]}</a>' in page
    assert "Reverse" in buttons(page)
    csrf, key = csrf_from(page), KEY.findall(page)[-1]
    fields = {"_csrf_token": csrf, "idempotency_key": key, "reason": "Wrong account"}
    done = await browser.post(f"{url}/reverse", data={**fields, "confirmed": "yes"})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=reversed")
    assert (await core.account(account["id"]))["ledger_balance"] == "10.00"
    mirror = (await browser.get(done.headers["location"])).text
    assert "This is a reversal journal; a reversal is not itself reversed." in mirror
    assert "Reverse" not in buttons(mirror)

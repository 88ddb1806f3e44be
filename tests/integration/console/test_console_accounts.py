"""Accounts in the console: list and filters, detail, open, statement (range, pages, chart,
CSV), freeze / unfreeze / close behind a confirmation, holds, branch scope (real core)."""

import csv
import io
import re
from decimal import Decimal

import pytest
from console_helpers import csrf_from
from test_console_accounts_support import (
    ACCOUNT_LINK,
    CoreAPI,
    action_log,
    create_customer,
    key_from,
    open_account,
    signed_in,
    submit,
    unique,
)

AMOUNT = re.compile(r"^[0-9]{1,12}\.[0-9]{2}$")


@pytest.fixture
async def core(live_server):  # type: ignore[no-untyped-def]
    api = CoreAPI(live_server.api_url)
    yield api
    await api.aclose()


async def branch_002_account(core: CoreAPI) -> str:
    body = await core.get("/accounts", branch_code="002", status="ACTIVE")
    return str(body["accounts"][-1]["id"])


async def test_open_account_from_the_customers_page(browser, settings):
    await signed_in(browser)
    customer_id = await create_customer(browser)
    page = await browser.get(f"/customers/{customer_id}")
    assert f'href="/accounts/new?customer_id={customer_id}"' in page.text
    form = await browser.get(f"/accounts/new?customer_id={customer_id}")
    assert form.status_code == 200
    for label in ("Customer", "Product", "Currency", "Branch", "Alias", "Initial deposit"):
        assert f">{label}</label>" in form.text
    assert "Savings (SAV001)" in form.text and "Domiciliary (DOM001)" in form.text
    assert '<option value="001" selected>' in form.text  # the officer's own branch

    account_id = await open_account(browser, customer_id, deposit="₦12,500.50", alias="School fees")
    detail = await browser.get(f"/accounts/{account_id}?done=opened")
    assert detail.status_code == 200
    html = detail.text
    assert "Account opened." in html
    assert "School fees" in html
    assert html.count("₦12,500.50") >= 2  # available and ledger balances
    assert 'class="badge badge--status badge--active">Active<' in html
    assert f'href="/customers/{customer_id}"' in html
    assert "Initial deposit" in html  # the opening cash deposit is on the statement
    customer = await browser.get(f"/customers/{customer_id}")
    assert f'href="/accounts/{account_id}"' in customer.text


async def test_open_account_errors_are_shown_by_their_fields(browser, settings):
    await signed_in(browser)
    customer_id = await create_customer(browser)
    number = re.search(
        r'class="mono">(CUS\d+)<', (await browser.get(f"/customers/{customer_id}")).text
    ).group(1)  # type: ignore[union-attr]
    form = await browser.get(f"/accounts/new?customer_id={customer_id}")
    key, token = key_from(form.text), csrf_from(form.text)
    fields = {
        "_csrf_token": token,
        "idempotency_key": key,
        "customer": number,
        "product_code": "SAV001",
        "currency": "USD",
        "branch_code": "001",
    }
    wrong_currency = await browser.post("/accounts", data=fields)
    assert wrong_currency.status_code == 400
    currency = wrong_currency.text[wrong_currency.text.index('id="field-currency"') :]
    # The console's words for the core's code, never its English.
    assert currency.index("That product is not offered in USD") < 900
    assert key_from(wrong_currency.text) == key

    bad_amount = await browser.post(
        "/accounts", data={**fields, "currency": "NGN", "initial_deposit": "12.345"}
    )
    assert bad_amount.status_code == 400
    assert "Enter an amount in figures, like 1500.00" in bad_amount.text

    nobody = await browser.post("/accounts", data={**fields, "customer": "CUS9999999"})
    assert nobody.status_code == 400
    assert "No customer has the number CUS9999999." in nobody.text
    rows = await action_log(settings, key)
    assert {(r.action, r.outcome) for r in rows} == {("account.open", "failure")}


async def test_list_filters_and_live_search(browser):
    await signed_in(browser, "viewer@demo.bank")
    page = await browser.get("/accounts")
    assert page.status_code == 200
    for label in ("Search", "Status", "Currency", "Branch"):
        assert f">{label}</label>" in page.text
    usd = await browser.get("/accounts", params={"currency": "USD"})
    assert "Emeka Nwosu" in usd.text and "Adaeze Okafor" not in usd.text
    assert "$5,000.00" in usd.text
    ikeja = await browser.get("/accounts", params={"branch": "002"})
    branches = re.findall(r'<td class="mono">(\d{3})</td>', ikeja.text)
    assert branches and set(branches) == {"002"}
    found = await browser.get(
        "/accounts", params={"q": "Bakare", "status": "ACTIVE"}, headers={"HX-Request": "true"}
    )
    assert found.text.lstrip().startswith('<section id="account-results"')
    assert "Damilola Bakare" in found.text and "<html" not in found.text
    assert found.headers["vary"] == "HX-Request"
    none = await browser.get("/accounts", params={"status": "BLOCKED", "q": "zz-nobody"})
    assert "No account matches these filters." in none.text
    # Numbers are right-aligned cells with the currency symbol and separators.
    assert re.search(r'<td class="num">₦\d{1,3}(,\d{3})*\.\d\d</td>', page.text)


async def test_statement_with_range_running_balance_pages_and_chart(browser, core):
    await signed_in(browser)
    customer_id = await create_customer(browser)
    account_id = await open_account(browser, customer_id, deposit="1000.00")
    for n in range(55):
        await core.cash("deposits", account_id, "10.00", f"Savings {n:02d}")
    await core.cash("withdrawals", account_id, "250.50", "Cash out")

    viewer = browser
    viewer.cookies.clear()
    await signed_in(viewer, "viewer@demo.bank")
    page = await viewer.get(f"/accounts/{account_id}/statement")
    assert page.status_code == 200
    html = page.text
    assert ">From</label>" in html and ">To</label>" in html
    assert "<svg" in html and 'role="img"' in html and "chart__line" in html
    assert "Balance over time" in html
    assert "₦1,299.50" in html  # closing: 1000 + 55 × 10 − 250.50
    assert "Money in" in html and "₦1,550.00" in html and "₦250.50" in html
    # Newest first with the running balance.
    rows = re.findall(r"<td>(Cash out|Savings \d\d|Initial deposit)</td>", html)
    assert rows[0] == "Cash out" and rows[1] == "Savings 54"
    assert html.index("₦1,299.50") < html.index("₦1,550.00</td>")
    assert len(rows) == 50
    more = re.search(r'href="(/accounts/[^"]+/statement\?[^"]*cursor=[^"]+)"', html)
    assert more, "no Load more link"
    rest = await viewer.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert rest.status_code == 200
    rest_rows = re.findall(r"<td>(Cash out|Savings \d\d|Initial deposit)</td>", rest.text)
    assert rest_rows[-1] == "Initial deposit" and len(rows) + len(rest_rows) == 57
    assert "<svg" not in rest.text and "<html" not in rest.text

    past = await viewer.get(
        f"/accounts/{account_id}/statement", params={"from": "2020-01-01", "to": "2020-01-31"}
    )
    assert "No postings between" in past.text
    assert 'value="2020-01-01"' in past.text and 'value="2020-01-31"' in past.text
    swapped = await viewer.get(
        f"/accounts/{account_id}/statement", params={"from": "2030-01-31", "to": "2020-01-01"}
    )
    assert "were swapped" in swapped.text


async def test_csv_export_streams_the_whole_range_as_decimal_strings(browser, core):
    await signed_in(browser)
    customer_id = await create_customer(browser)
    account_id = await open_account(browser, customer_id, deposit="5000.00")
    await core.cash("deposits", account_id, "1234.56", '=HYPERLINK("http://x")')
    await core.cash("withdrawals", account_id, "0.56", "ATM")
    account = await core.get(f"/accounts/{account_id}")
    today = (await core.get("/tenant"))["business_date"]

    response = await browser.get(
        f"/accounts/{account_id}/statement.csv", params={"from": today, "to": today}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="statement-{account["account_number"]}-{today}-to-{today}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["Description"] for r in rows] == [
        "ATM",
        '\'=HYPERLINK("http://x")',  # never run as a formula
        "Initial deposit",
    ]
    for row in rows:
        for column in ("Debit", "Credit"):
            assert row[column] == "" or AMOUNT.match(row[column]), row
        assert AMOUNT.match(row["Balance"]) and row["Currency"] == "NGN"
    credits = sum(Decimal(r["Credit"]) for r in rows if r["Credit"])
    debits = sum(Decimal(r["Debit"]) for r in rows if r["Debit"])
    assert credits == Decimal("6234.56") and debits == Decimal("0.56")
    assert Decimal(rows[0]["Balance"]) == credits - debits == Decimal(account["ledger_balance"])
    # An empty range is a header only; a link is on the statement page.
    empty = await browser.get(
        f"/accounts/{account_id}/statement.csv", params={"from": "2020-01-01", "to": "2020-01-02"}
    )
    assert empty.text.strip() == "Date,Posted at,Description,Debit,Credit,Balance,Currency,Journal"
    page = await browser.get(f"/accounts/{account_id}/statement", params={"from": today})
    assert f"/accounts/{account_id}/statement.csv?from={today}" in page.text


async def test_freeze_unfreeze_close_need_a_reason_and_a_confirmation(browser, settings):
    await signed_in(browser)
    customer_id = await create_customer(browser)
    account_id = await open_account(browser, customer_id)
    detail = await browser.get(f"/accounts/{account_id}")
    assert f'href="/accounts/{account_id}/freeze">Freeze<' in detail.text
    assert f'href="/accounts/{account_id}/unfreeze"' not in detail.text

    form = await browser.get(f"/accounts/{account_id}/freeze")
    key, token = key_from(form.text), csrf_from(form.text)
    assert ">Reason</label>" in form.text and ">Continue</button>" in form.text
    no_reason = await browser.post(
        f"/accounts/{account_id}/freeze", data={"_csrf_token": token, "idempotency_key": key}
    )
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.text
    step = await browser.post(
        f"/accounts/{account_id}/freeze",
        data={"_csrf_token": token, "idempotency_key": key, "reason": "Court order 17/2026"},
    )
    assert step.status_code == 200
    assert ">Confirm freeze</button>" in step.text and ">Back</button>" in step.text
    assert "Court order 17/2026" in step.text
    assert "Active" in (await browser.get(f"/accounts/{account_id}")).text  # not yet
    done = await browser.post(
        f"/accounts/{account_id}/freeze",
        data={
            "_csrf_token": token,
            "idempotency_key": key_from(step.text),
            "reason": "Court order 17/2026",
            "confirmed": "yes",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/accounts/{account_id}?done=frozen"
    frozen = await browser.get(done.headers["location"])
    assert "Account frozen." in frozen.text
    assert 'badge--frozen">Frozen<' in frozen.text and "Court order 17/2026" in frozen.text
    assert f'href="/accounts/{account_id}/unfreeze">Unfreeze<' in frozen.text
    rows = await action_log(settings, key)
    assert [(r.action, r.outcome, r.target) for r in rows] == [
        ("account.freeze", "success", f"account:{account_id}")
    ]

    unfreeze = await submit(
        browser,
        f"/accounts/{account_id}/unfreeze",
        f"/accounts/{account_id}/unfreeze",
        {"reason": "Order lifted", "confirmed": "yes"},
    )
    assert unfreeze.status_code == 303
    assert 'badge--active">Active<' in (await browser.get(unfreeze.headers["location"])).text

    close = await submit(
        browser,
        f"/accounts/{account_id}/close",
        f"/accounts/{account_id}/close",
        {"reason": "Customer request", "confirmed": "yes"},
    )
    assert close.status_code == 303
    closed = await browser.get(close.headers["location"])
    assert "Account closed." in closed.text and 'badge--closed">Closed<' in closed.text
    assert "Place hold" not in closed.text
    assert "A closed account can't be changed." in closed.text


async def test_close_with_money_in_it_is_refused_in_plain_words(browser):
    await signed_in(browser)
    customer_id = await create_customer(browser)
    account_id = await open_account(browser, customer_id, deposit="700.00")
    refused = await submit(
        browser,
        f"/accounts/{account_id}/close",
        f"/accounts/{account_id}/close",
        {"reason": "Customer request", "confirmed": "yes"},
    )
    assert refused.status_code == 409
    assert "Only an account with a zero balance and no holds can be closed" in refused.text
    assert ">Reason</label>" in refused.text  # the form again, next to the message
    assert 'badge--active">Active<' in (await browser.get(f"/accounts/{account_id}")).text


async def test_place_and_release_a_hold(browser, settings):
    await signed_in(browser)
    customer_id = await create_customer(browser)
    account_id = await open_account(browser, customer_id, deposit="10000.00")
    bad = await submit(
        browser,
        f"/accounts/{account_id}/holds/new",
        f"/accounts/{account_id}/holds",
        {"amount": "-5", "reason": "Lien"},
    )
    assert bad.status_code == 400
    amount = bad.text[bad.text.index('id="field-amount"') :]
    assert amount.index("Enter an amount in figures") < 600
    past = await submit(
        browser,
        f"/accounts/{account_id}/holds/new",
        f"/accounts/{account_id}/holds",
        {"amount": "5", "reason": "Lien", "expires_at": "2020-01-01T10:00"},
    )
    assert past.status_code == 400 and "Choose a date and time in the future." in past.text

    placed = await submit(
        browser,
        f"/accounts/{account_id}/holds/new",
        f"/accounts/{account_id}/holds",
        {"amount": "2,500.00", "reason": "Loan lien", "expires_at": "2099-12-31T17:00"},
    )
    assert placed.status_code == 303
    detail = await browser.get(placed.headers["location"])
    assert "Hold placed." in detail.text and "Loan lien" in detail.text
    assert "₦7,500.00" in detail.text  # available
    assert "₦2,500.00" in detail.text  # on hold
    release = re.search(
        r'<form method="post" action="(/accounts/[^"]+/holds/[0-9a-f-]{36}/release)"', detail.text
    )
    assert release
    key = key_from(detail.text[release.start() :])
    released = await browser.post(
        release.group(1), data={"_csrf_token": csrf_from(detail.text), "idempotency_key": key}
    )
    assert released.status_code == 303
    after = await browser.get(released.headers["location"])
    assert "Hold released." in after.text and "No active holds." in after.text
    assert after.text.count("₦10,000.00") >= 2
    assert [(r.action, r.outcome) for r in await action_log(settings, key)] == [
        ("account.hold_release", "success")
    ]
    gone = await browser.post(
        release.group(1),
        data={"_csrf_token": csrf_from(after.text), "idempotency_key": unique("console-")},
    )
    assert gone.status_code in {404, 409}
    assert "already released" in gone.text or "no longer on this account" in gone.text


async def test_branch_scope_refusal_is_said_next_to_the_action(browser, core, settings):
    account_id = await branch_002_account(core)
    await signed_in(browser, "officer@demo.bank")
    detail = await browser.get(f"/accounts/{account_id}")
    assert "This account belongs to branch 002" in detail.text
    form = await browser.get(f"/accounts/{account_id}/freeze")
    key = key_from(form.text)
    refused = await browser.post(
        f"/accounts/{account_id}/freeze",
        data={
            "_csrf_token": csrf_from(form.text),
            "idempotency_key": key,
            "reason": "Suspicious activity",
            "confirmed": "yes",
        },
    )
    assert refused.status_code == 403
    assert "This account belongs to branch 002; you act for branch 001 only." in refused.text
    assert key_from(refused.text) == key  # nothing was stored: a retry may reuse it
    assert [(r.outcome, r.error_code) for r in await action_log(settings, key)] == [
        ("failure", "BRANCH_SCOPE")
    ]
    hold = await submit(
        browser,
        f"/accounts/{account_id}/holds/new",
        f"/accounts/{account_id}/holds",
        {"amount": "10", "reason": "Lien"},
    )
    assert hold.status_code == 403
    assert "This account belongs to branch 002; you act for branch 001 only." in hold.text
    still = await core.get(f"/accounts/{account_id}")
    assert still["status"] == "ACTIVE" and still["hold_amount"] == "0.00"


async def test_viewers_and_tellers_see_no_account_actions(browser, core):
    account_id = await branch_002_account(core)
    for email in ("viewer@demo.bank", "teller@demo.bank"):
        browser.cookies.clear()
        await signed_in(browser, email)
        page = await browser.get(f"/accounts/{account_id}")
        assert page.status_code == 200
        for words in ("Freeze", "Close account", "Place hold", "Release", "Actions</h2>"):
            assert words not in page.text
        assert "Full statement" in page.text  # viewers read statements
        assert (await browser.get(f"/accounts/{account_id}/freeze")).status_code == 403
        assert (await browser.get("/accounts/new")).status_code == 403


async def test_account_list_links_to_account_pages(browser):
    await signed_in(browser, "manager@demo.bank")
    page = await browser.get("/accounts", params={"q": "Okafor"})
    account_id = ACCOUNT_LINK.search(page.text).group(1)  # type: ignore[union-attr]
    detail = await browser.get(f"/accounts/{account_id}")
    assert detail.status_code == 200
    assert "<title>Account " in detail.text
    for heading in ("Available balance", "Ledger balance", "On hold", "Holds", "Balance, last"):
        assert heading in detail.text
    assert "This account belongs to branch" not in detail.text  # managers act tenant-wide
    missing = await browser.get("/accounts/not-an-account")
    assert missing.status_code == 404 and "We could not find that account." in missing.text

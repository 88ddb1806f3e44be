"""Teller pages against the real core over HTTP: deposit and withdrawal (form → confirm →
receipt), one posting per idempotency key, refusals in plain words, the approval limit,
the live account search, an outage that keeps the key, and "My day"."""

import asyncio
import re
from decimal import Decimal

from console_helpers import action_log_rows, asgi_client, csrf_from, sign_in
from money_helpers import field_errors, open_form, press_continue, press_submit

from app.console.formatting import money
from app.console.models import ConsoleActionLog
from app.console.state import console_state

RECEIPT = re.compile(r"^/teller/receipts/([A-Z0-9-]+)$")


async def action_log(settings, key: str) -> list[ConsoleActionLog]:  # type: ignore[no-untyped-def]
    return await action_log_rows(settings, idempotency_key=key)


async def test_deposit_confirm_then_receipt_moves_the_balance(browser, core, settings):
    account = await core.open_account(opening="1000.00")
    await sign_in(browser, "teller@demo.bank")
    key, confirm = await press_continue(
        browser,
        "/teller/deposit",
        account=account["account_number"],
        amount="1,500.50",
        narration="School fees",
        depositor_name="Ngozi Okeke",
    )
    assert confirm.status_code == 200
    html = confirm.text
    assert "Confirm the deposit" in html
    assert "₦1,500.50" in html
    assert "One thousand five hundred naira and fifty kobo" in html
    assert account["customer_name"] in html
    assert ">Deposit</button>" in html and ">Back</button>" in html
    assert f'name="idempotency_key" value="{key}"' in html

    answer = await press_submit(browser, "/teller/deposit", key, csrf_from(html))
    assert answer.status_code == 303
    ref = RECEIPT.match(answer.headers["location"])
    assert ref, answer.headers["location"]
    receipt = await browser.get(answer.headers["location"])
    assert receipt.status_code == 200
    page = receipt.text
    assert ">Receipt</h1>" in page
    assert ref.group(1) in page
    assert "₦2,500.50" in page  # balance after
    assert "Tunde Teller" in page
    assert account["customer_name"] in page
    assert account["account_number"] in page
    assert "001 — Head Office" in page
    assert "data-print" in page and ">Print</button>" in page
    assert (await core.account(account["id"]))["ledger_balance"] == "2500.50"
    rows = await action_log(settings, key)
    assert [(r.action, r.outcome, r.target) for r in rows] == [
        ("teller.deposit", "success", f"transaction:{ref.group(1)}")
    ]


async def test_back_keeps_the_values_and_the_key(browser, core):
    account = await core.open_account()
    await sign_in(browser, "teller@demo.bank")
    key, confirm = await press_continue(
        browser, "/teller/deposit", account=account["account_number"], amount="75"
    )
    assert "₦75.00" in confirm.text and "Seventy-five naira" in confirm.text
    back = await browser.get(f"/teller/deposit?draft={key}&edit=1")
    assert back.status_code == 200
    assert 'value="75.00"' in back.text
    assert f'value="{key}"' in back.text
    assert f'value="{account["id"]}" checked' in back.text


async def test_double_submit_posts_once_and_shows_the_same_receipt(browser, core):
    account = await core.open_account(opening="100.00")
    await sign_in(browser, "teller@demo.bank")
    key, confirm = await press_continue(
        browser, "/teller/deposit", account=account["account_number"], amount="333.33"
    )
    csrf = csrf_from(confirm.text)
    first, second = await asyncio.gather(
        press_submit(browser, "/teller/deposit", key, csrf),
        press_submit(browser, "/teller/deposit", key, csrf),
    )
    again = await press_submit(browser, "/teller/deposit", key, csrf)  # a resubmit, later
    locations = {r.headers["location"] for r in (first, second, again)}
    assert len(locations) == 1, locations
    assert RECEIPT.match(locations.pop())
    deposits = [
        t
        for t in await core.transactions(account_id=account["id"], type="DEPOSIT")
        if t["amount"] == "333.33"
    ]
    assert len(deposits) == 1
    assert (await core.account(account["id"]))["ledger_balance"] == "433.33"


async def test_withdrawal_refused_for_insufficient_funds_in_plain_words(browser, core, settings):
    account = await core.open_account(opening="120.00")
    await sign_in(browser, "teller@demo.bank")
    key, confirm = await press_continue(
        browser, "/teller/withdrawal", account=account["account_number"], amount="500"
    )
    assert ">Withdraw</button>" in confirm.text
    answer = await press_submit(browser, "/teller/withdrawal", key, csrf_from(confirm.text))
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/teller/withdrawal?draft=")
    assert key not in location  # the refused key is spent: the corrected form gets a new one
    page = await browser.get(location)
    assert "Available balance is ₦120.00; this withdrawal needs ₦500.00." in field_errors(page.text)
    assert 'value="500.00"' in page.text  # what was typed stays
    assert (await core.account(account["id"]))["ledger_balance"] == "120.00"
    rows = await action_log(settings, key)
    assert [(r.outcome, r.error_code) for r in rows] == [("failure", "INSUFFICIENT_FUNDS")]


async def test_frozen_account_is_explained(browser, core):
    account = await core.open_account(opening="900.00")
    await core.call(
        "POST", f"/accounts/{account['id']}/freeze", json={"reason": "Court order"}, expect=200
    )
    await sign_in(browser, "teller@demo.bank")
    key, confirm = await press_continue(
        browser, "/teller/withdrawal", account=account["account_number"], amount="50"
    )
    assert "Frozen" in confirm.text  # the status is shown before anything is sent
    answer = await press_submit(browser, "/teller/withdrawal", key, csrf_from(confirm.text))
    page = await browser.get(answer.headers["location"])
    assert (
        f"Account {account['account_number']} is frozen: nothing can be paid out of it "
        "until an officer unfreezes it." in field_errors(page.text)
    )


async def test_over_the_approval_limit_waits_for_approval(browser, core):
    account = await core.open_account(opening="1000000.00")
    await core.deposit(account["id"], "1000000.00")
    await sign_in(browser, "teller@demo.bank")
    key, confirm = await press_continue(
        browser, "/teller/withdrawal", account=account["account_number"], amount="1500000"
    )
    assert "over the approval limit of ₦1,000,000.00" in confirm.text
    assert "One million five hundred thousand naira" in confirm.text
    answer = await press_submit(browser, "/teller/withdrawal", key, csrf_from(confirm.text))
    receipt = await browser.get(answer.headers["location"])
    assert ">Receipt</h1>" in receipt.text
    assert "Awaiting approval" in receipt.text
    assert "Not yet: awaiting approval" in receipt.text
    after = await core.account(account["id"])
    assert after["ledger_balance"] == "2000000.00"
    assert after["available_balance"] == "500000.00"  # held meanwhile
    pending = await core.transactions(account_id=account["id"], status="PENDING_APPROVAL")
    assert [t["amount"] for t in pending] == ["1500000.00"]


async def test_the_form_explains_what_is_missing(browser):
    await sign_in(browser, "teller@demo.bank")
    csrf, key = await open_form(browser, "/teller/deposit")
    answer = await browser.post(
        "/teller/deposit",
        data={"_csrf_token": csrf, "idempotency_key": key, "account": "", "amount": "12.345"},
    )
    assert answer.status_code == 303
    page = await browser.get(answer.headers["location"])
    errors = field_errors(page.text)
    assert "Enter an account number, the holder's name or a phone number." in errors
    assert "Enter the amount in figures, like 1500.00 (at most two decimal places)." in errors
    assert 'value="12.345"' in page.text
    # Nothing was sent: the same key is still the form's.
    assert f'name="idempotency_key" value="{key}"' in page.text


async def test_live_search_finds_by_name_number_and_phone(browser, core):
    account = await core.open_account(opening="42.00", first_name="Searchable")
    await sign_in(browser, "teller@demo.bank")
    for query in (account["last_name"], account["account_number"]):
        fragment = await browser.get(
            "/teller/accounts",
            params={"field": "account", "account": query},
            headers={"HX-Request": "true"},
        )
        assert fragment.status_code == 200
        assert "<html" not in fragment.text
        assert account["account_number"] in fragment.text
        assert account["customer_name"] in fragment.text
        assert "Active" in fragment.text and "₦42.00" in fragment.text
        assert f'name="account_id" value="{account["id"]}" checked' in fragment.text
    nothing = await browser.get(
        "/teller/accounts",
        params={"field": "account", "account": "zz-no-such-holder"},
        headers={"HX-Request": "true"},
    )
    assert "Nothing matches" in nothing.text


async def test_ambiguous_name_asks_to_choose(browser, core):
    first = await core.open_account(first_name="Twin")
    await core.call(
        "POST",
        "/accounts",
        json={
            "customer_id": first["customer_id"],
            "account_type": "SAVINGS",
            "currency": "NGN",
            "product_code": "SAV001",
            "branch_code": "001",
        },
        expect=201,
    )
    await sign_in(browser, "teller@demo.bank")
    _, page = await press_continue(
        browser, "/teller/deposit", account=first["last_name"], amount="10"
    )
    assert "2 accounts match; choose one below." in field_errors(page.text)
    assert page.text.count('name="account_id"') == 2


async def test_an_outage_keeps_the_key_and_the_retry_posts_once(console_app, core):
    """The core stops answering at "Deposit": nothing was charged, and the retry reuses the
    form's key (the banking client is pointed at a closed port, then back)."""
    app = console_app()
    client = console_state(app).client
    account = await core.open_account(opening="10.00")
    async with asgi_client(app) as browser:
        await sign_in(browser, "teller@demo.bank")
        key, confirm = await press_continue(
            browser, "/teller/deposit", account=account["account_number"], amount="20"
        )
        csrf = csrf_from(confirm.text)
        working = client._http.base_url
        client._http.base_url = "http://127.0.0.1:9/api/v1/cba"  # nothing listens on 9
        try:
            answer = await press_submit(browser, "/teller/deposit", key, csrf)
        finally:
            client._http.base_url = working
        assert answer.headers["location"] == f"/teller/deposit?draft={key}"
        page = await browser.get(answer.headers["location"])
        assert "The banking service is not answering; nothing was charged. Try again." in page.text
        assert f'name="idempotency_key" value="{key}"' in page.text  # the same key
        assert ">Deposit</button>" in page.text
        retry = await press_submit(browser, "/teller/deposit", key, csrf_from(page.text))
        assert RECEIPT.match(retry.headers["location"])
    assert (await core.account(account["id"]))["ledger_balance"] == "30.00"


STAT = re.compile(r'<dt class="stat__label">([^<]+)</dt>\s*<dd class="stat__value">([^<]+)</dd>')


NGN_TOTALS = re.compile(r'<dl class="stats" aria-label="Totals in NGN">(.*?)</dl>', re.S)


def day_stats(html: str) -> dict[str, Decimal]:
    """The naira totals of "My day", as numbers (other currencies have their own rows)."""
    block = NGN_TOTALS.search(html)
    if block is None:  # nothing taken today yet
        return dict.fromkeys(("Deposits", "Withdrawals", "Net cash"), Decimal(0))
    return {
        label: Decimal(value.replace("₦", "").replace(",", ""))
        for label, value in STAT.findall(block.group(1))
    }


async def test_my_day_totals(browser, core):
    account = await core.open_account(opening="500.00")
    await sign_in(browser, "teller2@demo.bank")
    # The sandbox's opening deposits of branch 002 are teller2's too: compare with before.
    before = day_stats((await browser.get("/teller/my-day")).text)
    refs = []
    for path, amount in (("/teller/deposit", "100"), ("/teller/withdrawal", "40")):
        key, confirm = await press_continue(
            browser, path, account=account["account_number"], amount=amount
        )
        answer = await press_submit(browser, path, key, csrf_from(confirm.text))
        found = RECEIPT.match(answer.headers["location"])
        assert found
        refs.append(found.group(1))
    page = await browser.get("/teller/my-day")
    assert page.status_code == 200
    html = page.text
    assert ">My day</h1>" in html
    after = day_stats(html)
    assert after["Deposits"] - before["Deposits"] == Decimal("100.00")
    assert after["Withdrawals"] - before["Withdrawals"] == Decimal("40.00")
    assert after["Net cash"] - before["Net cash"] == Decimal("60.00")
    assert after["Net cash"] == after["Deposits"] - after["Withdrawals"]
    for ref in refs:
        assert f'href="/teller/receipts/{ref}"' in html
    home = await browser.get("/")
    assert "Your counter today" in home.text
    assert money(after["Net cash"], "NGN") in home.text

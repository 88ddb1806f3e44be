"""A money form whose draft is gone (Redis restarted and took the sessions and drafts with
it, or the draft expired): the console's action log, in the database, still knows whether
the form's key was sent. A sent deposit shows its receipt, one sent without a clear answer
says so, and only one never sent reads as "nothing was sent" — so a lost draft never
invites a teller to take a deposit twice."""

import re

from console_helpers import asgi_client, csrf_from, sign_in
from money_helpers import press_continue, press_submit

from app.console.state import console_state
from app.console.teller.forms import EXPIRED, SENT_BEFORE

RECEIPT = re.compile(r"^/teller/receipts/([A-Z0-9-]+)$")


async def lose_every_session(app) -> None:  # type: ignore[no-untyped-def]
    """What a Redis restart does to the console: every session and draft is gone."""
    await console_state(app).session_store.delete_all()


async def test_a_lost_draft_that_was_posted_shows_its_receipt(console_app, core):
    app = console_app()
    account = await core.open_account(opening="10.00")
    async with asgi_client(app) as browser:
        await sign_in(browser, "teller@demo.bank")
        key, confirm = await press_continue(
            browser, "/teller/deposit", account=account["account_number"], amount="20"
        )
        posted = await press_submit(browser, "/teller/deposit", key, csrf_from(confirm.text))
        receipt = RECEIPT.match(posted.headers["location"])
        assert receipt

        await lose_every_session(app)
        page = await browser.get(f"/teller/deposit?draft={key}")
        assert page.status_code in {302, 303} and "/login" in page.headers["location"]
        await sign_in(browser, "teller@demo.bank")
        page = await browser.get(f"/teller/deposit?draft={key}")
        assert page.status_code == 303
        assert page.headers["location"] == f"/teller/receipts/{receipt.group(1)}"
    assert (await core.account(account["id"]))["ledger_balance"] == "30.00"


async def test_a_lost_draft_sent_during_an_outage_says_so(console_app, core):
    app = console_app()
    client = console_state(app).client
    account = await core.open_account(opening="10.00")
    async with asgi_client(app) as browser:
        await sign_in(browser, "teller@demo.bank")
        key, confirm = await press_continue(
            browser, "/teller/deposit", account=account["account_number"], amount="20"
        )
        working = client._http.base_url
        client._http.base_url = "http://127.0.0.1:9/api/v1/cba"  # nothing listens on 9
        try:
            await press_submit(browser, "/teller/deposit", key, csrf_from(confirm.text))
        finally:
            client._http.base_url = working

        await lose_every_session(app)
        await sign_in(browser, "teller@demo.bank")
        page = await browser.get(f"/teller/deposit?draft={key}")
        assert page.status_code == 200
        assert SENT_BEFORE in page.text.replace("&#39;", "'")
        assert EXPIRED not in page.text
    assert (await core.account(account["id"]))["ledger_balance"] == "10.00"


async def test_a_lost_draft_never_sent_reads_as_expired(console_app, core):
    app = console_app()
    account = await core.open_account(opening="10.00")
    async with asgi_client(app) as browser:
        await sign_in(browser, "teller@demo.bank")
        key, _confirm = await press_continue(
            browser, "/teller/deposit", account=account["account_number"], amount="20"
        )
        await lose_every_session(app)
        await sign_in(browser, "teller@demo.bank")
        page = await browser.get(f"/teller/deposit?draft={key}")
        assert page.status_code == 200
        assert EXPIRED in page.text
    assert (await core.account(account["id"]))["ledger_balance"] == "10.00"

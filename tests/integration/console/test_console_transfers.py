"""Transfers against the real core: internal (officer, one branch) and inter-branch
(manager only), with the cross-branch refusal explained."""

import re

from console_helpers import csrf_from, sign_in
from money_helpers import field_errors, press_continue, press_submit

RECEIPT = re.compile(r"^/teller/receipts/([A-Z0-9-]+)$")
CROSS = "These accounts are in different branches; a manager must make an inter-branch transfer."


async def test_internal_transfer(browser, core, settings):
    source = await core.open_account(opening="900.00")
    destination = await core.open_account(opening="100.00")
    await sign_in(browser, "officer@demo.bank")
    page = await browser.get("/transfers")
    assert ">Internal transfer</h1>" in page.text
    assert "Inter-branch transfer" not in page.text  # officers don't see the manager's form
    key, confirm = await press_continue(
        browser,
        "/transfers",
        source=source["account_number"],
        destination=destination["account_number"],
        amount="250",
        narration="Rent",
    )
    assert "Two hundred and fifty naira" in confirm.text
    assert ">Transfer</button>" in confirm.text
    answer = await press_submit(browser, "/transfers", key, csrf_from(confirm.text))
    found = RECEIPT.match(answer.headers["location"])
    assert found, answer.headers["location"]
    receipt = await browser.get(answer.headers["location"])
    assert ">Receipt</h1>" in receipt.text
    assert destination["account_number"] in receipt.text
    assert "₦650.00" in receipt.text  # the source's balance after
    assert (await core.account(source["id"]))["ledger_balance"] == "650.00"
    assert (await core.account(destination["id"]))["ledger_balance"] == "350.00"


async def test_internal_transfer_across_branches_is_explained(browser, core):
    source = await core.open_account(opening="900.00")
    destination = await core.open_account(branch="002", opening="100.00")
    await sign_in(browser, "officer@demo.bank")
    key, confirm = await press_continue(
        browser,
        "/transfers",
        source=source["account_number"],
        destination=destination["account_number"],
        amount="10",
    )
    answer = await press_submit(browser, "/transfers", key, csrf_from(confirm.text))
    page = await browser.get(answer.headers["location"])
    assert CROSS in field_errors(page.text)
    assert "make it an inter-branch transfer" not in page.text  # not offered to officers
    assert (await core.account(source["id"]))["ledger_balance"] == "900.00"


async def test_same_account_twice_is_refused_before_sending(browser, core):
    account = await core.open_account()
    await sign_in(browser, "officer@demo.bank")
    _, page = await press_continue(
        browser,
        "/transfers",
        source=account["account_number"],
        destination=account["account_number"],
        amount="10",
    )
    assert "Choose a different account from the source." in field_errors(page.text)


async def test_inter_branch_is_for_managers_only(browser, core):
    await sign_in(browser, "officer@demo.bank")
    assert (await browser.get("/transfers/inter-branch")).status_code == 403
    browser.cookies.clear()
    source = await core.open_account(opening="900.00")
    destination = await core.open_account(branch="002", opening="100.00")
    await sign_in(browser, "manager@demo.bank")
    tabs = (await browser.get("/transfers")).text
    assert 'href="/transfers/inter-branch">Inter-branch transfer</a>' in tabs
    key, confirm = await press_continue(
        browser,
        "/transfers/inter-branch",
        source=source["account_number"],
        destination=destination["account_number"],
        amount="300",
    )
    assert ">Confirm the transfer</h1>" in confirm.text
    answer = await press_submit(browser, "/transfers/inter-branch", key, csrf_from(confirm.text))
    assert RECEIPT.match(answer.headers["location"]), answer.headers["location"]
    assert (await core.account(source["id"]))["ledger_balance"] == "600.00"
    assert (await core.account(destination["id"]))["ledger_balance"] == "400.00"


async def test_manager_carries_a_refused_internal_transfer_over(browser, core):
    source = await core.open_account(opening="500.00")
    destination = await core.open_account(branch="002", opening="0.01")
    await sign_in(browser, "manager@demo.bank")
    key, confirm = await press_continue(
        browser,
        "/transfers",
        source=source["account_number"],
        destination=destination["account_number"],
        amount="5",
    )
    answer = await press_submit(browser, "/transfers", key, csrf_from(confirm.text))
    page = await browser.get(answer.headers["location"])
    assert CROSS in field_errors(page.text)
    link = re.search(r'href="(/transfers/inter-branch\?from=[^"]+)"', page.text)
    assert link
    moved = await browser.get(link.group(1).replace("&amp;", "&"))
    assert moved.status_code == 303
    confirm = await browser.get(moved.headers["location"])
    assert ">Confirm the transfer</h1>" in confirm.text and "Five naira" in confirm.text
    new_key = moved.headers["location"].split("draft=", 1)[1]
    answer = await press_submit(
        browser, "/transfers/inter-branch", new_key, csrf_from(confirm.text)
    )
    assert RECEIPT.match(answer.headers["location"])
    assert (await core.account(destination["id"]))["ledger_balance"] == "5.01"

"""console.md flow 1 in a real browser, with the exact labels: a teller finds an account,
deposits, confirms, gets a receipt; a withdrawal refused for insufficient funds; a double
click that posts once; an over-limit withdrawal that waits until an officer approves it."""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import SHOTS, CoreAPI, expect_home, shot, sign_in
from playwright.sync_api import Page, expect

from tests.live_server import LiveServer


class TellerCore(CoreAPI):
    """The live core, for setting accounts up and checking what moved."""

    def balance(self, account_id: str) -> str:
        return str(self.call("GET", f"/accounts/{account_id}")["ledger_balance"])

    def deposits(self, account_id: str, amount: str) -> int:
        body = self.call(
            "GET", "/transactions", params={"account_id": account_id, "type": "DEPOSIT"}
        )
        return sum(1 for t in body["transactions"] if t["amount"] == amount)


@pytest.fixture(scope="session")
def core(live_server: LiveServer) -> Iterator[TellerCore]:
    api = TellerCore(live_server.api_url)
    yield api
    api.close()


def find_account(page: Page, query: str, holder: str) -> None:
    """Type into "Account" and wait for the live search to show (and pick) the account."""
    page.get_by_label("Account", exact=True).fill(query)
    match = page.locator(".match", has_text=holder)
    expect(match).to_be_visible()
    expect(match.get_by_role("radio")).to_be_checked()


def test_a_teller_takes_a_deposit(
    page: Page, core: TellerCore, console_messages: list[str]
) -> None:
    account = core.open_account("1000.00")
    sign_in(page, "teller@demo.bank")
    expect_home(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deposit").click()
    expect(page.get_by_role("heading", name="Deposit", level=1)).to_be_visible()
    find_account(page, account["account_number"], account["holder"])
    match = page.locator(".match", has_text=account["holder"])
    expect(match).to_contain_text("Active")
    expect(match).to_contain_text("₦1,000.00")
    page.get_by_label("Amount").fill("1500.50")
    page.get_by_label("Narration").fill("School fees")
    shot(page, "1-deposit-form")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Confirm the deposit")).to_be_visible()
    expect(page.get_by_text("One thousand five hundred naira and fifty kobo")).to_be_visible()
    expect(page.get_by_role("button", name="Back")).to_be_visible()
    shot(page, "2-deposit-confirm")
    started = time.perf_counter()
    page.get_by_role("button", name="Deposit").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    took_ms = (time.perf_counter() - started) * 1000
    print(f"P5 deposit click → receipt: {took_ms:.0f} ms")
    assert took_ms < 2000  # P5's 300 ms is measured by the benchmark; this only bounds it
    details = page.locator(".receipt__details")
    expect(details).to_contain_text("₦2,500.50")  # the new balance
    expect(details).to_contain_text(account["holder"])
    expect(details).to_contain_text("Tunde Teller")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Receipt TX"))
    shot(page, "3-receipt")
    # It prints alone on one page, A5 or A4 (no navigation, no buttons).
    for paper in ("A5", "A4"):
        pdf = page.pdf(format=paper, print_background=True)
        assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1, paper
        if SHOTS:
            (Path(SHOTS) / f"receipt-{paper}.pdf").write_bytes(pdf)
    assert core.balance(account["id"]) == "2500.50"
    assert console_messages == []


def test_withdrawal_refused_for_insufficient_funds(page: Page, core: TellerCore) -> None:
    account = core.open_account("120.00")
    sign_in(page, "teller@demo.bank")
    expect_home(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Withdrawal").click()
    find_account(page, account["holder"].split()[1], account["holder"])
    page.get_by_label("Amount").fill("500")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Withdraw").click()
    expect(
        page.get_by_text("Available balance is ₦120.00; this withdrawal needs ₦500.00.")
    ).to_be_visible()
    expect(page.get_by_label("Amount")).to_have_value("500.00")
    shot(page, "4-withdrawal-refused")
    assert core.balance(account["id"]) == "120.00"


def test_a_double_click_on_deposit_posts_once(page: Page, core: TellerCore) -> None:
    account = core.open_account("10.00")
    sign_in(page, "teller@demo.bank")
    expect_home(page)
    page.goto("/teller/deposit")
    find_account(page, account["account_number"], account["holder"])
    page.get_by_label("Amount").fill("777.77")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Deposit").dblclick()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    expect(page.locator(".receipt__details")).to_contain_text("₦787.77")
    assert core.deposits(account["id"], "777.77") == 1
    assert core.balance(account["id"]) == "787.77"
    page.goto("/teller/my-day")
    expect(page.get_by_role("heading", name="My day")).to_be_visible()
    shot(page, "7-my-day")


def test_over_limit_withdrawal_waits_until_an_officer_approves(
    page: Page, core: TellerCore
) -> None:
    account = core.open_account("1000000.00")
    core.call(
        "POST",
        "/deposits",
        as_user="teller@demo.bank",
        json={"account_id": account["id"], "amount": "1000000.00", "currency": "NGN"},
    )
    sign_in(page, "teller@demo.bank")
    expect_home(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Withdrawal").click()
    find_account(page, account["account_number"], account["holder"])
    page.get_by_label("Amount").fill("1,500,000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("over the approval limit of ₦1,000,000.00")).to_be_visible()
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    expect(page.locator(".receipt__state")).to_contain_text("Awaiting approval")
    ref = page.locator(".receipt__kind .mono").inner_text()
    assert core.balance(account["id"]) == "2000000.00"
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "officer@demo.bank")
    expect_home(page)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.locator(".nav-badge")).to_be_visible()
    nav.get_by_role("link", name="Approvals").click()
    expect(page.get_by_role("heading", name="Approvals", level=1)).to_be_visible()
    shot(page, "5-approvals")
    page.get_by_role("link", name=ref).click()
    expect(page.get_by_text("One million five hundred thousand naira")).to_be_visible()
    shot(page, "6-approval-detail")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Approved: the money has moved.")).to_be_visible()
    assert core.balance(account["id"]) == "500000.00"

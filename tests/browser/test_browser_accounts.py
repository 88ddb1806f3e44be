"""An officer finds a customer by live search, opens their account, sees the statement
and the balance chart, and the CSV downloads (a real browser, the real core)."""

import re

from browser_helpers import expect_home, sign_in
from playwright.sync_api import Page, expect


def test_officer_finds_a_customer_and_reads_the_statement(
    page: Page, console_messages: list[str]
) -> None:
    sign_in(page, "officer@demo.bank")
    expect_home(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers", level=1)).to_be_visible()

    # Live search: typing alone (no Enter, no button) narrows the results.
    results = page.locator("#customer-results")
    expect(results).to_contain_text("Bola Adeyemi")
    page.get_by_label("Search customers").press_sequentially("okaf", delay=40)
    expect(results).not_to_contain_text("Bola Adeyemi")
    expect(results.get_by_role("link", name="Adaeze Okafor")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/customers\?q=okaf$"))

    results.get_by_role("link", name="Adaeze Okafor").click()
    expect(page.get_by_role("heading", name="Adaeze Okafor", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Open account")).to_be_visible()
    accounts = page.get_by_role("region", name="Accounts")
    accounts.get_by_role("link").first.click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Account")
    expect(page.get_by_text("Available balance")).to_be_visible()
    expect(page.get_by_role("img", name="Balance over time").first).to_be_visible()
    for action in ("Freeze", "Close account", "Place hold"):
        expect(page.get_by_role("link", name=action)).to_be_visible()

    page.get_by_role("link", name="Full statement").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Statement")
    expect(page.get_by_label("From", exact=True)).to_be_visible()
    expect(page.get_by_label("To", exact=True)).to_be_visible()
    chart = page.get_by_role("img", name="Balance over time", exact=True)
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 400  # type: ignore[index]
    statement = page.get_by_role("region", name="Postings, newest first")
    expect(statement.get_by_role("cell", name="Opening deposit")).to_be_visible()
    expect(statement.get_by_role("cell", name=re.compile(r"^₦[\d,]+\.\d\d$")).first).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert re.match(
        r"statement-\d{10}-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d\.csv", download.suggested_filename
    )
    assert console_messages == []


def test_filters_on_the_accounts_page_update_as_you_choose(page: Page) -> None:
    sign_in(page, "viewer@demo.bank")
    expect_home(page)
    page.goto("/accounts")
    results = page.locator("#account-results")
    expect(results).to_contain_text("Adaeze Okafor")
    page.get_by_label("Currency").select_option("USD")
    expect(results).not_to_contain_text("Adaeze Okafor")
    expect(results).to_contain_text("Emeka Nwosu")
    expect(results).to_contain_text("$5,000.00")
    expect(page).to_have_url(re.compile(r"currency=USD"))

"""Reports in the console against the live core: each page shows the core's own figures
(right-aligned, thousands separators, currency symbol, totals rows), its CSV carries the
same figures, bad input re-renders the form with the message, and Home's volumes chart."""

import csv
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from console_helpers import sign_in
from money_helpers import Core
from period_helpers import create_year, draft_journal, free_year, page_text


def shown(amount: str, symbol: str = "₦") -> str:
    """A decimal string as the console shows it: ``"1234.5"`` → ``"₦1,234.50"``."""
    value = Decimal(amount)
    text = f"{symbol}{abs(value):,.2f}"
    return f"−{text}" if value < 0 else text


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def posted_journal(core: Core, day: str, debit: str, credit: str, amount: str) -> None:
    journal = await draft_journal(core, day, amount=amount, debit=debit, credit=credit)
    await core.call("POST", f"/journals/{journal['id']}/approve", as_user="officer@demo.bank")
    await core.call("POST", f"/journals/{journal['id']}/post", as_user="manager@demo.bank")


@pytest.fixture(scope="module")
async def income_year(core: Core) -> int:
    """A past year with revenue in March and an expense in May (posted journals)."""
    year = await free_year(core)
    await create_year(core, year)
    await posted_journal(core, f"{year}-03-10", "1400", "4200", "1000.00")
    await posted_journal(core, f"{year}-05-02", "5200", "1400", "400.00")
    return year


async def test_trial_balance_shows_the_cores_figures_and_its_csv_matches(browser, core):
    account = await core.open_account(opening="123456.78")
    assert account["ledger_balance"] == "123456.78"
    await sign_in(browser, "viewer@demo.bank")
    page = await browser.get("/reports/trial-balance")
    assert page.status_code == 200
    expected = await core.call("GET", "/reports/trial-balance", expect=200)
    assert expected["lines"], "the sandbox has balances"
    html = page.text
    for line in expected["lines"]:
        row = re.search(rf'<td class="mono">{re.escape(line["code"])}</td>.*?</tr>', html, re.S)
        assert row, line["code"]
        for side in ("debit", "credit"):
            if Decimal(line[side]):
                assert f'<td class="num">{shown(line[side])}</td>' in row.group(0)
    total = re.search(r'<tr class="total-row">.*?</tr>', html, re.S)
    assert total
    assert total.group(0).count(shown(expected["total_debit"])) == 2  # debits = credits
    assert "Download CSV" in html

    download = await browser.get("/reports/trial-balance.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert f"trial-balance-{expected['as_of']}.csv" in download.headers["content-disposition"]
    rows = rows_of(download.text)
    assert rows[0] == ["Code", "Account", "Debit", "Credit", "Currency"]
    assert rows[1:-1] == [
        [line["code"], line["name"], line["debit"], line["credit"], "NGN"]
        for line in sorted(expected["lines"], key=lambda x: x["code"])
    ]
    assert rows[-1] == ["", "Total", expected["total_debit"], expected["total_credit"], "NGN"]


async def test_trial_balance_by_branch_and_currency(browser, core):
    await sign_in(browser, "viewer@demo.bank")
    branch = await core.call(
        "GET", "/reports/trial-balance", params={"branch_code": "002"}, expect=200
    )
    page = await browser.get("/reports/trial-balance?branch_code=002")
    assert "· branch 002 ·" in page_text(page.text)
    assert 'value="002" selected' in page.text
    for line in branch["lines"]:
        assert f'<td class="mono">{line["code"]}</td>' in page.text
    usd = await core.call("GET", "/reports/trial-balance", params={"currency": "USD"}, expect=200)
    page = await browser.get("/reports/trial-balance?currency=USD")
    assert "$" + f"{Decimal(usd['total_debit']):,.2f}" in page_text(page.text)
    download = await browser.get("/reports/trial-balance.csv?currency=USD&branch_code=001")
    assert "trial-balance-" in download.headers["content-disposition"]
    assert "-001.csv" in download.headers["content-disposition"]
    assert all(r[4] == "USD" for r in rows_of(download.text)[1:])


async def test_balance_sheet_shows_the_cores_figures_and_its_csv_matches(browser, core):
    await sign_in(browser, "viewer@demo.bank")
    expected = await core.call("GET", "/reports/balance-sheet", expect=200)
    page = await browser.get("/reports/balance-sheet")
    assert page.status_code == 200
    text = page_text(page.text)
    assert f"Total assets {shown(expected['total_assets'])}" in text
    assert f"Total liabilities and equity {shown(expected['total_liabilities_and_equity'])}" in text
    for part in ("assets", "liabilities", "equity"):
        for line in expected[part]["lines"]:
            assert f"{line['code']} {line['name']} {shown(line['balance'])}" in text
    if Decimal(expected["current_year_earnings"]):
        assert "Current year earnings (not yet closed)" in text
    assert expected["balanced"] is True and "equals assets" in text

    download = await browser.get("/reports/balance-sheet.csv")
    rows = rows_of(download.text)
    assert rows[0] == ["Section", "Code", "Account", "Amount", "Currency"]
    for part, title in (("assets", "Assets"), ("liabilities", "Liabilities")):
        for line in expected[part]["lines"]:
            assert [title, line["code"], line["name"], line["balance"], "NGN"] in rows
        assert [title, "", f"Total {title.lower()}", expected[part]["total"], "NGN"] in rows
    assert ["", "", "Total assets", expected["total_assets"], "NGN"] in rows
    assert [
        "",
        "",
        "Total liabilities and equity",
        expected["total_liabilities_and_equity"],
        "NGN",
    ] in rows


async def test_income_statement_with_its_monthly_trend(browser, core, income_year):
    year = income_year
    params = {"from": f"{year}-01-01", "to": f"{year}-12-31"}
    expected = await core.call("GET", "/reports/income-statement", params=params, expect=200)
    assert expected["total_revenue"] == "1000.00" and expected["total_expenses"] == "400.00"
    await sign_in(browser, "viewer@demo.bank")
    page = await browser.get(f"/reports/income-statement?from={year}-01-01&to={year}-12-31")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "Revenue ₦1,000.00" in text and "Expenses ₦400.00" in text
    assert "Net income ₦600.00" in text
    assert "4200 Fee income ₦1,000.00" in text and "5200 Operating expense ₦400.00" in text
    # The trend: revenue and expense bars per month, net as a line, in an SVG (no script).
    chart = re.search(r'<figure class="chart bar-chart">.*?</figure>', page.text, re.S)
    assert chart, "no trend chart"
    svg = chart.group(0)
    assert svg.count('class="chart__bar chart__bar--revenue"') == 12
    assert svg.count('class="chart__bar chart__bar--expenses"') == 12
    assert svg.count('class="chart__point chart__point--net"') == 12
    assert f"<title>March {year} · Revenue: ₦1,000.00</title>" in svg
    assert f"<title>May {year} · Expenses: ₦400.00</title>" in svg
    assert f"<title>May {year} · Net income: −₦400.00</title>" in svg
    assert "<script" not in svg and "style=" not in svg
    assert f"Best month March {year} (₦1,000.00 net)" in text
    figures = re.search(r'<details class="chart-figures">.*?</details>', page.text, re.S)
    assert figures and f"<td>March {year}</td>" in figures.group(0)

    download = await browser.get(f"/reports/income-statement.csv?from={year}-01-01&to={year}-12-31")
    assert (
        f"income-statement-{year}-01-01-to-{year}-12-31.csv"
        in (download.headers["content-disposition"])
    )
    rows = rows_of(download.text)
    assert ["Revenue", "4200", "Fee income", "1000.00", "NGN"] in rows
    assert ["Expenses", "5200", "Operating expense", "400.00", "NGN"] in rows
    assert ["Revenue", "", "Total revenue", "1000.00", "NGN"] in rows
    assert ["", "", "Net income", expected["net_income"], "NGN"] in rows


async def test_teller_summary_by_teller_and_its_csv(browser, core):
    account = await core.open_account(opening=None)
    await core.deposit(account["id"], "7000.00", as_user="teller2@demo.bank")
    await core.call(
        "POST",
        "/withdrawals",
        as_user="teller2@demo.bank",
        json={"account_id": account["id"], "amount": "2500.00", "currency": "NGN"},
        expect=201,
    )
    expected = await core.call("GET", "/reports/teller-summary", expect=200)
    mine = next(
        t
        for t in expected["tellers"]
        if t["email"] == "teller2@demo.bank" and t["currency"] == "NGN"
    )
    await sign_in(browser, "viewer@demo.bank")
    page = await browser.get("/reports/teller-summary")
    text = page_text(page.text)
    line = f"{mine['name']} teller2@demo.bank 002 {shown(mine['deposits']['amount'])} "
    line += f"{mine['deposits']['count']} {shown(mine['withdrawals']['amount'])} "
    line += f"{mine['withdrawals']['count']} {shown(mine['net_cash'])}"
    assert line in text
    ngn = next(t for t in expected["totals"] if t["currency"] == "NGN")
    assert f"Total NGN {shown(ngn['deposits']['amount'])}" in text or (
        f"Total {shown(ngn['deposits']['amount'])}" in text
    )
    # One teller: the picker offers whoever worked that day.
    assert f'<option value="{mine["user_id"]}">' in page.text
    only = await browser.get(f"/reports/teller-summary?user_id={mine['user_id']}")
    tables = "".join(
        re.findall(r'<table class="table table--figures[^"]*">.*?</table>', only.text, re.S)
    )
    assert "teller2@demo.bank" in tables
    assert "teller@demo.bank" not in tables.replace("teller2@demo.bank", "")
    assert shown(mine["net_cash"]) in page_text(tables)

    download = await browser.get(f"/reports/teller-summary.csv?user_id={mine['user_id']}")
    rows = rows_of(download.text)
    assert rows[0][:4] == ["Teller", "Email", "Branch", "Deposits"]
    assert [
        mine["name"],
        "teller2@demo.bank",
        "002",
        mine["deposits"]["amount"],
        str(mine["deposits"]["count"]),
        mine["withdrawals"]["amount"],
        str(mine["withdrawals"]["count"]),
        mine["net_cash"],
        "NGN",
    ] in rows


async def test_bad_input_re_renders_the_form_with_the_message(browser):
    await sign_in(browser, "viewer@demo.bank")
    cases: list[tuple[str, str, Any]] = [
        ("/reports/trial-balance?as_of=2026-13-45", "Enter the as-of date as a date", "as_of"),
        ("/reports/trial-balance?branch_code=999", "Choose one of the bank's branches.", None),
        ("/reports/balance-sheet?as_of=yesterday", "Enter the as-of date as a date", None),
        ("/reports/balance-sheet?currency=XYZ", "Choose one of the bank's currencies.", None),
        (
            "/reports/income-statement?from=2026-06-01&to=2026-01-01",
            "The end date is before the start date.",
            None,
        ),
        ("/reports/teller-summary?date=01/12/2026", "Enter the date as a date", None),
        (
            "/reports/teller-summary?user_id=00000000-0000-4000-8000-000000000000",
            "Choose a teller who worked that day.",
            None,
        ),
    ]
    for path, message, _ in cases:
        page = await browser.get(path)
        assert page.status_code == 400, path
        assert message in page_text(page.text), path
        assert 'class="field__error"' in page.text and 'aria-invalid="true"' in page.text, path
        assert "<tfoot>" not in page.text, path  # no figures for a form that is wrong
        assert "Download CSV" not in page.text
        csv_path = path.replace("?", ".csv?", 1)
        download = await browser.get(csv_path)
        assert download.status_code == 400, csv_path
        assert message in page_text(download.text), csv_path
    typed = await browser.get("/reports/trial-balance?as_of=2026-13-45")
    assert 'value="2026-13-45"' in typed.text  # what was typed stays in the field


async def test_home_shows_the_daily_volumes_chart(browser, core):
    account = await core.open_account(opening=None)
    await core.deposit(account["id"], "3210.00")
    summary = await core.call(
        "GET", "/reports/teller-summary", params={"branch_code": "001"}, expect=200
    )
    ngn = next(t for t in summary["totals"] if t["currency"] == "NGN")
    await sign_in(browser, "officer@demo.bank")
    home = await browser.get("/")
    text = page_text(home.text)
    assert "Cash volumes, last 7 days" in text
    deposits = ngn["deposits"]
    # Counts read like figures too: a whole run makes well over 1,000 deposits a day.
    assert f"Deposits today {shown(deposits['amount'])} ({int(deposits['count']):,})" in text
    chart = re.search(r'<figure class="chart bar-chart">.*?</figure>', home.text, re.S)
    assert chart
    assert chart.group(0).count("chart__bar--deposits") == 7
    assert "at branch 001" in chart.group(0)
    # A teller's Home has no such chart; a viewer's neither.
    for email in ("teller@demo.bank", "viewer@demo.bank"):
        browser.cookies.clear()
        await sign_in(browser, email)
        assert "Cash volumes" not in (await browser.get("/")).text

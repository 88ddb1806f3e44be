"""Helpers for the fiscal-period, standing-instruction and report suites of the console.

The sandbox's current-year periods must stay open for the rest of the run, so every close
here happens in a past year of the sandbox tenant that nobody uses: :func:`free_year`
finds one (no periods yet) and creates it.
"""

import html
import re
import uuid
from typing import Any

import httpx
from console_helpers import action_log_rows
from money_helpers import Core

FIRST_FREE_YEAR = 2001
PERIOD_LINK = re.compile(r'href="/periods/([0-9a-f-]{36})/close"')
MAIN = re.compile(r"<main.*?</main>", re.S)
TAGS = re.compile(r"<[^>]+>")


def page_text(markup: str) -> str:
    """The main area's text, tags stripped and spaces collapsed (what a reader sees)."""
    found = MAIN.search(markup)
    text = TAGS.sub(" ", found.group(0) if found else markup)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


async def all_periods(core: Core) -> list[dict[str, Any]]:
    periods: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = await core.call(
            "GET", "/fiscal-periods", params={"limit": 200, "cursor": cursor}, expect=200
        )
        periods.extend(body["fiscal_periods"])
        cursor = body.get("next_cursor")
        if not body.get("has_more") or not cursor:
            return periods


async def free_year(core: Core) -> int:
    """A past year without fiscal periods (the first from 2001 on)."""
    taken = {int(p["fiscal_year"]) for p in await all_periods(core)}
    year = FIRST_FREE_YEAR
    while year in taken:
        year += 1
    return year


async def create_year(core: Core, year: int) -> dict[int, dict[str, Any]]:
    """Periods 1-13 of ``year`` through the core (as the admin), by number."""
    body = await core.call(
        "POST", f"/fiscal-periods/year/{year}", as_user="admin@demo.bank", expect=201
    )
    return {int(p["period_number"]): p for p in body["fiscal_periods"]}


async def year_periods(core: Core, year: int) -> dict[int, dict[str, Any]]:
    return {int(p["period_number"]): p for p in await all_periods(core) if p["fiscal_year"] == year}


async def gl_account(core: Core, code: str) -> dict[str, Any]:
    """The GL account with ``code``."""
    found = (await core.gl_accounts()).get(code)
    assert found is not None, f"no GL account {code}"
    return found


async def draft_journal(
    core: Core,
    effective_date: str,
    *,
    amount: str = "250.00",
    description: str | None = None,
    debit: str = "1400",
    credit: str = "4200",
    maker: str = "teller@demo.bank",
) -> dict[str, Any]:
    """A manual journal (PENDING) dated ``effective_date``: Dr ``debit``, Cr ``credit``."""
    return await core.draft_journal(
        amount=amount,
        debit=debit,
        credit=credit,
        maker=maker,
        description=description or f"Period test {uuid.uuid4().hex[:8]}",
        effective_date=effective_date,
    )


async def close_through(core: Core, periods: dict[int, dict[str, Any]], last: int) -> None:
    """Close periods 1..``last`` through the core, in order (as the admin)."""
    for number in range(1, last + 1):
        await core.call(
            "POST",
            f"/fiscal-periods/{periods[number]['id']}/close",
            as_user="admin@demo.bank",
            expect=200,
        )


async def form_fields(browser: httpx.AsyncClient, page_path: str, action: str) -> dict[str, str]:
    """The hidden fields (CSRF token, idempotency key) of the form on ``page_path`` that
    posts to ``action``."""
    page = await browser.get(page_path)
    assert page.status_code == 200, page.text[:500]
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page.text, re.S)
    assert form, f"no form posting to {action} on {page_path}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1)))


async def post_form(
    browser: httpx.AsyncClient, page_path: str, action: str, **fields: str
) -> httpx.Response:
    """Open ``page_path``, then send the form posting to ``action`` with its own CSRF token
    and idempotency key (as a person pressing its button would)."""
    data = await form_fields(browser, page_path, action)
    data.update(fields)
    return await browser.post(action, data=data)


async def action_log(settings: Any, idempotency_key: str) -> list[tuple[str, str, str | None]]:
    """``(action, outcome, error code)`` of the console action-log rows for a key."""
    rows = await action_log_rows(settings, idempotency_key=idempotency_key)
    return [(r.action, r.outcome, r.error_code) for r in rows]

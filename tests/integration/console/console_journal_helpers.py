"""Helpers for the journal suites: journals made through the real core, and the console's
composer driven like a browser (with and without htmx)."""

import re
from typing import Any

import httpx
from money_helpers import Core, open_form

HTMX = {"HX-Request": "true"}
JOURNAL_LINK = re.compile(r'href="/journals/([0-9a-f-]{36})')


async def gl_ids(core: Core) -> dict[str, str]:
    """The tenant's GL account IDs by code."""
    return await core.gl_ids()


async def business_date(core: Core) -> str:
    return await core.business_date()


async def make_journal(
    core: Core,
    *,
    maker: str = "teller@demo.bank",
    amount: str = "250.00",
    debit: str = "5200",
    credit: str = "2200",
    description: str | None = None,
) -> dict[str, Any]:
    """A PENDING manual journal made through the core: Dr ``debit`` / Cr ``credit``."""
    return await core.draft_journal(
        maker=maker, amount=amount, debit=debit, credit=credit, description=description
    )


async def move(core: Core, journal: dict[str, Any], verb: str, as_user: str, **body: str) -> Any:
    """Approve / reject / post / reverse a journal through the core."""
    return await core.call(
        "POST", f"/journals/{journal['id']}/{verb}", as_user=as_user, json=body or {}, expect=200
    )


async def journal(core: Core, journal_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await core.call("GET", f"/journals/{journal_id}", expect=200)
    return found


async def open_composer(browser: httpx.AsyncClient, path: str = "/journals/new") -> tuple[str, str]:
    """The composer's CSRF token and the idempotency key minted with it."""
    return await open_form(browser, path)


def line_fields(lines: list[tuple[str, str, str, str]]) -> dict[str, str]:
    """Form fields for lines of (account text, chosen account ID, debit, credit)."""
    fields: dict[str, str] = {}
    for index, (text, account_id, debit, credit) in enumerate(lines):
        fields[f"lines-{index}-account"] = text
        if account_id:
            fields[f"lines-{index}-account_id"] = account_id
        fields[f"lines-{index}-debit"] = debit
        fields[f"lines-{index}-credit"] = credit
    return fields


async def press(
    browser: httpx.AsyncClient,
    action: str,
    *,
    csrf: str,
    key: str,
    description: str = "",
    effective_date: str = "",
    lines: list[tuple[str, str, str, str]] | None = None,
    headers: dict[str, str] | None = None,
    path: str = "/journals/new",
) -> httpx.Response:
    """Press one of the composer's buttons with the given fields."""
    data = {
        "_csrf_token": csrf,
        "idempotency_key": key,
        "description": description,
        "effective_date": effective_date,
        "journal_type": "GENERAL",
        "action": action,
        **line_fields(lines or []),
    }
    return await browser.post(path, data=data, headers=headers)


async def journals_by(core: Core, maker_email: str, description: str) -> list[dict[str, Any]]:
    """Journals with ``description`` (the console's tests make each description unique)."""
    found = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        body = await core.call("GET", "/journals", params=params, expect=200)
        found += [
            j
            for j in body["journals"]
            if j["description"] == description and j["created_by_email"] == maker_email
        ]
        cursor = body.get("next_cursor")
        if not body.get("has_more") or not cursor:
            break
    return found

"""The accounts a journal line may name: GL accounts and customer accounts.

The composer searches, as the user types, over the GL accounts that take manual postings
(postable leaves with ``allow_manual_entries``) and over customer accounts by number, name
or phone. The chart comes from ``GET /gl/accounts`` (one tree) and is kept per tenant and
process for a minute: it changes rarely, and a keystroke should not fetch the whole chart.
"""

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from app.console.banking import CoreSession
from app.console.lookup import fetch_account, looks_like_id, search_accounts

CHART_CACHE_SECONDS = 60.0
MATCH_LIMIT = 8

# tenant code → (monotonic time, every GL account by ID, flattened)
_charts: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}


def forget_chart(tenant: str) -> None:
    """Drop the cached chart (after a GL account was created or changed here)."""
    _charts.pop(tenant, None)


def _flatten(nodes: Iterable[Any], into: dict[str, dict[str, Any]]) -> None:
    for node in nodes:
        if not isinstance(node, dict):
            continue
        into[str(node.get("id"))] = {k: v for k, v in node.items() if k != "children"}
        _flatten(node.get("children") or [], into)


async def gl_chart(core: CoreSession) -> dict[str, dict[str, Any]]:
    """Every GL account of the tenant by ID (headers too: a journal's page names them)."""
    tenant = core.signed_in.tenant.code
    cached = _charts.get(tenant)
    now = time.monotonic()
    if cached is not None and now - cached[0] < CHART_CACHE_SECONDS:
        return cached[1]
    body = await core.get("/gl/accounts")
    chart: dict[str, dict[str, Any]] = {}
    _flatten(body.get("gl_accounts") or [] if isinstance(body, dict) else [], chart)
    _charts[tenant] = (now, chart)
    return chart


def postable(node: dict[str, Any]) -> bool:
    """A GL account a person may name on a manual journal line."""
    return (
        not node.get("is_header")
        and bool(node.get("allow_manual_entries"))
        and node.get("is_active", True) is not False
    )


def gl_choice(node: dict[str, Any]) -> dict[str, Any]:
    """How a GL account is shown and sent on a line."""
    return {
        "id": str(node.get("id") or ""),
        "kind": "gl",
        "number": str(node.get("code") or ""),
        "name": str(node.get("name") or ""),
        "currency": str(node.get("currency_code") or "NGN"),
        "status": "",
        "category": str(node.get("category") or ""),
        "postable": postable(node),
    }


def customer_choice(account: dict[str, Any]) -> dict[str, Any]:
    """How a customer account is shown and sent on a line."""
    return {
        "id": str(account.get("id") or ""),
        "kind": "customer",
        "number": str(account.get("account_number") or ""),
        "name": str(account.get("customer_name") or ""),
        "currency": str(account.get("currency") or "NGN"),
        "status": str(account.get("status") or ""),
        "category": "",
        "postable": True,
    }


def _gl_matches(node: dict[str, Any], low: str) -> bool:
    code = str(node.get("code") or "").lower()
    return code.startswith(low) or low in str(node.get("name") or "").lower()


async def search_line_accounts(core: CoreSession, text: str) -> list[dict[str, Any]]:
    """Accounts matching ``text``: postable GL accounts by code or name first, then
    customer accounts by number, holder's name or phone."""
    term = text.strip()[:64]
    if not term:
        return []
    low = term.lower()
    chart = await gl_chart(core)
    gl = [
        gl_choice(node)
        for node in sorted(chart.values(), key=lambda n: str(n.get("code") or ""))
        if postable(node)
        and (
            str(node.get("code") or "").lower().startswith(low)
            or low in str(node.get("name") or "").lower()
        )
    ][:MATCH_LIMIT]
    customers = [customer_choice(a) for a in await search_accounts(core, term)]
    return (gl + customers)[:MATCH_LIMIT]


async def line_account(core: CoreSession, account_id: str) -> dict[str, Any] | None:
    """The GL or customer account with ``account_id``, or ``None`` when there is none."""
    if not looks_like_id(account_id):
        return None
    chart = await gl_chart(core)
    if account_id in chart:
        return gl_choice(chart[account_id])
    account = await fetch_account(core, account_id)
    return customer_choice(account) if account is not None else None


async def line_accounts(core: CoreSession, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Several accounts by ID, looked up side by side (unknown IDs are left out)."""
    wanted = sorted({i for i in ids if looks_like_id(i)})
    if not wanted:
        return {}
    await gl_chart(core)  # once, before the lookups share it
    found = await asyncio.gather(*(line_account(core, i) for i in wanted))
    return {i: a for i, a in zip(wanted, found, strict=True) if a is not None}

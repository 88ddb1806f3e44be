"""The accounts a journal line may name: GL accounts and customer accounts.

The composer searches, as the user types, over the GL accounts that take manual postings
(postable leaves with ``allow_manual_entries``) and over customer accounts by number, name
or phone. The chart comes from ``GET /gl/accounts`` (one tree) and is kept per tenant and
process for a minute: it changes rarely, and a keystroke should not fetch the whole chart.
"""

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

from app.client import GLAccount
from app.console.banking import CoreSession
from app.console.lookup import AccountSummary, fetch_account, looks_like_id, search_accounts

CHART_CACHE_SECONDS = 60.0
MATCH_LIMIT = 8

# tenant code → (monotonic time, every GL account by ID, flattened)
_charts: dict[str, tuple[float, dict[str, GLAccount]]] = {}


def forget_chart(tenant: str) -> None:
    """Drop the cached chart (after a GL account was created or changed here)."""
    _charts.pop(tenant, None)


def _flatten(nodes: Iterable[GLAccount], into: dict[str, GLAccount]) -> None:
    for node in nodes:
        into[node.id] = node
        _flatten(node.children, into)


async def gl_chart(core: CoreSession) -> dict[str, GLAccount]:
    """Every GL account of the tenant by ID (headers too: a journal's page names them)."""
    tenant = core.signed_in.tenant.code
    cached = _charts.get(tenant)
    now = time.monotonic()
    if cached is not None and now - cached[0] < CHART_CACHE_SECONDS:
        return cached[1]
    chart: dict[str, GLAccount] = {}
    _flatten((await core.get_page("/gl/accounts", GLAccount)).items, chart)
    _charts[tenant] = (now, chart)
    return chart


def postable(node: GLAccount) -> bool:
    """A GL account a person may name on a manual journal line."""
    return not node.is_header and node.allow_manual_entries and node.is_active


@dataclass(frozen=True)
class LineAccount:
    """The account a journal line names, as the composer shows it and sends it: a GL
    account (``kind`` "gl", its code as ``number``) or a customer account."""

    id: str
    kind: str  # "gl" | "customer"
    number: str
    name: str
    currency: str
    status: str  # a customer account's; "" for a GL account
    category: str  # a GL account's; "" for a customer account
    postable: bool


def gl_choice(node: GLAccount) -> LineAccount:
    """How a GL account is shown and sent on a line."""
    return LineAccount(
        id=node.id,
        kind="gl",
        number=node.code,
        name=node.name,
        currency=node.currency_code,
        status="",
        category=node.category,
        postable=postable(node),
    )


def customer_choice(account: AccountSummary) -> LineAccount:
    """How a customer account is shown and sent on a line."""
    return LineAccount(
        id=account.id,
        kind="customer",
        number=account.account_number,
        name=account.customer_name,
        currency=account.currency,
        status=account.status,
        category="",
        postable=True,
    )


async def search_line_accounts(core: CoreSession, text: str) -> list[LineAccount]:
    """Accounts matching ``text``: postable GL accounts by code or name first, then
    customer accounts by number, holder's name or phone."""
    term = text.strip()[:64]
    if not term:
        return []
    low = term.lower()
    chart = await gl_chart(core)
    gl = [
        gl_choice(node)
        for node in sorted(chart.values(), key=lambda n: n.code)
        if postable(node) and (node.code.lower().startswith(low) or low in node.name.lower())
    ][:MATCH_LIMIT]
    customers = [customer_choice(a) for a in await search_accounts(core, term)]
    return (gl + customers)[:MATCH_LIMIT]


async def line_account(core: CoreSession, account_id: str) -> LineAccount | None:
    """The GL or customer account with ``account_id``, or ``None`` when there is none."""
    if not looks_like_id(account_id):
        return None
    chart = await gl_chart(core)
    if account_id in chart:
        return gl_choice(chart[account_id])
    account = await fetch_account(core, account_id)
    return customer_choice(account) if account is not None else None


async def line_accounts(core: CoreSession, ids: Iterable[str]) -> dict[str, LineAccount]:
    """Several accounts by ID, looked up side by side (unknown IDs are left out)."""
    wanted = sorted({i for i in ids if looks_like_id(i)})
    if not wanted:
        return {}
    await gl_chart(core)  # once, before the lookups share it
    found = await asyncio.gather(*(line_account(core, i) for i in wanted))
    return {i: a for i, a in zip(wanted, found, strict=True) if a is not None}

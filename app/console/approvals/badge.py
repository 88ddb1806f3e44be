"""The count beside "Approvals" in the navigation, worked out once per page.

Two core calls side by side (``GET /journals?status=PENDING`` and ``GET
/transactions?status=PENDING_APPROVAL``) per tenant and process, kept for a few seconds, so
a busy console does not ask on every page; a decision or a new pending item made through
this process forgets it at once. The count is what the user can act on: items they made
themselves wait for someone else.
"""

import asyncio
import time
from typing import Any

import structlog
from litestar import Request

from app.client import BankingAPIError
from app.console.auth.session import CoreSessionEnded, current_session
from app.console.banking import CoreSession
from app.console.htmx import wants_fragment
from app.console.permissions import can

logger = structlog.get_logger("branchdesk.console")

CACHE_SECONDS = 5.0
PAGE_LIMIT = 200
NAV_BADGES_KEY = "nav_badges"
QUEUE_PATH = "/approvals"

# tenant code → (monotonic time, makers of the pending items, whether there are more)
_pending: dict[str, tuple[float, list[str], bool]] = {}


def forget_pending_count(tenant: str) -> None:
    """Drop the cached count (after a decision, or a new pending item)."""
    _pending.pop(tenant, None)


def forget_all_pending_counts() -> None:
    """Drop every tenant's cached count (a change whose tenant this process can't name)."""
    _pending.clear()


def maker_of(item: dict[str, Any]) -> str:
    """Who made a pending item (the core may name them by ID or as an object)."""
    maker = item.get("created_by")
    if isinstance(maker, dict):
        return str(maker.get("id") or "")
    return str(maker or "")


def remember_pending(
    request: Request[Any, Any, Any], core: CoreSession, items: list[dict[str, Any]], more: bool
) -> None:
    """A page that has just read the whole queue refreshes the cache and its own badge.

    ``items`` are every pending item of every section the count covers.
    """
    makers = [maker_of(t) for t in items]
    _pending[core.signed_in.tenant.code] = (time.monotonic(), makers, more)
    count = sum(1 for maker in makers if maker != core.signed_in.user.id)
    badges = dict(request.state.get(NAV_BADGES_KEY) or {})
    if count:
        badges["/approvals"] = f"{count}+" if more else str(count)
    else:
        badges.pop("/approvals", None)
    request.state[NAV_BADGES_KEY] = badges


# What the count covers: (core path, list name, status that waits for a checker).
PENDING_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("/journals", "journals", "PENDING"),
    ("/transactions", "transactions", "PENDING_APPROVAL"),
)


async def _pending_of(
    core: CoreSession, path: str, name: str, status: str
) -> tuple[list[str], bool]:
    body = await core.get(path, params={"status": status, "limit": PAGE_LIMIT})
    items = body.get(name, []) if isinstance(body, dict) else []
    makers = [maker_of(t) for t in items if isinstance(t, dict)]
    return makers, bool(body.get("has_more")) if isinstance(body, dict) else False


async def pending_makers(core: CoreSession) -> tuple[list[str], bool]:
    """Who made each pending journal and teller transaction of the tenant (and whether
    there are more than one page of either)."""
    tenant = core.signed_in.tenant.code
    cached = _pending.get(tenant)
    now = time.monotonic()
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1], cached[2]
    found = await asyncio.gather(
        *(_pending_of(core, *source) for source in PENDING_SOURCES), return_exceptions=True
    )
    makers: list[str] = []
    more = False
    for result in found:
        if isinstance(result, BaseException):
            raise result
        makers.extend(result[0])
        more = more or result[1]
    _pending[tenant] = (now, makers, more)
    return makers, more


async def waiting_for(core: CoreSession) -> tuple[int, bool]:
    """``(count, more)``: pending items ``core``'s user may decide (not their own)."""
    makers, more = await pending_makers(core)
    me = core.signed_in.user.id
    return sum(1 for maker in makers if maker != me), more


async def nav_badges(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: the navigation's counts, for whole pages only."""
    if request.method != "GET" or wants_fragment(request):
        return
    if request.url.path == QUEUE_PATH:
        return  # the queue reads every pending item itself and sets its own count

    signed_in = current_session(request)
    if signed_in is None or not can(signed_in, "approvals.view"):
        return
    try:
        count, more = await waiting_for(CoreSession(request))
    except (BankingAPIError, CoreSessionEnded) as exc:
        # The page itself will say what is wrong; a missing badge is no reason to fail it.
        logger.info("console.nav_badge_skipped", error=type(exc).__name__)
        return
    if count:
        request.state[NAV_BADGES_KEY] = {"/approvals": f"{count}+" if more else str(count)}

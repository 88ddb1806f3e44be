"""The count beside "Approvals" in the navigation, worked out once per page.

One core call (``GET /transactions?status=PENDING_APPROVAL``) per tenant and process,
kept for a few seconds, so a busy console does not ask on every page; a decision or a new
pending item made through this process forgets it at once. The count is what the user can
act on: items they made themselves wait for someone else.
"""

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

# tenant code → (monotonic time, makers of the pending items, whether there are more)
_pending: dict[str, tuple[float, list[str], bool]] = {}


def forget_pending_count(tenant: str) -> None:
    """Drop the cached count (after a decision, or a new pending item)."""
    _pending.pop(tenant, None)


def forget_all_pending_counts() -> None:
    """Drop every tenant's cached count (a change whose tenant this process can't name)."""
    _pending.clear()


def remember_pending(
    request: Request[Any, Any, Any], core: CoreSession, items: list[dict[str, Any]], more: bool
) -> None:
    """A page that has just read the whole queue refreshes the cache and its own badge."""
    makers = [str(t.get("created_by") or "") for t in items]
    _pending[core.signed_in.tenant.code] = (time.monotonic(), makers, more)
    count = sum(1 for maker in makers if maker != core.signed_in.user.id)
    badges = dict(request.state.get(NAV_BADGES_KEY) or {})
    if count:
        badges["/approvals"] = f"{count}+" if more else str(count)
    else:
        badges.pop("/approvals", None)
    request.state[NAV_BADGES_KEY] = badges


async def pending_makers(core: CoreSession) -> tuple[list[str], bool]:
    """Who made each pending teller transaction of the tenant (and whether there are more)."""
    tenant = core.signed_in.tenant.code
    cached = _pending.get(tenant)
    now = time.monotonic()
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1], cached[2]
    body = await core.get(
        "/transactions", params={"status": "PENDING_APPROVAL", "limit": PAGE_LIMIT}
    )
    items = body.get("transactions", []) if isinstance(body, dict) else []
    makers = [str(t.get("created_by") or "") for t in items if isinstance(t, dict)]
    more = bool(body.get("has_more")) if isinstance(body, dict) else False
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

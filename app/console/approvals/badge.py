"""The count beside "Approvals" in the navigation, worked out once per page.

What waits for a checker comes from three core reads side by side (pending journals,
teller transactions awaiting approval, standing instructions awaiting approval), made once
per tenant and process and kept for a few seconds, so a busy console does not ask on every
page; a decision or a new pending item made through this process (or heard over the live
stream) forgets it at once. The count is what the user may decide: items of the kinds their
role approves (standing instructions: managers only), never the items they made.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import structlog
from litestar import Request

from app.client import BankingAPIError
from app.console.auth.session import CoreSessionEnded, SignedIn, current_session
from app.console.banking import CoreSession
from app.console.htmx import wants_fragment
from app.console.permissions import can

logger = structlog.get_logger("branchdesk.console")

CACHE_SECONDS = 5.0
PAGE_LIMIT = 200
NAV_BADGES_KEY = "nav_badges"
QUEUE_PATH = "/approvals"


@dataclass(frozen=True)
class PendingSource:
    """One kind of item that waits for a checker: where the core lists it, and who decides."""

    key: str
    path: str
    name: str  # the list's name in the core's answer
    status: str  # the status that waits for a checker
    decide_permission: str


# What the count covers, in the queue's order.
PENDING_SOURCES: tuple[PendingSource, ...] = (
    PendingSource("journals", "/journals", "journals", "PENDING", "approvals.decide"),
    PendingSource(
        "transactions", "/transactions", "transactions", "PENDING_APPROVAL", "approvals.decide"
    ),
    PendingSource(
        "standing",
        "/standing-instructions",
        "standing_instructions",
        "PENDING_APPROVAL",
        "standing.approve",
    ),
)

# The makers of one kind's pending items, and whether there are more than one page of them.
Makers = tuple[list[str], bool]
# tenant code → (monotonic time, makers by source key)
_pending: dict[str, tuple[float, dict[str, Makers]]] = {}


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


def count_for(signed_in: SignedIn, makers: dict[str, Makers]) -> tuple[int, bool]:
    """``(count, more)``: the pending items ``signed_in`` may decide (not their own)."""
    me = signed_in.user.id
    count, more = 0, False
    for source in PENDING_SOURCES:
        if source.key not in makers or not can(signed_in, source.decide_permission):
            continue
        found, following = makers[source.key]
        count += sum(1 for maker in found if maker != me)
        more = more or following
    return count, more


def badge_text(count: int, more: bool) -> str:
    """What the badge shows: ``"3"``, ``"200+"``, or nothing."""
    if not count:
        return ""
    return f"{count}+" if more else str(count)


def remember_pending(
    request: Request[Any, Any, Any],
    core: CoreSession,
    found: dict[str, tuple[list[dict[str, Any]], bool]],
) -> None:
    """A page that has just read the whole queue refreshes the cache and its own badge.

    ``found``: for each source key, its pending items (as the core sent them) and whether
    there were more. The cache is refreshed only when every source was read.
    """
    makers = {key: ([maker_of(i) for i in items], more) for key, (items, more) in found.items()}
    if all(source.key in makers for source in PENDING_SOURCES):
        _pending[core.signed_in.tenant.code] = (time.monotonic(), makers)
    badges = dict(request.state.get(NAV_BADGES_KEY) or {})
    text = badge_text(*count_for(core.signed_in, makers))
    if text:
        badges[QUEUE_PATH] = text
    else:
        badges.pop(QUEUE_PATH, None)
    request.state[NAV_BADGES_KEY] = badges


async def _pending_of(core: CoreSession, source: PendingSource) -> Makers:
    body = await core.get(source.path, params={"status": source.status, "limit": PAGE_LIMIT})
    if not isinstance(body, dict):
        return [], False
    items = body.get(source.name) or []
    return [maker_of(i) for i in items if isinstance(i, dict)], bool(body.get("has_more"))


async def pending_makers(core: CoreSession) -> dict[str, Makers]:
    """Who made each pending item of the tenant, by kind (cached for a few seconds)."""
    tenant = core.signed_in.tenant.code
    cached = _pending.get(tenant)
    now = time.monotonic()
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    found = await asyncio.gather(
        *(_pending_of(core, source) for source in PENDING_SOURCES), return_exceptions=True
    )
    makers: dict[str, Makers] = {}
    for source, result in zip(PENDING_SOURCES, found, strict=True):
        if isinstance(result, BaseException):
            raise result
        makers[source.key] = result
    _pending[tenant] = (now, makers)
    return makers


async def waiting_for(core: CoreSession) -> tuple[int, bool]:
    """``(count, more)``: pending items ``core``'s user may decide (not their own)."""
    return count_for(core.signed_in, await pending_makers(core))


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
        text = badge_text(*await waiting_for(CoreSession(request)))
    except (BankingAPIError, CoreSessionEnded) as exc:
        # The page itself will say what is wrong; a missing badge is no reason to fail it.
        logger.info("console.nav_badge_skipped", error=type(exc).__name__)
        return
    if text:
        request.state[NAV_BADGES_KEY] = {QUEUE_PATH: text}

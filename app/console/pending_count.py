"""The count beside "Approvals" in the navigation, worked out once per page.

What waits for a checker comes from one core read (``GET /views/approvals/waiting``: how
many pending journals, teller transactions and standing instructions each maker has
waiting), made once per tenant and process and kept for a few seconds, so a busy console
does not ask on every page; a decision or a new pending item made through this process (or
heard over the live stream) forgets it at once. The count is what the user may decide:
items of the kinds their role approves (standing instructions: managers only), never the
items they made.
"""

import time
from dataclasses import dataclass
from typing import Any

import structlog
from litestar import Request

from app.client import BankingAPIError
from app.client import Waiting as WaitingCounts
from app.console.auth.session import CoreSessionEnded, SignedIn, current_session
from app.console.banking import CoreSession
from app.console.htmx import wants_fragment
from app.console.permissions import can

logger = structlog.get_logger("branchdesk.console")

CACHE_SECONDS = 5.0
NAV_BADGES_KEY = "nav_badges"
QUEUE_PATH = "/approvals"
WAITING_PATH = "/views/approvals/waiting"


@dataclass(frozen=True)
class PendingSource:
    """One kind of item that waits for a checker: its name in the core's counts, and who
    decides it."""

    key: str  # the queue's section
    name: str  # its key in GET /views/approvals/waiting
    decide_permission: str


# What the count covers, in the queue's order.
PENDING_SOURCES: tuple[PendingSource, ...] = (
    PendingSource("journals", "journals", "approvals.decide"),
    PendingSource("transactions", "transactions", "approvals.decide"),
    PendingSource("standing", "standing_instructions", "standing.approve"),
)

# kind → maker's user ID → how many of theirs wait
Waiting = dict[str, dict[str, int]]
# tenant code → (monotonic time, waiting)
_pending: dict[str, tuple[float, Waiting]] = {}
# Bumped by every "forget": a load that started before it must not store what it read.
_forgotten: list[int] = [0]


def forget_pending_count(tenant: str) -> None:
    """Drop the cached count (after a decision, or a new pending item)."""
    _pending.pop(tenant, None)
    _forgotten[0] += 1


def forget_all_pending_counts() -> None:
    """Drop every tenant's cached count (a change whose tenant this process can't name)."""
    _pending.clear()
    _forgotten[0] += 1


def waiting_of(counts: WaitingCounts) -> Waiting:
    """The core's counts as ``{kind: {user ID: count}}``, with positive counts only."""
    return {
        source.name: {
            maker: count for maker, count in getattr(counts, source.name).items() if count > 0
        }
        for source in PENDING_SOURCES
    }


def count_for(signed_in: SignedIn, waiting: Waiting) -> tuple[int, bool]:
    """``(count, more)``: the pending items ``signed_in`` may decide (not their own)."""
    me = signed_in.user.id
    count = 0
    for source in PENDING_SOURCES:
        if not can(signed_in, source.decide_permission):
            continue
        count += sum(n for maker, n in waiting.get(source.name, {}).items() if maker != me)
    return count, False


def badge_text(count: int, more: bool) -> str:
    """What the badge shows: ``"3"``, ``"200+"``, or nothing."""
    if not count:
        return ""
    return f"{count}+" if more else str(count)


def remember_pending(request: Request[Any, Any, Any], core: CoreSession, waiting: Waiting) -> None:
    """A page that has just read the counts (the queue) refreshes the cache and its badge."""
    _pending[core.signed_in.tenant.code] = (time.monotonic(), waiting)
    badges = dict(request.state.get(NAV_BADGES_KEY) or {})
    text = badge_text(*count_for(core.signed_in, waiting))
    if text:
        badges[QUEUE_PATH] = text
    else:
        badges.pop(QUEUE_PATH, None)
    request.state[NAV_BADGES_KEY] = badges


async def pending_waiting(core: CoreSession) -> Waiting:
    """How many items of each kind wait, by maker, for the tenant (cached for a few
    seconds; one load at a time per process)."""
    tenant = core.signed_in.tenant.code
    cached = _pending.get(tenant)
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]

    async def load() -> Waiting:
        started, generation = time.monotonic(), _forgotten[0]
        waiting = waiting_of(await core.get(WAITING_PATH, model=WaitingCounts))
        if generation == _forgotten[0]:
            _pending[tenant] = (started, waiting)
        return waiting

    return await core.console.flights.run(("pending", tenant, _forgotten[0]), load)


async def waiting_for(core: CoreSession) -> tuple[int, bool]:
    """``(count, more)``: pending items ``core``'s user may decide (not their own)."""
    return count_for(core.signed_in, await pending_waiting(core))


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

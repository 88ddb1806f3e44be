"""The approvals area's live parts: the navigation badge as a fragment of its own.

A page re-asks for it when its live stream says the queue changed (``sse:approvals``). The
count goes through the same permission check and the same core read as on every page, so
a live update can never show more than a reload would.
"""

from typing import Any

from litestar import Request, Response, get
from litestar.status_codes import HTTP_204_NO_CONTENT

from app.client import BankingAPIError
from app.console.banking import CoreSession
from app.console.htmx import VARY, render
from app.console.live.hub import Listener, LiveEvent, LiveHub
from app.console.pending_count import (
    badge_text,
    forget_all_pending_counts,
    forget_pending_count,
    waiting_for,
)


async def _no_page_badges(request: Request[Any, Any, Any]) -> None:
    """This fragment works its count out itself (the app's per-page hook is skipped)."""


@get(
    "/approvals/badge",
    # Only ever asked for by a live signal: never the staff member's activity.
    opt={"permission": "approvals.view", "background": True},
    name="approvals_badge",
    before_request=_no_page_badges,
)
async def approvals_badge(request: Request[Any, Any, Any]) -> Response[Any]:
    """The count beside "Approvals": what waits for this user (never their own items)."""
    try:
        count, more = await waiting_for(CoreSession(request))
    except BankingAPIError:
        # Keep the count the page shows (204: htmx swaps nothing) rather than an error.
        return Response("", status_code=HTTP_204_NO_CONTENT, headers=VARY)
    return render(request, "approvals/_badge.html", {"badge": badge_text(count, more)}, block=None)


def badge_forgetter(hub: LiveHub) -> Listener:
    """A hub listener: forget this process's cached count when the queue may have changed.

    Every console process runs it for every event (the hub hears them all through Redis),
    so no process shows a count from before the change.
    """

    def forget(event: LiveEvent) -> None:
        if not event.touches_approvals:
            return
        code = event.tenant_code or hub.tenant_codes.get(event.tenant_id or "")
        if code:
            forget_pending_count(code)
        else:
            forget_all_pending_counts()

    return forget

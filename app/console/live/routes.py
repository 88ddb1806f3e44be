"""``GET /live/events``: the signed-in staff member's live stream (server-sent events).

The stream carries signals, never data: ``approvals`` says "what waits for a checker may
have changed" (its data names only the event's type and ID), and the page re-asks for its
fragments through the normal routes and their permission checks. A role that may not see
the queue is sent no such signal at all.

Events:
    ``ready``          the stream is listening (nothing sent before it can be missed after)
    ``approvals``      re-fetch the approvals badge and queue
    ``session-ended``  the session was signed out or timed out; the stream closes

A comment line every heartbeat keeps proxies from cutting an idle stream; at each one the
session is looked up again, so a sign-out (in any tab, on any console process) or a timeout
ends the stream within a heartbeat.
"""

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.console.auth.session import CoreSessionEnded, SignedIn, current_session, expiry_reason
from app.console.live.hub import Subscription
from app.console.permissions import can
from app.console.state import ConsoleState, console_state

# How long a browser waits before reconnecting a dropped stream (milliseconds).
RETRY_MILLISECONDS = 3000


async def _no_page_badges(request: Request[Any, Any, Any]) -> None:
    """A stream is not a page: the navigation's per-page hook is skipped."""


async def session_end_reason(console: ConsoleState, signed_in: SignedIn) -> str | None:
    """``"signed-out"``, ``"idle"`` or ``"absolute"`` once the session is over, else ``None``.

    Read from the shared session store, so activity in other tabs (which moves
    ``last_seen``) and a sign-out on another console process both count.
    """
    raw = await console.session_store.get(signed_in.session_id)
    if raw is None:
        return "signed-out"
    try:
        data = json.loads(raw)
        current = dataclasses.replace(signed_in, last_seen=float(data["last_seen"]))
    except (ValueError, KeyError, TypeError):
        return "signed-out"
    return expiry_reason(current, console, time.time())


async def _events(
    console: ConsoleState, signed_in: SignedIn, subscription: Subscription
) -> AsyncIterator[ServerSentEventMessage]:
    heartbeat = float(console.settings.console.live_heartbeat_seconds)
    sees_approvals = can(signed_in, "approvals.view")
    yield ServerSentEventMessage(event="ready", data="listening", retry=RETRY_MILLISECONDS)
    next_check = time.monotonic() + heartbeat
    while True:
        wait = next_check - time.monotonic()
        if wait <= 0:
            reason = await session_end_reason(console, signed_in)
            if reason is not None:
                yield ServerSentEventMessage(event="session-ended", data=reason)
                return
            yield ServerSentEventMessage(comment="keep-alive", data=None)
            next_check = time.monotonic() + heartbeat
            continue
        try:
            event = await asyncio.wait_for(subscription.queue.get(), timeout=wait)
        except TimeoutError:
            continue
        if event is None:
            return  # the process is stopping: the browser reconnects to another
        if sees_approvals and event.touches_approvals:
            signal = json.dumps({"type": event.type, "event_id": event.event_id})
            yield ServerSentEventMessage(event="approvals", data=signal)


async def _stream(console: ConsoleState, signed_in: SignedIn) -> AsyncIterator[Any]:
    async with console.live.subscribe(signed_in.tenant.id, signed_in.tenant.code) as subscription:
        async for message in _events(console, signed_in, subscription):
            yield message


@get(
    "/live/events",
    # An open page, not a person at work: the stream never moves the session's last_seen.
    opt={"permission": "home.view", "background": True},
    name="live_events",
    before_request=_no_page_badges,
)
async def live_events(request: Request[Any, Any, Any]) -> ServerSentEvent:
    """The live stream of the signed-in staff member's tenant."""
    signed_in = current_session(request)
    if signed_in is None:  # the guard lets no one here unsigned; said for the type checker
        raise CoreSessionEnded("no staff session")
    return ServerSentEvent(_stream(console_state(request.app), signed_in))

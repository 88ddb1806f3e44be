"""Live updates beyond the receiver: the badge cache forgets on events, streams end with
their session (idle, absolute, signed out) and never keep a stopping server up."""

import asyncio
import dataclasses
import json
import re
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from console_helpers import asgi_client, sign_in

from app.console.auth.session import SignedIn, StaffMember, Tenant
from app.console.live.routes import _events, session_end_reason
from app.console.models import ConsoleWebhookEvent
from app.console.state import console_state
from app.db import Database
from tests.live_helpers import deliver, event_payload, open_stream
from tests.live_server import LiveServer

BADGE = re.compile(r'<span class="nav-badge">(\d+)\+?<')


def badge_count(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text[:300]
    assert 'id="nav-badge-approvals"' in response.text
    assert 'hx-trigger="sse:approvals"' in response.text
    match = BADGE.search(response.text)
    return int(match.group(1)) if match else 0


async def test_an_event_makes_the_process_forget_its_cached_count(console_app, core, settings):
    """The count is cached per process for a few seconds; a live event ends that at once.

    An in-process console app gets no deliveries from the core (the core's subscription
    points at the live server), so what it caches stays cached until the event we send.
    """
    app = console_app()
    hub = console_state(app).live
    assert await hub.listening()
    async with asgi_client(app) as officer:
        assert (await sign_in(officer, "officer@demo.bank")).status_code == 303
        before = badge_count(await officer.get("/approvals/badge", headers={"HX-Request": "true"}))
        account = await core.open_account(opening="10.00")
        pending = await core.deposit(account["id"], "1500000.00")
        assert pending["status"] == "PENDING_APPROVAL"
        # Straight to the core: this process does not know yet.
        assert badge_count(await officer.get("/approvals/badge")) == before
        tenant = await core.call("GET", "/tenant", expect=200)
        payload = event_payload("transaction.pending_approval", tenant["id"])
        answer = await deliver(officer, settings.console.webhook_secret, payload)
        assert answer.json() == {"received": True, "duplicate": False}
        # With Redis the event comes back to this process through pub/sub: allow it a
        # moment, well inside the cache's own lifetime.
        deadline = time.monotonic() + 2.0
        while True:
            now_count = badge_count(await officer.get("/approvals/badge"))
            if now_count == before + 1 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert now_count == before + 1
        # The page's navigation carries the same live slot.
        home = await officer.get("/")
        assert f'<span class="nav-badge">{before + 1}<' in home.text


async def test_the_badge_is_not_for_roles_without_the_queue(console_app):
    app = console_app()
    async with asgi_client(app) as teller:
        await sign_in(teller, "teller@demo.bank")
        answer = await teller.get("/approvals/badge")
        assert answer.status_code == 403
        home = await teller.get("/")
        assert 'id="nav-badge-approvals"' not in home.text


def signed_in_from(session_id: str, data: dict[str, Any]) -> SignedIn:
    user, tenant = data["user"], data["tenant"]
    return SignedIn(
        session_id=session_id,
        user=StaffMember(
            id=user["id"],
            email=user["email"],
            name=user["name"],
            roles=user["roles"],
            branch_id=user["branch_id"],
        ),
        tenant=Tenant(id=tenant["id"], code=tenant["code"], name=tenant["name"]),
        login_at=float(data["login_at"]),
        last_seen=float(data["last_seen"]),
    )


@pytest.mark.parametrize("reason", ["idle", "absolute"])
async def test_a_stream_ends_when_its_session_times_out(console_app, reason):
    app = console_app()
    console = console_state(app)
    limits = console.settings.console
    async with asgi_client(app) as client:
        answer = await sign_in(client, "manager@demo.bank")
        session_id = client.cookies["bd_session"]
    assert answer.status_code == 303
    data = json.loads(await console.session_store.get(session_id))  # type: ignore[arg-type]
    signed_in = signed_in_from(session_id, data)
    assert await session_end_reason(console, signed_in) is None
    if reason == "absolute":
        # A page opened (and kept busy) since a sign-in 12 hours ago.
        signed_in = dataclasses.replace(
            signed_in, login_at=time.time() - limits.session_absolute_seconds - 1
        )
    async with console.live.subscribe(signed_in.tenant.id, signed_in.tenant.code) as sub:
        events = _events(console, signed_in, sub)
        assert (await anext(events)).event == "ready"
        if reason == "idle":
            # Pages in other tabs moved last_seen on; then the staff member walked away.
            data["last_seen"] = time.time() - limits.session_idle_seconds - 1
            await console.session_store.set(session_id, json.dumps(data).encode())
        message = await asyncio.wait_for(anext(events), limits.live_heartbeat_seconds + 5)
        assert (message.event, message.data) == ("session-ended", reason)
        with pytest.raises(StopAsyncIteration):
            await anext(events)


async def test_a_closing_hub_ends_its_streams(console_app):
    app = console_app()
    console = console_state(app)
    async with asgi_client(app) as client:
        await sign_in(client, "officer@demo.bank")
        session_id = client.cookies["bd_session"]
    data = json.loads(await console.session_store.get(session_id))  # type: ignore[arg-type]
    signed_in = signed_in_from(session_id, data)
    async with console.live.subscribe(signed_in.tenant.id, signed_in.tenant.code) as sub:
        events = _events(console, signed_in, sub)
        assert (await anext(events)).event == "ready"
        console.live.begin_closing()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(events), 2)
    # A stream opened while the hub is closing ends at once.
    async with console.live.subscribe(signed_in.tenant.id, signed_in.tenant.code) as sub:
        events = _events(console, signed_in, sub)
        assert (await anext(events)).event == "ready"
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(events), 2)


async def test_an_open_stream_does_not_keep_a_stopping_server_up(live_server):
    """SIGTERM with a page open: the stream ends and the process exits by itself, fast."""
    server = LiveServer().start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as manager:
            assert (await sign_in(manager, "manager@demo.bank")).status_code == 303
            async with open_stream(manager) as stream:
                started = time.monotonic()
                await asyncio.to_thread(server.stop)
                elapsed = time.monotonic() - started
                with pytest.raises((EOFError, httpx.RemoteProtocolError, httpx.ReadError)):
                    await stream.next(within=5)
    finally:
        server.stop()
    assert not server.killed, "the server had to be killed"
    assert elapsed < 6, f"stopping took {elapsed:.1f} s"


async def test_an_event_that_cannot_be_pushed_is_not_kept(
    console_settings, console_app, database_ready
):
    """Redis down: the receiver answers 503 and keeps nothing, so the core's retry (same
    event ID) is stored and pushed then, not acknowledged as a duplicate."""
    import dataclasses as dc

    base = console_settings()
    # Nothing listens on port 1: every publish fails as it would with Redis down.
    broken = dc.replace(base, redis=dc.replace(base.redis, url="redis://127.0.0.1:1/0"))
    app = console_app(broken)
    payload = event_payload("journal.created", "0b7c4f0e-43f3-4f37-9a43-3a5d3c0a0009")
    async with asgi_client(app) as client:
        answer = await deliver(client, base.console.webhook_secret, payload)
    assert answer.status_code == 503
    assert answer.json() == {"error": "live updates are unavailable"}
    db = Database(base.database)
    try:
        async with db.session() as session:
            count = (
                await session.execute(
                    sa.select(sa.func.count())
                    .select_from(ConsoleWebhookEvent)
                    .where(ConsoleWebhookEvent.event_id == payload["id"])  # type: ignore[arg-type]
                )
            ).scalar_one()
    finally:
        await db.dispose()
    assert count == 0
    # The retry, once pushing works again, is a new event.
    async with asgi_client(console_app()) as client:
        retry = await deliver(client, base.console.webhook_secret, payload)
    assert retry.json() == {"received": True, "duplicate": False}

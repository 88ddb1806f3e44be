"""The webhook receiver and the live stream, against the live one-process server (S9).

A delivery is refused (401) and stored nowhere when its signature is bad or its timestamp
stale; a new event is stored once and pushed to the signed-in staff of its tenant; a
replayed ``X-Webhook-ID`` is acknowledged (200) and neither stored nor pushed again. The
stream carries signals only to roles that may act on them, and ends with the session.
"""

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from console_helpers import csrf_token, sign_in

from app.console.models import ConsoleWebhookEvent
from app.db import Database
from tests.live_helpers import WEBHOOK_PATH, deliver, event_payload, open_stream, signed


@pytest.fixture(scope="module")
async def tenant_ids(core) -> dict[str, str]:  # type: ignore[no-untyped-def]
    demo = await core.call("GET", "/tenant", expect=200)
    fmfb_token = await core.http.post(
        "/auth/login",
        json={"email": "admin@fmfb.bank", "password": "Sandbox#2026"},
        headers={"X-Tenant-ID": "fmfb"},
    )
    fmfb = await core.http.get(
        "/tenant",
        headers={
            "Authorization": f"Bearer {fmfb_token.json()['access_token']}",
            "X-Tenant-ID": "fmfb",
        },
    )
    return {"demo_bank": demo["id"], "fmfb": fmfb.json()["id"]}


@pytest.fixture(scope="module")
def secret(settings) -> str:  # type: ignore[no-untyped-def]
    # The live server reads the same generated secret (same BRANCHDESK_VAR_DIR).
    value: str = settings.console.webhook_secret
    return value


@pytest.fixture(scope="module")
async def database(settings) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    db = Database(settings.database)
    yield db
    await db.dispose()


async def stored(database: Database, event_id: str) -> list[ConsoleWebhookEvent]:
    async with database.session() as session:
        rows = await session.execute(
            sa.select(ConsoleWebhookEvent).where(
                ConsoleWebhookEvent.event_id == event_id  # type: ignore[arg-type]
            )
        )
        return list(rows.scalars())


async def signed_in_client(live_server: Any, email: str, tenant: str = "demo_bank") -> Any:
    client = httpx.AsyncClient(base_url=live_server.base_url, timeout=30)
    answer = await sign_in(client, email, tenant=tenant)
    assert answer.status_code == 303, answer.text[:300]
    return client


@pytest.fixture
async def manager(live_server) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    client = await signed_in_client(live_server, "manager@demo.bank")
    yield client
    await client.aclose()


async def test_a_new_event_is_stored_and_pushed_to_its_tenant(
    manager, browser, secret, tenant_ids, database
):
    payload = event_payload("journal.created", tenant_ids["demo_bank"], journal_id="j-1")
    async with open_stream(manager) as stream:
        answer = await deliver(browser, secret, payload)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"received": True, "duplicate": False}
        seen = await stream.until(event_id=payload["id"])
    assert seen[-1].event == "approvals"
    assert seen[-1].signal == {"type": "journal.created", "event_id": payload["id"]}
    rows = await stored(database, payload["id"])
    assert len(rows) == 1
    row = rows[0]
    assert row.type == "journal.created"
    assert row.tenant_id == str(uuid.UUID(tenant_ids["demo_bank"]))
    assert row.payload == payload
    assert row.received_at is not None


def forged_deliveries(
    secret: str, payload: dict[str, Any]
) -> dict[str, tuple[bytes, dict[str, str]]]:
    """Every way a delivery can fail its proof, each for ``payload``."""
    now = int(time.time())
    good_body, good = signed(secret, payload)
    tampered = json.dumps({**payload, "type": "journal.posted"}).encode()
    return {
        "no signature": (good_body, {k: v for k, v in good.items() if k != "X-Webhook-Signature"}),
        "another secret": signed("not-the-console-secret-at-all", payload),
        "tampered body": (tampered, good),
        "stale (301 s old)": signed(secret, payload, timestamp=now - 301),
        "from the future (301 s ahead)": signed(secret, payload, timestamp=now + 301),
        "malformed header": (good_body, {**good, "X-Webhook-Signature": "v1=abc,t=soon"}),
        "no v1": (good_body, {**good, "X-Webhook-Signature": f"t={now}"}),
        "v0 only": (
            good_body,
            {**good, "X-Webhook-Signature": good["X-Webhook-Signature"].replace("v1=", "v0=")},
        ),
        "truncated digest": (
            good_body,
            {**good, "X-Webhook-Signature": good["X-Webhook-Signature"][:-2]},
        ),
        "bare digest": (
            good_body,
            {**good, "X-Webhook-Signature": good["X-Webhook-Signature"].split("v1=")[1]},
        ),
    }


async def test_bad_or_stale_signatures_are_refused_and_stored_nowhere(
    manager, browser, secret, tenant_ids, database
):
    refused: list[str] = []
    async with open_stream(manager) as stream:
        names = list(forged_deliveries(secret, event_payload("journal.approved", "t")))
        assert len(names) == 10
        for name in names:
            payload = event_payload("journal.approved", tenant_ids["demo_bank"])
            body, headers = forged_deliveries(secret, payload)[name]
            answer = await browser.post(WEBHOOK_PATH, content=body, headers=headers)
            assert answer.status_code == 401, (name, answer.text)
            assert answer.json() == {"error": "invalid or expired signature"}
            assert await stored(database, payload["id"]) == [], name
            refused.append(payload["id"])
        # Nothing refused was pushed: none of it comes before the genuine event sent last.
        genuine = event_payload("journal.posted", tenant_ids["demo_bank"])
        assert (await deliver(browser, secret, genuine)).status_code == 200
        seen = await stream.until(event_id=genuine["id"])
        assert not {m.event_id for m in seen} & set(refused)
    assert len(await stored(database, genuine["id"])) == 1


async def test_the_tolerance_is_300_seconds(browser, secret, tenant_ids, database):
    now = int(time.time())
    for offset in (-290, 290):
        payload = event_payload("account.opened", tenant_ids["demo_bank"])
        answer = await deliver(browser, secret, payload, timestamp=now + offset)
        assert answer.status_code == 200, (offset, answer.text)
        assert len(await stored(database, payload["id"])) == 1


async def test_a_replayed_webhook_id_is_acknowledged_not_stored_or_pushed_again(
    manager, browser, secret, tenant_ids, database
):
    payload = event_payload("transaction.pending_approval", tenant_ids["demo_bank"])
    async with open_stream(manager) as stream:
        first = await deliver(browser, secret, payload)
        assert first.json() == {"received": True, "duplicate": False}
        await stream.until(event_id=payload["id"])
        # The core retries with the same ID (and a fresh signature): acknowledged only.
        for _ in range(2):
            again = await deliver(browser, secret, payload)
            assert again.status_code == 200
            assert again.json() == {"received": True, "duplicate": True}
        marker = event_payload("journal.rejected", tenant_ids["demo_bank"])
        await deliver(browser, secret, marker)
        # Up to the marker sent after the replays, the event was not signalled again.
        seen = await stream.until(event_id=marker["id"])
        assert [m.event_id for m in seen].count(payload["id"]) == 0
    assert len(await stored(database, payload["id"])) == 1


async def test_concurrent_deliveries_of_one_event_store_and_push_it_once(
    manager, live_server, browser, secret, tenant_ids, database
):
    payload = event_payload("standing_instruction.approved", tenant_ids["demo_bank"])
    async with open_stream(manager) as stream:
        clients = [httpx.AsyncClient(base_url=live_server.base_url) for _ in range(8)]
        try:
            answers = await asyncio.gather(*(deliver(c, secret, payload) for c in clients))
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        assert [a.status_code for a in answers] == [200] * 8
        assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 7
        marker = event_payload("journal.created", tenant_ids["demo_bank"])
        await deliver(browser, secret, marker)
        seen = await stream.until(event_id=marker["id"])
        assert [m.event_id for m in seen].count(payload["id"]) == 1
    assert len(await stored(database, payload["id"])) == 1


async def test_a_burst_of_deliveries_stores_and_pushes_each_event_once(
    manager, live_server, browser, secret, tenant_ids, database
):
    """Many deliveries at once, as the worker sends a backlog (they are stored and pushed
    in groups): each new event stored and pushed once, a replay arriving beside its
    original acknowledged as a duplicate, forged ones refused and stored nowhere."""
    demo = tenant_ids["demo_bank"]
    fresh = [event_payload("journal.created", demo, journal_id=f"j-{n}") for n in range(24)]
    replays = fresh[:8]
    forged = [event_payload("journal.created", demo) for _ in range(4)]
    async with open_stream(manager) as stream:
        clients = [httpx.AsyncClient(base_url=live_server.base_url) for _ in range(8)]
        try:
            sends = [deliver(clients[n % 8], secret, p) for n, p in enumerate(fresh + replays)]
            sends += [
                deliver(clients[n % 8], "not-the-console-secret-at-all", p)
                for n, p in enumerate(forged)
            ]
            answers = await asyncio.gather(*sends)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        signed_answers, forged_answers = answers[:32], answers[32:]
        assert [a.status_code for a in signed_answers] == [200] * 32
        assert [a.status_code for a in forged_answers] == [401] * 4
        new_by_id = Counter(
            p["id"]
            for p, a in zip(fresh + replays, signed_answers, strict=True)
            if a.json() == {"received": True, "duplicate": False}
        )
        assert new_by_id == Counter(p["id"] for p in fresh)  # once each, replays or not
        marker = event_payload("journal.rejected", demo)
        await deliver(browser, secret, marker)
        seen = Counter(m.event_id for m in await stream.until(event_id=marker["id"]))
    assert all(seen[p["id"]] == 1 for p in fresh)
    assert not any(seen[p["id"]] for p in forged)
    for payload in fresh:
        (row,) = await stored(database, payload["id"])
        assert row.payload == payload
    for payload in forged:
        assert await stored(database, payload["id"]) == []


async def test_a_header_id_other_than_the_signed_id_is_refused(
    browser, secret, tenant_ids, database
):
    payload = event_payload("journal.created", tenant_ids["demo_bank"])
    answer = await deliver(browser, secret, payload, webhook_id="evt_someone_else")
    assert answer.status_code == 400
    assert "X-Webhook-ID" in answer.json()["error"]
    assert await stored(database, payload["id"]) == []
    assert await stored(database, "evt_someone_else") == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "the body is not JSON"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b'{"type": "journal.created"}', "id must be the event's ID"),
        (b'{"id": "evt_x1", "type": 7}', "type must be the event's type"),
    ],
)
async def test_a_signed_but_malformed_body_is_refused(browser, secret, body, error):
    payload, headers = signed(secret, body, webhook_id=None)
    answer = await browser.post(WEBHOOK_PATH, content=payload, headers=headers)
    assert answer.status_code == 400
    assert answer.json() == {"error": error}


async def test_the_id_header_is_optional_the_signed_id_is_what_counts(
    browser, secret, tenant_ids, database
):
    payload = event_payload("journal.created", tenant_ids["demo_bank"])
    body, headers = signed(secret, payload)
    del headers["X-Webhook-ID"]
    answer = await browser.post(WEBHOOK_PATH, content=body, headers=headers)
    assert answer.json() == {"received": True, "duplicate": False}
    again = await deliver(browser, secret, payload)  # now with the header: the same event
    assert again.json() == {"received": True, "duplicate": True}
    assert len(await stored(database, payload["id"])) == 1


async def test_the_receiver_needs_no_session_or_csrf_token_but_only_post(browser, live_server):
    # Public and CSRF-exempt: a delivery has no cookie; its signature is its proof.
    answer = await browser.post(WEBHOOK_PATH, content=b"{}")
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert (await browser.get(WEBHOOK_PATH)).status_code == 405


async def test_events_reach_only_their_own_tenant_and_roles_that_may_act(
    manager, live_server, browser, secret, tenant_ids
):
    demo = tenant_ids["demo_bank"]
    viewer = await signed_in_client(live_server, "viewer@demo.bank")
    other_bank = await signed_in_client(live_server, "admin@fmfb.bank", tenant="fmfb")
    try:
        async with (
            open_stream(manager) as manager_stream,
            open_stream(viewer) as viewer_stream,
            open_stream(other_bank) as other_stream,
        ):
            demo_event = event_payload("journal.created", demo)
            await deliver(browser, secret, demo_event)
            await manager_stream.until(event_id=demo_event["id"])
            # The same process handed the event to every stream at once: by two heartbeats
            # later, anything meant for the others would have arrived. A viewer never gets
            # an approvals signal at all.
            assert await viewer_stream.keep_alives(2) == []
            other_seen = await other_stream.keep_alives(2)
            assert demo_event["id"] not in {m.event_id for m in other_seen}
            # fmfb's own events reach fmfb's admin, and nobody at demo_bank.
            fmfb_event = event_payload("journal.posted", tenant_ids["fmfb"])
            await deliver(browser, secret, fmfb_event)
            await other_stream.until(event_id=fmfb_event["id"])
            # Events that change no queue are stored but signal nothing.
            quiet = event_payload("account.frozen", demo)
            await deliver(browser, secret, quiet)
            manager_seen = await manager_stream.keep_alives(2)
            assert not {fmfb_event["id"], quiet["id"]} & {m.event_id for m in manager_seen}
    finally:
        await viewer.aclose()
        await other_bank.aclose()


async def test_signing_out_ends_the_stream(live_server):
    client = await signed_in_client(live_server, "officer@demo.bank")
    try:
        async with open_stream(client) as stream:
            token = await csrf_token(client)
            assert (await client.post("/logout", data={"_csrf_token": token})).status_code == 303
            seen = await stream.until(event="session-ended", within=5)
            assert seen[-1].data == "signed-out"
            with pytest.raises(EOFError):
                await stream.next(within=5)
        # Signed out, the stream is not served any more.
        answer = await client.get("/live/events")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")
    finally:
        await client.aclose()


async def test_the_stream_is_for_signed_in_staff_only(browser):
    answer = await browser.get("/live/events")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")

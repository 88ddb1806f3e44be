"""The delivery worker against a real HTTP receiver: signatures, retries, the log, leases."""

import asyncio
import dataclasses
import json
import time
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from app.core.webhooks import outbox
from app.core.webhooks.delivery import WebhookDispatcher, backoff_seconds
from app.core.webhooks.events import KNOWN_EVENT_TYPES
from app.core.webhooks.models import OutboxEvent, WebhookDelivery
from app.db import Database
from app.worker import build_jobs, run_jobs
from tests.integration.api.ledger_helpers import deposit, expect, h, open_account
from tests.integration.api.webhook_receiver import Receiver, start_receiver, verify_signature


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def fast(settings, **overrides):  # type: ignore[no-untyped-def]
    """Webhook settings with test-sized backoff and timeouts."""
    values = {
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "timeout_seconds": 3.0,
        "max_attempts": 5,
        "batch_size": 100,
        **overrides,
    }
    return dataclasses.replace(settings.webhooks, **values)


@pytest.fixture(scope="module", autouse=True)
async def only_this_modules_webhooks(core_app):  # type: ignore[no-untyped-def]
    """Quiet every subscription made before this module (the sandbox's console receivers,
    other suites' test hooks): their backlog of failing deliveries, thousands after a whole
    run, would otherwise compete with this module's few for every cycle. Restored after."""
    from sqlmodel import col

    from app.core.webhooks.models import WebhookSubscription

    db: Database = core_app.state.services.db
    active = sa.and_(
        col(WebhookSubscription.is_active).is_(True), col(WebhookSubscription.deleted_at).is_(None)
    )
    async with db.writer(), db.session() as session:
        quieted = list(
            (await session.execute(sa.select(col(WebhookSubscription.id)).where(active))).scalars()
        )
        await session.execute(
            sa.update(WebhookSubscription)
            .where(col(WebhookSubscription.id).in_(quieted))
            .values(is_active=False)
        )
        await session.commit()
    yield
    async with db.writer(), db.session() as session:
        await session.execute(
            sa.update(WebhookSubscription)
            .where(col(WebhookSubscription.id).in_(quieted))
            .values(is_active=True)
        )
        await session.commit()


@pytest.fixture
async def dispatcher(core_app, settings):  # type: ignore[no-untyped-def]
    dispatcher = WebhookDispatcher(core_app.state.services.db, fast(settings))
    yield dispatcher
    await dispatcher.aclose()


@pytest.fixture(scope="module")
async def account_id(api, tokens) -> str:  # type: ignore[no-untyped-def]
    return str((await open_account(api, tokens, initial_deposit="1000.00"))["id"])


async def subscribe(api, tokens, receiver: Receiver, path: str, events, **fields):  # type: ignore[no-untyped-def]
    body = {
        "name": f"test {path}",
        "url": receiver.base_url + path,
        "events": events,
        "is_active": True,
        **fields,
    }
    return expect(await api.post("/webhooks", json=body, headers=await h(tokens, "admin")), 201)


async def until(dispatcher: WebhookDispatcher, done, seconds: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Run delivery cycles until ``done()`` holds (or fail after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the condition never came true"
        await dispatcher.run_once(wait=True)
        await asyncio.sleep(0.02)


async def deliveries_of(api, tokens, hook_id: str):  # type: ignore[no-untyped-def]
    response = await api.get(
        f"/webhooks/{hook_id}/deliveries", params={"limit": 200}, headers=await h(tokens, "admin")
    )
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


async def test_an_event_failing_twice_is_acknowledged_once_after_three_attempts(
    api, tokens, receiver, dispatcher, account_id
):
    hook = await subscribe(api, tokens, receiver, "/flaky", ["transaction.completed"])
    receiver.answer("/flaky", 500, 503)
    made = expect(await deposit(api, tokens, account_id, "12.34"), 201)

    await until(dispatcher, lambda: any(r.status == 200 for r in receiver.to("/flaky")))
    for _ in range(5):  # more cycles: nothing more is sent once acknowledged
        await dispatcher.run_once(wait=True)

    requests = receiver.to("/flaky")
    assert [r.status for r in requests] == [500, 503, 200]
    event_ids = {r.headers["x-webhook-id"] for r in requests}
    assert len(event_ids) == 1  # the same ID on every retry, for the receiver's dedup
    (event_id,) = event_ids
    assert event_id.startswith("evt_")
    assert len({r.body for r in requests}) == 1  # the same body, re-signed each time
    for r in requests:
        assert r.headers["content-type"] == "application/json"
        assert verify_signature(hook["secret"], r.headers, r.body)
        assert not verify_signature("whsec_someone-else", r.headers, r.body)
        assert not verify_signature(hook["secret"], r.headers, r.body + b" ")
    payload = json.loads(requests[0].body)
    assert set(payload) == {"id", "type", "tenant_id", "data", "created_at"}
    assert payload["id"] == event_id and payload["type"] == "transaction.completed"
    tenant = (await api.get("/tenant", headers=await h(tokens, "admin"))).json()
    assert payload["tenant_id"] == tenant["id"]
    assert payload["data"]["id"] == made["id"] and payload["data"]["amount"] == "12.34"
    assert payload["created_at"].endswith("Z")

    (delivery,) = await deliveries_of(api, tokens, hook["id"])
    assert delivery["event_id"] == event_id and delivery["webhook_id"] == hook["id"]
    assert (delivery["status"], delivery["attempt_count"]) == ("DELIVERED", 3)
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"]
    assert delivery["last_status_code"] == 200 and delivery["last_error"] is None
    attempts = delivery["attempts"]
    assert [a["number"] for a in attempts] == [1, 2, 3]
    assert [a["status_code"] for a in attempts] == [500, 503, 200]
    assert [a["error"] for a in attempts] == ["HTTP 500", "HTTP 503", None]
    assert all(isinstance(a["duration_ms"], int) and a["duration_ms"] >= 0 for a in attempts)
    stamps = [a["attempted_at"] for a in attempts]
    assert stamps == sorted(stamps)


async def test_a_type_not_subscribed_is_not_delivered(
    api, tokens, receiver, dispatcher, account_id
):
    hook = await subscribe(api, tokens, receiver, "/frozen", ["account.frozen"])
    fresh = await open_account(api, tokens)
    expect(await deposit(api, tokens, fresh["id"], "5.00"), 201)  # transaction.completed
    officer = await h(tokens, "officer")
    frozen = await api.post(
        f"/accounts/{fresh['id']}/freeze", json={"reason": "webhook test"}, headers=officer
    )
    assert frozen.status_code == 200, frozen.text
    await until(dispatcher, lambda: len(receiver.to("/frozen")) >= 1)
    for _ in range(5):
        await dispatcher.run_once(wait=True)
    (only,) = receiver.to("/frozen")
    payload = json.loads(only.body)
    assert payload["type"] == "account.frozen"
    assert payload["data"]["account_id"] == fresh["id"]
    assert [d["event_type"] for d in await deliveries_of(api, tokens, hook["id"])] == [
        "account.frozen"
    ]


async def test_inactive_and_deleted_webhooks_get_nothing(
    api, tokens, receiver, dispatcher, account_id, core_app
):
    inactive = await subscribe(
        api, tokens, receiver, "/inactive", ["transaction.completed"], is_active=False
    )
    doomed = await subscribe(api, tokens, receiver, "/doomed", ["transaction.completed"])
    receiver.answer("/doomed", *([500] * 20))
    expect(await deposit(api, tokens, account_id, "1.00"), 201)
    await until(dispatcher, lambda: len(receiver.to("/doomed")) >= 1)
    deleted = await api.delete(f"/webhooks/{doomed['id']}", headers=await h(tokens, "admin"))
    assert deleted.status_code == 204
    sent = len(receiver.to("/doomed"))
    for _ in range(8):
        await dispatcher.run_once(wait=True)
        await asyncio.sleep(0.03)
    assert len(receiver.to("/doomed")) == sent
    assert receiver.to("/inactive") == []
    assert await deliveries_of(api, tokens, inactive["id"]) == []
    async with core_app.state.services.db.session() as session:
        statuses = (
            await session.execute(
                sa.select(WebhookDelivery.status).where(  # type: ignore[call-overload]
                    WebhookDelivery.subscription_id == uuid.UUID(doomed["id"])
                )
            )
        ).scalars()
        assert set(statuses) == {"CANCELLED"}


async def test_gives_up_after_max_attempts_and_retry_sends_it_again(
    api, tokens, receiver, core_app, settings, account_id
):
    dispatcher = WebhookDispatcher(core_app.state.services.db, fast(settings, max_attempts=3))
    try:
        hook = await subscribe(api, tokens, receiver, "/down", ["transaction.completed"])
        receiver.answer("/down", *([500] * 4))
        expect(await deposit(api, tokens, account_id, "2.00"), 201)

        async def status() -> str:
            (delivery,) = await deliveries_of(api, tokens, hook["id"])
            return str(delivery["status"])

        await until(dispatcher, lambda: len(receiver.to("/down")) >= 3)
        for _ in range(5):
            await dispatcher.run_once(wait=True)
            await asyncio.sleep(0.05)
        assert len(receiver.to("/down")) == 3
        (failed,) = await deliveries_of(api, tokens, hook["id"])
        assert (failed["status"], failed["attempt_count"], failed["next_attempt_at"]) == (
            "FAILED",
            3,
            None,
        )
        assert failed["last_error"] == "HTTP 500"

        admin = await h(tokens, "admin")
        retry_path = f"/webhooks/{hook['id']}/deliveries/{failed['id']}/retry"
        retried = await api.post(retry_path, json={}, headers=admin)
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "PENDING"
        assert len(retried.json()["attempts"]) == 3
        audit = await api.get(
            "/audit-logs",
            params={"request_id": retried.headers["x-request-id"]},
            headers=await h(tokens, "manager"),
        )
        (record,) = audit.json()["audit_logs"]
        assert (record["action"], record["entity_id"]) == ("webhook.delivery_retried", failed["id"])
        assert record["before"]["status"] == "FAILED"

        # The one more attempt fails too (the receiver still answers 500): FAILED again.
        await until(dispatcher, lambda: len(receiver.to("/down")) >= 4)
        await dispatcher.run_once(wait=True)
        assert await status() == "FAILED"
        # Now the receiver is back: a retry delivers it, with the same event ID.
        expect(await api.post(retry_path, json={}, headers=admin), 200)
        await until(dispatcher, lambda: len(receiver.to("/down")) >= 5)
        await dispatcher.run_once(wait=True)
        (done,) = await deliveries_of(api, tokens, hook["id"])
        assert (done["status"], done["attempt_count"]) == ("DELIVERED", 5)
        assert [a["status_code"] for a in done["attempts"]] == [500, 500, 500, 500, 200]
        assert len({r.headers["x-webhook-id"] for r in receiver.to("/down")}) == 1
    finally:
        await dispatcher.aclose()


async def test_retry_redelivers_a_delivered_event_and_refuses_an_inactive_webhook(
    api, tokens, receiver, dispatcher, account_id
):
    hook = await subscribe(api, tokens, receiver, "/again", ["transaction.completed"])
    expect(await deposit(api, tokens, account_id, "3.00"), 201)
    await until(dispatcher, lambda: len(receiver.to("/again")) >= 1)
    (delivery,) = await deliveries_of(api, tokens, hook["id"])
    admin = await h(tokens, "admin")
    path = f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry"
    expect(await api.post(path, json={}, headers=admin), 200)
    await until(dispatcher, lambda: len(receiver.to("/again")) >= 2)
    first, second = receiver.to("/again")
    assert first.headers["x-webhook-id"] == second.headers["x-webhook-id"]
    assert first.body == second.body
    (delivery,) = await deliveries_of(api, tokens, hook["id"])
    assert (delivery["status"], delivery["attempt_count"]) == ("DELIVERED", 2)

    paused = await api.patch(f"/webhooks/{hook['id']}", json={"is_active": False}, headers=admin)
    assert paused.status_code == 200
    refused = await api.post(path, json={}, headers=admin)
    assert (refused.status_code, refused.json()["code"]) == (409, "INVALID_STATE")
    # A delivery of another webhook is not reachable through this one.
    other = await subscribe(api, tokens, receiver, "/other", ["account.opened"])
    crossed = await api.post(
        f"/webhooks/{other['id']}/deliveries/{delivery['id']}/retry", json={}, headers=admin
    )
    assert (crossed.status_code, crossed.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


async def test_two_workers_at_once_never_deliver_one_event_twice(
    api, tokens, receiver, core_app, settings, account_id
):
    """Two worker processes (two pools on PostgreSQL; SQLite runs one process, so there
    the two share its database) race for the same deliveries."""
    db = core_app.state.services.db
    other_db = db if db.is_sqlite else Database(settings.database)
    one = WebhookDispatcher(db, fast(settings, batch_size=4))
    two = WebhookDispatcher(other_db, fast(settings, batch_size=4))
    receiver.delay_seconds = 0.05  # attempts overlap the other worker's claims
    try:
        hook = await subscribe(api, tokens, receiver, "/race", ["transaction.completed"])
        for _ in range(24):
            expect(await deposit(api, tokens, account_id, "1.00"), 201)
        started = Counter[str]()

        async def work(name: str, dispatcher: WebhookDispatcher) -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                len({r.headers["x-webhook-id"] for r in receiver.to("/race")}) < 24
            ):
                started[name] += await dispatcher.run_once()
                await asyncio.sleep(0.01)
            await dispatcher.drain()

        await asyncio.gather(work("one", one), work("two", two))
        ids = Counter(r.headers["x-webhook-id"] for r in receiver.to("/race"))
        assert len(ids) == 24
        assert set(ids.values()) == {1}, "an event was delivered twice"
        assert started["one"] > 0 and started["two"] > 0  # both really worked
        deliveries = await deliveries_of(api, tokens, hook["id"])
        assert {(d["status"], d["attempt_count"]) for d in deliveries} == {("DELIVERED", 1)}
    finally:
        await one.aclose()
        await two.aclose()
        if other_db is not db:
            await other_db.dispose()


async def test_internal_addresses_off_the_allow_list_are_refused_at_delivery_time(
    api, tokens, receiver, core_app, settings, account_id
):
    """A worker whose allow-list lacks the receiver (only the console's) refuses it."""
    strict = WebhookDispatcher(
        core_app.state.services.db,
        fast(settings, allowed_targets=settings.webhooks.allowed_targets[:1], max_attempts=1),
    )
    try:
        hook = await subscribe(api, tokens, receiver, "/private", ["transaction.completed"])
        expect(await deposit(api, tokens, account_id, "1.00"), 201)

        async def failed() -> bool:
            found = await deliveries_of(api, tokens, hook["id"])
            return bool(found) and found[0]["status"] == "FAILED"

        deadline = time.monotonic() + 20
        while not await failed():
            assert time.monotonic() < deadline
            await strict.run_once(wait=True)
        (delivery,) = await deliveries_of(api, tokens, hook["id"])
        assert delivery["last_error"] == "refused: internal address"
        assert delivery["attempts"][0]["status_code"] is None
        assert receiver.to("/private") == []  # the request never left
    finally:
        await strict.aclose()


async def test_the_worker_loop_delivers_within_seconds(
    api, tokens, receiver, core_app, settings, account_id
):
    """The real orchestrator (as in `branchdesk worker`), idle, with its default polling."""
    quick = dataclasses.replace(settings, webhooks=fast(settings))
    assert quick.worker.delivery_poll_seconds == 1.0
    hook = await subscribe(api, tokens, receiver, "/live", ["transaction.completed"])
    worker = asyncio.create_task(run_jobs(build_jobs(core_app.state.services.db, quick)))
    try:
        await asyncio.sleep(0.5)  # the first cycles (seal, purge) go by
        started = time.monotonic()
        expect(await deposit(api, tokens, account_id, "4.00"), 201)
        while not receiver.to("/live"):
            assert time.monotonic() - started < 5.0, "not delivered within 5 s"
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - started
    finally:
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker
    assert elapsed < 5.0
    (delivery,) = await deliveries_of(api, tokens, hook["id"])
    assert delivery["event_type"] == "transaction.completed"


async def test_every_emitted_event_type_is_one_a_subscription_can_name(api, tokens, core_app):
    async with core_app.state.services.db.session() as session:
        emitted = set((await session.execute(sa.select(OutboxEvent.type).distinct())).scalars())  # type: ignore[call-overload]
    assert emitted, "the suite emits events"
    assert emitted <= KNOWN_EVENT_TYPES
    with pytest.raises(ValueError, match="unknown webhook event type"):
        async with core_app.state.services.db.session() as session:
            outbox.emit(session, uuid.uuid4(), "account.renamed", {})


def test_backoff_doubles_with_jitter_and_stops_at_the_cap(settings):
    real = settings.webhooks
    assert (real.backoff_base_seconds, real.backoff_max_seconds) == (10.0, 86400.0)
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (10, 5120), (14, 81920), (15, 86400)]:
        waits = [backoff_seconds(attempt, real) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # jittered
    assert backoff_seconds(60, real) <= 86400

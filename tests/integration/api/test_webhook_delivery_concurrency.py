"""The delivery worker under a backlog: endpoints served side by side within their share,
connections kept alive, leases that hold across workers, and the order first attempts
start in. Real receivers (threaded HTTP servers), the real core and database."""

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from app.core.webhooks.delivery import Claimed, WebhookDispatcher
from app.db import Database, utcnow
from tests.integration.api.ledger_helpers import deposit, expect, h, open_account
from tests.integration.api.test_webhook_delivery import (  # noqa: F401  (the same quiet)
    deliveries_of,
    fast,
    only_this_modules_webhooks,
)
from tests.integration.api.test_webhook_delivery import subscribe as subscribe_once
from tests.integration.api.webhook_receiver import Receiver, start_receiver, verify_signature


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Start receivers on demand; every one is stopped afterwards."""
    started: list[Receiver] = []

    def start(*, keep_alive: bool = True) -> Receiver:
        started.append(start_receiver(keep_alive=keep_alive))
        return started[-1]

    yield start
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture(scope="module")
async def account_id(api, tokens) -> str:  # type: ignore[no-untyped-def]
    return str((await open_account(api, tokens, initial_deposit="1000.00"))["id"])


@pytest.fixture
async def subscribe(api, tokens):  # type: ignore[no-untyped-def]
    """Subscribe like the delivery suite does; the subscriptions are deleted afterwards
    (their receivers are gone: later tests must not queue deliveries for them)."""
    made: list[str] = []

    async def subscribe(*args, **fields):  # type: ignore[no-untyped-def]
        hook = await subscribe_once(api, tokens, *args, **fields)
        made.append(hook["id"])
        return hook

    yield subscribe
    admin = await h(tokens, "admin")
    for hook_id in made:
        assert (await api.delete(f"/webhooks/{hook_id}", headers=admin)).status_code == 204


async def events(api, tokens, account: str, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``count`` deposits, one ``transaction.completed`` each; their amounts, in order."""
    amounts = [f"{n + 1}.00" for n in range(count)]
    for amount in amounts:
        expect(await deposit(api, tokens, account, amount), 201)
    return amounts


async def run_until(dispatcher: WebhookDispatcher, done: Callable[[], bool], seconds: float = 30):  # type: ignore[no-untyped-def]
    """The worker's own job (``run``), again and again, until ``done()`` holds."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the condition never came true"
        await dispatcher.run()
        await asyncio.sleep(0.02)
    await dispatcher.drain()


async def test_attempts_to_one_endpoint_stay_within_its_share(
    api, tokens, core_app, settings, account_id, receivers, subscribe
):
    receiver = receivers()
    receiver.delay_seconds = 0.2
    dispatcher = WebhookDispatcher(
        core_app.state.services.db, fast(settings, batch_size=20, endpoint_concurrency=3)
    )
    try:
        hook = await subscribe(receiver, "/share", ["transaction.completed"])
        await events(api, tokens, account_id, 12)
        await run_until(dispatcher, lambda: len(receiver.to("/share")) >= 12)
    finally:
        await dispatcher.aclose()
    assert receiver.most_at_once == 3  # side by side, and never more than the share
    assert len({r.headers["x-webhook-id"] for r in receiver.to("/share")}) == 12
    assert all(verify_signature(hook["secret"], r.headers, r.body) for r in receiver.to("/share"))
    deliveries = await deliveries_of(api, tokens, hook["id"])
    assert {(d["status"], d["attempt_count"]) for d in deliveries} == {("DELIVERED", 1)}


@pytest.mark.parametrize("keep_alive", [True, False])
async def test_a_connection_carries_many_attempts_when_the_receiver_keeps_it(
    api, tokens, core_app, settings, account_id, receivers, subscribe, keep_alive
):
    receiver = receivers(keep_alive=keep_alive)
    dispatcher = WebhookDispatcher(
        core_app.state.services.db, fast(settings, endpoint_concurrency=2)
    )
    try:
        await subscribe(receiver, "/kept", ["transaction.completed"])
        await events(api, tokens, account_id, 10)
        await run_until(dispatcher, lambda: len(receiver.to("/kept")) >= 10)
    finally:
        await dispatcher.aclose()
    received = receiver.to("/kept")
    connections = Counter(r.connection for r in received)
    assert len(received) == 10
    if keep_alive:  # HTTP/1.1, kept open: at most one connection per turn of the share
        assert len(connections) <= 2
    else:  # HTTP/1.0, closed after each answer: a connection per attempt
        assert len(connections) == 10


async def test_a_slow_endpoint_does_not_hold_up_another(
    api, tokens, core_app, settings, account_id, receivers, subscribe
):
    slow, quick = receivers(), receivers()
    slow.delay_seconds = 0.25
    dispatcher = WebhookDispatcher(
        core_app.state.services.db, fast(settings, batch_size=8, endpoint_concurrency=2)
    )
    job: asyncio.Task[None] | None = None
    try:
        await subscribe(slow, "/slow", ["transaction.completed"])
        await events(api, tokens, account_id, 20)  # the slow endpoint's backlog, first
        await subscribe(quick, "/quick", ["transaction.completed"])
        await events(api, tokens, account_id, 3)  # then events both endpoints hear

        async def work() -> None:
            while True:
                await dispatcher.run()
                await asyncio.sleep(0.02)

        job = asyncio.create_task(work())
        deadline = time.monotonic() + 30
        while len(quick.to("/quick")) < 3:
            assert time.monotonic() < deadline, "the quick endpoint never got its events"
            await asyncio.sleep(0.01)
        slow_done_by_then = len(slow.to("/slow"))
        while len(slow.to("/slow")) < 23:
            assert time.monotonic() < deadline, "the slow endpoint never got its events"
            await asyncio.sleep(0.05)
    finally:
        if job is not None:
            job.cancel()
        await dispatcher.aclose()
    # The quick endpoint's three came while the slow one's 23 went out two at a time, in
    # its first turns (claimed first come, first served, they would have waited for at
    # least the 16 older ones).
    assert slow_done_by_then <= 4
    assert slow.most_at_once == 2


async def test_a_backlog_to_one_endpoint_starts_in_the_order_of_its_events(
    api, tokens, core_app, settings, account_id, receivers, subscribe
):
    receiver = receivers()
    dispatcher = WebhookDispatcher(
        core_app.state.services.db, fast(settings, endpoint_concurrency=1)
    )
    try:
        await subscribe(receiver, "/ordered", ["transaction.completed"])
        amounts = await events(api, tokens, account_id, 8)
        await run_until(dispatcher, lambda: len(receiver.to("/ordered")) >= 8)
    finally:
        await dispatcher.aclose()
    received = [json.loads(r.body)["data"]["amount"] for r in receiver.to("/ordered")]
    assert received == amounts


async def test_two_workers_never_attempt_one_delivery_at_once(
    api, tokens, core_app, settings, account_id, receivers, subscribe
):
    """Two workers (two connection pools on PostgreSQL; on SQLite one database shared as
    one process would) run their jobs side by side over one backlog."""
    receiver = receivers()
    receiver.delay_seconds = 0.05
    db = core_app.state.services.db
    other_db = db if db.is_sqlite else Database(settings.database)
    one = WebhookDispatcher(db, fast(settings, batch_size=6, endpoint_concurrency=3))
    two = WebhookDispatcher(other_db, fast(settings, batch_size=6, endpoint_concurrency=3))
    started = Counter[str]()
    try:
        hook = await subscribe(receiver, "/both", ["transaction.completed"])
        await events(api, tokens, account_id, 30)

        def all_in() -> bool:
            return len({r.headers["x-webhook-id"] for r in receiver.to("/both")}) >= 30

        async def work(name: str, dispatcher: WebhookDispatcher) -> None:
            deadline = time.monotonic() + 30
            while not all_in() and time.monotonic() < deadline:
                started[name] += await dispatcher.run()
                await asyncio.sleep(0.01)
            await dispatcher.drain()

        await asyncio.gather(work("one", one), work("two", two))
    finally:
        await one.aclose()
        await two.aclose()
        if other_db is not db:
            await other_db.dispose()
    assert receiver.overlapping == [], "one delivery was attempted twice at once"
    ids = Counter(r.headers["x-webhook-id"] for r in receiver.to("/both"))
    assert len(ids) == 30 and set(ids.values()) == {1}
    assert started["one"] > 0 and started["two"] > 0  # both really worked
    assert receiver.most_at_once <= 6  # each worker within its share of the endpoint
    deliveries = await deliveries_of(api, tokens, hook["id"])
    assert {(d["status"], d["attempt_count"]) for d in deliveries} == {("DELIVERED", 1)}


async def test_an_attempt_whose_lease_ran_short_is_not_made(settings, receivers):
    """A claim that waited for its turn so long that its lease could run out while the
    attempt runs is left alone (another worker may claim it once the lease is over)."""
    receiver = receivers()
    dispatcher = WebhookDispatcher(None, fast(settings))  # type: ignore[arg-type]
    claim = Claimed(
        delivery_id=uuid.uuid4(),
        claim_token=uuid.uuid4(),
        number=1,
        event_id="evt_late",
        body=b"{}",
        url=f"{receiver.base_url}/late",
        secret="whsec_unit-test-secret",
        lease_until=utcnow(),  # already over
    )
    try:
        endpoint = dispatcher._endpoint("late")
        endpoint.leased += 1
        await dispatcher._attempt_and_record(claim, endpoint)
    finally:
        await dispatcher.aclose()
    assert receiver.to("/late") == []
    assert endpoint.leased == 0

"""The live hub in one process (the embedded default): per-tenant delivery, listeners,
closing; and the webhook signature scheme."""

import time

import pytest

from app.console.live.hub import LiveEvent, LiveHub, Subscription
from app.console.live.signature import SignatureRefused, sign, verify

TENANT_A = "0b7c4f0e-43f3-4f37-9a43-3a5d3c0a0001"
TENANT_B = "0b7c4f0e-43f3-4f37-9a43-3a5d3c0a0002"
SECRET = "a-webhook-secret-of-some-length"


async def test_events_reach_the_streams_of_their_tenant_only():
    hub = LiveHub(None)
    heard: list[str] = []
    hub.add_listener(lambda event: heard.append(event.event_id))
    async with (
        hub.subscribe(TENANT_A.upper(), "bank_a") as a,
        hub.subscribe(TENANT_B, "bank_b") as b,
    ):
        assert hub.subscriber_count == 2
        await hub.publish(LiveEvent("evt_1", "journal.created", tenant_id=TENANT_A))
        await hub.publish(LiveEvent("evt_2", "journal.posted", tenant_code="bank_b"))
        first, second = await a.queue.get(), await b.queue.get()
        assert first is not None and first.event_id == "evt_1"
        assert second is not None and second.event_id == "evt_2"
        assert a.queue.empty() and b.queue.empty()
        assert hub.tenant_codes[TENANT_A] == "bank_a"  # the ID in one spelling
    assert heard == ["evt_1", "evt_2"]  # listeners hear every tenant's events
    assert hub.subscriber_count == 0


async def test_several_events_published_at_once_arrive_in_order_each_to_its_tenant():
    hub = LiveHub(None)
    heard: list[str] = []
    hub.add_listener(lambda event: heard.append(event.event_id))
    async with hub.subscribe(TENANT_A, "bank_a") as a, hub.subscribe(TENANT_B, "bank_b") as b:
        await hub.publish_many(
            [
                LiveEvent("evt_1", "journal.created", tenant_id=TENANT_A),
                LiveEvent("evt_2", "journal.created", tenant_id=TENANT_B),
                LiveEvent("evt_3", "journal.posted", tenant_code="bank_a"),
            ]
        )
        for_a = [a.queue.get_nowait(), a.queue.get_nowait()]
        assert [e.event_id for e in for_a if e is not None] == ["evt_1", "evt_3"]
        only_b = b.queue.get_nowait()
        assert only_b is not None and only_b.event_id == "evt_2"
        assert a.queue.empty() and b.queue.empty()
    assert heard == ["evt_1", "evt_2", "evt_3"]


async def test_a_failing_listener_does_not_stop_delivery():
    hub = LiveHub(None)

    def broken(event: LiveEvent) -> None:
        raise RuntimeError("boom")

    hub.add_listener(broken)
    async with hub.subscribe(TENANT_A, "bank_a") as a:
        await hub.publish(LiveEvent("evt_1", "journal.created", tenant_id=TENANT_A))
        assert not a.queue.empty()


async def test_a_slow_stream_keeps_the_newest_events():
    subscription = Subscription(TENANT_A, "bank_a")
    for n in range(subscription.queue.maxsize + 5):
        subscription.offer(LiveEvent(f"evt_{n}", "journal.created", TENANT_A))
    assert subscription.queue.full()
    oldest = subscription.queue.get_nowait()
    assert oldest is not None and oldest.event_id == "evt_5"


async def test_closing_ends_every_stream():
    hub = LiveHub(None)
    async with hub.subscribe(TENANT_A, "bank_a") as a:
        await hub.close()
        assert await a.queue.get() is None
    async with hub.subscribe(TENANT_A, "bank_a") as late:
        assert await late.queue.get() is None


@pytest.mark.parametrize(
    ("event_type", "touches"),
    [
        ("transaction.pending_approval", True),
        ("transaction.completed", True),
        ("journal.created", True),
        ("journal.approved", True),
        ("journal.rejected", True),
        ("journal.posted", True),
        ("standing_instruction.approved", True),
        ("standing_instruction.executed", True),
        ("journal.reversed", False),
        ("account.opened", False),
        ("security.login_failed", False),
    ],
)
def test_which_events_touch_the_approvals_queue(event_type, touches):
    assert LiveEvent("evt", event_type).touches_approvals is touches


def test_events_travel_as_json_and_nothing_else_decodes():
    event = LiveEvent("evt_1", "journal.created", TENANT_A, "bank_a")
    assert LiveEvent.decode(event.encode()) == event
    assert LiveEvent.decode(b"not json") is None
    assert LiveEvent.decode(b'{"type": "x"}') is None


def test_a_signature_verifies_within_the_tolerance_only():
    body = b'{"id": "evt_1"}'
    now = int(time.time())
    assert verify(SECRET, sign(SECRET, now, body), body) == now
    assert verify(SECRET, sign(SECRET, now - 300, body), body, now=now) == now - 300
    for stale in (now - 301, now + 301):
        with pytest.raises(SignatureRefused, match="tolerance"):
            verify(SECRET, sign(SECRET, stale, body), body, now=now)


def test_a_rotating_sender_may_sign_twice():
    body = b"{}"
    now = int(time.time())
    old = sign("the-old-secret-value-here", now, body).split(",")[1]
    header = f"t={now},{old},{sign(SECRET, now, body).split(',')[1]}"
    assert verify(SECRET, header, body) == now


@pytest.mark.parametrize(
    "header",
    [None, "", "t=,v1=", "v1=00", "t=1", "t=12,t=13,v1=00", "t=-5,v1=00", "x" * 2000],
)
def test_malformed_headers_are_refused(header):
    with pytest.raises(SignatureRefused):
        verify(SECRET, header, b"{}")


def test_a_signature_for_another_body_or_secret_is_refused():
    now = int(time.time())
    with pytest.raises(SignatureRefused, match="no signature matches"):
        verify(SECRET, sign(SECRET, now, b'{"a": 1}'), b'{"a": 2}')
    with pytest.raises(SignatureRefused, match="no signature matches"):
        verify(SECRET, sign("some-other-secret-entirely", now, b"{}"), b"{}")

"""Retries: only when safe, with the same key and request ID, within a time budget."""

import httpx
import pytest
from client_fakes import json_response

from app.client import BankingAPIRateLimited, BankingAPITimeout, BankingAPIUnavailable


def scripted(*answers):
    """A handler answering each call with the next item (a Response or an exception class)."""
    calls: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        answer = queue.pop(0)
        if isinstance(answer, type) and issubclass(answer, Exception):
            raise answer("scripted", request=request)
        return answer

    return handler, calls


UNAVAILABLE = {"code": "SERVICE_UNAVAILABLE", "message": "db down"}


async def test_keyed_post_retried_on_503_with_same_key_and_request_id(make_client, fake_time):
    handler, calls = scripted(
        json_response(503, UNAVAILABLE),
        json_response(503, UNAVAILABLE),
        json_response(201, {"id": "t1"}),
    )
    client = make_client(handler)
    body = await client.post("/deposits", token="t", json={"amount": "5"}, idempotency_key="k-1")

    assert body == {"id": "t1"}
    assert len(calls) == 3
    assert {c.headers["Idempotency-Key"] for c in calls} == {"k-1"}
    assert len({c.headers["X-Request-ID"] for c in calls}) == 1
    assert {c.content for c in calls} == {b'{"amount":"5"}'}
    # Full jitter: each wait lies between 0 and the doubling ceiling.
    assert len(fake_time.sleeps) == 2
    assert 0 <= fake_time.sleeps[0] <= 0.25
    assert 0 <= fake_time.sleeps[1] <= 0.5


async def test_503_retry_honours_retry_after(make_client, fake_time):
    handler, _ = scripted(
        json_response(503, UNAVAILABLE, {"Retry-After": "2"}),
        json_response(200, {"ok": True}),
    )
    client = make_client(handler)
    assert await client.get("/tenant", token="t") == {"ok": True}
    assert fake_time.sleeps == [2.0]


async def test_post_without_key_is_never_retried(make_client, fake_time):
    handler, calls = scripted(json_response(503, UNAVAILABLE), json_response(201, {"id": "x"}))
    client = make_client(handler)
    with pytest.raises(BankingAPIUnavailable):
        await client.post("/customers", token="t", json={"first_name": "Ada"})
    assert len(calls) == 1
    assert fake_time.sleeps == []


async def test_post_without_key_not_retried_on_timeout(make_client):
    handler, calls = scripted(httpx.ReadTimeout, json_response(201, {"id": "x"}))
    client = make_client(handler)
    with pytest.raises(BankingAPITimeout):
        await client.post("/customers", token="t", json={})
    assert len(calls) == 1


async def test_get_retried_on_connect_error(make_client, fake_time):
    handler, calls = scripted(httpx.ConnectError, httpx.ConnectTimeout, json_response(200, [1]))
    client = make_client(handler)
    assert await client.get("/branches", token="t") == [1]
    assert len(calls) == 3
    assert len(fake_time.sleeps) == 2


async def test_429_waits_retry_after_then_succeeds(make_client, fake_time):
    handler, calls = scripted(
        json_response(
            429, {"code": "RATE_LIMIT_EXCEEDED", "message": "slow"}, {"Retry-After": "3"}
        ),
        json_response(200, {"accounts": []}),
    )
    client = make_client(handler)
    assert await client.get("/accounts", token="t") == {"accounts": []}
    assert len(calls) == 2
    assert 3.0 in fake_time.sleeps


async def test_429_retry_after_beyond_budget_gives_up_at_once(make_client, fake_time):
    handler, calls = scripted(
        json_response(
            429, {"code": "RATE_LIMIT_EXCEEDED", "message": "slow"}, {"Retry-After": "60"}
        ),
        json_response(200, {}),
    )
    client = make_client(handler, retry_budget_seconds=10.0)
    with pytest.raises(BankingAPIRateLimited) as caught:
        await client.get("/accounts", token="t")
    assert caught.value.retry_after == 60.0
    assert len(calls) == 1
    assert fake_time.sleeps == []


async def test_retry_budget_exhausted_raises_unavailable(make_client, fake_time):
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        fake_time.now += 3.0  # each attempt takes three seconds
        return json_response(503, UNAVAILABLE)

    client = make_client(handler, max_retries=10, retry_budget_seconds=10.0)
    with pytest.raises(BankingAPIUnavailable) as caught:
        await client.get("/accounts", token="t")
    assert caught.value.code == "SERVICE_UNAVAILABLE"
    assert len(calls) == 4  # 3 s, 6 s, 9 s (+ backoff), then no budget left
    assert fake_time.now - 1_000.0 <= 10.0 + 3.0


async def test_max_retries_bounds_attempts(make_client):
    handler, calls = scripted(*[json_response(503, UNAVAILABLE)] * 5)
    client = make_client(handler, max_retries=2)
    with pytest.raises(BankingAPIUnavailable):
        await client.get("/accounts", token="t")
    assert len(calls) == 3


async def test_keyed_write_waits_out_idempotency_in_progress(make_client, fake_time):
    handler, calls = scripted(
        httpx.ReadTimeout,
        json_response(
            409,
            {"code": "IDEMPOTENCY_IN_PROGRESS", "message": "running"},
            {"Retry-After": "1"},
        ),
        json_response(201, {"id": "t1"}, {"Idempotent-Replayed": "true"}),
    )
    client = make_client(handler)
    body = await client.post("/transfers/internal", token="t", json={}, idempotency_key="k-9")
    assert body == {"id": "t1"}
    assert len(calls) == 3
    assert fake_time.sleeps[-1] == 1.0


async def test_retry_timeouts_are_cut_to_remaining_budget(make_client, fake_time):
    handler, calls = scripted(httpx.ConnectError, json_response(200, {}))
    read_timeouts: list[float] = []

    def slow_first(request: httpx.Request) -> httpx.Response:
        read_timeouts.append(request.extensions["timeout"]["read"])
        if not calls:
            fake_time.now += 8.0
        return handler(request)

    client = make_client(slow_first, timeout=15.0, retry_budget_seconds=10.0)
    await client.get("/accounts", token="t")
    assert read_timeouts[0] == 15.0
    assert read_timeouts[1] <= 2.0

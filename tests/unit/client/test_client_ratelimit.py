"""Rate-limit awareness: pace a credential's calls before it hits the limit."""

import httpx
from client_fakes import json_response


def limited(remaining: int, limit: int = 1200, reset: int = 30) -> httpx.Response:
    return json_response(
        200,
        {"ok": True},
        {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(reset),
        },
    )


async def test_plenty_remaining_means_no_delay(make_client, fake_time):
    client = make_client(lambda r: limited(remaining=900))
    for _ in range(3):
        await client.get("/accounts", token="t")
    assert fake_time.sleeps == []


async def test_low_remaining_delays_next_call_for_that_credential_only(make_client, fake_time):
    client = make_client(lambda r: limited(remaining=10, reset=30))  # 10 < 2% of 1200
    await client.get("/accounts", token="tok-a")
    assert fake_time.sleeps == []

    await client.get("/accounts", token="tok-a")
    # 30 s left for 10 calls: 3 s apart, bounded to 2 s.
    assert fake_time.sleeps == [2.0]

    await client.get("/accounts", token="tok-b")  # another session has its own bucket
    assert fake_time.sleeps == [2.0]


async def test_pacing_spreads_remaining_calls_over_window(make_client, fake_time):
    client = make_client(lambda r: limited(remaining=20, reset=10))
    await client.get("/accounts", token="t")
    await client.get("/accounts", token="t")
    assert len(fake_time.sleeps) == 1
    assert abs(fake_time.sleeps[0] - 0.5) < 1e-9  # 10 s / 20 calls


async def test_window_reset_clears_pacing(make_client, fake_time):
    client = make_client(lambda r: limited(remaining=0, reset=5))
    await client.get("/accounts", token="t")
    fake_time.now += 6
    client_calls_before = list(fake_time.sleeps)
    await client.get("/accounts", token="t")
    assert fake_time.sleeps == client_calls_before


async def test_anonymous_calls_are_tracked_per_forwarded_ip(make_client, fake_time):
    def handler(request: httpx.Request) -> httpx.Response:
        return limited(remaining=0, limit=50, reset=60)

    client = make_client(handler)
    await client.post("/auth/logout", forwarded_for="10.0.0.1")
    await client.post("/auth/logout", forwarded_for="10.0.0.2")
    assert fake_time.sleeps == []
    await client.post("/auth/logout", forwarded_for="10.0.0.1")
    assert fake_time.sleeps == [2.0]

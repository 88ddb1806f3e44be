"""``app.console.concurrent``: a page's reads at once, and one load per cached thing."""

import asyncio

import pytest

from app.client import BankingAPINotFound, BankingAPIUnavailable
from app.console.concurrent import SingleFlight, all_of, together


async def test_together_runs_the_reads_at_once_and_keeps_their_order():
    started: list[str] = []
    release = asyncio.Event()

    async def read(name: str, value: int) -> int:
        started.append(name)
        await release.wait()
        return value

    waiting = asyncio.create_task(together(read("a", 1), read("b", 2), read("c", 3)))
    await asyncio.sleep(0.01)
    assert sorted(started) == ["a", "b", "c"]  # all three began before any finished
    release.set()
    assert await waiting == (1, 2, 3)
    assert await all_of([read("d", 4), read("e", 5)]) == [4, 5]
    assert await all_of([]) == []


async def test_the_first_failure_is_raised_as_itself_and_cancels_the_rest():
    cancelled = asyncio.Event()

    async def slow() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 1

    async def refused() -> int:
        await asyncio.sleep(0.01)
        raise BankingAPINotFound("ACCOUNT_NOT_FOUND", "No such account.", 404)

    with pytest.raises(BankingAPINotFound) as raised:
        await together(slow(), refused())
    assert raised.value.code == "ACCOUNT_NOT_FOUND"
    assert cancelled.is_set()
    with pytest.raises(BankingAPINotFound):
        await all_of([slow(), refused()])


async def test_one_load_serves_everyone_who_asked_meanwhile():
    flights = SingleFlight()
    loads = 0
    release = asyncio.Event()

    async def load() -> dict[str, str]:
        nonlocal loads
        loads += 1
        await release.wait()
        return {"business_date": "2026-12-07"}

    waiting = [asyncio.create_task(flights.run("tenant", load)) for _ in range(20)]
    await asyncio.sleep(0.01)
    release.set()
    answers = await asyncio.gather(*waiting)
    assert loads == 1
    assert all(a == {"business_date": "2026-12-07"} for a in answers)
    # Once done, the next ask loads again (the caller's cache decides what is fresh).
    assert await flights.run("tenant", load) == {"business_date": "2026-12-07"}
    assert loads == 2


async def test_a_failed_load_is_not_shared_each_waiter_loads_for_itself():
    flights = SingleFlight()
    release = asyncio.Event()
    calls: list[str] = []

    def loader(who: str):
        async def load() -> str:
            calls.append(who)
            if who == "ended":
                await release.wait()
                raise BankingAPIUnavailable("UNAVAILABLE", "The core is down", 503)
            return f"tenant for {who}"

        return load

    first = asyncio.create_task(flights.run("tenant", loader("ended")))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(flights.run("tenant", loader("teller")))
    await asyncio.sleep(0.01)
    release.set()
    with pytest.raises(BankingAPIUnavailable):
        await first
    assert await second == "tenant for teller"
    assert calls == ["ended", "teller"]


async def test_a_waiter_leaving_does_not_cancel_the_load_the_others_wait_for():
    flights = SingleFlight()
    release = asyncio.Event()

    async def load() -> int:
        await release.wait()
        return 7

    owner = asyncio.create_task(flights.run("k", load))
    await asyncio.sleep(0.01)
    leaving = asyncio.create_task(flights.run("k", load))
    staying = asyncio.create_task(flights.run("k", load))
    await asyncio.sleep(0.01)
    leaving.cancel()
    release.set()
    assert await owner == 7
    assert await staying == 7
    with pytest.raises(asyncio.CancelledError):
        await leaving

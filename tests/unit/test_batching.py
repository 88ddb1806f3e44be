"""Group commit (app/batching.py): items that arrive during a write go with the next one."""

import asyncio

import pytest

from app.batching import GroupWriter


class Writes:
    """A write that takes ``seconds``, records each group, and answers ``item * 10``."""

    def __init__(self, seconds: float = 0.05, fail_on: int | None = None) -> None:
        self.seconds = seconds
        self.fail_on = fail_on
        self.groups: list[list[int]] = []

    async def __call__(self, items: list[int]) -> list[int]:
        self.groups.append(list(items))
        await asyncio.sleep(self.seconds)
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError("the database said no")
        return [item * 10 for item in items]


async def test_items_arriving_during_a_write_go_together_in_the_next():
    writes = Writes()
    writer = GroupWriter(writes, most=100)
    first = asyncio.create_task(writer.submit(1))
    await asyncio.sleep(0.01)  # the first write is under way
    rest = [asyncio.create_task(writer.submit(n)) for n in range(2, 8)]
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40, 50, 60, 70]
    assert writes.groups == [[1], [2, 3, 4, 5, 6, 7]]


async def test_a_group_is_never_larger_than_most():
    writes = Writes()
    writer = GroupWriter(writes, most=3)
    first = asyncio.create_task(writer.submit(0))
    await asyncio.sleep(0.01)
    results = await asyncio.gather(*(writer.submit(n) for n in range(1, 8)), first)
    assert results == [10, 20, 30, 40, 50, 60, 70, 0]
    assert writes.groups == [[0], [1, 2, 3], [4, 5, 6], [7]]


async def test_a_failed_write_fails_its_own_group_only():
    writes = Writes(fail_on=3)
    writer = GroupWriter(writes, most=100)
    first = asyncio.create_task(writer.submit(1))
    await asyncio.sleep(0.01)
    failing = [asyncio.create_task(writer.submit(n)) for n in (2, 3)]
    await asyncio.sleep(0.06)  # 2 and 3 are being written now
    later = asyncio.create_task(writer.submit(4))
    assert await first == 10
    for task in failing:
        with pytest.raises(RuntimeError, match="the database said no"):
            await task
    assert await later == 40
    assert writes.groups == [[1], [2, 3], [4]]


async def test_a_cancelled_waiter_s_item_is_still_written():
    writes = Writes()
    writer = GroupWriter(writes, most=100)
    first = asyncio.create_task(writer.submit(1))
    await asyncio.sleep(0.01)
    impatient = asyncio.create_task(writer.submit(2))
    await asyncio.sleep(0)
    impatient.cancel()
    assert await first == 10
    await writer.aclose()
    assert writes.groups == [[1], [2]]


async def test_a_wrong_number_of_results_is_an_error_not_a_hang():
    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    writer = GroupWriter(short, most=10)
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        await asyncio.wait_for(writer.submit(1), 5)

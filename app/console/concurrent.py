"""Independent core reads of one page, made at once; one read shared by requests that
need it at the same moment.

``together`` runs a page's independent reads in a task group: the page waits for the
slowest, not for their sum, and the first failure cancels the others (no core call keeps
running for a page that is already an error page) and is raised as itself, so the error
handlers see the ``BankingAPIError`` they know, never an exception group.

``SingleFlight`` is for the brief per-process caches (the tenant, the branches, what waits
for approval): when a copy expires while fifty people click, one request asks the core and
the others wait for its answer instead of asking too.
"""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, overload

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")
T6 = TypeVar("T6")


async def _wait(awaitable: Awaitable[T]) -> T:
    return await awaitable


@overload
async def together(a: Awaitable[T1], b: Awaitable[T2], /) -> tuple[T1, T2]: ...
@overload
async def together(
    a: Awaitable[T1], b: Awaitable[T2], c: Awaitable[T3], /
) -> tuple[T1, T2, T3]: ...
@overload
async def together(
    a: Awaitable[T1], b: Awaitable[T2], c: Awaitable[T3], d: Awaitable[T4], /
) -> tuple[T1, T2, T3, T4]: ...
@overload
async def together(
    a: Awaitable[T1], b: Awaitable[T2], c: Awaitable[T3], d: Awaitable[T4], e: Awaitable[T5], /
) -> tuple[T1, T2, T3, T4, T5]: ...
@overload
async def together(
    a: Awaitable[T1],
    b: Awaitable[T2],
    c: Awaitable[T3],
    d: Awaitable[T4],
    e: Awaitable[T5],
    f: Awaitable[T6],
    /,
) -> tuple[T1, T2, T3, T4, T5, T6]: ...
async def together(*reads: Awaitable[Any]) -> tuple[Any, ...]:
    """The results of ``reads``, run concurrently in a task group, in their order.

    Raises:
        The first exception any read raised (the others are cancelled).
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_wait(read)) for read in reads]
    except BaseExceptionGroup as failed:
        first = failed.exceptions[0]
        # Cancelled siblings are not failures; anything else, the first of it, is.
        raise first from first.__cause__
    return tuple(task.result() for task in tasks)


async def all_of(reads: list[Coroutine[Any, Any, T]]) -> list[T]:
    """``together`` for a list of reads of one kind (a page's N lookups)."""
    if not reads:
        return []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(read) for read in reads]
    except BaseExceptionGroup as failed:
        first = failed.exceptions[0]
        raise first from first.__cause__
    return [task.result() for task in tasks]


class SingleFlight:
    """At most one load per key at a time in this process; the others await its result.

    A load that fails is not shared: each waiter then loads for itself, so one staff
    member's refusal (an ended session) never becomes another's.
    """

    def __init__(self) -> None:
        self._running: dict[Any, asyncio.Future[Any]] = {}

    async def run(self, key: Any, load: Callable[[], Awaitable[T]]) -> T:
        running = self._running.get(key)
        if running is not None:
            try:
                # shield: one waiter leaving (its page was closed) leaves the load running.
                shared: T = await asyncio.shield(running)
                return shared
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not running.cancelled() or (task is not None and task.cancelling()):
                    raise
            except Exception:  # noqa: S110 - the other request's failure is not ours
                pass
            return await load()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            value = await load()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: nobody may be waiting for it
            raise
        finally:
            del self._running[key]
        future.set_result(value)
        return value

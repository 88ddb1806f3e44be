"""Group commit: many small writes that arrive together become one transaction.

Used where each of many concurrent tasks must know its own write is done before it goes
on (the webhook worker recording attempts, the console's receiver storing events): a task
hands its item over and waits; the first item is written at once, and every item that
arrives while a write is in progress goes with the next one. Under load the groups grow
by themselves; alone, an item waits for nothing but its own write.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupWriter(Generic[Item, Result]):
    """Writes items in groups of at most ``most`` with ``write``, which returns one result
    per item, in order. :meth:`submit` returns its item's result, or raises what the
    group's write raised."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[list[Result]]], most: int) -> None:
        self._write = write
        self._most = max(1, most)
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        # Read here as well, so a waiter cancelled meanwhile leaves no unread exception.
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting.append((item, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_all())
        # Shielded: the item of a cancelled waiter is still written with its group.
        return await asyncio.shield(done)

    async def _write_all(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
            try:
                results = await self._write([item for item, _ in group])
                if len(results) != len(group):
                    raise RuntimeError(f"{len(results)} results for {len(group)} items")
            except Exception as exc:
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), result in zip(group, results, strict=False):
                if not done.done():
                    done.set_result(result)

    async def aclose(self) -> None:
        """Finish the writes already asked for."""
        while self._writing is not None and not self._writing.done():
            await asyncio.gather(self._writing, return_exceptions=True)


@asynccontextmanager
async def write_transaction(db: Database) -> AsyncIterator[AsyncConnection]:
    """One write transaction on a connection of its own, without an ORM session (SQLite:
    ``BEGIN IMMEDIATE`` under the process's write lock, as :meth:`Database.writer` asks)."""
    engine = db.engine.execution_options(sqlite_immediate=True) if db.is_sqlite else db.engine
    async with db.writer(), engine.begin() as connection:
        yield connection

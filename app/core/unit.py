"""A request's unit of work: the one transaction its handler writes in.

The chain's last stage (idempotency) creates it and commits it after the handler, with the
idempotency record beside the effect. Nothing is opened until something asks: a request
refused by its body's validation never touches the pool. A handler works either through
the ORM session (:attr:`UnitOfWork.session`) or, on PostgreSQL's hot paths, through one raw
asyncpg connection (:meth:`UnitOfWork.connection`) — never both, which would be two
transactions. The idempotency claim, committed on its own before the handler, runs on the
same raw connection (:meth:`UnitOfWork.autocommit`): one connection per request.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from asyncpg.transaction import Transaction
from sqlmodel.ext.asyncio.session import AsyncSession

from app import pg
from app.db import Database
from app.pg import CONNECTION_ERRORS


class UnitOfWork:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._session: AsyncSession | None = None
        self._connection: asyncpg.Connection | None = None
        self._transaction: Transaction | None = None
        # Set while COMMIT is on the wire: a connection lost then leaves the outcome unknown.
        self.committing = False

    @property
    def raw_available(self) -> bool:
        """Whether :meth:`connection` is there (PostgreSQL) or only the session (SQLite)."""
        return self.db.pg is not None and self._session is None

    @property
    def session(self) -> AsyncSession:
        if self._transaction is not None:
            raise RuntimeError("this request writes through its raw connection")
        if self._session is None:
            self._session = self.db.session()
        return self._session

    async def autocommit(self) -> asyncpg.Connection:
        """The raw connection outside any transaction: each statement commits by itself."""
        if self._transaction is not None:
            raise RuntimeError("the request's transaction is open")
        return await self._raw()

    async def connection(self) -> asyncpg.Connection:
        """The request's raw connection, inside its transaction (begun on first call)."""
        if self._session is not None:
            raise RuntimeError("this request writes through its ORM session")
        connection = await self._raw()
        if self._transaction is None:
            transaction = connection.transaction()
            await transaction.start()
            self._transaction = transaction
        return connection

    async def _raw(self) -> asyncpg.Connection:
        if self.db.pg is None:
            raise RuntimeError("raw connections are PostgreSQL's")
        if self._connection is None:
            self._connection = await self.db.pg.acquire()
        return self._connection

    async def read(self, statement: Any) -> Sequence[Mapping[str, Any]]:
        """A read's rows, each a mapping of its columns: on PostgreSQL one statement on the
        raw connection outside any transaction (each read sees the latest committed
        state; no BEGIN, no ROLLBACK); on SQLite through the session."""
        if self.raw_available and self._transaction is None:
            return await pg.fetch_built(await self._raw(), statement)
        result = await self.session.execute(statement)
        return list(result.mappings().all())  # type: ignore[arg-type]

    @property
    def uses_raw(self) -> bool:
        return self._transaction is not None

    async def commit(self) -> None:
        self.committing = True
        try:
            if self._transaction is not None:
                transaction, self._transaction = self._transaction, None
                await transaction.commit()
            elif self._session is not None:
                await self._session.commit()
        finally:
            self.committing = False

    async def rollback(self) -> None:
        """Undo what the handler did; the unit may be used again (a rerun, a stored
        refusal's record)."""
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            try:
                await transaction.rollback()
            except CONNECTION_ERRORS:
                pass  # the connection is gone, and its transaction with it
        if self._session is not None:
            session, self._session = self._session, None
            await session.rollback()
            await session.close()

    async def discard_connection(self) -> None:
        """After a lost connection: drop it, so the next use opens a fresh one."""
        self._transaction = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.terminate()
            assert self.db.pg is not None
            await self.db.pg.release(connection)

    async def close(self) -> None:
        """Give the connection back (a transaction still open is rolled back)."""
        self._transaction = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            assert self.db.pg is not None
            await self.db.pg.release(connection)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

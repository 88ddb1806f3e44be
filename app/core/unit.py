"""A request's unit of work: the one transaction its handler writes in.

The chain's last stage (idempotency) creates it and commits it after the handler, with the
idempotency record beside the effect. Nothing is opened until the handler asks: a request
refused by its body's validation never touches the pool. A handler works either through
the ORM session (:attr:`UnitOfWork.session`) or, on PostgreSQL's hot paths, through one raw
asyncpg connection (:meth:`UnitOfWork.connection`) — never both, which would be two
transactions.
"""

import asyncpg
from asyncpg.transaction import Transaction
from sqlmodel.ext.asyncio.session import AsyncSession

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
        if self._connection is not None:
            raise RuntimeError("this request writes through its raw connection")
        if self._session is None:
            self._session = self.db.session()
        return self._session

    async def connection(self) -> asyncpg.Connection:
        """The request's raw connection, inside its transaction (begun on first call)."""
        if self._session is not None:
            raise RuntimeError("this request writes through its ORM session")
        if self.db.pg is None:
            raise RuntimeError("raw connections are PostgreSQL's")
        if self._connection is None:
            self._connection = await self.db.pg.acquire()
        if self._transaction is None:
            transaction = self._connection.transaction()
            await transaction.start()
            self._transaction = transaction
        return self._connection

    @property
    def uses_raw(self) -> bool:
        return self._connection is not None

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
        """Undo what the handler did; the unit may be used again (a stored refusal)."""
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            try:
                await transaction.rollback()
            except CONNECTION_ERRORS:
                pass  # the connection is gone, and its transaction with it
        elif self._session is not None:
            await self._session.rollback()

    async def close(self) -> None:
        """Give the connection back (a transaction still open is rolled back by the pool)."""
        self._transaction = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            assert self.db.pg is not None
            await self.db.pg.release(connection)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

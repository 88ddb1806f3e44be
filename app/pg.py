"""PostgreSQL without the ORM, for the paths every request takes.

The statements stay SQLAlchemy Core (one definition of each table, one dialect): each is
compiled once for asyncpg and then run on a raw ``asyncpg`` connection, so a request pays
for a prepared statement's round trip and nothing else — no ORM session, no cache-key
generation, no greenlet bridge per statement (a profile of the transfer path put half of
the core's CPU there). asyncpg keeps each connection's prepared statements.

Connections are not pinged when they leave the pool: a connection the server dropped fails
its first statement with one of :data:`CONNECTION_ERRORS`, and the request's unit of work
runs once more on a fresh one (``app.core.unit``).
"""

import asyncio
import json
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Compiled
from sqlalchemy.util import LRUCache

_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
_DIALECT.paramstyle = "numeric_dollar"


# What a dropped connection (a restarted server, a terminated backend, a cut network)
# raises on its next use. Nothing of a transaction survives one of these.
class DatabaseUnavailable(ConnectionError):
    """No connection could be opened (the server is down, restarting or unreachable)."""


CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    # An idle connection whose backend was terminated has already taken the server's
    # FATAL notice; the next statement then finds the protocol mid-error ("another
    # operation is in progress"). The connection is done for either way.
    asyncpg.exceptions._base.InternalClientError,
    ConnectionError,  # resets and refusals, and DatabaseUnavailable
)
# Deadlocks and serialization failures: nothing took effect; the work may simply run again.
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


@dataclass
class PgStatement:
    """A Core statement compiled once: its SQL and how to turn named values into ``$n``."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    # Values written into the statement itself (``.values(state="completed")``).
    fixed: Mapping[str, Any]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        fixed = self.fixed
        arguments = [fixed[n] if n in fixed else values[n] for n in self.names]
        for i in self.processed:
            if arguments[i] is not None:
                arguments[i] = self.processors[i](arguments[i])  # type: ignore[misc]
        return arguments

    @cached_property
    def processed(self) -> tuple[int, ...]:
        """The positions whose values a type processor converts."""
        return tuple(i for i, p in enumerate(self.processors) if p is not None)


_COMPILED: dict[int, tuple[Any, PgStatement]] = {}


def compile_pg(statement: sa.Executable) -> PgStatement:
    """The statement compiled for asyncpg, cached for as long as the statement lives.

    Statements must name every value with ``sa.bindparam`` (a literal in a ``where`` would
    be frozen into the cached SQL); the compiler's own anonymous parameters are refused.
    """
    cached = _COMPILED.get(id(statement))
    if cached is not None and cached[0] is statement:
        return cached[1]
    compiled: Compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
    names = tuple(compiled.positiontup or ())  # type: ignore[attr-defined]
    binds = compiled.binds  # type: ignore[attr-defined]
    fixed = {
        name: binds[name].effective_value
        for name in names
        if not binds[name].required and binds[name].value is not None
    }
    anonymous = [n for n in names if n.startswith("param_") and n not in fixed]
    if anonymous:
        raise ValueError(f"statement has unnamed parameters {anonymous}: use sa.bindparam")
    if "POSTCOMPILE" in compiled.string:
        raise ValueError("an IN list is expanded per execution: use = ANY(array) or OR")
    processors = compiled._bind_processors  # type: ignore[attr-defined]
    pg = PgStatement(compiled.string, names, tuple(processors.get(n) for n in names), fixed)
    _COMPILED[id(statement)] = (statement, pg)  # the statement is kept alive with its entry
    return pg


# Statements built per request (a read's filters, its keyset): SQLAlchemy's own compiled
# cache, keyed by each statement's cache key, as its engine keeps one.
_BUILT: LRUCache[Any, Any] = LRUCache(1000)


def compile_built(statement: sa.Executable) -> tuple[PgStatement, list[Any]]:
    """A statement built for this request, compiled (or found compiled for its shape) and
    its values in ``$n`` order: ≈ 0.07 ms for a typical read's select."""
    compiled, extracted, *_ = statement._compile_w_cache(  # type: ignore[attr-defined]
        dialect=_DIALECT, compiled_cache=_BUILT, column_keys=[], for_executemany=False
    )
    values = compiled.construct_params(extracted_parameters=extracted) or {}
    names = tuple(compiled.positiontup or ())  # type: ignore[attr-defined]
    processors = compiled._bind_processors  # type: ignore[attr-defined]
    pg = PgStatement(compiled.string, names, tuple(processors.get(n) for n in names), {})
    return pg, pg.arguments(values)


async def fetch_built(
    connection: asyncpg.Connection, statement: sa.Executable
) -> list[asyncpg.Record]:
    """Run a statement built for this request (literal values inside it)."""
    pg, arguments = compile_built(statement)
    rows: list[asyncpg.Record] = await connection.fetch(pg.sql, *arguments)
    return rows


async def fetch(
    connection: asyncpg.Connection, statement: sa.Executable, values: Mapping[str, Any]
) -> list[asyncpg.Record]:
    pg = compile_pg(statement)
    rows: list[asyncpg.Record] = await connection.fetch(pg.sql, *pg.arguments(values))
    return rows


async def fetchrow(
    connection: asyncpg.Connection, statement: sa.Executable, values: Mapping[str, Any]
) -> asyncpg.Record | None:
    pg = compile_pg(statement)
    row: asyncpg.Record | None = await connection.fetchrow(pg.sql, *pg.arguments(values))
    return row


async def execute(
    connection: asyncpg.Connection, statement: sa.Executable, values: Mapping[str, Any]
) -> str:
    pg = compile_pg(statement)
    status: str = await connection.execute(pg.sql, *pg.arguments(values))
    return status


async def executemany(
    connection: asyncpg.Connection, statement: sa.Executable, rows: Sequence[Mapping[str, Any]]
) -> None:
    pg = compile_pg(statement)
    await connection.executemany(pg.sql, [pg.arguments(row) for row in rows])


def connect_arguments(url: str) -> dict[str, Any]:
    """asyncpg's connection arguments for a ``postgresql+asyncpg://`` URL."""
    parsed = urlparse(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    arguments: dict[str, Any] = {
        "host": parsed.hostname or "localhost",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "database": (parsed.path or "/").lstrip("/") or "postgres",
    }
    if parsed.password:
        arguments["password"] = parsed.password
    mode = query.get("ssl") or query.get("sslmode")
    if mode and mode not in {"disable", "allow", "prefer"}:
        arguments["ssl"] = ssl.create_default_context() if mode.startswith("verify") else mode
    return arguments


async def _json_as_sqlalchemy_does(connection: asyncpg.Connection) -> None:
    """JSON goes out as the text SQLAlchemy's bind processors make, and comes back parsed."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=_as_is, decoder=json.loads, schema="pg_catalog", format="text"
        )


def _as_is(text: str) -> str:
    return text


class PgPool:
    """One process's raw connections: at most ``size`` open, each opened on first need.

    Deliberately small: a request takes a connection once (its claim, then its
    transaction, on the same one) and gives it back, and asyncpg's own pool spent about
    0.11 ms of CPU on each acquire and release (a proxy object, a queue, timeouts) — as much
    as two statements. A connection given back inside a transaction is rolled back first;
    one that broke is dropped. Connections belong to the event loop that opened them.
    """

    def __init__(self, url: str, size: int, *, application_name: str = "branchdesk") -> None:
        self.url = url
        self.size = size
        self.application_name = application_name
        self._idle: list[asyncpg.Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _slots_of_this_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            # A new event loop (tests run several): the old loop's connections are unusable.
            self._idle.clear()
            self._slots, self._loop = asyncio.Semaphore(self.size), loop
        return self._slots

    async def acquire(self) -> asyncpg.Connection:
        slots = self._slots_of_this_loop()
        await slots.acquire()
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection
        try:
            return await self._connect()
        except BaseException:
            slots.release()
            raise

    async def _connect(self) -> asyncpg.Connection:
        try:
            connection: asyncpg.Connection = await asyncpg.connect(
                **connect_arguments(self.url),
                # A statement that waits longer than this for a lock or the server is cut
                # short rather than holding a client (and its slot) forever.
                command_timeout=60,
                server_settings={"application_name": self.application_name},
            )
            await _json_as_sqlalchemy_does(connection)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Opening a connection failed: the server is not there (yet). Callers answer
            # 503 with Retry-After, as for any dependency that is down.
            raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc
        return connection

    async def release(self, connection: asyncpg.Connection) -> None:
        try:
            if connection.is_closed():
                return
            if connection.is_in_transaction():
                try:
                    await connection.execute("ROLLBACK")
                except Exception:  # broken after all: drop it
                    connection.terminate()
                    return
            self._idle.append(connection)
        finally:
            if self._slots is not None and self._loop is asyncio.get_running_loop():
                self._slots.release()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await connection.close(timeout=5)
            except Exception:
                connection.terminate()


@dataclass
class _BulkInsert:
    sql: str
    processors: tuple[Callable[[Any], Any] | None, ...]


_BULK: dict[tuple[str, tuple[str, ...]], _BulkInsert] = {}


def _bulk_insert(table: sa.Table, columns: tuple[str, ...]) -> _BulkInsert:
    """``INSERT … SELECT … FROM unnest($1::t1[], $2::t2[], …)``: any number of rows in one
    statement with one array per column (JSON travels as text and is cast on the way)."""
    key = (table.name, columns)
    bulk = _BULK.get(key)
    if bulk is None:
        arrays, selected, processors = [], [], []
        for n, name in enumerate(columns, start=1):
            column = table.c[name]
            sql_type = column.type.compile(dialect=_DIALECT)
            is_json = sql_type.upper() in {"JSON", "JSONB"}
            arrays.append(f"${n}::{'TEXT' if is_json else sql_type}[]")
            selected.append(f'u."{name}"::{sql_type}' if is_json else f'u."{name}"')
            processors.append(column.type._cached_bind_processor(_DIALECT))  # type: ignore[attr-defined]
        # Table and column names come from the models, never from a request.
        quoted = ", ".join(f'"{name}"' for name in columns)
        sql = (
            f'INSERT INTO "{table.name}" ({quoted}) SELECT {", ".join(selected)} '  # noqa: S608
            f"FROM unnest({', '.join(arrays)}) AS u({quoted})"
        )
        bulk = _BULK[key] = _BulkInsert(sql, tuple(processors))
    return bulk


async def insert_rows(
    connection: asyncpg.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (each with the same columns) in one statement, whatever their
    number: a batch of a thousand transfers writes each table once."""
    if not rows:
        return
    columns = tuple(rows[0])
    bulk = _bulk_insert(table, columns)
    arrays = []
    for name, process in zip(columns, bulk.processors, strict=True):
        values = [row[name] for row in rows]
        if process is not None:
            values = [None if v is None else process(v) for v in values]
        arrays.append(values)
    await connection.execute(bulk.sql, *arrays)

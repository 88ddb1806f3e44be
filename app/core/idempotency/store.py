"""Claim, complete, release and replay idempotency records.

The claim is committed at once in its own transaction, so every process sees it;
the completion is written in the request's own transaction, beside the effect. On
PostgreSQL each is one statement on a raw connection (``app.pg``): the claim is a single
autocommitted ``INSERT … ON CONFLICT DO NOTHING RETURNING`` — one round trip, and no
exception on the replay path.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app import pg
from app.core.idempotency.models import IdempotencyRecord
from app.core.unit import UnitOfWork
from app.db import Database, is_unique_violation, new_id, utcnow

_RECORDS: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
LOCK_TIMEOUT = timedelta(seconds=60)
RETENTION = timedelta(hours=24)
# Response headers worth replaying; the chain adds request ID, rate limits and the rest.
REPLAYED_HEADERS = {"content-type", "location", "idempotent-redacted"}


@dataclass(frozen=True)
class Claimed:
    record_id: uuid.UUID


@dataclass(frozen=True)
class Replay:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Conflict:
    pass


@dataclass(frozen=True)
class InProgress:
    pass


ClaimOutcome = Claimed | Replay | Conflict | InProgress


def request_fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """SHA-256 of method, path, query and the body in canonical JSON (or raw bytes)."""
    try:
        canonical = (
            json.dumps(
                json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
            if body.strip()
            else b""
        )
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query, canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


_R = _RECORDS.c
# The claiming database session, named so that neither a reused pid nor two clocks can
# confuse it with another: its pid and its server-side start time (issue 13).
_SESSION = "(SELECT a.pid || '@' || extract(epoch FROM a.backend_start)::text FROM {})"
_OWNER: sa.ColumnElement[str] = sa.literal_column(
    _SESSION.format("pg_stat_get_activity(pg_backend_pid()) AS a"), type_=sa.String
)
# Whether the claiming session is still connected (a killed core's sessions end with it).
_OWNER_ALIVE = sa.text(
    "SELECT EXISTS (SELECT 1 FROM pg_stat_get_activity(split_part(:owner, '@', 1)::int) AS a "
    "WHERE a.pid || '@' || extract(epoch FROM a.backend_start)::text = :owner) AS alive"
).bindparams(sa.bindparam("owner", type_=sa.String))
_CLAIM = (
    postgresql.insert(_RECORDS)
    .values(
        id=sa.bindparam("id", type_=_R.id.type),
        tenant_id=sa.bindparam("tenant_id", type_=_R.tenant_id.type),
        principal_id=sa.bindparam("principal_id", type_=_R.principal_id.type),
        key=sa.bindparam("key", type_=_R.key.type),
        request_hash=sa.bindparam("request_hash", type_=_R.request_hash.type),
        state="in_progress",
        locked_at=sa.bindparam("now", type_=_R.locked_at.type),
        claimed_by=_OWNER,
        created_at=sa.bindparam("now", type_=_R.created_at.type),
    )
    .on_conflict_do_nothing(index_elements=["tenant_id", "principal_id", "key"])
    .returning(_R.id)
)
_EXISTING = sa.select(
    _R.id,
    _R.request_hash,
    _R.state,
    _R.locked_at,
    _R.claimed_by,
    _R.response_status,
    _R.response_headers,
    _R.response_body,
).where(
    _R.tenant_id == sa.bindparam("tenant_id", type_=_R.tenant_id.type),
    _R.principal_id == sa.bindparam("principal_id", type_=_R.principal_id.type),
    _R.key == sa.bindparam("key", type_=_R.key.type),
)
_RETAKE = (
    sa.update(_RECORDS)
    .where(
        _R.id == sa.bindparam("record_id", type_=_R.id.type),
        _R.state == "in_progress",
        _R.locked_at == sa.bindparam("locked_at", type_=_R.locked_at.type),
    )
    .values(locked_at=sa.bindparam("now", type_=_R.locked_at.type))
)
_RETAKE_PG = _RETAKE.values(claimed_by=_OWNER)
# Only a claim still in progress is completed: the effect commits with that transition or
# not at all, so a request run twice (a retaken claim, a retry after a lost COMMIT) never
# commits twice — the second finds the record completed and rolls back.
_COMPLETE = (
    sa.update(_RECORDS)
    .where(_R.id == sa.bindparam("record_id", type_=_R.id.type), _R.state == "in_progress")
    .values(
        state="completed",
        response_status=sa.bindparam("status", type_=_R.response_status.type),
        response_headers=sa.bindparam("headers", type_=_R.response_headers.type),
        response_body=sa.bindparam("body", type_=_R.response_body.type),
    )
)
_RELEASE = sa.delete(_RECORDS).where(
    _R.id == sa.bindparam("record_id", type_=_R.id.type), _R.state == "in_progress"
)
_STATE = sa.select(_R.state, _R.response_status, _R.response_headers, _R.response_body).where(
    _R.id == sa.bindparam("record_id", type_=_R.id.type)
)


class IdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(
        self,
        unit: UnitOfWork,
        tenant_id: uuid.UUID,
        principal_id: uuid.UUID,
        key: str,
        fingerprint: str,
    ) -> ClaimOutcome:
        """Claim the key, committed at once (on PostgreSQL on the request's own raw
        connection, before its transaction begins)."""
        scope = {"tenant_id": tenant_id, "principal_id": principal_id, "key": key}
        for _attempt in range(3):
            record_id, now = new_id(), utcnow()
            values = {**scope, "id": record_id, "request_hash": fingerprint, "now": now}
            if await self._insert_committed(unit, values):
                return Claimed(record_id)
            existing = await self._read(_EXISTING, scope, unit)
            if existing is None:
                continue  # released between our insert and our read: try again
            if existing["request_hash"] != fingerprint:
                return Conflict()
            if existing["state"] == "completed":
                return _replay(existing)
            if existing["locked_at"] < utcnow() - LOCK_TIMEOUT or await self._owner_gone(
                unit, existing["claimed_by"]
            ):
                # The first attempt's process died before committing: retake the claim.
                # Two runs may still overlap (a rerun of the first on a fresh connection);
                # only one of them completes the claim (_COMPLETE), so it commits once.
                retake = {
                    "record_id": existing["id"],
                    "locked_at": existing["locked_at"],
                    "now": utcnow(),
                }
                statement = _RETAKE_PG if self.db.pg is not None else _RETAKE
                if await self._write_committed(statement, retake, unit) == 1:
                    return Claimed(existing["id"])
            return InProgress()
        return InProgress()

    async def _owner_gone(self, unit: UnitOfWork, owner: str | None) -> bool:
        """Whether the database session that claimed the key has ended (PostgreSQL only:
        a killed process's connections end with it, and a retry need not wait out
        LOCK_TIMEOUT). Unknown (SQLite, an older claim, another role's session): False."""
        if self.db.pg is None or not owner:
            return False
        row = await self._read(_OWNER_ALIVE, {"owner": owner}, unit)
        return row is not None and not row["alive"]

    async def outcome(self, record_id: uuid.UUID) -> Replay | None:
        """The stored response of a completed claim (a commit that landed after all), or
        None while it is still in progress."""
        row = await self._read(_STATE, {"record_id": record_id})
        if row is None or row["state"] != "completed":
            return None
        return _replay(row)

    async def _insert_committed(self, unit: UnitOfWork, values: dict[str, Any]) -> bool:
        """Insert and commit the claim; False when the key is taken already.

        On PostgreSQL one autocommitted statement on a raw connection (where
        BEGIN + INSERT + COMMIT take three round trips); on SQLite through the writer's
        session, which holds the write lock.
        """
        if self.db.pg is not None:
            return await pg.fetchrow(await unit.autocommit(), _CLAIM, values) is not None
        claim = sa.insert(_RECORDS).values(
            id=values["id"],
            tenant_id=values["tenant_id"],
            principal_id=values["principal_id"],
            key=values["key"],
            request_hash=values["request_hash"],
            state="in_progress",
            locked_at=values["now"],
            created_at=values["now"],
        )
        try:
            async with self.db.session() as session:
                await session.execute(claim)
                await session.commit()
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            return False
        return True

    async def _read(
        self, statement: sa.Executable, values: dict[str, Any], unit: UnitOfWork | None = None
    ) -> Any:
        if self.db.pg is not None:
            if unit is not None:
                return await pg.fetchrow(await unit.autocommit(), statement, values)
            connection = await self.db.pg.acquire()
            try:
                return await pg.fetchrow(connection, statement, values)
            finally:
                await self.db.pg.release(connection)
        async with self.db.session() as session:
            return (await session.execute(statement, values)).mappings().first()

    async def _write_committed(
        self, statement: sa.Executable, values: dict[str, Any], unit: UnitOfWork | None = None
    ) -> int:
        """Run one UPDATE/DELETE on its own, committed; the number of rows it touched."""
        if self.db.pg is not None:
            if unit is not None:
                status = await pg.execute(await unit.autocommit(), statement, values)
                return int(status.rsplit(" ", 1)[-1])
            connection = await self.db.pg.acquire()
            try:
                status = await pg.execute(connection, statement, values)
            finally:
                await self.db.pg.release(connection)
            return int(status.rsplit(" ", 1)[-1])
        async with self.db.session() as session:
            result = await session.execute(statement, values)
            await session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def complete(
        self,
        unit: UnitOfWork,
        record_id: uuid.UUID,
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> bool:
        """Store the response in the request's own transaction (beside the effect).

        False when the claim is no longer in progress (completed by an earlier run of the
        same request): the caller must roll back.
        """
        values = {
            "record_id": record_id,
            "status": status,
            "headers": {k: v for k, v in headers.items() if k in REPLAYED_HEADERS},
            "body": body,
        }
        if unit.raw_available:
            status_line = await pg.execute(await unit.connection(), _COMPLETE, values)
            return status_line.rsplit(" ", 1)[-1] == "1"
        result = await unit.session.execute(_COMPLETE, values)
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    async def release(self, record_id: uuid.UUID, unit: UnitOfWork | None = None) -> None:
        """Forget a claim whose request was refused or failed, so a retry runs afresh
        (on the request's own connection once its transaction has ended, if given)."""
        await self._write_committed(_RELEASE, {"record_id": record_id}, unit)

    async def purge_expired(self) -> int:
        async with self.db.writer(), self.db.session() as session:
            result = await session.execute(
                sa.delete(IdempotencyRecord).where(
                    IdempotencyRecord.created_at < utcnow() - RETENTION  # type: ignore[arg-type]
                )
            )
            await session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]


def _replay(row: Any) -> Replay:
    return Replay(
        status=row["response_status"] or 200,
        headers=row["response_headers"] or {},
        body=row["response_body"] or b"",
    )

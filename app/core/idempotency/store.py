"""Claim, complete, release and replay idempotency records.

The claim is committed at once in its own transaction, so every process sees it;
the completion is written in the request's own transaction, beside the effect.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.idempotency.models import IdempotencyRecord
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


class IdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(
        self, tenant_id: uuid.UUID, principal_id: uuid.UUID, key: str, fingerprint: str
    ) -> ClaimOutcome:
        for _attempt in range(3):
            record_id, now = new_id(), utcnow()
            # A Core statement: the claim is on every write's path, and an ORM object
            # costs more CPU than the round trip.
            claim = sa.insert(_RECORDS).values(
                id=record_id,
                tenant_id=tenant_id,
                principal_id=principal_id,
                key=key,
                request_hash=fingerprint,
                state="in_progress",
                locked_at=now,
                created_at=now,
            )
            if await self._insert_committed(claim):
                return Claimed(record_id)
            async with self.db.session() as session:
                existing = (
                    await session.execute(
                        sa.select(IdempotencyRecord).where(
                            IdempotencyRecord.tenant_id == tenant_id,  # type: ignore[arg-type]
                            IdempotencyRecord.principal_id == principal_id,  # type: ignore[arg-type]
                            IdempotencyRecord.key == key,  # type: ignore[arg-type]
                        )
                    )
                ).scalar_one_or_none()
                if existing is None:
                    continue  # released between our insert and our read: try again
                if existing.request_hash != fingerprint:
                    return Conflict()
                if existing.state == "completed":
                    return Replay(
                        status=existing.response_status or 200,
                        headers=existing.response_headers or {},
                        body=existing.response_body or b"",
                    )
                if existing.locked_at < utcnow() - LOCK_TIMEOUT:
                    # The first attempt's process died before committing: retake the claim.
                    taken = await session.execute(
                        sa.update(IdempotencyRecord)
                        .where(
                            IdempotencyRecord.id == existing.id,  # type: ignore[arg-type]
                            IdempotencyRecord.state == "in_progress",  # type: ignore[arg-type]
                            IdempotencyRecord.locked_at == existing.locked_at,  # type: ignore[arg-type]
                        )
                        .values(locked_at=utcnow())
                    )
                    await session.commit()
                    if taken.rowcount == 1:  # type: ignore[attr-defined]
                        return Claimed(existing.id)
                return InProgress()
        return InProgress()

    async def _insert_committed(self, claim: sa.Insert) -> bool:
        """Insert and commit the claim; False when the key is taken already.

        On PostgreSQL the one statement runs in autocommit (one round trip, where
        BEGIN + INSERT + COMMIT take three); on SQLite through the writer's session,
        which holds the write lock.
        """
        try:
            if self.db.is_sqlite:
                async with self.db.session() as session:
                    await session.execute(claim)
                    await session.commit()
            else:
                async with self.db.engine.connect() as connection:
                    autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await autocommit.execute(claim)
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            return False
        return True

    async def complete(
        self,
        session: AsyncSession,
        record_id: uuid.UUID,
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        """Store the response in the caller's transaction (beside the effect)."""
        await session.execute(
            sa.update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)  # type: ignore[arg-type]
            .values(
                state="completed",
                response_status=status,
                response_headers={k: v for k, v in headers.items() if k in REPLAYED_HEADERS},
                response_body=body,
            )
        )

    async def release(self, record_id: uuid.UUID) -> None:
        """Forget a claim whose request was refused or failed, so a retry runs afresh."""
        async with self.db.session() as session:
            await session.execute(
                sa.delete(IdempotencyRecord).where(
                    IdempotencyRecord.id == record_id,  # type: ignore[arg-type]
                    IdempotencyRecord.state == "in_progress",  # type: ignore[arg-type]
                )
            )
            await session.commit()

    async def purge_expired(self) -> int:
        async with self.db.writer(), self.db.session() as session:
            result = await session.execute(
                sa.delete(IdempotencyRecord).where(
                    IdempotencyRecord.created_at < utcnow() - RETENTION  # type: ignore[arg-type]
                )
            )
            await session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

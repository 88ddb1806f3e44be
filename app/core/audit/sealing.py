"""Seals over the audit trail, and their verification (`ledger.md`, "Audit trail").

Each tenant has its own chain of seals (records of no tenant form one more chain): a
seal covers the tenant's records with IDs ``from_id..to_id``, and its hash is
SHA-256(previous seal's hash + the canonical form of each of those records, in ID
order). Verification recomputes the chain of the caller's tenant only, so a tenant's
manager learns nothing about other tenants' records.

The safe horizon. Records are sealed only up to an ID below which no record can still
appear (``app.core.horizon``: on PostgreSQL IDs commit out of order, so a seal must not
run past a record still in flight). The ``audit_logs`` ID sequence must keep its cache
at 1; the sealer refuses to run otherwise, and says so in the log
(``audit.sealing_disabled``).
"""

import hashlib
import json
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import sqlalchemy as sa
import structlog
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit.models import AuditLog, AuditSeal
from app.core.audit.responses import AuditVerification
from app.core.horizon import SafeHorizon
from app.core.tenants.models import Tenant
from app.db import Database

log = structlog.get_logger("branchdesk.audit.sealing")

GENESIS_HASH = "0" * 64
DIGEST_CHARS = 16  # per-record digest kept in the seal: enough to locate a change
SEAL_LOCK_KEY = 0x6175_6469_7473  # "audits": one sealer at a time across processes


# A record as the ORM object or as a plain row of its columns (the bulk paths read rows:
# no identity map to fill with tens of thousands of objects).
AuditRecord = AuditLog | sa.Row[Any]
_RECORD_COLUMNS = tuple(AuditLog.__table__.columns)  # type: ignore[attr-defined]
_READ_CHUNK = 5000


def canonical_form(entry: AuditRecord) -> bytes:
    """The bytes a seal hashes for one record: every column, in a fixed JSON form."""
    at = entry.at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(
        {
            "id": entry.id,
            "tenant_id": str(entry.tenant_id) if entry.tenant_id else None,
            "at": at,
            "actor_id": str(entry.actor_id) if entry.actor_id else None,
            "actor_email": entry.actor_email,
            "action": entry.action,
            "entity_type": entry.entity_type,
            "entity_id": entry.entity_id,
            "request_id": entry.request_id,
            "ip": entry.ip,
            "outcome": entry.outcome,
            "before": entry.before,
            "after": entry.after,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def seal_hash(previous_hash: str, entries: Sequence[AuditRecord]) -> tuple[str, list[list[Any]]]:
    """The chain hash over ``entries`` and each record's ``[id, short digest]``."""
    chain = hashlib.sha256(previous_hash.encode("ascii"))
    digests: list[list[Any]] = []
    for entry in entries:
        form = canonical_form(entry)
        chain.update(form)
        chain.update(b"\n")
        digests.append([entry.id, hashlib.sha256(form).hexdigest()[:DIGEST_CHARS]])
    return chain.hexdigest(), digests


def _chain(column: Any, tenant_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    condition: sa.ColumnElement[bool] = (
        column.is_(None) if tenant_id is None else column == tenant_id
    )
    return condition


class AuditSealer:
    """Appends seals up to the safe horizon; one instance per worker process."""

    def __init__(self, db: Database, *, records_per_seal: int = 1000, records_per_run: int = 50000):
        self.db = db
        self.records_per_seal = records_per_seal
        self.records_per_run = records_per_run
        self._horizon = SafeHorizon(
            db,
            AuditLog.__table__,  # type: ignore[attr-defined]
            job="audit",
            disabled_event="sealing_disabled",
        )

    async def run_once(self) -> int:
        """Seal what is final and unsealed; returns the number of seals written.

        One seal per transaction, so the write lock (SQLite) or the sealing lock
        (PostgreSQL) is never held for long, even on a large backlog.
        """
        horizon = await self.horizon()
        if not horizon:
            return 0
        tenants = await self._chains()
        budget, written = self.records_per_run, 0
        while budget > 0 and tenants:
            async with self.db.writer(), self.db.session() as session:
                if not self.db.is_sqlite:
                    locked = await session.execute(
                        sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEAL_LOCK_KEY}
                    )
                    if not locked.scalar_one():
                        break  # another worker is sealing right now
                sealed = await self._seal_next(session, tenants, horizon, budget)
                if not sealed:
                    break
                await session.commit()
            written += 1
            budget -= sealed
        if written:
            log.info("audit.sealed", seals=written, horizon=horizon)
        return written

    async def _chains(self) -> list[uuid.UUID | None]:
        async with self.db.session() as session:
            tenants = (await session.execute(sa.select(col(Tenant.id)))).scalars().all()
        return [*tenants, None]

    async def _seal_next(
        self,
        session: AsyncSession,
        chains: list[uuid.UUID | None],
        horizon: int,
        budget: int,
    ) -> int:
        """Append the next seal of the first chain with unsealed records; 0 when none has.

        Chains found complete are dropped from ``chains`` for the rest of the run.
        """
        while chains:
            tenant_id = chains[0]
            last = await last_seal(session, tenant_id)
            sealed_to = last.to_id if last else 0
            entries = list(
                (
                    await session.execute(
                        sa.select(*_RECORD_COLUMNS)
                        .where(
                            _chain(col(AuditLog.tenant_id), tenant_id),
                            col(AuditLog.id) > sealed_to,
                            col(AuditLog.id) <= horizon,
                        )
                        .order_by(col(AuditLog.id))
                        .limit(min(self.records_per_seal, budget))
                    )
                ).all()
            )
            if not entries:
                chains.pop(0)
                continue
            previous_hash = last.hash if last else GENESIS_HASH
            digest, digests = seal_hash(previous_hash, entries)
            session.add(
                AuditSeal(
                    tenant_id=tenant_id,
                    from_id=sealed_to + 1,
                    to_id=int(entries[-1].id),
                    record_count=len(entries),
                    previous_hash=previous_hash,
                    hash=digest,
                    record_digests=digests,
                )
            )
            await session.flush()
            return len(entries)
        return 0

    async def horizon(self) -> int:
        """The highest ID below which every record is final (0: nothing to seal)."""
        return await self._horizon.horizon()


async def last_seal(session: AsyncSession, tenant_id: uuid.UUID | None) -> AuditSeal | None:
    """The newest seal of a tenant's chain."""
    return (
        await session.execute(
            sa.select(AuditSeal)
            .where(_chain(col(AuditSeal.tenant_id), tenant_id))
            .order_by(col(AuditSeal.to_id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Verification:
    """What ``GET /audit-logs/verify`` reports."""

    valid: bool
    records: int
    seals: int
    sealed_through_id: int | None
    first_broken_id: int | None

    def body(self) -> AuditVerification:
        return AuditVerification(
            valid=self.valid,
            records=self.records,
            seals=self.seals,
            sealed_through_id=self.sealed_through_id,
            first_broken_id=self.first_broken_id,
        )


def first_difference(
    stored: Sequence[Sequence[Any]], actual: Sequence[Sequence[Any]]
) -> int | None:
    """The first ID where the sealed ``[id, digest]`` list and today's records disagree.

    A stored ID missing today is a deleted record; an ID present today but never sealed
    is a record slipped into the range; the same ID with another digest is an edit.
    """
    i = j = 0
    while i < len(stored) and j < len(actual):
        (sealed_id, sealed_digest), (found_id, found_digest) = stored[i], actual[j]
        if sealed_id == found_id:
            if sealed_digest != found_digest:
                return int(sealed_id)
            i, j = i + 1, j + 1
        elif sealed_id < found_id:
            return int(sealed_id)
        else:
            return int(found_id)
    if i < len(stored):
        return int(stored[i][0])
    if j < len(actual):
        return int(actual[j][0])
    return None


class _ChainRecords:
    """A tenant's records in ID order, read in chunks and handed out seal by seal."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID | None) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.read_through = 0
        self.buffer: deque[sa.Row[Any]] = deque()
        self.exhausted = False

    async def through(self, to_id: int) -> list[sa.Row[Any]]:
        """Every record not handed out yet with an ID up to ``to_id``."""
        taken: list[sa.Row[Any]] = []
        while True:
            while self.buffer and self.buffer[0].id <= to_id:
                taken.append(self.buffer.popleft())
            if self.buffer or self.exhausted:
                return taken
            rows = (
                await self.session.execute(
                    sa.select(*_RECORD_COLUMNS)
                    .where(
                        _chain(col(AuditLog.tenant_id), self.tenant_id),
                        col(AuditLog.id) > self.read_through,
                    )
                    .order_by(col(AuditLog.id))
                    .limit(_READ_CHUNK)
                )
            ).all()
            if not rows:
                self.exhausted = True
                return taken
            self.buffer.extend(rows)
            self.read_through = int(rows[-1].id)


async def verify_chain(session: AsyncSession, tenant_id: uuid.UUID | None) -> Verification:
    """Recompute every seal of one tenant's chain, oldest first; stop at the first break."""
    previous_hash, sealed_to, records, seals = GENESIS_HASH, 0, 0, 0
    chain_records = _ChainRecords(session, tenant_id)

    def broken(record_id: int) -> Verification:
        return Verification(False, records, seals, sealed_to or None, record_id)

    while True:
        batch = list(
            (
                await session.execute(
                    sa.select(AuditSeal)
                    .where(
                        _chain(col(AuditSeal.tenant_id), tenant_id),
                        col(AuditSeal.from_id) > sealed_to,
                    )
                    .order_by(col(AuditSeal.from_id))
                    .limit(100)
                )
            )
            .scalars()
            .all()
        )
        if not batch:
            return Verification(True, records, seals, sealed_to or None, None)
        for seal in batch:
            if seal.previous_hash != previous_hash or seal.from_id != sealed_to + 1:
                # A seal before this one is gone or altered: its records are unprotected.
                unprotected = await chain_records.through(seal.to_id)
                candidates = [int(unprotected[0].id)] if unprotected else []
                if seal.record_digests:
                    candidates.append(int(seal.record_digests[0][0]))
                return broken(min(candidates, default=sealed_to + 1))
            entries = await chain_records.through(seal.to_id)
            digest, digests = seal_hash(previous_hash, entries)
            if digest != seal.hash or len(entries) != seal.record_count:
                where = first_difference(seal.record_digests, digests)
                if where is None:  # the digests were rewritten to match; the hash was not
                    where = int(entries[0].id) if entries else seal.from_id
                return broken(where)
            previous_hash, sealed_to = seal.hash, seal.to_id
            records += seal.record_count
            seals += 1


async def verify_every_chain(session: AsyncSession) -> list[tuple[str, Verification]]:
    """Every tenant's chain (by code) and the chain of records of no tenant (``-``)."""
    tenants = (await session.execute(sa.select(col(Tenant.id), col(Tenant.code)))).all()
    found = [(code, await verify_chain(session, tenant_id)) for tenant_id, code in tenants]
    return [*sorted(found), ("-", await verify_chain(session, None))]

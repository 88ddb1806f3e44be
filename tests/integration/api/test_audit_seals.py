"""Seals over the audit trail: sealing, the safe horizon, and GET /audit-logs/verify (S10)."""

import asyncio
import itertools
import subprocess
import sys
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditLog, AuditSeal
from app.core.audit.sealing import AuditSealer, first_difference, seal_hash
from app.core.tenants.models import Tenant
from app.db import Database, utcnow
from tests.db_tamper import as_dba
from tests.integration.api.ledger_helpers import h, make_customer
from tests.support import OTHER_TENANT, headers


@pytest.fixture
async def raw_db(settings):  # type: ignore[no-untyped-def]
    """A pool of our own: the DBA's session, or another process's."""
    db = Database(settings.database)
    yield db
    await db.dispose()


@pytest.fixture
async def sealer(core_app) -> AuditSealer:  # type: ignore[no-untyped-def]
    # Small seals, so a tampered record sits among several seals.
    return AuditSealer(core_app.state.services.db, records_per_seal=25, records_per_run=10**6)


async def with_records(api, tokens, db: Database, count: int = 80) -> None:  # type: ignore[no-untyped-def]
    """Make sure the tenant has ``count`` records at least (the test may run alone)."""
    tenant_id = await demo_tenant_id(db)
    async with db.session() as session:
        have = (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(AuditLog.tenant_id == tenant_id)  # type: ignore[arg-type]
            )
        ).scalar_one()
    for _ in range(count - have):
        await make_customer(api, tokens)


async def seal_everything(sealer: AuditSealer) -> None:
    """Run the sealer until it has nothing left (the horizon may need a second look)."""
    for _ in range(3):
        await sealer.run_once()


async def verify(api, tokens, who="manager"):  # type: ignore[no-untyped-def]
    response = await api.get("/audit-logs/verify", headers=await h(tokens, who))
    assert response.status_code == 200, response.text
    return response.json()


async def fmfb_verify(api, tokens):  # type: ignore[no-untyped-def]
    response = await api.get(
        "/audit-logs/verify", headers=headers(await tokens.for_role("other_tenant"), OTHER_TENANT)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def demo_tenant_id(db: Database) -> uuid.UUID:
    async with db.session() as session:
        return (
            await session.execute(sa.select(Tenant.id).where(Tenant.code == "demo_bank"))  # type: ignore[call-overload]
        ).scalar_one()


async def sealed_record(db: Database, tenant_id: uuid.UUID, *, nth_from_last: int = 3) -> AuditLog:
    """A record inside the tenant's sealed range, a few from its end."""
    async with db.session() as session:
        through = (
            await session.execute(
                sa.select(sa.func.max(AuditSeal.to_id)).where(AuditSeal.tenant_id == tenant_id)  # type: ignore[arg-type]
            )
        ).scalar_one()
        entry = (
            await session.execute(
                sa.select(AuditLog)
                .where(AuditLog.tenant_id == tenant_id, AuditLog.id <= through)  # type: ignore[arg-type,operator]
                .order_by(AuditLog.id.desc())  # type: ignore[union-attr]
                .offset(nth_from_last)
                .limit(1)
            )
        ).scalar_one()
        return entry


def row_values(entry: AuditLog) -> dict[str, Any]:
    return {c.name: getattr(entry, c.name) for c in AuditLog.__table__.columns}  # type: ignore[attr-defined]


async def test_sealing_covers_the_trail_and_verify_finds_it_intact(api, tokens, sealer, core_app):
    await make_customer(api, tokens)
    await tokens.for_role("manager")  # its sign-in is a record too: before the seal
    await seal_everything(sealer)
    body = await verify(api, tokens)
    assert set(body) == {"valid", "records", "seals", "sealed_through_id", "first_broken_id"}
    assert body["valid"] is True
    assert body["first_broken_id"] is None
    assert body["records"] > 0 and body["seals"] > 0
    newest = (await api.get("/audit-logs?limit=1", headers=await h(tokens, "manager"))).json()
    # Everything committed before this run is sealed; the verify call itself records nothing.
    assert body["sealed_through_id"] == newest["audit_logs"][0]["id"]

    # Every one of the tenant's records up to the horizon is counted exactly once.
    tenant_id = await demo_tenant_id(core_app.state.services.db)
    async with core_app.state.services.db.session() as session:
        count = (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(AuditLog.tenant_id == tenant_id, AuditLog.id <= body["sealed_through_id"])  # type: ignore[arg-type,operator]
            )
        ).scalar_one()
        seals = (
            await session.execute(
                sa.select(AuditSeal)
                .where(AuditSeal.tenant_id == tenant_id)  # type: ignore[arg-type]
                .order_by(AuditSeal.from_id)  # type: ignore[arg-type]
            )
        ).scalars()
        chain = list(seals)
    assert body["records"] == count
    assert chain[0].from_id == 1 and chain[0].previous_hash == "0" * 64
    for before, after in itertools.pairwise(chain):
        assert after.from_id == before.to_id + 1
        assert after.previous_hash == before.hash

    # A second run with nothing new writes nothing.
    assert await sealer.run_once() == 0


async def test_s10_verify_detects_an_edited_record(api, tokens, sealer, raw_db, core_app):
    """S10: GET /audit-logs/verify detects an edited record, and names it."""
    await make_customer(api, tokens)
    await seal_everything(sealer)
    assert (await verify(api, tokens))["valid"] is True
    tenant_id = await demo_tenant_id(raw_db)
    victim = await sealed_record(raw_db, tenant_id)
    original_outcome = victim.outcome
    async with as_dba(raw_db) as conn:
        await conn.execute(
            sa.update(AuditLog).where(AuditLog.id == victim.id).values(outcome="tampered")  # type: ignore[arg-type]
        )
    try:
        body = await verify(api, tokens)
        assert body["valid"] is False
        assert body["first_broken_id"] == victim.id
        assert body["sealed_through_id"] is None or body["sealed_through_id"] < victim.id
        # The other tenant's chain is untouched, and tells its manager nothing of ours.
        other = await fmfb_verify(api, tokens)
        assert other["valid"] is True and other["first_broken_id"] is None
    finally:
        async with as_dba(raw_db) as conn:
            await conn.execute(
                sa.update(AuditLog)
                .where(AuditLog.id == victim.id)  # type: ignore[arg-type]
                .values(outcome=original_outcome)
            )
    assert (await verify(api, tokens))["valid"] is True


async def test_verify_detects_an_edited_json_field_and_the_first_of_two_edits(
    api, tokens, sealer, raw_db
):
    await with_records(api, tokens, raw_db)
    await seal_everything(sealer)
    tenant_id = await demo_tenant_id(raw_db)
    early = await sealed_record(raw_db, tenant_id, nth_from_last=40)
    late = await sealed_record(raw_db, tenant_id, nth_from_last=2)
    originals = {early.id: early.after, late.id: late.after}
    async with as_dba(raw_db) as conn:
        for entry in (early, late):
            await conn.execute(
                sa.update(AuditLog)
                .where(AuditLog.id == entry.id)  # type: ignore[arg-type]
                .values(after={**(entry.after or {}), "amount": "1.00"})
            )
    try:
        body = await verify(api, tokens)
        assert (body["valid"], body["first_broken_id"]) == (False, early.id)
    finally:
        async with as_dba(raw_db) as conn:
            for record_id, after in originals.items():
                await conn.execute(
                    sa.update(AuditLog).where(AuditLog.id == record_id).values(after=after)  # type: ignore[arg-type]
                )
    assert (await verify(api, tokens))["valid"] is True


async def test_verify_names_a_deleted_record(api, tokens, sealer, raw_db):
    await make_customer(api, tokens)
    await seal_everything(sealer)
    tenant_id = await demo_tenant_id(raw_db)
    victim = await sealed_record(raw_db, tenant_id, nth_from_last=5)
    saved = row_values(victim)
    async with as_dba(raw_db) as conn:
        await conn.execute(sa.delete(AuditLog).where(AuditLog.id == victim.id))  # type: ignore[arg-type]
    try:
        body = await verify(api, tokens)
        assert (body["valid"], body["first_broken_id"]) == (False, victim.id)
    finally:
        async with as_dba(raw_db) as conn:
            await conn.execute(sa.insert(AuditLog).values(**saved))
    assert (await verify(api, tokens))["valid"] is True


async def test_verify_notices_a_removed_seal(api, tokens, sealer, raw_db):
    await with_records(api, tokens, raw_db)
    await seal_everything(sealer)
    tenant_id = await demo_tenant_id(raw_db)
    async with raw_db.session() as session:
        chain = list(
            (
                await session.execute(
                    sa.select(AuditSeal)
                    .where(AuditSeal.tenant_id == tenant_id)  # type: ignore[arg-type]
                    .order_by(AuditSeal.from_id)  # type: ignore[arg-type]
                )
            ).scalars()
        )
    assert len(chain) >= 3
    victim = chain[1]
    saved = {c.name: getattr(victim, c.name) for c in AuditSeal.__table__.columns}  # type: ignore[attr-defined]
    async with as_dba(raw_db) as conn:
        await conn.execute(sa.delete(AuditSeal).where(AuditSeal.id == victim.id))  # type: ignore[arg-type]
    try:
        body = await verify(api, tokens)
        assert body["valid"] is False
        assert body["first_broken_id"] == victim.record_digests[0][0]
        assert body["sealed_through_id"] == chain[0].to_id
    finally:
        async with as_dba(raw_db) as conn:
            await conn.execute(sa.insert(AuditSeal).values(**saved))
    assert (await verify(api, tokens))["valid"] is True


async def test_the_safe_horizon_waits_for_a_transaction_in_flight(api, tokens, core_app, raw_db):
    """A record written by a transaction still open is never skipped by a seal.

    Another connection inserts a record and keeps its transaction open; then a request
    writes (and commits) a later one. The sealer must not seal past the open record;
    once it commits, the next runs seal both, and the chain verifies.
    """
    db = core_app.state.services.db
    sealer = AuditSealer(db, records_per_seal=25)
    await seal_everything(sealer)
    tenant_id = await demo_tenant_id(db)
    async with raw_db.engine.connect() as open_conn:
        in_flight = (
            await open_conn.execute(
                sa.insert(AuditLog)
                .values(
                    tenant_id=tenant_id, at=utcnow(), action="test.in_flight", outcome="success"
                )
                .returning(AuditLog.id)  # type: ignore[arg-type]
            )
        ).scalar_one()
        if raw_db.is_sqlite:
            # One writer at a time: while it is open nobody else commits a record, and the
            # horizon is the committed maximum, below the open one.
            assert await sealer.horizon() < in_flight
        else:
            later = await make_customer(api, tokens)
            async with db.session() as session:
                later_id = (
                    await session.execute(
                        sa.select(AuditLog.id).where(AuditLog.entity_id == later["id"])  # type: ignore[call-overload]
                    )
                ).scalar_one()
            assert later_id > in_flight
            for _ in range(3):
                await sealer.run_once()
            async with db.session() as session:
                sealed_to = (
                    await session.execute(
                        sa.select(sa.func.max(AuditSeal.to_id)).where(  # type: ignore[arg-type]
                            AuditSeal.tenant_id == tenant_id  # type: ignore[arg-type]
                        )
                    )
                ).scalar_one()
            assert sealed_to < in_flight, "sealed past a record still in flight"
        await open_conn.commit()
    await seal_everything(sealer)
    body = await verify(api, tokens)
    assert body["valid"] is True
    assert body["sealed_through_id"] >= in_flight
    async with db.session() as session:
        seal = (
            await session.execute(
                sa.select(AuditSeal).where(
                    AuditSeal.tenant_id == tenant_id,  # type: ignore[arg-type]
                    AuditSeal.from_id <= in_flight,  # type: ignore[arg-type]
                    AuditSeal.to_id >= in_flight,  # type: ignore[arg-type]
                )
            )
        ).scalar_one()
    assert in_flight in [record_id for record_id, _digest in seal.record_digests]


async def test_two_sealers_at_once_write_one_chain(api, tokens, core_app, raw_db):
    """Two workers (two pools) seal at once: one chain, no fork, no gap.

    On SQLite the worker runs in the one process, so both share its database."""
    await make_customer(api, tokens)
    db = core_app.state.services.db
    one = AuditSealer(db, records_per_seal=7)
    two = AuditSealer(db if db.is_sqlite else raw_db, records_per_seal=7)
    for _ in range(3):
        await asyncio.gather(one.run_once(), two.run_once())
    assert (await verify(api, tokens))["valid"] is True


def test_first_difference_tells_edits_gaps_and_intruders_apart():
    stored = [[1, "a"], [3, "b"], [4, "c"]]
    assert first_difference(stored, [[1, "a"], [3, "b"], [4, "c"]]) is None
    assert first_difference(stored, [[1, "a"], [3, "x"], [4, "c"]]) == 3  # edited
    assert first_difference(stored, [[1, "a"], [4, "c"]]) == 3  # deleted
    assert first_difference(stored, [[1, "a"], [2, "z"], [3, "b"], [4, "c"]]) == 2  # slipped in
    assert first_difference(stored, [[1, "a"], [3, "b"]]) == 4  # the last one deleted
    assert first_difference(stored, [*stored, [5, "d"]]) == 5


def test_the_seal_hash_chains_the_previous_one_and_every_field():
    entry = AuditLog(id=1, at=utcnow(), action="x.y", outcome="success", after={"b": 1, "a": 2})
    first, digests = seal_hash("0" * 64, [entry])
    assert digests[0][0] == 1 and len(digests[0][1]) == 16
    assert seal_hash("1" * 64, [entry])[0] != first
    entry.after = {"a": 2, "b": 1}  # the same JSON in another key order: the same form
    assert seal_hash("0" * 64, [entry])[0] == first
    entry.ip = "10.0.0.1"
    assert seal_hash("0" * 64, [entry])[0] != first


def _audit_verify_cli() -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "app", "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_cli_verifies_every_chain_and_exits_1_on_a_break(api, tokens, sealer, raw_db):
    await with_records(api, tokens, raw_db)
    await seal_everything(sealer)
    clean = await asyncio.to_thread(_audit_verify_cli)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "demo_bank: valid" in clean.stdout and "fmfb: valid" in clean.stdout
    victim = await sealed_record(raw_db, await demo_tenant_id(raw_db), nth_from_last=7)
    async with as_dba(raw_db) as conn:
        await conn.execute(
            sa.update(AuditLog).where(AuditLog.id == victim.id).values(ip="203.0.113.9")  # type: ignore[arg-type]
        )
    try:
        broken = await asyncio.to_thread(_audit_verify_cli)
        assert broken.returncode == 1
        assert f"demo_bank: BROKEN at record {victim.id}" in broken.stdout
        assert "fmfb: valid" in broken.stdout
    finally:
        async with as_dba(raw_db) as conn:
            await conn.execute(
                sa.update(AuditLog).where(AuditLog.id == victim.id).values(ip=victim.ip)  # type: ignore[arg-type]
            )

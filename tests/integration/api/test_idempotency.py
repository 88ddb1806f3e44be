"""Idempotency (R3): replay byte for byte, conflict, in-progress, one execution."""

import asyncio
import uuid

import sqlalchemy as sa
from sqlmodel import col

from app.core.idempotency.models import IdempotencyRecord
from app.core.tenants.models import Branch
from tests.support import new_key


def branch_code() -> str:
    return uuid.uuid4().hex[:8].upper()


async def count_branches(core_app, code):
    async with core_app.state.services.db.session() as session:
        result = await session.execute(
            sa.select(sa.func.count()).select_from(Branch).where(col(Branch.code) == code)
        )
        return result.scalar_one()


async def test_replay_is_byte_identical(api, tokens, core_app):
    key = new_key()
    h = await tokens.headers_for("admin", **{"Idempotency-Key": key})
    body = {"code": branch_code(), "name": "Replay Branch"}
    first = await api.post("/branches", json=body, headers=h)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    second = await api.post("/branches", json=body, headers=h)
    assert second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert await count_branches(core_app, body["code"]) == 1


async def test_alias_header_and_key_order_of_body(api, tokens):
    key = new_key()
    code = branch_code()
    first = await api.post(
        "/branches",
        json={"code": code, "name": "Alias"},
        headers=await tokens.headers_for("admin", **{"X-Idempotency-Key": key}),
    )
    assert first.status_code == 201
    # The same JSON with its members in another order is the same request.
    again = await api.post(
        "/branches",
        content=f'{{"name": "Alias", "code": "{code}"}}'.encode(),
        headers=await tokens.headers_for(
            "admin", **{"Idempotency-Key": key, "Content-Type": "application/json"}
        ),
    )
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content


async def test_conflict_on_another_body_or_path(api, tokens):
    key = new_key()
    h = await tokens.headers_for("admin", **{"Idempotency-Key": key})
    first = await api.post("/branches", json={"code": branch_code(), "name": "A"}, headers=h)
    assert first.status_code == 201
    other_body = await api.post("/branches", json={"code": branch_code(), "name": "B"}, headers=h)
    assert (other_body.status_code, other_body.json()["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    other_path = await api.put("/tenant/settings", json={}, headers=h)
    assert other_path.json()["code"] == "IDEMPOTENCY_CONFLICT"


async def test_keys_are_scoped_per_user(api, tokens):
    key = new_key()
    code = branch_code()
    admin = await api.post(
        "/branches",
        json={"code": code, "name": "Mine"},
        headers=await tokens.headers_for("admin", **{"Idempotency-Key": key}),
    )
    assert admin.status_code == 201
    # Another user's same key is a different key: it runs (and is refused on its own merits).
    viewer = await api.post(
        "/branches",
        json={"code": code, "name": "Mine"},
        headers=await tokens.headers_for("viewer", **{"Idempotency-Key": key}),
    )
    assert viewer.json()["code"] == "INSUFFICIENT_ROLE"


async def test_refusals_before_the_handler_are_not_stored(api, tokens, core_app):
    key = new_key()
    branch_code()
    # Invalid body: 400, not stored, so the corrected retry with the same key runs.
    bad = await api.post(
        "/branches",
        json={"code": "!!", "name": ""},
        headers=await tokens.headers_for("admin", **{"Idempotency-Key": key}),
    )
    assert bad.status_code == 400
    async with core_app.state.services.db.session() as session:
        stored = await session.execute(
            sa.select(sa.func.count())
            .select_from(IdempotencyRecord)
            .where(col(IdempotencyRecord.key) == key)
        )
        assert stored.scalar_one() == 0


async def test_executed_409_is_stored_and_replayed(api, tokens):
    code = branch_code()
    h = await tokens.headers_for("admin")
    assert (
        await api.post("/branches", json={"code": code, "name": "X"}, headers=h)
    ).status_code == 201
    key = new_key()
    hk = await tokens.headers_for("admin", **{"Idempotency-Key": key})
    duplicate = await api.post("/branches", json={"code": code, "name": "X"}, headers=hk)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "DUPLICATE_RESOURCE")
    replay = await api.post("/branches", json={"code": code, "name": "X"}, headers=hk)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == duplicate.content


async def test_twenty_concurrent_requests_execute_once(api, tokens, core_app):
    key = new_key()
    h = await tokens.headers_for("admin", **{"Idempotency-Key": key})
    body = {"code": branch_code(), "name": "Concurrent"}
    responses = await asyncio.gather(
        *[api.post("/branches", json=body, headers=h) for _ in range(20)]
    )
    executed = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    in_progress = [r for r in responses if r.status_code == 409]
    assert len(executed) == 1
    assert len(executed) + len(replayed) + len(in_progress) == 20
    for r in replayed:
        assert r.content == executed[0].content
    for r in in_progress:
        assert r.json()["code"] == "IDEMPOTENCY_IN_PROGRESS"
        assert r.headers["retry-after"] == "1"
    assert await count_branches(core_app, body["code"]) == 1


async def test_stale_claim_is_retaken(api, tokens, core_app):
    """A claim left by a process that died (older than 60 s) does not block forever."""
    from datetime import timedelta

    from app.db import utcnow

    key = new_key()
    h = await tokens.headers_for("admin", **{"Idempotency-Key": key})
    body = {"code": branch_code(), "name": "Stale"}
    me = (await api.get("/auth/me", headers=h)).json()
    tenant = (await api.get("/tenant", headers=h)).json()
    import json as _json

    from app.core.idempotency.store import request_fingerprint

    fingerprint = request_fingerprint(
        "POST", "/api/v1/cba/branches", b"", _json.dumps(body).encode()
    )
    db = core_app.state.services.db
    async with db.writer(), db.session() as session:
        session.add(
            IdempotencyRecord(
                tenant_id=uuid.UUID(tenant["id"]),
                principal_id=uuid.UUID(me["id"]),
                key=key,
                request_hash=fingerprint,
                state="in_progress",
                locked_at=utcnow() - timedelta(seconds=61),
            )
        )
        await session.commit()
    response = await api.post("/branches", json=body, headers=h)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers

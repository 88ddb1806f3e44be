"""The lean request path (issue 11): what it skips must not cost correctness.

- no ping before a pooled connection is used: a connection the server dropped is found
  out by the request's first statement, and the request runs once more on a fresh one;
- a COMMIT whose answer was lost is settled by the claim's record: replayed when it landed,
  run once more when it did not — never posted twice;
- one Redis round trip per request for both rate-limit buckets and the revocation check;
- a verified token is remembered, yet refused at once when revoked, and when it expires.
"""

import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.core.app import create_app
from app.core.auth.tokens import TokenService
from app.core.errors import ApiError
from app.core.services import CoreServices
from app.core.unit import UnitOfWork
from app.db import Database
from tests.integration.api.ledger_helpers import deposit, expect, h, open_account, withdraw
from tests.support import API, TENANT, TokenCache, headers

POSTGRES_ONLY = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="raw connections and their loss are PostgreSQL's (CI runs these)",
)


@pytest.fixture
async def own_core(settings, database_ready) -> AsyncIterator[tuple[Any, httpx.AsyncClient, str]]:  # type: ignore[no-untyped-def]
    """A core of its own on the suite's database, its connections labelled so a test can
    cut exactly them: (app, client, label)."""
    label = f"bd-victim-{uuid.uuid4().hex[:10]}"
    services = CoreServices.build(settings, db=Database(settings.database, application_name=label))
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://testserver{API}") as client:
        yield app, client, label
    await services.close()


async def cut_connections(core_app: Any, label: str) -> int:
    """pg_terminate_backend every connection of the labelled core (as a server restart or
    a network cut would leave them)."""
    async with core_app.state.services.db.engine.connect() as connection:
        result = await connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :label"
            ),
            {"label": label},
        )
        return int(result.scalar_one())


async def signed_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    body = expect(
        await client.post(
            "/auth/login",
            json={"email": email, "password": "Sandbox#2026"},
            headers=headers(None, TENANT),
        ),
        200,
    )
    return headers(body["access_token"], TENANT)


@POSTGRES_ONLY
async def test_a_dropped_connection_is_found_out_and_the_request_runs_again(
    own_core, core_app, api, tokens: TokenCache, ledger_checked
):
    _app, client, label = own_core
    account = await open_account(api, tokens)
    teller = await signed_in(client, "teller@demo.bank")
    viewer = await signed_in(client, "viewer@demo.bank")
    expect(await client.get(f"/accounts/{account['id']}", headers=viewer), 200)
    body = {"account_id": account["id"], "amount": "10.00", "currency": "NGN"}
    first = await client.post("/deposits", json=body, headers={**teller, "Idempotency-Key": "a"})
    expect(first, 201)
    # Every pooled connection of this core (raw and ORM) is cut while it sits idle.
    assert await cut_connections(core_app, label) >= 2
    second = await client.post("/deposits", json=body, headers={**teller, "Idempotency-Key": "b"})
    expect(second, 201)
    assert await cut_connections(core_app, label) >= 1
    read = expect(await client.get(f"/accounts/{account['id']}", headers=viewer), 200)
    assert read["ledger_balance"] == "20.00"  # both deposits, each once


@POSTGRES_ONLY
@pytest.mark.parametrize("landed", [True, False], ids=["commit-landed", "commit-lost"])
async def test_a_lost_commit_is_settled_by_the_claim(
    own_core, api, tokens: TokenCache, monkeypatch, ledger_checked, landed
):
    """The connection breaks as COMMIT goes out: when the commit landed the stored answer
    is the answer (posted once); when it did not, the request runs again (posted once)."""
    _app, client, _label = own_core
    account = await open_account(api, tokens)
    teller = await signed_in(client, "teller@demo.bank")
    commit = UnitOfWork.commit
    broken: list[bool] = []

    async def commit_then_lose_the_answer(self: UnitOfWork) -> None:
        if self.uses_raw and not broken:
            broken.append(True)
            if landed:
                await commit(self)
            else:
                await self.rollback()
            self.committing = True
            raise ConnectionResetError("connection lost while committing")
        await commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", commit_then_lose_the_answer)
    response = await client.post(
        "/deposits",
        json={"account_id": account["id"], "amount": "7.00", "currency": "NGN"},
        headers={**teller, "Idempotency-Key": f"lost-commit-{uuid.uuid4().hex}"},
    )
    monkeypatch.undo()
    assert broken == [True]
    expect(response, 201)
    assert (response.headers.get("idempotent-replayed") == "true") is landed
    after = expect(
        await api.get(f"/accounts/{account['id']}", headers=await tokens.headers_for("viewer")),
        200,
    )
    assert after["ledger_balance"] == "7.00"


async def test_one_redis_round_trip_per_request(core_app, api, tokens: TokenCache):
    """Both rate-limit buckets and the revocation check go to Redis in one round trip."""
    services = core_app.state.services
    if services.redis is None:
        pytest.skip("in-process stores: no Redis round trips at all (CI runs this on Redis)")
    sent: list[tuple[Any, ...]] = []
    execute = services.redis.execute_command

    async def counted(*args: Any, **kwargs: Any) -> Any:
        sent.append(args)
        return await execute(*args, **kwargs)

    incr = services.limiter.storage.incr

    async def limits_incr(*args: Any, **kwargs: Any) -> Any:
        sent.append(("limits", *args))
        return await incr(*args, **kwargs)

    viewer = await tokens.headers_for("viewer")
    expect(await api.get("/auth/me", headers=viewer), 200)  # the script is loaded
    services.redis.execute_command = counted
    services.limiter.storage.incr = limits_incr
    try:
        for _ in range(5):
            expect(await api.get("/auth/me", headers=viewer), 200)
    finally:
        services.redis.execute_command = execute
        services.limiter.storage.incr = incr
    assert [command[0] for command in sent] == ["EVALSHA"] * 5


async def test_a_remembered_token_is_refused_at_once_when_revoked(api, tokens: TokenCache):
    body = await tokens.login("viewer@demo.bank")
    viewer = headers(body["access_token"], TENANT)
    for _ in range(3):  # verified once, then remembered
        expect(await api.get("/auth/me", headers=viewer), 200)
    assert (await api.post("/auth/logout", headers=viewer)).status_code == 204
    refused = await api.get("/auth/me", headers=viewer)
    assert (refused.status_code, refused.json()["code"]) == (401, "TOKEN_REVOKED")


def test_a_remembered_token_expires_with_its_claims(core_app, monkeypatch):
    tokens: TokenService = core_app.state.services.tokens
    issued = tokens.issue_access_token(
        user_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        email="x@demo.bank",
        name="X",
        roles=["viewer"],
        scopes=["accounts:read"],
        branch_code="001",
        session_id=uuid.uuid4(),
    )
    first = tokens.verify(issued.token)
    assert tokens.verify(issued.token) is first  # remembered, not verified again
    later = issued.expires_at + tokens.settings.leeway_seconds + 1
    monkeypatch.setattr(time, "time", lambda: float(later))
    with pytest.raises(ApiError) as expired:
        tokens.verify(issued.token)
    assert expired.value.code == "TOKEN_EXPIRED"


async def test_a_refused_movement_body_names_every_bad_field(api, tokens: TokenCache):
    """msgspec stops at a body's first error; the answer still lists every bad field."""
    teller = await h(tokens, "teller", key=True)
    response = await api.post("/deposits", json={"amount": "1.00", "extra": 1}, headers=teller)
    assert response.status_code == 400
    problems = {d["field"]: d["reason"] for d in response.json()["details"]}
    assert problems == {"account_id": "required", "currency": "required", "extra": "unknown field"}
    response = await api.post(
        "/transfers/internal",
        json={"source_account_id": 7, "destination_account_id": "x", "currency": "NGNX"},
        headers=await h(tokens, "officer", key=True),
    )
    assert response.status_code == 400
    assert {d["field"] for d in response.json()["details"]} == {
        "source_account_id",
        "currency",
        "amount",
    }
    ok = await deposit(api, tokens, (await open_account(api, tokens))["id"], "1.00")
    expect(ok, 201)


async def test_a_read_runs_a_statement_built_for_it_outside_any_transaction(core_app):
    """``UnitOfWork.read``: a statement built per request (literal values inside it), its
    rows as mappings; on PostgreSQL on the raw connection, with no transaction open."""
    from app.core.tenants.models import Tenant

    tenants = Tenant.__table__  # type: ignore[attr-defined]
    unit = UnitOfWork(core_app.state.services.db)
    try:
        for code in ("demo_bank", "fmfb", "demo_bank"):  # the second demo_bank: its compiled shape
            rows = await unit.read(
                sa.select(tenants.c.code, tenants.c.timezone).where(tenants.c.code == code)
            )
            assert [row["code"] for row in rows] == [code]
            if unit.raw_available:
                connection = await unit.autocommit()
                assert not connection.is_in_transaction()
    finally:
        await unit.close()


@POSTGRES_ONLY
async def test_a_terminated_idle_connection_reruns_the_request_not_a_500(
    own_core, api, tokens: TokenCache, monkeypatch, ledger_checked
):
    """Issue 13: after pg_terminate_backend an idle connection's next statement raised
    asyncpg's InternalClientError ("another operation is in progress") and the request
    answered 500. It is a lost connection: the request runs again on a fresh one."""
    import asyncpg

    _app, client, _label = own_core
    account = await open_account(api, tokens)
    teller = await signed_in(client, "teller@demo.bank")
    connection = UnitOfWork.connection
    broken: list[bool] = []

    async def protocol_mid_error(self: UnitOfWork) -> Any:
        if not broken:
            broken.append(True)
            raise asyncpg.exceptions._base.InternalClientError(
                "cannot switch to state 15; another operation (2) is in progress"
            )
        return await connection(self)

    monkeypatch.setattr(UnitOfWork, "connection", protocol_mid_error)
    response = await client.post(
        "/deposits",
        json={"account_id": account["id"], "amount": "3.00", "currency": "NGN"},
        headers={**teller, "Idempotency-Key": f"mid-error-{uuid.uuid4().hex}"},
    )
    monkeypatch.undo()
    assert broken == [True]
    expect(response, 201)
    after = expect(
        await api.get(f"/accounts/{account['id']}", headers=await tokens.headers_for("viewer")),
        200,
    )
    assert after["ledger_balance"] == "3.00"


@POSTGRES_ONLY
@pytest.mark.parametrize("owner_alive", [False, True], ids=["owner-gone", "owner-alive"])
async def test_a_claim_whose_session_ended_is_retaken_at_once(
    core_app, api, tokens: TokenCache, ledger_checked, owner_alive
):
    """Issue 13: a core killed mid-request leaves its claim in progress. When the database
    session that claimed it has ended, the retry runs at once (posted once); while that
    session lives, the retry is told IDEMPOTENCY_IN_PROGRESS as before."""
    import json

    from app.core.idempotency.store import request_fingerprint

    account = await open_account(api, tokens)
    teller = await tokens.headers_for("teller")
    key = f"stranded-{uuid.uuid4().hex}"
    body = {"account_id": account["id"], "amount": "5.00", "currency": "NGN"}
    fingerprint = request_fingerprint("POST", f"{API}/deposits", b"", json.dumps(body).encode())
    engine = core_app.state.services.db.engine
    async with engine.connect() as holder, engine.begin() as connection:
        # A live session's name (the holder's, open throughout), or one no session has.
        owner = (
            await holder.execute(
                sa.text(
                    "SELECT a.pid || '@' || extract(epoch FROM a.backend_start)::text "
                    "FROM pg_stat_get_activity(pg_backend_pid()) AS a"
                )
            )
        ).scalar_one()
        ids = (
            await connection.execute(
                sa.text(
                    "SELECT t.id, u.id FROM tenants t JOIN staff_users u ON u.tenant_id = t.id "
                    "WHERE t.code = :tenant AND u.email = 'teller@demo.bank'"
                ),
                {"tenant": TENANT},
            )
        ).one()
        await connection.execute(
            sa.text(
                "INSERT INTO idempotency_records (id, tenant_id, principal_id, key, "
                "request_hash, state, locked_at, claimed_by, created_at) VALUES (:id, :tenant, "
                ":user, :key, :hash, 'in_progress', now(), :owner, now())"
            ),
            {
                "id": uuid.uuid4(),
                "tenant": ids[0],
                "user": ids[1],
                "key": key,
                "hash": fingerprint,
                "owner": owner if owner_alive else "0@1765000000.123456",
            },
        )
        await connection.commit()
        if owner_alive:
            retry = await api.post(
                "/deposits", json=body, headers={**teller, "Idempotency-Key": key}
            )
            assert expect(retry, 409)["code"] == "IDEMPOTENCY_IN_PROGRESS"
            return
    retry = await api.post("/deposits", json=body, headers={**teller, "Idempotency-Key": key})
    expect(retry, 201)
    again = await api.post("/deposits", json=body, headers={**teller, "Idempotency-Key": key})
    expect(again, 201)
    assert again.headers.get("idempotent-replayed") == "true"
    after = expect(
        await api.get(f"/accounts/{account['id']}", headers=await tokens.headers_for("viewer")),
        200,
    )
    assert after["ledger_balance"] == "5.00"  # once


@POSTGRES_ONLY
async def test_a_rerun_that_is_refused_answers_its_refusal_not_a_500(
    own_core, api, tokens: TokenCache, monkeypatch, ledger_checked
):
    """Issue 13 (soak): a request whose connection broke after its handler had answered
    ran again, and when the rerun was refused (422 INSUFFICIENT_FUNDS: the money had gone
    meanwhile) the answer was a 500 — Litestar's "a response has started", set by the
    first run's answer, was still in the scope."""
    _app, client, _label = own_core
    account = await open_account(api, tokens)
    expect(await deposit(api, tokens, account["id"], "10.00"), 201)
    teller = await signed_in(client, "teller@demo.bank")
    commit = UnitOfWork.commit
    broken: list[bool] = []

    async def lose_the_connection_after_the_money_went(self: UnitOfWork) -> None:
        if self.uses_raw and not broken:
            broken.append(True)
            await self.rollback()
            # Meanwhile another request takes the money (another core, same database).
            expect(await withdraw(api, tokens, account["id"], "10.00"), 201)
            raise ConnectionResetError("connection lost before COMMIT went out")
        await commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", lose_the_connection_after_the_money_went)
    response = await client.post(
        "/withdrawals",
        json={"account_id": account["id"], "amount": "10.00", "currency": "NGN"},
        headers={**teller, "Idempotency-Key": f"refused-rerun-{uuid.uuid4().hex}"},
    )
    monkeypatch.undo()
    assert broken == [True]
    assert expect(response, 422)["code"] == "INSUFFICIENT_FUNDS"

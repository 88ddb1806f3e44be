"""Security review (issue 10), finding 1: sessions kept alive by refresh end when revoked.

A session has a sliding expiry (the refresh-token TTL, moved by each refresh) and an
absolute lifetime (``SESSION_ABSOLUTE_TTL_SECONDS``) that no refresh moves. Revoking a
user's sessions — the admin's "revoke sessions", a role or branch change, a deactivation —
ends every session that can still mint a token or still has a live access token.

Waiting out a 60-second refresh TTL would make each test a minute long, so the tests run a
core app of their own with ``REFRESH_TOKEN_TTL_SECONDS=60`` and make time pass for one
session by moving every timestamp of its rows (the session and its refresh tokens) back,
as ``test_auth_flows.test_lock_expires`` fast-forwards a lock. Access tokens keep their
wall-clock ``iat``/``exp``: only the server's record of the session ages.
"""

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.app import create_app
from app.core.auth.models import AuthSession, RefreshToken
from app.db import Database
from tests.support import API, TENANT, headers

PASSWORD = "Correct-horse-42"
REFRESH_TTL = 60


@pytest.fixture
async def short_core(settings, database_ready):  # type: ignore[no-untyped-def]
    """A core app of its own whose refresh tokens live 60 s, sharing the database."""
    auth = dataclasses.replace(settings.auth, refresh_ttl_seconds=REFRESH_TTL)
    app = create_app(dataclasses.replace(settings, auth=auth))
    yield app
    await app.state.services.close()


@pytest.fixture
async def short_api(short_core):  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=short_core, client=("127.0.0.1", 40001))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://testserver{API}") as c:
        yield c


async def age_session(db: Database, session_id: str, seconds: int) -> None:
    """Let ``seconds`` pass for one session: every timestamp of its rows moves back."""
    shift = timedelta(seconds=seconds)
    async with db.writer(), db.session() as session:
        rows: list[Any] = [await session.get(AuthSession, uuid.UUID(session_id))]
        rows += (
            await session.execute(
                sa.select(RefreshToken).where(col(RefreshToken.session_id) == rows[0].id)
            )
        ).scalars()
        for row in rows:
            for column in type(row).__table__.columns:  # type: ignore[attr-defined]
                value = getattr(row, column.name)
                if isinstance(value, datetime):
                    setattr(row, column.name, value - shift)
            session.add(row)
        await session.commit()


async def new_staff(api, tokens) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = {
        "email": f"sess-{uuid.uuid4().hex[:12]}@demo.bank",
        "name": "Session Tester",
        "password": PASSWORD,
        "roles": ["teller"],
        "branch_id": "001",
    }
    response = await api.post("/users", json=body, headers=await tokens.headers_for("admin"))
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    response = await client.post(
        "/auth/login", json={"email": email, "password": PASSWORD}, headers=headers()
    )
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


async def refresh(client: httpx.AsyncClient, pair: dict[str, Any]) -> httpx.Response:
    return await client.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}, headers=headers()
    )


async def session_of(client: httpx.AsyncClient, pair: dict[str, Any]) -> str:
    me = await client.get("/auth/me", headers=headers(pair["access_token"]))
    assert me.status_code == 200, me.text
    session_id: str = me.json()["session_id"]
    return session_id


async def kept_alive_past_first_lifetime(
    client: httpx.AsyncClient, db: Database, email: str
) -> dict[str, Any]:
    """Sign in, then refresh every 40 s until 80 s have passed: 20 s past the first 60."""
    pair = await sign_in(client, email)
    session_id = await session_of(client, pair)
    for _ in range(2):
        await age_session(db, session_id, 40)
        response = await refresh(client, pair)
        assert response.status_code == 200, response.text
        pair = response.json()
    assert (await client.get("/auth/me", headers=headers(pair["access_token"]))).status_code == 200
    return pair


async def assert_signed_out(client: httpx.AsyncClient, pair: dict[str, Any]) -> None:
    """Neither the last access token nor the last refresh token works any more."""
    me = await client.get("/auth/me", headers=headers(pair["access_token"]))
    assert (me.status_code, me.json()["code"]) == (401, "TOKEN_REVOKED"), me.text
    refreshed = await refresh(client, pair)
    assert refreshed.status_code == 401, refreshed.text
    assert refreshed.json()["code"] in {"TOKEN_REVOKED", "INVALID_REFRESH_TOKEN"}


async def test_revoke_ends_a_session_refreshed_past_its_first_ttl(
    short_api, short_core, api, tokens
):
    """The issue's scenario: sign in, refresh past 60 s, revoke; both last tokens refused."""
    user = await new_staff(api, tokens)
    pair = await kept_alive_past_first_lifetime(
        short_api, short_core.state.services.db, user["email"]
    )
    response = await short_api.post(
        f"/users/{user['id']}/revoke-sessions", headers=await tokens.headers_for("admin")
    )
    assert response.status_code == 200, response.text
    await assert_signed_out(short_api, pair)
    assert response.json() == {"revoked": 1}


@pytest.mark.parametrize(
    "change",
    [{"roles": ["viewer"]}, {"branch_id": "002"}, {"is_active": False}],
    ids=["role", "branch", "deactivation"],
)
async def test_rights_change_revokes_a_refreshed_session_at_once(
    short_api, short_core, api, tokens, change
):
    user = await new_staff(api, tokens)
    pair = await kept_alive_past_first_lifetime(
        short_api, short_core.state.services.db, user["email"]
    )
    response = await short_api.patch(
        f"/users/{user['id']}", json=change, headers=await tokens.headers_for("admin")
    )
    assert response.status_code == 200, response.text
    await assert_signed_out(short_api, pair)


async def test_refresh_moves_the_sliding_expiry_and_idling_past_it_ends_the_session(
    short_api, short_core, api, tokens
):
    db = short_core.state.services.db
    user = await new_staff(api, tokens)
    pair = await kept_alive_past_first_lifetime(short_api, db, user["email"])
    async with db.session() as session:
        row = await session.get(AuthSession, uuid.UUID(await session_of(short_api, pair)))
        assert row is not None
        remaining = (row.expires_at - datetime.now(row.expires_at.tzinfo)).total_seconds()
    assert REFRESH_TTL - 5 < remaining <= REFRESH_TTL  # moved by the last refresh
    await age_session(db, str(row.id), REFRESH_TTL + 1)  # idle past it
    response = await refresh(short_api, pair)
    assert (response.status_code, response.json()["code"]) == (401, "INVALID_REFRESH_TOKEN")


@pytest.fixture
async def bounded_core(settings, database_ready):  # type: ignore[no-untyped-def]
    """Refresh tokens of 60 s and sessions that end 100 s after sign-in, whatever happens."""
    auth = dataclasses.replace(
        settings.auth, refresh_ttl_seconds=REFRESH_TTL, session_absolute_ttl_seconds=100
    )
    app = create_app(dataclasses.replace(settings, auth=auth))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40002))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://testserver{API}") as c:
        yield app, c
    await app.state.services.close()


async def test_refresh_is_refused_after_the_absolute_lifetime(bounded_core, api, tokens):
    app, client = bounded_core
    db = app.state.services.db
    user = await new_staff(api, tokens)
    pair = await sign_in(client, user["email"])
    session_id = await session_of(client, pair)
    await age_session(db, session_id, 50)
    response = await refresh(client, pair)
    assert response.status_code == 200, response.text
    pair = response.json()
    # Nothing the session mints outlives it: 50 s were left.
    assert pair["expires_in"] <= 50
    await age_session(db, session_id, 50)
    # 100 s after sign-in: the refresh token is 50 s old (of 60), the session is over.
    response = await refresh(client, pair)
    assert (response.status_code, response.json()["code"]) == (401, "INVALID_REFRESH_TOKEN")
    # A fresh sign-in is a fresh session.
    assert (await refresh(client, await sign_in(client, user["email"]))).status_code == 200


async def test_api_key_exchange_starts_its_session_afresh(bounded_core, api, tokens):
    """A machine client past the absolute lifetime presents its key again and carries on."""
    app, client = bounded_core
    db = app.state.services.db
    created = await api.post(
        "/api-keys",
        json={"name": f"key-{uuid.uuid4().hex[:8]}", "role": "viewer"},
        headers=await tokens.headers_for("admin"),
    )
    assert created.status_code == 201, created.text
    secret = created.json()["api_key"]

    async def exchange() -> dict[str, Any]:
        response = await client.post(
            "/auth/token", json={"api_key": secret}, headers=headers(None, TENANT)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    pair = await exchange()
    await age_session(db, created.json()["id"], 101)
    assert (await refresh(client, pair)).status_code == 401
    pair = await exchange()
    response = await refresh(client, pair)
    assert response.status_code == 200, response.text
    me = await client.get("/auth/me", headers=headers(response.json()["access_token"]))
    assert me.status_code == 200, me.text

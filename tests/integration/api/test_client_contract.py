"""Contract tests: the shared client against the real core app (httpx.ASGITransport)."""

import uuid

import httpx
import pytest

from app.client import (
    BankingAPIAuthError,
    BankingAPIConflict,
    BankingAPINotFound,
    BankingAPIPermissionError,
    BankingAPIValidationError,
    BankingClient,
    InMemoryTokenHolder,
    TokenRefresher,
    TokenSet,
)
from tests.support import API, SANDBOX_PASSWORD, TENANT


@pytest.fixture
async def client(core_app):
    transport = httpx.ASGITransport(app=core_app, client=("127.0.0.1", 41000))
    async with BankingClient(
        base_url=f"http://testserver{API}", tenant_id=TENANT, transport=transport
    ) as banking:
        yield banking


async def test_login_me_and_logout(client):
    result = await client.login("officer@demo.bank", SANDBOX_PASSWORD, request_id="contract-1")
    assert result.user.roles == ["officer"]
    assert result.tenant.code == TENANT
    me = await client.me(result.access_token)
    assert "accounts:write" in me.scopes
    await client.logout(result.access_token)
    with pytest.raises(BankingAPIAuthError) as refused:
        await client.me(result.access_token)
    assert refused.value.code == "TOKEN_REVOKED"


async def test_typed_errors_carry_code_details_and_request_id(client):
    with pytest.raises(BankingAPIAuthError) as bad_login:
        await client.login("officer@demo.bank", "wrong", request_id="contract-2")
    assert bad_login.value.code == "INVALID_CREDENTIALS"
    assert bad_login.value.request_id == "contract-2"
    viewer = await client.login("viewer@demo.bank", SANDBOX_PASSWORD)
    with pytest.raises(BankingAPIPermissionError) as forbidden:
        await client.get("/users", token=viewer.access_token)
    assert forbidden.value.code == "INSUFFICIENT_ROLE"
    with pytest.raises(BankingAPINotFound) as missing:
        await client.get(f"/customers/{uuid.uuid4()}", token=viewer.access_token)
    assert missing.value.code == "CUSTOMER_NOT_FOUND"
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    with pytest.raises(BankingAPIValidationError) as invalid:
        await client.post("/branches", token=admin.access_token, json={"code": "!", "name": ""})
    assert {d["field"] for d in invalid.value.details} >= {"code"}


async def test_idempotent_write_replays_through_the_client(client):
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    key = f"contract-{uuid.uuid4().hex}"
    body = {"code": uuid.uuid4().hex[:8].upper(), "name": "Contract Branch"}
    first = await client.post("/branches", token=admin.access_token, json=body, idempotency_key=key)
    again = await client.post("/branches", token=admin.access_token, json=body, idempotency_key=key)
    assert again == first
    with pytest.raises(BankingAPIConflict) as conflict:
        await client.post(
            "/branches",
            token=admin.access_token,
            json={**body, "name": "Other"},
            idempotency_key=key,
        )
    assert conflict.value.code == "IDEMPOTENCY_CONFLICT"


async def test_paginate_walks_every_page(client):
    admin = await client.login("admin@demo.bank", SANDBOX_PASSWORD)
    everything = (await client.get("/users", token=admin.access_token, params={"limit": 200}))[
        "users"
    ]
    walked = [
        u async for u in client.paginate("/users", "users", token=admin.access_token, page_size=2)
    ]
    assert [u["id"] for u in walked] == [u["id"] for u in everything]
    assert len(walked) >= 7  # the sandbox staff of demo_bank, and more


async def test_refresher_refreshes_against_the_real_core(client):
    from datetime import UTC, datetime, timedelta

    result = await client.login("teller@demo.bank", SANDBOX_PASSWORD)
    soon = datetime.now(UTC) + timedelta(seconds=60)  # inside the 5-minute margin
    holder = InMemoryTokenHolder(
        TokenSet(
            access_token=result.access_token, refresh_token=result.refresh_token, expires_at=soon
        )
    )
    refresher = TokenRefresher(client)
    fresh = await refresher.access_token(holder, TENANT)
    assert fresh != result.access_token
    assert (await client.me(fresh)).roles == ["teller"]
    stored = await holder.load()
    assert stored is not None and stored.refresh_token != result.refresh_token

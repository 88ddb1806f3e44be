"""Auth calls parse into typed models; lists iterate across cursor pages."""

import json
from datetime import UTC, datetime, timedelta

import httpx
from client_fakes import json_response

from app.client import AuthResult, Me, Page

LOGIN = {
    "access_token": "acc",
    "refresh_token": "ref",
    "token_type": "Bearer",
    "expires_in": 86400,
    "user": {
        "id": "u1",
        "email": "teller@demo.bank",
        "name": "Tess Teller",
        "roles": ["teller"],
        "branch_id": "001",
    },
    "tenant": {"id": "t1", "code": "demo_bank", "name": "Demo Bank"},
}


async def test_login_returns_auth_result_with_expiry(make_client):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, LOGIN)

    client = make_client(handler)
    result = await client.login(
        "teller@demo.bank", "pw", tenant="demo_bank", request_id="r1", forwarded_for="1.2.3.4"
    )

    assert isinstance(result, AuthResult)
    assert result.user.roles == ["teller"]
    assert result.user.branch_id == "001"
    assert result.tenant.code == "demo_bank"
    expected = datetime.now(UTC) + timedelta(seconds=86400)
    assert abs((result.expires_at - expected).total_seconds()) < 5
    assert result.token_set().access_token == "acc"
    assert "acc" not in repr(result)  # tokens stay out of reprs and so out of tracebacks
    (request,) = seen
    assert request.url.path == "/api/v1/cba/auth/login"
    assert "Authorization" not in request.headers
    assert request.headers["X-Forwarded-For"] == "1.2.3.4"
    assert json.loads(request.content) == {"email": "teller@demo.bank", "password": "pw"}


async def test_me_accepts_flat_or_nested_user(make_client):
    flat = {**LOGIN["user"], "scopes": ["accounts:read"], "tenant": LOGIN["tenant"]}
    nested = {"user": LOGIN["user"], "scopes": ["accounts:read"], "tenant": LOGIN["tenant"]}
    for body in (flat, nested):
        client = make_client(lambda r, body=body: json_response(200, body))
        me = await client.me("acc", tenant="demo_bank")
        assert isinstance(me, Me)
        assert me.email == "teller@demo.bank"
        assert me.roles == ["teller"]
        assert me.scopes == ["accounts:read"]
        assert me.tenant.name == "Demo Bank"
        assert me.user.branch_id == "001"


async def test_paginate_follows_next_cursor(make_client):
    pages = {
        None: {"accounts": [{"id": "1"}, {"id": "2"}], "has_more": True, "next_cursor": "c2"},
        "c2": {"accounts": [{"id": "3"}], "has_more": True, "next_cursor": "c3"},
        "c3": {"accounts": [{"id": "4"}], "has_more": False, "next_cursor": None},
    }
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, pages[request.url.params.get("cursor")])

    client = make_client(handler)
    ids = [
        item["id"]
        async for item in client.paginate(
            "/accounts", "accounts", token="t", params={"status": "ACTIVE"}, page_size=2
        )
    ]

    assert ids == ["1", "2", "3", "4"]
    assert [r.url.params.get("cursor") for r in seen] == [None, "c2", "c3"]
    assert {r.url.params["limit"] for r in seen} == {"2"}
    assert {r.url.params["status"] for r in seen} == {"ACTIVE"}


async def test_paginate_stops_on_repeated_cursor(make_client):
    body = {"journals": [{"id": "j"}], "has_more": True, "next_cursor": "same"}
    client = make_client(lambda r: json_response(200, body))
    items = [item async for item in client.paginate("/journals", "journals", token="t")]
    assert len(items) == 2


async def test_get_page(make_client):
    body = {"audit_logs": [{"id": "a"}], "has_more": True, "next_cursor": "n"}
    client = make_client(lambda r: json_response(200, body))
    page = await client.get_page("/audit-logs", "audit_logs", token="t", cursor="m")
    assert page == Page(items=[{"id": "a"}], has_more=True, next_cursor="n")

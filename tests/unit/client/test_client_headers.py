"""What every call sends, and how answers come back."""

import json
import re
from decimal import Decimal

import httpx
from client_fakes import BASE_URL, json_response

from app.client import BankingClient


async def test_write_sends_auth_tenant_request_id_key_and_forwarded_for(make_client):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(201, {"id": "t1", "amount": "1500.00"})

    client = make_client(handler)
    body = await client.post(
        "/deposits",
        token="tok-abc",
        tenant="other_bank",
        json={"account_id": "a1", "amount": Decimal("1500.00"), "currency": "NGN"},
        idempotency_key="k-123",
        request_id="req-abc",
        forwarded_for="10.1.2.3",
    )

    assert body == {"id": "t1", "amount": "1500.00"}
    (request,) = seen
    assert str(request.url) == f"{BASE_URL}/deposits"
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Bearer tok-abc"
    assert request.headers["X-Tenant-ID"] == "other_bank"
    assert request.headers["X-Request-ID"] == "req-abc"
    assert request.headers["Idempotency-Key"] == "k-123"
    assert request.headers["X-Forwarded-For"] == "10.1.2.3"
    assert request.headers["Content-Type"] == "application/json"
    # Decimal money goes out as a decimal string, never a float.
    assert json.loads(request.content)["amount"] == "1500.00"


async def test_defaults_tenant_and_generates_request_id_and_omits_optional_headers(make_client):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, {"ok": True})

    client = make_client(handler)
    await client.get("/tenant", token="t", params={"status": "ACTIVE", "q": None})

    (request,) = seen
    assert request.headers["X-Tenant-ID"] == "demo_bank"
    assert re.fullmatch(r"[0-9a-f]{32}", request.headers["X-Request-ID"])
    assert "Idempotency-Key" not in request.headers
    assert "X-Forwarded-For" not in request.headers
    assert "Content-Type" not in request.headers
    assert dict(request.url.params) == {"status": "ACTIVE"}


async def test_204_returns_none_and_numbers_parse_as_decimal(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/logout"):
            return httpx.Response(204)
        return httpx.Response(200, content=b'{"balance": 12.50}')

    client = make_client(handler)
    assert await client.logout("tok", tenant="demo_bank") is None
    body = await client.get("/accounts/a1", token="tok")
    assert body["balance"] == Decimal("12.50")
    assert not isinstance(body["balance"], float)


async def test_digital_banking_success_envelope_is_unwrapped(make_client):
    client = make_client(lambda r: json_response(200, {"success": True, "data": {"id": "x"}}))
    assert await client.get("/things/x", token="t") == {"id": "x"}


async def test_context_manager_closes_pool():
    transport = httpx.MockTransport(lambda r: json_response(200, {"ok": True}))
    async with BankingClient(BASE_URL, "demo_bank", transport=transport) as client:
        assert await client.get("/health") == {"ok": True}

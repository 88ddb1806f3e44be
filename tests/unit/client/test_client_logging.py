"""Each call is logged with what support needs, and never a secret."""

import httpx
import pytest
from client_fakes import json_response
from structlog.testing import capture_logs

SECRETS = ("tok-SECRET-1", "hunter2", "ref-SECRET-2", "acc-SECRET-3")


async def test_logs_calls_without_tokens_passwords_or_bodies(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/login"):
            return json_response(
                200,
                {
                    "access_token": "acc-SECRET-3",
                    "refresh_token": "ref-SECRET-2",
                    "token_type": "Bearer",
                    "expires_in": 60,
                    "user": {"id": "u", "email": "e", "name": "n", "roles": [], "branch_id": "1"},
                    "tenant": {"id": "t", "code": "c", "name": "n"},
                },
            )
        return json_response(503, {"code": "SERVICE_UNAVAILABLE", "message": "down"})

    client = make_client(handler)
    with capture_logs() as logs:
        await client.login("teller@demo.bank", "hunter2", request_id="req-login")
        with pytest.raises(Exception):
            await client.get("/accounts?q=Ada", token="tok-SECRET-1", request_id="req-get")
        with pytest.raises(Exception):
            await client.refresh("ref-SECRET-2")

    calls = [entry for entry in logs if entry["event"] == "banking_api.call"]
    login = calls[0]
    assert login["method"] == "POST"
    assert login["path"] == "/api/v1/cba/auth/login"
    assert login["status"] == 200
    assert login["request_id"] == "req-login"
    assert login["attempt"] == 1
    assert "duration_ms" in login
    gets = [c for c in calls if c["request_id"] == "req-get"]
    assert [c["attempt"] for c in gets] == [1, 2, 3, 4]
    assert any(entry["event"] == "banking_api.retry" for entry in logs)

    dumped = repr(logs)
    for secret in SECRETS:
        assert secret not in dumped
    assert "Ada" not in dumped  # query strings can carry customer search terms

"""Every error status becomes its typed exception, whatever the body's shape."""

import httpx
import pytest
from client_fakes import json_response

from app.client import (
    BankingAPIAuthError,
    BankingAPIBusinessRuleError,
    BankingAPIConflict,
    BankingAPIError,
    BankingAPINotFound,
    BankingAPIPermissionError,
    BankingAPIRateLimited,
    BankingAPIRejected,
    BankingAPITimeout,
    BankingAPIUnavailable,
    BankingAPIValidationError,
)


def cba_body(code: str) -> dict:
    return {
        "code": code,
        "message": f"{code} happened",
        "details": [{"field": "amount", "reason": "bad", "value": "500.00"}],
        "request_id": "req-from-body",
        "timestamp": "2026-11-22T10:00:00Z",
    }


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "VALIDATION_ERROR", BankingAPIValidationError),
        (401, "TOKEN_EXPIRED", BankingAPIAuthError),
        (403, "INSUFFICIENT_ROLE", BankingAPIPermissionError),
        (404, "ACCOUNT_NOT_FOUND", BankingAPINotFound),
        (405, "METHOD_NOT_ALLOWED", BankingAPIRejected),
        (409, "IDEMPOTENCY_CONFLICT", BankingAPIConflict),
        (413, "PAYLOAD_TOO_LARGE", BankingAPIValidationError),
        (415, "UNSUPPORTED_MEDIA_TYPE", BankingAPIValidationError),
        (422, "INSUFFICIENT_FUNDS", BankingAPIBusinessRuleError),
        (429, "RATE_LIMIT_EXCEEDED", BankingAPIRateLimited),
        (500, "INTERNAL_ERROR", BankingAPIError),
        (503, "SERVICE_UNAVAILABLE", BankingAPIUnavailable),
    ],
)
async def test_status_maps_to_exception_with_cba_body(make_client, status, code, cls):
    # POST without a key: never retried, so 429/503 surface at once.
    client = make_client(lambda r: json_response(status, cba_body(code)))
    with pytest.raises(cls) as caught:
        await client.post("/withdrawals", token="t", json={}, request_id="req-sent")
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, BankingAPIError)
    assert error.code == code
    assert error.message == f"{code} happened"
    assert error.status == status
    assert error.details == [{"field": "amount", "reason": "bad", "value": "500.00"}]
    assert error.request_id == "req-from-body"


async def test_rate_limited_carries_retry_after(make_client):
    client = make_client(
        lambda r: json_response(429, cba_body("RATE_LIMIT_EXCEEDED"), {"Retry-After": "7"})
    )
    with pytest.raises(BankingAPIRateLimited) as caught:
        await client.post("/withdrawals", token="t", json={})
    assert caught.value.retry_after == 7.0


async def test_other_5xx_without_code_is_internal_error(make_client):
    client = make_client(lambda r: json_response(500, {"message": "boom"}))
    with pytest.raises(BankingAPIError) as caught:
        await client.post("/withdrawals", token="t", json={}, request_id="req-1")
    assert type(caught.value) is BankingAPIError
    assert caught.value.code == "INTERNAL_ERROR"
    assert caught.value.request_id == "req-1"


async def test_error_keeps_whole_body_for_batch_results(make_client):
    body = {**cba_body("BATCH_REJECTED"), "results": [{"index": 0, "status": "FAILED"}]}
    client = make_client(lambda r: json_response(422, body))
    with pytest.raises(BankingAPIBusinessRuleError) as caught:
        await client.post("/transfers/batch", token="t", json={})
    assert caught.value.body is not None
    assert caught.value.body["results"] == [{"index": 0, "status": "FAILED"}]


async def test_non_json_error_is_still_typed(make_client):
    client = make_client(
        lambda r: httpx.Response(
            502, content=b"<html>Bad Gateway</html>", headers={"X-Request-ID": "r9"}
        )
    )
    with pytest.raises(BankingAPIError) as caught:
        await client.post("/deposits", token="t", json={})
    assert caught.value.code == "HTTP_502"
    assert caught.value.status == 502
    assert caught.value.request_id == "r9"


async def test_non_json_404_is_not_found(make_client):
    client = make_client(lambda r: httpx.Response(404, text="nope"))
    with pytest.raises(BankingAPINotFound) as caught:
        await client.post("/deposits", token="t", json={})
    assert caught.value.code == "HTTP_404"


async def test_digital_banking_failure_envelope(make_client):
    client = make_client(
        lambda r: json_response(
            422, {"success": False, "error": "Insufficient funds", "code": "INSUFFICIENT_FUNDS"}
        )
    )
    with pytest.raises(BankingAPIBusinessRuleError) as caught:
        await client.post("/transfers/internal", token="t", json={}, request_id="req-2")
    assert caught.value.code == "INSUFFICIENT_FUNDS"
    assert caught.value.message == "Insufficient funds"
    assert caught.value.request_id == "req-2"


async def test_digital_banking_failure_envelope_with_200_uses_the_code(make_client):
    client = make_client(
        lambda r: json_response(
            200, {"success": False, "error": "Gone", "code": "ACCOUNT_NOT_FOUND"}
        )
    )
    with pytest.raises(BankingAPINotFound) as caught:
        await client.get("/accounts/x", token="t")
    assert caught.value.status == 404


async def test_connection_error_is_unavailable_and_timeout_is_timeout(make_client):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(BankingAPIUnavailable) as caught:
        await make_client(refuse).post("/deposits", token="t", json={}, request_id="r1")
    assert caught.value.code == "CONNECTION_ERROR"
    assert caught.value.request_id == "r1"
    assert not isinstance(caught.value, BankingAPITimeout)

    with pytest.raises(BankingAPITimeout) as timed_out:
        await make_client(slow).post("/deposits", token="t", json={})
    assert timed_out.value.code == "TIMEOUT"
    assert isinstance(timed_out.value, BankingAPIUnavailable)


async def test_malformed_auth_answer_is_invalid_response_without_values(make_client):
    client = make_client(lambda r: json_response(200, {"access_token": "secret-token"}))
    with pytest.raises(BankingAPIError) as caught:
        await client.login("a@b.c", "pw")
    assert caught.value.code == "INVALID_RESPONSE"
    assert "secret-token" not in str(caught.value)
    assert "secret-token" not in repr(caught.value.details)


async def test_details_carry_machine_readable_codes(make_client):
    body = {
        "code": "PERIOD_CLOSE_BLOCKED",
        "message": "December 2026 cannot be closed",
        "details": [
            {"field": "amount", "code": "not_positive", "reason": "must be > 0", "value": 0},
            {
                "field": "journal",
                "code": "journal_pending",
                "reason": "journal awaiting approval",
                "value": "j-1",
                "reference": "JV1",
            },
            {"field": "secret", "reason": "not printable", "value": "hunter2 secret"},
        ],
    }
    client = make_client(lambda r: json_response(422, body))
    with pytest.raises(BankingAPIError) as caught:
        await client.post("/fiscal-periods/p/close", token="t")
    amount, journal, secret = caught.value.details
    assert (amount.field, amount.code, amount.reason, amount.value) == (
        "amount",
        "not_positive",
        "must be > 0",
        "0",
    )
    # Still a mapping of everything the core sent (the console reads extra keys).
    assert journal.code == "journal_pending" and journal["reference"] == "JV1"
    assert journal.get("entity_type") is None and dict(journal)["value"] == "j-1"
    assert secret.code is None  # an older core: the console falls back to the reason
    assert "hunter2" not in repr(caught.value.details)

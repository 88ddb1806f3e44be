"""The contract's error shape, raised as exceptions and rendered in one place."""

import json
import re
from datetime import UTC, datetime
from typing import Any

from app.core.detail_codes import DetailCode, from_msgspec, with_codes

API_PREFIX = "/api/v1/cba"

_STATUS_BY_CODE: dict[str, int] = {
    **dict.fromkeys(
        [
            "VALIDATION_ERROR",
            "INVALID_FORMAT",
            "MISSING_FIELD",
            "IDEMPOTENCY_KEY_REQUIRED",
            "TENANT_REQUIRED",
        ],
        400,
    ),
    **dict.fromkeys(
        [
            "UNAUTHORIZED",
            "INVALID_TOKEN",
            "TOKEN_EXPIRED",
            "TOKEN_REVOKED",
            "INVALID_CREDENTIALS",
            "INVALID_REFRESH_TOKEN",
            # staff identity (issue 14)
            "MFA_REQUIRED",
            "MFA_ENROLMENT_REQUIRED",
            "INVALID_MFA_CHALLENGE",
            "INVALID_MFA_CODE",
            "MFA_CODE_REUSED",
            "INVALID_ID_TOKEN",
            "UNKNOWN_ISSUER",
            "AUTHORIZATION_CODE_REJECTED",
        ],
        401,
    ),
    **dict.fromkeys(
        [
            "FORBIDDEN",
            "INSUFFICIENT_ROLE",
            "INSUFFICIENT_SCOPE",
            "TENANT_MISMATCH",
            "TENANT_INACTIVE",
            "ACCOUNT_LOCKED",
            "SELF_APPROVAL_FORBIDDEN",
            "BRANCH_SCOPE",
            "SSO_ACCESS_DENIED",
        ],
        403,
    ),
    **dict.fromkeys(
        [
            "RESOURCE_NOT_FOUND",
            "TENANT_NOT_FOUND",
            "CUSTOMER_NOT_FOUND",
            "ACCOUNT_NOT_FOUND",
            "GL_ACCOUNT_NOT_FOUND",
            "JOURNAL_NOT_FOUND",
            "PERIOD_NOT_FOUND",
        ],
        404,
    ),
    "METHOD_NOT_ALLOWED": 405,
    **dict.fromkeys(
        [
            "DUPLICATE_RESOURCE",
            "IDEMPOTENCY_CONFLICT",
            "IDEMPOTENCY_IN_PROGRESS",
            "INVALID_STATE",
            "ALREADY_REVERSED",
        ],
        409,
    ),
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    **dict.fromkeys(
        [
            "INSUFFICIENT_FUNDS",
            "ACCOUNT_FROZEN",
            "ACCOUNT_NOT_ACTIVE",
            "CURRENCY_MISMATCH",
            "UNBALANCED_JOURNAL",
            "PERIOD_CLOSED",
            "NO_OPEN_PERIOD",
            "PERIOD_CLOSE_BLOCKED",
            "LIMIT_EXCEEDED",
            "HEADER_ACCOUNT_NOT_POSTABLE",
            "MANUAL_ENTRY_NOT_ALLOWED",
            "SAME_ACCOUNT",
            "INTER_BRANCH_REQUIRED",
            "BATCH_REJECTED",
        ],
        422,
    ),
    "RATE_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
    "IDENTITY_PROVIDER_UNAVAILABLE": 503,
}

ERROR_CODES = frozenset(_STATUS_BY_CODE)


def status_for(code: str) -> int:
    return _STATUS_BY_CODE[code]


class ApiError(Exception):
    """An error the contract knows: its code fixes the status."""

    def __init__(
        self,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        # The code fixes the status, save where the contract names another for one rule.
        self.status = status or status_for(code)
        self.message = message
        # Every item leaves with a machine-readable code (issue 12).
        self.details = with_codes(details, code) if details else []
        self.headers = headers or {}
        # Extra top-level members, e.g. a batch's per-item results.
        self.extra = extra or {}


def field_error(
    field: str, reason: str, value: Any = None, code: DetailCode = DetailCode.INVALID
) -> dict[str, Any]:
    detail: dict[str, Any] = {"field": field, "code": code.value, "reason": reason}
    if value is not None:
        detail["value"] = value if isinstance(value, str | int | bool) else str(value)
    return detail


_MISSING = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"contains unknown field `([^`]+)`")
_AT = re.compile(r" - at `\$([^`]*)`$")
_STEP = re.compile(r"\.([^.\[]+)|\[([^\]]*)\]")


def _dotted(path: str) -> str:
    """msgspec's path (``.entries[1].amount``) as the API names fields (``entries.1.amount``)."""
    return ".".join(name or index for name, index in _STEP.findall(path))


def field_problem(message: str, field: str | None = None) -> dict[str, Any]:
    """A ``details`` entry for a body validation message (msgspec's wording): the field it
    names and why. ``field`` is where the message was raised, when known apart (the path
    in the message is then below it)."""
    at = _AT.search(message)
    if at is not None:
        field = ".".join(part for part in (field, _dotted(at.group(1))) if part) or None
        message = message[: at.start()]
    code = from_msgspec(message).value
    missing = _MISSING.search(message)
    if missing:
        return {"field": _below(field, missing.group(1)), "code": code, "reason": "required"}
    unknown = _UNKNOWN.search(message)
    if unknown:
        return {"field": _below(field, unknown.group(1)), "code": code, "reason": "unknown field"}
    return {"field": field or "body", "code": code, "reason": message or "invalid"}


def _below(where: str | None, name: str) -> str:
    return f"{where}.{name}" if where else name


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_body(
    code: str,
    message: str,
    request_id: str | None,
    details: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "details": with_codes(details, code) if details else [],
        "request_id": request_id,
        "timestamp": timestamp(),
    }
    if extra:
        body.update(extra)
    return body


def error_bytes(error: ApiError, request_id: str | None) -> bytes:
    body = error_body(error.code, error.message, request_id, error.details, error.extra)
    return json.dumps(body, separators=(",", ":")).encode()

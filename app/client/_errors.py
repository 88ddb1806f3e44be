"""The client's error tree, and turning an HTTP answer into one of its exceptions.

```
BankingAPIError                      code, message, status, details, request_id, body
├── BankingAPIInvalidResponse        502, an answer that does not parse as its model
├── BankingAPIUnavailable            503, connection errors
│   └── BankingAPITimeout            the call timed out (status 504)
└── BankingAPIRejected               the API refused the call (4xx)
    ├── BankingAPIValidationError    400, 413, 415
    ├── BankingAPIAuthError          401
    ├── BankingAPIPermissionError    403
    ├── BankingAPINotFound           404
    ├── BankingAPIConflict           409
    ├── BankingAPIBusinessRuleError  422
    └── BankingAPIRateLimited        429 (``retry_after``)
```

Any other 5xx is a plain :class:`BankingAPIError` (``INTERNAL_ERROR`` when the body names
no code). Both error shapes are understood: the CBA body ``{code, message, details,
request_id, timestamp}`` and the Digital Banking envelope ``{success: false, error, code}``.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = [
    "BankingAPIAuthError",
    "BankingAPIBusinessRuleError",
    "BankingAPIConflict",
    "BankingAPIError",
    "BankingAPIInvalidResponse",
    "BankingAPINotFound",
    "BankingAPIPermissionError",
    "BankingAPIRateLimited",
    "BankingAPIRejected",
    "BankingAPITimeout",
    "BankingAPIUnavailable",
    "BankingAPIValidationError",
    "ErrorDetail",
]


class ErrorDetail(Mapping[str, Any]):
    """One item of an error's ``details``: ``field``, ``code``, ``reason``, ``value``.

    ``code`` is the machine-readable reason (``not_positive``, ``required``, …; the core's
    list grows, so an unknown one is kept as sent); ``reason`` is English for people.
    Every key the core sent stays readable as a mapping (``detail["entity_id"]``,
    ``detail.get("reference")``): a ``PERIOD_CLOSE_BLOCKED`` item carries more than four.
    """

    __slots__ = ("_raw", "code", "field", "reason", "value")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = dict(raw)
        self.field: str | None = _text(raw.get("field"))
        self.code: str | None = _text(raw.get("code"))
        self.reason: str | None = _text(raw.get("reason"))
        value = raw.get("value")
        self.value: str | None = None if value is None else str(value)

    def __getitem__(self, key: str) -> Any:
        return self._raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        # Never the value: a rejected field may hold a secret.
        return f"ErrorDetail(field={self.field!r}, code={self.code!r}, reason={self.reason!r})"


class BankingAPIError(Exception):
    """An error answered by (or on the way to) the banking API.

    Attributes:
        code: The API's error code, e.g. ``INSUFFICIENT_FUNDS``; ``HTTP_<status>`` when the
            body was not JSON; ``CONNECTION_ERROR`` / ``TIMEOUT`` when no answer came.
        message: A human-readable message (safe to show staff).
        status: The HTTP status (503 for connection errors, 504 for timeouts).
        details: Per-field problems, each an :class:`ErrorDetail` (``field``, ``code``,
            ``reason``, ``value``; still readable as a mapping).
        request_id: The ``X-Request-ID`` of the call, for support and the audit trail.
        retry_after: Seconds the server asked us to wait (``Retry-After``), if any.
        body: The whole parsed error body (e.g. a rejected batch's ``results``), if JSON.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 500,
        details: Sequence[Mapping[str, Any]] | None = None,
        request_id: str | None = None,
        *,
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details: list[ErrorDetail] = [
            d if isinstance(d, ErrorDetail) else ErrorDetail(d) for d in details or ()
        ]
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body

    def __str__(self) -> str:
        return f"{self.code}: {self.message} (status {self.status}, request {self.request_id})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"status={self.status!r}, request_id={self.request_id!r})"
        )


class BankingAPIInvalidResponse(BankingAPIError):
    """The core answered, but not what its contract says (a model did not parse).

    ``code`` is ``INVALID_RESPONSE``, ``status`` 502; ``details`` name where the answer
    went wrong (``$.accounts[0].available_balance``) and why, never the value.
    """


class BankingAPIUnavailable(BankingAPIError):
    """The API could not be reached or said it is unavailable (503); worth retrying later."""


class BankingAPITimeout(BankingAPIUnavailable):
    """The call timed out; a write may or may not have taken effect (retry with its key)."""


class BankingAPIRejected(BankingAPIError):
    """The API refused the call (4xx); retrying the same call will not help."""


class BankingAPIValidationError(BankingAPIRejected):
    """The request was malformed or failed validation (400, 413, 415)."""


class BankingAPIAuthError(BankingAPIRejected):
    """Missing, bad, expired or revoked credentials (401)."""


class BankingAPIPermissionError(BankingAPIRejected):
    """Authenticated but not allowed: role, scope, tenant, branch or lockout (403)."""


class BankingAPINotFound(BankingAPIRejected):
    """The resource (or tenant) does not exist, or belongs to another tenant (404)."""


class BankingAPIConflict(BankingAPIRejected):
    """A duplicate, an idempotency conflict or an invalid state transition (409)."""


class BankingAPIBusinessRuleError(BankingAPIRejected):
    """A banking rule refused the operation, e.g. insufficient funds (422)."""


class BankingAPIRateLimited(BankingAPIRejected):
    """Too many requests (429); ``retry_after`` says how long to wait, when known."""


_CLASS_BY_STATUS: dict[int, type[BankingAPIError]] = {
    400: BankingAPIValidationError,
    401: BankingAPIAuthError,
    403: BankingAPIPermissionError,
    404: BankingAPINotFound,
    409: BankingAPIConflict,
    413: BankingAPIValidationError,
    415: BankingAPIValidationError,
    422: BankingAPIBusinessRuleError,
    429: BankingAPIRateLimited,
    503: BankingAPIUnavailable,
}

# The code a status implies when a JSON body names none.
_DEFAULT_CODE: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "RESOURCE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "BUSINESS_RULE_VIOLATION",
    429: "RATE_LIMIT_EXCEEDED",
    503: "SERVICE_UNAVAILABLE",
}

# The contract's code table, used only when the status says nothing (a Digital Banking
# failure envelope answered with 200).
_CODES_BY_STATUS: dict[int, tuple[str, ...]] = {
    400: (
        "VALIDATION_ERROR",
        "INVALID_FORMAT",
        "MISSING_FIELD",
        "IDEMPOTENCY_KEY_REQUIRED",
        "TENANT_REQUIRED",
    ),
    401: (
        "UNAUTHORIZED",
        "INVALID_TOKEN",
        "TOKEN_EXPIRED",
        "TOKEN_REVOKED",
        "INVALID_CREDENTIALS",
        "INVALID_REFRESH_TOKEN",
    ),
    403: (
        "FORBIDDEN",
        "INSUFFICIENT_ROLE",
        "INSUFFICIENT_SCOPE",
        "TENANT_MISMATCH",
        "TENANT_INACTIVE",
        "ACCOUNT_LOCKED",
        "SELF_APPROVAL_FORBIDDEN",
        "BRANCH_SCOPE",
    ),
    404: (
        "RESOURCE_NOT_FOUND",
        "TENANT_NOT_FOUND",
        "CUSTOMER_NOT_FOUND",
        "ACCOUNT_NOT_FOUND",
        "GL_ACCOUNT_NOT_FOUND",
        "JOURNAL_NOT_FOUND",
        "PERIOD_NOT_FOUND",
    ),
    405: ("METHOD_NOT_ALLOWED",),
    409: (
        "DUPLICATE_RESOURCE",
        "IDEMPOTENCY_CONFLICT",
        "IDEMPOTENCY_IN_PROGRESS",
        "INVALID_STATE",
        "ALREADY_REVERSED",
    ),
    413: ("PAYLOAD_TOO_LARGE",),
    415: ("UNSUPPORTED_MEDIA_TYPE",),
    422: (
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
    ),
    429: ("RATE_LIMIT_EXCEEDED",),
    500: ("INTERNAL_ERROR",),
    503: ("SERVICE_UNAVAILABLE",),
}
_STATUS_BY_CODE = {code: status for status, codes in _CODES_BY_STATUS.items() for code in codes}


def error_class(status: int) -> type[BankingAPIError]:
    """The exception class for an HTTP error status."""
    if status in _CLASS_BY_STATUS:
        return _CLASS_BY_STATUS[status]
    if 400 <= status < 500:
        return BankingAPIRejected
    return BankingAPIError


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def decode_json(content: bytes) -> Any:
    """Parse JSON with non-integral numbers as ``Decimal``, so money never becomes a float.

    Raises:
        ValueError: The content is not JSON.
    """
    return json.loads(content, parse_float=Decimal)


def _details(raw: Any) -> list[ErrorDetail]:
    if isinstance(raw, dict):
        return [ErrorDetail(raw)]
    if isinstance(raw, list):
        return [
            ErrorDetail(item if isinstance(item, dict) else {"reason": str(item)}) for item in raw
        ]
    return []


def _text(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None


def error_from_body(
    status: int,
    body: Any,
    *,
    request_id: str | None,
    retry_after: float | None = None,
    reason: str = "",
) -> BankingAPIError:
    """Build the typed exception for an error answer.

    Args:
        status: The HTTP status (may be 2xx for a Digital Banking failure envelope).
        body: The parsed JSON body, or ``None`` when it was not JSON.
        request_id: The request ID we sent (the body's or response's wins when present).
        retry_after: Parsed ``Retry-After``, if any.
        reason: The HTTP reason phrase, for messages when the body says nothing.
    """
    if not isinstance(body, dict):
        # Not our JSON (a proxy's HTML page, an empty body): still a typed error.
        return error_class(status)(
            f"HTTP_{status}",
            f"HTTP {status} {reason}".strip(),
            status,
            [],
            request_id,
            retry_after=retry_after,
        )

    error = body.get("error")
    code = _text(body.get("code"))
    message = _text(body.get("message"))
    details = _details(body.get("details"))
    if isinstance(error, dict):
        # Some gateways nest the CBA body under "error".
        code = code or _text(error.get("code"))
        message = message or _text(error.get("message"))
        details = details or _details(error.get("details"))
    elif isinstance(error, str):
        # The Digital Banking envelope: {"success": false, "error": "...", "code": "..."}.
        message = message or error

    cls = error_class(status)
    if status < 400:
        # A failure envelope answered with 2xx: the code is all we have to classify it by.
        status = _STATUS_BY_CODE.get(code or "", 400)
        cls = error_class(status) if code in _STATUS_BY_CODE else BankingAPIRejected
    if code is None:
        code = _DEFAULT_CODE.get(status, "INTERNAL_ERROR" if status >= 500 else f"HTTP_{status}")
    return cls(
        code,
        message or f"HTTP {status} {reason}".strip(),
        status,
        details,
        _text(body.get("request_id")) or request_id,
        retry_after=retry_after,
        body=body,
    )


def error_from_response(response: httpx.Response, *, request_id: str) -> BankingAPIError:
    """Build the typed exception for an HTTP response that is an error."""
    try:
        body: Any = decode_json(response.content) if response.content else None
    except ValueError:
        body = None
    return error_from_body(
        response.status_code,
        body,
        request_id=response.headers.get("X-Request-ID") or request_id,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        reason=response.reason_phrase,
    )


def error_from_transport(exc: httpx.TransportError, *, request_id: str) -> BankingAPIError:
    """Map a network-level failure (no HTTP answer) to Unavailable or Timeout."""
    if isinstance(exc, httpx.TimeoutException):
        return BankingAPITimeout(
            "TIMEOUT",
            f"The banking API did not answer in time ({type(exc).__name__})",
            504,
            [],
            request_id,
        )
    return BankingAPIUnavailable(
        "CONNECTION_ERROR",
        f"The banking API could not be reached ({type(exc).__name__})",
        503,
        [],
        request_id,
    )

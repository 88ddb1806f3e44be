"""The error body every refusal has (``api.md``, "Errors"), as types for the document.

The body is written by ``app.core.errors.error_body`` (one place, also for the chain's
middleware that answers before Litestar); these Structs describe it. Extra top-level
members (``blocker_count`` of ``PERIOD_CLOSE_BLOCKED``, a batch's ``results``) and extra
members of a detail (a closing blocker's ``entity_type``, …) are allowed by the schema.
"""

import msgspec

from app.core.detail_codes import DetailCode
from app.core.errors import ERROR_CODES

ErrorCode = msgspec.Meta(
    description="One of the contract's error codes (api.md): " + ", ".join(sorted(ERROR_CODES))
)


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    """One bad input or one reason of a refusal."""

    field: str | None
    code: DetailCode
    reason: str
    value: str | int | bool | msgspec.UnsetType = msgspec.UNSET


class ErrorBody(msgspec.Struct):
    """Every 4xx/5xx answer of the API."""

    code: str
    message: str
    details: list[ErrorDetail]
    request_id: str | None
    timestamp: str

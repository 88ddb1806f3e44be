"""Small helpers the feature routes share: IDs from paths, branch scope, dates, text."""

import uuid
from datetime import date, datetime
from typing import Any, overload

from app.core.context import Principal
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.permissions import has_role


def parse_id(value: str, code: str = "RESOURCE_NOT_FOUND", what: str = "resource") -> uuid.UUID:
    """A path ID; anything that is not a UUID cannot exist, so it is a 404 like a miss."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise ApiError(code, f"No such {what}.") from None


def check_branch_scope(principal: Principal, branch_code: str, what: str = "account") -> None:
    """Below manager, staff administer only their own branch (`roles.md`)."""
    if has_role(principal.roles, "manager"):
        return
    if principal.branch_code != branch_code:
        raise ApiError(
            "BRANCH_SCOPE",
            f"This {what} belongs to branch {branch_code}; you act for branch "
            f"{principal.branch_code} only.",
            [detail("branch_code", DetailCode.BRANCH_SCOPE, "outside your branch", branch_code)],
        )


def parse_date(value: str | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            "VALIDATION_ERROR",
            f"{field} must be a date (YYYY-MM-DD).",
            [detail(field, DetailCode.INVALID_FORMAT, "not a YYYY-MM-DD date", value[:40])],
        ) from None


@overload
def iso(value: datetime | date) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: datetime | date | None) -> str | None: ...
def iso(value: datetime | date | None) -> str | None:
    """A time as RFC 3339 in UTC (``…Z``), a day as YYYY-MM-DD (typed: a value gives text)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def clean_text(value: Any, field: str, max_length: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            raise ApiError(
                "VALIDATION_ERROR",
                f"{field} is required.",
                [detail(field, DetailCode.REQUIRED, "required")],
            )
        return None
    if not isinstance(value, str):
        raise ApiError(
            "VALIDATION_ERROR",
            f"{field} must be text.",
            [detail(field, DetailCode.INVALID_FORMAT, "must be a string")],
        )
    text = value.strip()
    if len(text) > max_length:
        raise ApiError(
            "VALIDATION_ERROR",
            f"{field} is longer than {max_length} characters.",
            [detail(field, DetailCode.TOO_LONG, f"at most {max_length} characters")],
        )
    return text

"""The bank's business date, read from the tenant once per page."""

from datetime import UTC, date, datetime
from typing import Any


def business_day(tenant: dict[str, Any]) -> date:
    """The tenant's business date (``GET /tenant``), today in UTC when it sends none."""
    try:
        return date.fromisoformat(str(tenant.get("business_date")))
    except ValueError:
        return datetime.now(UTC).date()

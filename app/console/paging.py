"""One page of a core list, as every console list page reads it."""

from typing import Any

from app.client import BankingAPIValidationError
from app.console.banking import CoreSession


async def page_of(
    core: CoreSession, path: str, resource: str, params: dict[str, Any]
) -> dict[str, Any]:
    """One page of a core list; a cursor the core does not accept restarts the list."""
    try:
        body = await core.get(path, params=params)
    except BankingAPIValidationError as exc:
        if exc.code != "INVALID_FORMAT" or not params.get("cursor"):
            raise
        body = await core.get(path, params={**params, "cursor": None})
    if not isinstance(body, dict):
        body = {}
    return {
        "items": list(body.get(resource) or []),
        "has_more": bool(body.get("has_more")),
        "next_cursor": body.get("next_cursor"),
    }

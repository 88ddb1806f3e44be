"""One page of a cursor-paginated list (``{<plural>: [...], has_more, next_cursor}``)."""

from typing import Generic, TypeVar

import msgspec

__all__ = ["Page"]

_ItemT = TypeVar("_ItemT")


class Page(msgspec.Struct, Generic[_ItemT], kw_only=True, frozen=True):
    """The items of one page, and the cursor of the next when ``has_more``.

    ``Page[Account]`` from a typed call; ``Page[dict[str, Any]]`` from an untyped one.
    """

    items: list[_ItemT]
    has_more: bool = False
    next_cursor: str | None = None

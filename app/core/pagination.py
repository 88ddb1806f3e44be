"""Keyset pagination, newest first: page 1,000 costs what page 1 costs."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.http import decode_cursor, encode_cursor


def _bigint(raw: Any) -> int:
    value = int(raw)
    if not -(2**63) <= value < 2**63:  # the database's BIGINT: anything else is not ours
        raise ValueError("out of range")
    return value


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.fromisoformat,
    "uuid": uuid.UUID,
    "int": _bigint,
}


Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class Slice(Generic[Item]):
    """One page of a list: its items, and the cursor of the next page when there is one.
    Each list's answer model wraps it (``{<plural>: items, has_more, next_cursor}``)."""

    items: list[Item]
    has_more: bool
    next_cursor: str | None


async def keyset_slice(
    session: AsyncSession,
    query: sa.Select[Any],
    keys: Sequence[tuple[Any, str]],
    *,
    limit: int,
    cursor: str | None,
    render: Callable[[Any], Item],
    value_of: Callable[[Any], Sequence[Any]],
) -> Slice[Item]:
    """Page ``query`` by ``keys`` (column, kind) descending; ``value_of(row)`` gives the keys."""
    after = decode_cursor(cursor, len(keys))
    if after is not None:
        try:
            values = [_PARSERS[kind](raw) for (_col, kind), raw in zip(keys, after, strict=True)]
        except (ValueError, TypeError):
            raise ApiError(
                "INVALID_FORMAT",
                "The cursor is not one this API issued.",
                [detail("cursor", DetailCode.INVALID_FORMAT, "malformed")],
            ) from None
        columns = [column for column, _kind in keys]
        query = query.where(sa.tuple_(*columns) < sa.tuple_(*values))
    query = query.order_by(*[column.desc() for column, _kind in keys]).limit(limit + 1)
    rows = list((await session.execute(query)).scalars().all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if rows:
        next_cursor = encode_cursor(
            [
                value.isoformat() if isinstance(value, datetime) else str(value)
                for value in value_of(rows[-1])
            ]
        )
    return Slice([render(row) for row in rows], has_more, next_cursor if has_more else None)

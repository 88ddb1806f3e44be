"""The one place the console and the client read the contract's dates, money and times.

The typed models decode through the same rules (``resources._base``): a business date is
exactly ``YYYY-MM-DD``, money a plain decimal string (never a float), a timestamp RFC 3339
with its offset. Each function raises :class:`ValueError` naming what it expected, never
echoing the value (it may come from a form or a token).
"""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

__all__ = ["Money", "Timestamp", "parse_business_date", "parse_money", "parse_timestamp"]

# Signed (balances, signed amounts), any number of integer digits (totals), no exponent,
# spaces, separators, NaN or Infinity: what "Money on the wire" (api.md) allows, plus a sign.
_MONEY = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class Money(Decimal):
    """A ``Decimal`` read from the contract's decimal string; the marker the models use.

    Values decode as this subclass so that msgspec hands their text to :func:`parse_money`
    (its own ``Decimal`` would accept ``NaN``, ``1E+5`` and JSON floats). Arithmetic on
    them gives plain ``Decimal``; compare and format them as any ``Decimal``.
    """

    __slots__ = ()


Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
"""An aware ``datetime``: the contract's times are RFC 3339 UTC, a naive one is refused."""


def parse_money(text: Any) -> Money:
    """A money amount from the contract's decimal string (``"1500.00"``, ``"-20.5"``).

    Raises:
        ValueError: ``text`` is not a decimal string (a float, an exponent, ``NaN`` …).
    """
    if type(text) is not str or not _MONEY.fullmatch(text):
        raise ValueError("expected a decimal string such as 1500.00")
    return Money(text)


def parse_business_date(text: Any) -> date:
    """A business date from ``YYYY-MM-DD`` (no time, no week dates, no day counts).

    Raises:
        ValueError: ``text`` is not a calendar date written as ``YYYY-MM-DD``.
    """
    if isinstance(text, str):
        try:
            return msgspec.convert(text, date)
        except msgspec.ValidationError:
            pass
    raise ValueError("expected a date as YYYY-MM-DD")


def parse_timestamp(text: Any) -> datetime:
    """An aware ``datetime`` from RFC 3339 with an offset (``2026-12-07T10:00:00Z``).

    Raises:
        ValueError: ``text`` is not an RFC 3339 timestamp with ``Z`` or an offset.
    """
    if isinstance(text, str):
        try:
            return msgspec.convert(text, Timestamp)
        except msgspec.ValidationError:
            pass
    raise ValueError("expected an RFC 3339 timestamp with a time zone")

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

__all__ = [
    "MONEY_MARK",
    "Money",
    "Timestamp",
    "parse_business_date",
    "parse_money",
    "parse_timestamp",
]

# Signed (balances, signed amounts), any number of integer digits (totals), no exponent,
# spaces, separators, NaN or Infinity: what "Money on the wire" (api.md) allows, plus a sign.
_MONEY = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class _MoneyMark:
    """The mark on a model's money fields (checked after decoding, see ``resources``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "money"


MONEY_MARK = _MoneyMark()

Money = Annotated[Decimal, MONEY_MARK]
"""A plain ``Decimal`` read exactly from the contract's decimal string.

msgspec decodes it from the text (never through a float: a JSON number is read from its
digits too); the model then refuses ``NaN`` and ``Infinity`` (``resources._base``).
The value is a plain ``Decimal``, so anything that encodes ``Decimal`` (msgspec, Litestar,
the client) writes it back as a decimal string, never as a float.
"""

Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
"""An aware ``datetime``: the contract's times are RFC 3339 UTC, a naive one is refused."""


MONEY_PROBLEM = "expected a decimal string such as 1500.00"


def parse_money(text: Any) -> Decimal:
    """A money amount from the contract's decimal string (``"1500.00"``, ``"-20.5"``).

    Raises:
        ValueError: ``text`` is not a decimal string (a float, an exponent, ``NaN`` …).
    """
    if type(text) is not str or not _MONEY.fullmatch(text):
        raise ValueError(MONEY_PROBLEM)
    return Decimal(text)


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

"""Numbers and dates formatted for people: thousands separators, currency symbols, Decimal."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

CURRENCY_SYMBOLS = {"NGN": "₦", "USD": "$", "EUR": "€", "GBP": "£"}
# Minor digits per currency (api.md: 2 for NGN/USD/EUR/GBP).
CURRENCY_DIGITS = {"NGN": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


def money(amount: Any, currency: str | None = "NGN") -> str:
    """``"1000000.00", "NGN"`` → ``"₦1,000,000.00"``; negatives get a true minus sign.

    Amounts are decimal strings or ``Decimal``; floats are refused (money is never a float).
    """
    if isinstance(amount, float):
        raise TypeError("money is never a float; pass a decimal string or Decimal")
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    code = (currency or "").upper()
    digits = CURRENCY_DIGITS.get(code, 2)
    text = format(abs(value), f",.{digits}f")
    symbol = CURRENCY_SYMBOLS.get(code)
    shown = f"{symbol}{text}" if symbol else f"{text} {code}".strip()
    return f"−{shown}" if value < 0 else shown


def count(value: Any) -> str:
    """A whole number with thousands separators."""
    try:
        return format(int(value), ",")
    except (TypeError, ValueError):
        return str(value)


def long_date(value: Any) -> str:
    """``2026-11-22`` → ``"Sunday 22 November 2026"``."""
    if isinstance(value, str):
        text: str = value
        try:
            value = date.fromisoformat(text[:10])
        except ValueError:
            return text
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value:%A} {value.day} {value:%B %Y}"
    return "" if value is None else f"{value}"


def short_date(value: Any) -> str:
    """``2026-11-22`` → ``"Sun 22 Nov 2026"``."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return f"{value}"
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value:%a} {value.day} {value:%b %Y}"
    return "" if value is None else f"{value}"


def with_article(word: str) -> str:
    """``"admin"`` → ``"an admin"``, ``"teller"`` → ``"a teller"``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"

"""Money on the wire: decimal strings in, integer minor units inside, strings out.

Never a float: JSON numbers are accepted only when exactly representable with the
currency's digits (the vendor's examples send numbers), and are parsed from their
text, not through binary floating point.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError

# ISO 4217 minor digits of the currencies we serve.
CURRENCY_DIGITS: dict[str, int] = {
    "NGN": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "GHS": 2,
    "KES": 2,
    "ZAR": 2,
    "XOF": 0,
    "JPY": 0,
}
SYMBOLS: dict[str, str] = {"NGN": "₦", "USD": "$", "EUR": "€", "GBP": "£"}
MAX_WHOLE_DIGITS = 12
MAX_AMOUNT = Decimal("999999999999.99")


def digits_of(currency: str) -> int:
    try:
        return CURRENCY_DIGITS[currency]
    except KeyError:
        raise ApiError(
            "VALIDATION_ERROR",
            f"Unsupported currency {currency!r}.",
            [
                detail(
                    "currency",
                    DetailCode.UNSUPPORTED_CURRENCY,
                    "unsupported currency",
                    str(currency),
                )
            ],
        ) from None


def amount_pattern(digits: int) -> re.Pattern[str]:
    fraction = rf"(\.[0-9]{{1,{digits}}})?" if digits else ""
    return re.compile(rf"^[0-9]{{1,{MAX_WHOLE_DIGITS}}}{fraction}$")


def parse_amount(value: Any, currency: str, field: str = "amount") -> int:
    """A positive amount in minor units, or ``VALIDATION_ERROR`` naming the field."""
    digits = digits_of(currency)
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _bad(
            field, value, DetailCode.INVALID_FORMAT, 'must be a decimal string such as "1500.00"'
        )
    # A JSON number arrives as a binary double; its shortest repr is the text that was
    # sent, which then meets the same grammar as a string (no exponent, <= D places).
    text = repr(value) if isinstance(value, float) else str(value)
    if not amount_pattern(digits).match(text):
        reason = (
            f"must be a decimal string with at most {digits} decimal places, "
            "no sign, exponent or separators"
        )
        raise _bad(field, value, grammar_code(text, digits), reason)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _bad(field, value, DetailCode.INVALID_FORMAT, "is not a number") from None
    if amount <= 0:
        raise _bad(field, value, DetailCode.NOT_POSITIVE, "must be greater than zero")
    if amount > MAX_AMOUNT:
        raise _bad(field, value, DetailCode.TOO_LARGE, "must be at most 999,999,999,999.99")
    return int(amount.scaleb(digits))


def format_amount(minor: int, currency: str) -> str:
    """Minor units as the contract's decimal string (``"1500.00"``; sign kept)."""
    digits = CURRENCY_DIGITS.get(currency, 2)
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}"


def display_amount(minor: int, currency: str) -> str:
    """For messages people read: ``₦1,500.00``."""
    text = format_amount(minor, currency)
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{grouped}"


_PLAIN_DECIMAL = re.compile(r"^([0-9]+)(?:\.([0-9]+))?$")


def grammar_code(text: str, digits: int) -> DetailCode:
    """Why an amount's text failed the grammar: too many places, too many whole digits
    (above the largest amount), or not a plain decimal at all (a sign, exponent, ...)."""
    plain = _PLAIN_DECIMAL.match(text)
    if plain is None:
        return DetailCode.INVALID_FORMAT
    whole, fraction = plain.group(1), plain.group(2) or ""
    if len(fraction) > digits:
        return DetailCode.TOO_MANY_DECIMALS
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        return DetailCode.TOO_LARGE
    return DetailCode.INVALID_FORMAT


def _bad(field: str, value: Any, code: DetailCode, reason: str) -> ApiError:
    shown = value if isinstance(value, str | int) and not isinstance(value, bool) else repr(value)
    return ApiError(
        "VALIDATION_ERROR", f"{field} {reason}.", [detail(field, code, reason, str(shown)[:40])]
    )

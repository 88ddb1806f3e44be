"""Numbers, dates and times formatted for people: thousands separators, currency symbols,
Decimal, and times on the bank's clock."""

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

from app.client import Tenant

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


def break_at_dots(name: Any) -> Markup:
    """``"transaction.deposit_created"`` escaped, with line-break chances after each ``.``
    and ``_``, so a narrow column wraps between words rather than inside them."""
    escaped = escape("" if name is None else f"{name}")
    return escaped.replace(".", Markup(".<wbr>")).replace("_", Markup("_<wbr>"))


# -- dates typed into forms, times on the bank's clock ---------------------------------------


def parse_day(value: str | None) -> date | None:
    """``YYYY-MM-DD`` (what ``<input type=date>`` sends) as a date; ``None`` when not one."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def zone_of(timezone: str | None) -> ZoneInfo:
    """The named timezone, UTC when it names none we know."""
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def bank_zone(tenant: Tenant) -> ZoneInfo:
    """The bank's timezone (``GET /tenant``), UTC when it names none we know."""
    return zone_of(tenant.timezone)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time from the core (UTC when it names no offset), or ``None`` when absent
    or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _zone(zone: ZoneInfo | str | None) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else zone_of(zone)


def local_time(value: Any, zone: ZoneInfo | str | None) -> str:
    """A core time on the bank's clock: ``"Tue 1 Dec 2026, 07:38"``; empty when there is
    none (``zone``: a ``ZoneInfo`` or a timezone name)."""
    moment = parse_time(value)
    if moment is None:
        return ""
    local = moment.astimezone(_zone(zone))
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"


def clock_time(value: Any, zone: ZoneInfo | str | None) -> str:
    """Just the ``HH:MM`` of :func:`local_time`."""
    moment = parse_time(value)
    return "" if moment is None else f"{moment.astimezone(_zone(zone)):%H:%M}"

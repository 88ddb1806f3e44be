"""The reports' figures as the console shows and exports them.

Amounts stay ``Decimal`` from the core's decimal strings to the page, the CSV and the
charts' labels; totals shown are the core's own (the console only adds up what the core
does not send). The CSV cells carry the core's decimal strings untouched.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.console.csv_export import csv_line, safe_cell


def to_decimal(value: Any) -> Decimal:
    """A core decimal string as ``Decimal`` (never through float); junk reads as zero."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def decimal_text(value: Decimal) -> str:
    """``Decimal`` as the API writes amounts (``"1500.00"``), for CSV cells we computed."""
    return format(value.quantize(Decimal("0.01")), "f")


# -- trial balance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialLine:
    """One GL account's line of a trial balance (in one currency)."""

    gl_account_id: str
    code: str
    name: str
    currency: str
    debit: Decimal
    credit: Decimal
    debit_text: str
    credit_text: str


@dataclass
class CurrencyBlock:
    """The lines of one currency and their totals (a journal balances per currency)."""

    currency: str
    lines: list[TrialLine] = field(default_factory=list)
    total_debit: Decimal = Decimal(0)
    total_credit: Decimal = Decimal(0)
    total_debit_text: str = "0.00"
    total_credit_text: str = "0.00"

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit


@dataclass
class TrialBalance:
    """A trial balance (live from the report, or stored with a closed period)."""

    as_of: str
    branch_code: str | None
    currency: str  # the tenant's base currency, listed first
    blocks: list[CurrencyBlock] = field(default_factory=list)

    @property
    def lines(self) -> list[TrialLine]:
        return [line for block in self.blocks for line in block.lines]

    @property
    def balanced(self) -> bool:
        return all(block.balanced for block in self.blocks)


def _amount_text(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if text else "0.00"


def _totals_by_currency(body: Mapping[str, Any], base: str) -> dict[str, tuple[str, str]]:
    """The core's totals: a ``totals`` list per currency, or one pair for the whole report."""
    found: dict[str, tuple[str, str]] = {}
    for raw in body.get("totals") or []:
        if isinstance(raw, Mapping) and raw.get("currency"):
            found[str(raw["currency"])] = (
                _amount_text(raw.get("total_debit")),
                _amount_text(raw.get("total_credit")),
            )
    if not found and body.get("total_debit") is not None:
        found[str(body.get("currency") or base)] = (
            _amount_text(body.get("total_debit")),
            _amount_text(body.get("total_credit")),
        )
    return found


def trial_balance(body: Mapping[str, Any] | None, currency: str) -> TrialBalance:
    """The core's trial balance (``GET /reports/trial-balance`` or a period's snapshot)."""
    body = body or {}
    base = str(body.get("currency") or currency)
    blocks: dict[str, CurrencyBlock] = {}
    for raw in body.get("lines") or []:
        if not isinstance(raw, Mapping):
            continue
        line_currency = str(raw.get("currency") or base)
        block = blocks.setdefault(line_currency, CurrencyBlock(line_currency))
        block.lines.append(
            TrialLine(
                gl_account_id=str(raw.get("gl_account_id") or raw.get("id") or ""),
                code=str(raw.get("code") or ""),
                name=str(raw.get("name") or ""),
                currency=line_currency,
                debit=to_decimal(raw.get("debit")),
                credit=to_decimal(raw.get("credit")),
                debit_text=_amount_text(raw.get("debit")),
                credit_text=_amount_text(raw.get("credit")),
            )
        )
    totals = _totals_by_currency(body, base)
    for code in totals:
        blocks.setdefault(code, CurrencyBlock(code))
    if not blocks:
        blocks[base] = CurrencyBlock(base)
    for code, block in blocks.items():
        block.lines.sort(key=lambda line: line.code)
        if code in totals:
            block.total_debit_text, block.total_credit_text = totals[code]
            block.total_debit = to_decimal(block.total_debit_text)
            block.total_credit = to_decimal(block.total_credit_text)
        else:
            block.total_debit = sum((line.debit for line in block.lines), Decimal(0))
            block.total_credit = sum((line.credit for line in block.lines), Decimal(0))
            block.total_debit_text = decimal_text(block.total_debit)
            block.total_credit_text = decimal_text(block.total_credit)
    ordered = sorted(blocks.values(), key=lambda b: (b.currency != base, b.currency))
    return TrialBalance(
        as_of=str(body.get("as_of") or ""),
        branch_code=str(body["branch_code"]) if body.get("branch_code") else None,
        currency=base,
        blocks=ordered,
    )


TRIAL_BALANCE_HEADER = ("Code", "Account", "Debit", "Credit", "Currency")


def trial_balance_csv(report: TrialBalance) -> Iterable[str]:
    """The trial balance as CSV lines, each currency's totals after its lines."""
    yield csv_line(TRIAL_BALANCE_HEADER)
    for block in report.blocks:
        for line in block.lines:
            yield csv_line(
                [
                    safe_cell(line.code),
                    safe_cell(line.name),
                    line.debit_text,
                    line.credit_text,
                    block.currency,
                ]
            )
        yield csv_line(
            ["", "Total", block.total_debit_text, block.total_credit_text, block.currency]
        )


# -- statements of balances (balance sheet, income statement) --------------------------------


@dataclass(frozen=True)
class StatementLine:
    """One account of a balance sheet or income statement, in its normal orientation."""

    code: str
    name: str
    amount: Decimal
    amount_text: str
    header: bool = False
    depth: int = 0


@dataclass
class Section:
    """A group of lines (assets, liabilities, equity, revenue, expenses) and its total."""

    key: str
    title: str
    lines: list[StatementLine] = field(default_factory=list)
    total: Decimal = Decimal(0)
    total_text: str = "0.00"


def _line_amount(raw: Mapping[str, Any]) -> Any:
    for name in ("amount", "balance", "total", "value"):
        if raw.get(name) is not None:
            return raw.get(name)
    return None


def section(body: Mapping[str, Any], key: str, title: str, *total_keys: str) -> Section:
    """A section of a statement, read from ``body[key]`` (a list of lines, or an object with
    ``lines`` / ``accounts`` and a ``total``), with the core's total when it sends one."""
    raw = body.get(key)
    lines_raw: list[Any] = []
    total: Any = None
    if isinstance(raw, Mapping):
        lines_raw = list(raw.get("lines") or raw.get("accounts") or [])
        total = raw.get("total")
    elif isinstance(raw, list):
        lines_raw = raw
    for name in total_keys:
        if total is None and body.get(name) is not None:
            total = body.get(name)
    lines = [
        StatementLine(
            code=str(line.get("code") or ""),
            name=str(line.get("name") or ""),
            amount=to_decimal(_line_amount(line)),
            amount_text=_amount_text(_line_amount(line)),
            header=bool(line.get("is_header")),
            depth=int(line.get("depth") or 0) if str(line.get("depth") or "0").isdigit() else 0,
        )
        for line in lines_raw
        if isinstance(line, Mapping)
    ]
    summed = sum((line.amount for line in lines if not line.header), Decimal(0))
    return Section(
        key=key,
        title=title,
        lines=lines,
        total=to_decimal(total) if total is not None else summed,
        total_text=_amount_text(total) if total is not None else decimal_text(summed),
    )


def amount_field(body: Mapping[str, Any], *names: str, default: Decimal) -> tuple[Decimal, str]:
    """The first of ``names`` the core sent, as ``(Decimal, text)``; else ``default``."""
    for name in names:
        if body.get(name) is not None:
            return to_decimal(body[name]), _amount_text(body[name])
    return default, decimal_text(default)


STATEMENT_HEADER = ("Section", "Code", "Account", "Amount", "Currency")


def statement_csv(
    sections: list[Section], totals: list[tuple[str, str]], currency: str
) -> Iterable[str]:
    """A balance sheet or income statement as CSV: each section's lines and total, then
    the statement's own totals (``(label, amount text)``)."""
    yield csv_line(STATEMENT_HEADER)
    for part in sections:
        for line in part.lines:
            yield csv_line(
                [part.title, safe_cell(line.code), safe_cell(line.name), line.amount_text, currency]
            )
        yield csv_line([part.title, "", f"Total {part.title.lower()}", part.total_text, currency])
    for label, amount in totals:
        yield csv_line(["", "", label, amount, currency])

"""The reports' figures as the console shows and exports them.

Amounts stay ``Decimal`` from the core's decimal strings to the page, the CSV and the
charts' labels; totals shown are the core's own (the console only adds up what the core
does not send). The CSV cells carry the core's decimal strings untouched.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.client import PeriodSnapshot, ReportSection
from app.client import TrialBalance as TrialBalanceReport
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


def _blocks(blocks: dict[str, CurrencyBlock], base: str) -> list[CurrencyBlock]:
    """Each currency's lines by code, the base currency first."""
    if not blocks:
        blocks[base] = CurrencyBlock(base)
    for block in blocks.values():
        block.lines.sort(key=lambda line: line.code)
    return sorted(blocks.values(), key=lambda b: (b.currency != base, b.currency))


def trial_balance(report: TrialBalanceReport) -> TrialBalance:
    """``GET /reports/trial-balance`` (one currency) as a :class:`TrialBalance`."""
    block = CurrencyBlock(
        report.currency,
        lines=[
            TrialLine(
                gl_account_id=line.gl_account_id,
                code=line.code,
                name=line.name,
                currency=report.currency,
                debit=line.debit,
                credit=line.credit,
                debit_text=str(line.debit),
                credit_text=str(line.credit),
            )
            for line in report.lines
        ],
        total_debit=report.total_debit,
        total_credit=report.total_credit,
        total_debit_text=str(report.total_debit),
        total_credit_text=str(report.total_credit),
    )
    return TrialBalance(
        as_of=report.as_of.isoformat(),
        branch_code=report.branch_code,
        currency=report.currency,
        blocks=_blocks({report.currency: block}, report.currency),
    )


def snapshot_trial_balance(snapshot: PeriodSnapshot, base: str) -> TrialBalance:
    """The trial balance a closed period keeps (every currency) as a :class:`TrialBalance`
    (``base``: the bank's base currency, listed first)."""
    blocks: dict[str, CurrencyBlock] = {}
    for line in snapshot.lines:
        blocks.setdefault(line.currency, CurrencyBlock(line.currency)).lines.append(
            TrialLine(
                gl_account_id=line.gl_account_id,
                code=line.code,
                name=line.name,
                currency=line.currency,
                debit=line.debit,
                credit=line.credit,
                debit_text=str(line.debit),
                credit_text=str(line.credit),
            )
        )
    for total in snapshot.totals:
        block = blocks.setdefault(total.currency, CurrencyBlock(total.currency))
        block.total_debit, block.total_credit = total.total_debit, total.total_credit
        block.total_debit_text = str(total.total_debit)
        block.total_credit_text = str(total.total_credit)
    return TrialBalance(
        as_of=snapshot.as_of.isoformat(),
        branch_code=None,
        currency=base,
        blocks=_blocks(blocks, base),
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


def section(part: ReportSection, key: str, title: str) -> Section:
    """A section of a statement as the core totals it."""
    return Section(
        key=key,
        title=title,
        lines=[
            StatementLine(
                code=line.code, name=line.name, amount=line.balance, amount_text=str(line.balance)
            )
            for line in part.lines
        ],
        total=part.total,
        total_text=str(part.total),
    )


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

"""The teller summary (deposits, withdrawals, counts and net cash per teller) and the daily
deposit / withdrawal volumes drawn on Home, both from ``GET /reports/teller-summary``."""

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from app.client import BankingAPIError
from app.client import TellerSummary as TellerSummaryReport
from app.console.banking import CoreSession
from app.console.charts import BarChart, Group, Series, bar_chart
from app.console.csv_export import csv_line, safe_cell
from app.console.errors import core_message
from app.console.formatting import money
from app.console.reports.figures import decimal_text


@dataclass(frozen=True)
class TellerLine:
    """One teller's day in one currency."""

    user_id: str
    teller: str
    email: str
    branch_code: str
    currency: str
    deposits: Decimal
    deposit_count: int
    withdrawals: Decimal
    withdrawal_count: int
    net_cash: Decimal


@dataclass
class TellerBlock:
    """The tellers' lines of one currency and their totals."""

    currency: str
    lines: list[TellerLine] = field(default_factory=list)

    @property
    def deposits(self) -> Decimal:
        return sum((line.deposits for line in self.lines), Decimal(0))

    @property
    def withdrawals(self) -> Decimal:
        return sum((line.withdrawals for line in self.lines), Decimal(0))

    @property
    def deposit_count(self) -> int:
        return sum(line.deposit_count for line in self.lines)

    @property
    def withdrawal_count(self) -> int:
        return sum(line.withdrawal_count for line in self.lines)

    @property
    def net_cash(self) -> Decimal:
        return sum((line.net_cash for line in self.lines), Decimal(0))


@dataclass
class TellerSummary:
    """Every teller's cash for one business date, per currency (the base currency first)."""

    day: str
    branch_code: str | None
    currency: str
    blocks: list[TellerBlock] = field(default_factory=list)

    @property
    def lines(self) -> list[TellerLine]:
        return [line for block in self.blocks for line in block.lines]

    @property
    def base(self) -> TellerBlock:
        """The base currency's block (empty on a quiet day)."""
        return next(
            (b for b in self.blocks if b.currency == self.currency), TellerBlock(self.currency)
        )

    @property
    def tellers(self) -> list[tuple[str, str]]:
        """``(user_id, label)`` of everyone in the summary, once each."""
        seen: dict[str, str] = {}
        for line in self.lines:
            if line.user_id and line.user_id not in seen:
                seen[line.user_id] = (
                    f"{line.teller} ({line.email})"
                    if line.email and line.email != line.teller
                    else line.teller
                )
        return sorted(seen.items(), key=lambda item: item[1].lower())


def teller_summary(report: TellerSummaryReport, currency: str) -> TellerSummary:
    """``GET /reports/teller-summary`` as a :class:`TellerSummary` (``currency``: the
    bank's base currency, listed first)."""
    summary = TellerSummary(
        day=report.date.isoformat(), branch_code=report.branch_code, currency=currency
    )
    blocks: dict[str, TellerBlock] = {}
    for row in report.tellers:
        email = row.email or ""
        blocks.setdefault(row.currency, TellerBlock(row.currency)).lines.append(
            TellerLine(
                user_id=row.user_id,
                teller=row.name or email,
                email=email,
                branch_code=row.branch_code or "",
                currency=row.currency,
                deposits=row.deposits.amount,
                deposit_count=row.deposits.count,
                withdrawals=row.withdrawals.amount,
                withdrawal_count=row.withdrawals.count,
                net_cash=row.net_cash,
            )
        )
    for block in blocks.values():
        block.lines.sort(key=lambda line: (line.branch_code, line.teller.lower()))
    summary.blocks = sorted(blocks.values(), key=lambda b: (b.currency != currency, b.currency))
    return summary


TELLER_HEADER = (
    "Teller",
    "Email",
    "Branch",
    "Deposits",
    "Deposit count",
    "Withdrawals",
    "Withdrawal count",
    "Net cash",
    "Currency",
)


def teller_summary_csv(summary: TellerSummary) -> Iterable[str]:
    """The summary as CSV lines, each currency's totals after its lines."""
    yield csv_line(TELLER_HEADER)
    for block in summary.blocks:
        for line in block.lines:
            yield csv_line(
                [
                    safe_cell(line.teller),
                    safe_cell(line.email),
                    line.branch_code,
                    decimal_text(line.deposits),
                    str(line.deposit_count),
                    decimal_text(line.withdrawals),
                    str(line.withdrawal_count),
                    decimal_text(line.net_cash),
                    block.currency,
                ]
            )
        yield csv_line(
            [
                "Total",
                "",
                summary.branch_code or "",
                decimal_text(block.deposits),
                str(block.deposit_count),
                decimal_text(block.withdrawals),
                str(block.withdrawal_count),
                decimal_text(block.net_cash),
                block.currency,
            ]
        )


# -- Home: daily volumes -----------------------------------------------------------------------

VOLUME_DAYS = 7
# A past day's totals barely change; they are kept a little while per process, so Home
# asks the core only for today's figures on most visits.
PAST_DAY_SECONDS = 120.0
_past_days: dict[tuple[str, str, str], tuple[float, TellerSummary]] = {}


@dataclass(frozen=True)
class DayVolume:
    day: date
    deposits: Decimal
    withdrawals: Decimal
    deposit_count: int
    withdrawal_count: int


async def _summary_for(
    core: CoreSession, day: date, branch: str | None, today: date, currency: str
) -> TellerSummary:
    key = (core.signed_in.tenant.code, branch or "", day.isoformat())
    cached = _past_days.get(key)
    now = time.monotonic()
    if day < today and cached is not None and now - cached[0] < PAST_DAY_SECONDS:
        return cached[1]
    params = {"date": day.isoformat(), "branch_code": branch}
    report = await core.get("/reports/teller-summary", params=params, model=TellerSummaryReport)
    summary = teller_summary(report, currency)
    if day < today:
        _past_days[key] = (now, summary)
    return summary


async def daily_volumes(
    core: CoreSession, today: date, branch: str | None, currency: str, days: int = VOLUME_DAYS
) -> list[DayVolume]:
    """Deposit and withdrawal totals for each of the last ``days`` business dates."""
    wanted = [today - timedelta(days=n) for n in reversed(range(days))]
    summaries = await asyncio.gather(
        *(_summary_for(core, day, branch, today, currency) for day in wanted)
    )
    blocks = [s.base for s in summaries]
    return [
        DayVolume(day, b.deposits, b.withdrawals, b.deposit_count, b.withdrawal_count)
        for day, b in zip(wanted, blocks, strict=True)
    ]


DEPOSITS = Series("deposits", "Deposits", "deposits")
WITHDRAWALS = Series("withdrawals", "Withdrawals", "withdrawals")


def volumes_chart(volumes: list[DayVolume], currency: str, where: str) -> BarChart | None:
    """Deposits and withdrawals per day as side-by-side bars."""
    if not volumes:
        return None
    last = volumes[-1]
    description = (
        f"Cash deposits and withdrawals per day at {where}, "
        f"{volumes[0].day:%-d %b} to {last.day:%-d %b %Y}. Today so far: "
        f"{money(last.deposits, currency)} in {last.deposit_count:,} deposits, "
        f"{money(last.withdrawals, currency)} in {last.withdrawal_count:,} withdrawals."
    )
    return bar_chart(
        [
            Group(
                f"{v.day:%a} {v.day.day}",
                {"deposits": v.deposits, "withdrawals": v.withdrawals},
                long_label=f"{v.day:%A} {v.day.day} {v.day:%B}",
            )
            for v in volumes
        ],
        [DEPOSITS, WITHDRAWALS],
        currency,
        description=description,
        width=560,
        height=220,
    )


def tellers_chart(block: TellerBlock, day: str) -> BarChart | None:
    """Each teller's deposits and withdrawals of one currency as side-by-side bars
    (``None`` on a day nobody took or paid out cash)."""
    if not block.lines:
        return None
    busiest = max(block.lines, key=lambda line: line.deposits + line.withdrawals)
    description = (
        f"Cash deposits and withdrawals per teller on {day}, in {block.currency}. "
        f"In all: {money(block.deposits, block.currency)} in, "
        f"{money(block.withdrawals, block.currency)} out; most handled by {busiest.teller}."
    )
    return bar_chart(
        [
            Group(
                line.teller,
                {"deposits": line.deposits, "withdrawals": line.withdrawals},
                long_label=f"{line.teller} ({line.branch_code})" if line.branch_code else "",
            )
            for line in block.lines
        ],
        [DEPOSITS, WITHDRAWALS],
        block.currency,
        description=description,
        # A pair of bars per teller, each pair about as wide on a quiet day as on a busy one.
        width=min(760, 120 + 130 * len(block.lines)),
        height=220,
    )


@dataclass(frozen=True)
class HomeVolumes:
    """Home's daily volumes panel: the chart, where it counts, today's figures, or why
    there are none (``note``)."""

    where: str
    chart: BarChart | None = None
    today: DayVolume | None = None
    days: list[DayVolume] | None = None  # None: they could not be read
    note: str | None = None


async def home_volumes(core: CoreSession, today: date, currency: str) -> HomeVolumes:
    """Home's daily volumes panel: the officer's own branch, a manager's whole bank."""
    role = core.signed_in.user.role
    branch = None if role in {"manager", "admin"} else core.signed_in.user.branch_id
    where = f"branch {branch}" if branch else "every branch"
    try:
        volumes = await daily_volumes(core, today, branch, currency)
    except BankingAPIError as exc:
        return HomeVolumes(where=where, note=core_message(exc))
    return HomeVolumes(
        where=where,
        chart=volumes_chart(volumes, currency, where),
        today=volumes[-1] if volumes else None,
        days=volumes,
    )

"""The statement's figures: the date range, totals, the balance chart and the CSV rows.

Amounts stay ``Decimal`` from the core's decimal strings to the CSV and the chart's labels;
only the chart's pixel positions are computed in floating point (they are drawing, not money).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from app.client import BalancePoint, StatementLine, StatementTotals
from app.console.charts import Tick, compact_money, value_axis
from app.console.csv_export import csv_line, safe_cell
from app.console.formatting import money, parse_day

# The statement opens on this many days up to the business date when no range is chosen.
DEFAULT_DAYS = 90
# The chart reads at most this many postings (newest first); older ones are left out.
CHART_MAX_POSTINGS = 2000

CSV_HEADER = (
    "Date",
    "Posted at",
    "Description",
    "Debit",
    "Credit",
    "Balance",
    "Currency",
    "Journal",
)


@dataclass(frozen=True)
class DateRange:
    """The statement's range (both ends included) and what was wrong with the input."""

    start: date
    end: date
    error: str | None = None

    @property
    def query(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def date_range(raw_from: str | None, raw_to: str | None, today: date) -> DateRange:
    """The range asked for, or the last :data:`DEFAULT_DAYS` days up to ``today``."""
    end = parse_day(raw_to)
    start = parse_day(raw_from)
    error = None
    if (raw_to and end is None) or (raw_from and start is None):
        error = "Enter dates like 2026-11-01; the default range is shown."
        start = end = None
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        error = "The start date is after the end date, so they were swapped."
        start, end = end, start
    return DateRange(start, end, error)


@dataclass
class Summary:
    """Opening and closing balances and the totals of the postings read."""

    currency: str
    count: int = 0
    opening: Decimal = Decimal(0)
    closing: Decimal = Decimal(0)
    credits: Decimal = Decimal(0)
    debits: Decimal = Decimal(0)
    complete: bool = True


def summary_of(totals: StatementTotals, currency: str) -> Summary:
    """The core's totals of a whole range (``GET /views/accounts/{id}``'s ``totals``)."""
    return Summary(
        currency=currency,
        count=totals.count,
        opening=totals.opening_balance,
        closing=totals.closing_balance,
        credits=totals.credits,
        debits=totals.debits,
        complete=True,
    )


# -- the chart -----------------------------------------------------------------------------


@dataclass
class Chart:
    """An inline SVG's geometry: one step line of the balance, its area, and the axes."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    line: str
    area: str
    zero_y: float | None
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    last_x: float = 0.0
    last_y: float = 0.0
    description: str = ""


def balance_chart(
    postings: list[BalancePoint],
    currency: str,
    span: DateRange,
    *,
    opened_at: datetime | None = None,
    zone: tzinfo = UTC,
    now: datetime | None = None,
    width: int = 760,
    height: int = 230,
) -> Chart | None:
    """The balance over ``span`` as a step line, from the postings' running balances.

    ``postings`` come newest first (as the statement lists them). The line starts when the
    range starts, or when the account was opened (``opened_at``) if that is later; labels
    read in the bank's ``zone``. ``None`` when there is nothing to draw.
    """
    if not postings:
        return None
    now = now or datetime.now(UTC)
    ordered = list(reversed(postings))
    opening = ordered[0].balance_after - ordered[0].signed_amount
    closing = postings[0].balance_after
    start = datetime.combine(span.start, time(), tzinfo=zone)
    end = min(datetime.combine(span.end + timedelta(days=1), time(), tzinfo=zone), now)
    if opened_at is not None:
        start = max(start, opened_at)
    times = [p.posted_at for p in ordered]
    start = min(start, times[0])
    end = max(end, times[-1])
    if end - start < timedelta(minutes=10):
        # Everything happened at once (a new account): give the steps room to be seen.
        end = start + timedelta(minutes=10)

    balances: list[Decimal] = [p.balance_after for p in ordered]
    axis_low, axis_high, step = value_axis([opening, *balances])

    left, right, top, bottom = 72, 16, 14, 30
    plot_w = width - left - right
    plot_h = height - top - bottom
    seconds = (end - start).total_seconds()

    def x_of(moment: datetime) -> float:
        return round(left + plot_w * (moment - start).total_seconds() / seconds, 1)

    def y_of(value: Decimal) -> float:
        share = float((value - axis_low) / (axis_high - axis_low))
        return round(top + plot_h * (1 - share), 1)

    x, y = x_of(start), y_of(opening)
    commands = [f"M{x},{y}"]
    for moment, balance in zip(times, balances, strict=True):
        x = x_of(moment)
        commands.append(f"H{x}")
        y = y_of(balance)
        commands.append(f"V{y}")
    x_end = x_of(end)
    commands.append(f"H{x_end}")
    line = " ".join(commands)
    base_y = y_of(max(axis_low, min(Decimal(0), axis_high)))
    area = f"{line} V{base_y} H{x_of(start)} Z"

    y_ticks = []
    value = axis_low
    while value <= axis_high:
        y_ticks.append(Tick(y_of(value), compact_money(value, currency)))
        value += step
    x_ticks = []
    within_days = end - start < timedelta(days=2)
    for share in (0.0, 0.5, 1.0):
        moment = (start + (end - start) * share).astimezone(zone)
        label = f"{moment:%H:%M}" if within_days else f"{moment.day} {moment:%b}"
        if within_days and share == 0.0:
            label = f"{moment.day} {moment:%b} {moment:%H:%M}"
        x_ticks.append(Tick(x_of(moment), label))

    first = money(opening, currency)
    last = money(closing, currency)
    began = start.astimezone(zone)
    since = (
        f"since the account opened, {began.day} {began:%b %Y} {began:%H:%M},"
        if began.date() > span.start
        else f"from {span.start:%-d %b %Y}"
    )
    plural = "posting" if len(postings) == 1 else "postings"
    description = (
        f"Balance {since} to {span.end:%-d %b %Y}: "
        f"{first} at the start, {last} after the latest of {len(postings):,} {plural}."
    )
    return Chart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        line=line,
        area=area,
        zero_y=y_of(Decimal(0)) if axis_low < 0 < axis_high else None,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        last_x=x_end,
        last_y=y,
        description=description,
    )


# -- CSV -------------------------------------------------------------------------------------


def csv_row(posting: StatementLine, currency: str) -> str:
    """One posting as a CSV line; amounts are the core's decimal strings, untouched."""
    credit = posting.entry_type == "credit"
    amount = str(posting.amount)
    return csv_line(
        [
            posting.effective_date.isoformat(),
            posting.posted_at.isoformat(),
            safe_cell(posting.description),
            "" if credit else amount,
            amount if credit else "",
            str(posting.balance_after),
            currency,
            posting.journal_id,
        ]
    )


def csv_filename(account_number: str, span: DateRange) -> str:
    safe_number = "".join(ch for ch in account_number if ch.isalnum()) or "account"
    return f"statement-{safe_number}-{span.start.isoformat()}-to-{span.end.isoformat()}.csv"

"""A teller's day: their transactions of the business date and the cash totals."""

from dataclasses import dataclass, field
from decimal import Decimal

from app.client import Transaction
from app.console.banking import CoreSession

PAGE_LIMIT = 200
MAX_PAGES = 10

TYPE_LABELS = {
    "DEPOSIT": "Deposit",
    "WITHDRAWAL": "Withdrawal",
    "TRANSFER": "Transfer",
    "INTER_BRANCH_TRANSFER": "Inter-branch transfer",
}
STATUS_LABELS = {
    "COMPLETED": "Completed",
    "PENDING_APPROVAL": "Awaiting approval",
    "REJECTED": "Rejected",
    "REVERSED": "Reversed",
}


@dataclass
class CurrencyTotals:
    """One currency's cash totals for the day (completed transactions only)."""

    currency: str
    deposits: Decimal = Decimal(0)
    deposit_count: int = 0
    withdrawals: Decimal = Decimal(0)
    withdrawal_count: int = 0
    pending: Decimal = Decimal(0)
    pending_count: int = 0

    @property
    def net_cash(self) -> Decimal:
        """Cash in minus cash out: what the till should have gained."""
        return self.deposits - self.withdrawals


@dataclass
class DaySummary:
    business_date: str
    timezone: str
    base_currency: str
    transactions: list[Transaction] = field(default_factory=list)
    totals: dict[str, CurrencyTotals] = field(default_factory=dict)
    rejected_count: int = 0
    transfer_count: int = 0
    truncated: bool = False

    @property
    def currencies(self) -> list[CurrencyTotals]:
        """Totals, the base currency first (always present, even on a quiet day)."""
        base = self.totals.get(self.base_currency) or CurrencyTotals(self.base_currency)
        others = [t for c, t in sorted(self.totals.items()) if c != self.base_currency]
        return [base, *others]


def summarise(
    transactions: list[Transaction], business_date: str, timezone: str, base_currency: str
) -> DaySummary:
    """Totals per currency; only completed cash counts towards the till."""
    day = DaySummary(business_date, timezone, base_currency, transactions)
    for t in transactions:
        totals = day.totals.setdefault(t.currency, CurrencyTotals(t.currency))
        amount, kind, status = t.amount, t.type, t.status
        if status == "REJECTED":
            day.rejected_count += 1
        elif status == "REVERSED":
            continue  # its journal was reversed: no money of it is left in the till
        elif status == "PENDING_APPROVAL":
            totals.pending += amount
            totals.pending_count += 1
        elif kind == "DEPOSIT":
            totals.deposits += amount
            totals.deposit_count += 1
        elif kind == "WITHDRAWAL":
            totals.withdrawals += amount
            totals.withdrawal_count += 1
        else:
            day.transfer_count += 1
    return day


async def my_day(core: CoreSession) -> DaySummary:
    """The signed-in user's transactions of today's business date, newest first."""
    tenant = await core.tenant()
    business_date = tenant.business_date.isoformat()
    timezone = tenant.timezone
    base = tenant.base_currency
    params: dict[str, str | int | None] = {
        "created_by": core.signed_in.user.id,
        "from": business_date,
        "to": business_date,
        "limit": PAGE_LIMIT,
    }
    found: list[Transaction] = []
    truncated = False
    for number in range(MAX_PAGES):
        page = await core.get_page("/transactions", Transaction, params=params)
        found.extend(page.items)
        if not (page.has_more and page.next_cursor):
            break
        if number == MAX_PAGES - 1:
            truncated = True
        params["cursor"] = page.next_cursor
    day = summarise(found, business_date, timezone, base)
    day.truncated = truncated
    return day

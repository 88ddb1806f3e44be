"""Finding the account a customer means: by number, name or phone, as the teller types."""

import re

import msgspec

from app.client import Account, BankingAPINotFound
from app.console.banking import CoreSession

MATCH_LIMIT = 8
_NUMBER = re.compile(r"^[0-9]{10}$")
_ID = re.compile(r"^[0-9a-fA-F-]{32,36}$")

STATUS_LABELS = {
    "ACTIVE": "Active",
    "PENDING": "Pending",
    "DORMANT": "Dormant",
    "FROZEN": "Frozen",
    "CLOSED": "Closed",
    "BLOCKED": "Blocked",
}


class AccountSummary(msgspec.Struct, kw_only=True, frozen=True):
    """What a money form keeps and shows of an account (kept in its draft as JSON; the
    balances as the core wrote them, to be shown, never summed)."""

    id: str
    account_number: str
    customer_name: str
    status: str
    available_balance: str
    ledger_balance: str
    currency: str
    branch_code: str
    account_type: str


def account_summary(account: Account) -> AccountSummary:
    """What a money form keeps and shows of ``account``."""
    return AccountSummary(
        id=account.id,
        account_number=account.account_number,
        customer_name=account.customer_name or "",
        status=account.status,
        available_balance=str(account.available_balance),
        ledger_balance=str(account.ledger_balance),
        currency=account.currency,
        branch_code=account.branch_code,
        account_type=account.account_type,
    )


def looks_like_id(value: str) -> bool:
    return bool(_ID.match(value))


async def search_accounts(core: CoreSession, query: str) -> list[AccountSummary]:
    """Accounts matching ``query``: an exact account number first, else number prefix,
    holder name or phone (the core's ``GET /accounts?q=``)."""
    term = query.strip()[:64]
    if len(term) < 2:
        return []
    if _NUMBER.match(term):
        try:
            found = await core.get(f"/accounts/by-number/{term}", model=Account)
        except BankingAPINotFound:
            return []
        return [account_summary(found)]
    page = await core.get_page("/accounts", Account, params={"q": term, "limit": MATCH_LIMIT})
    return [account_summary(a) for a in page.items]


async def fetch_account(core: CoreSession, account_id: str) -> AccountSummary | None:
    """One account by ID, or ``None`` when the core knows no such account."""
    if not looks_like_id(account_id):
        return None
    try:
        return account_summary(await core.get(f"/accounts/{account_id}", model=Account))
    except BankingAPINotFound:
        return None

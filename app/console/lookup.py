"""Finding the account a customer means: by number, name or phone, as the teller types."""

import re
from typing import Any

from app.client import BankingAPINotFound
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


def account_summary(body: dict[str, Any]) -> dict[str, Any]:
    """What a money form keeps and shows of an account (never more than the core said)."""
    return {
        "id": str(body.get("id") or ""),
        "account_number": str(body.get("account_number") or ""),
        "customer_name": str(body.get("customer_name") or ""),
        "status": str(body.get("status") or ""),
        "available_balance": str(body.get("available_balance") or "0"),
        "ledger_balance": str(body.get("ledger_balance") or "0"),
        "currency": str(body.get("currency") or "NGN"),
        "branch_code": str(body.get("branch_code") or ""),
        "account_type": str(body.get("account_type") or ""),
    }


def looks_like_id(value: str) -> bool:
    return bool(_ID.match(value))


async def search_accounts(core: CoreSession, query: str) -> list[dict[str, Any]]:
    """Accounts matching ``query``: an exact account number first, else number prefix,
    holder name or phone (the core's ``GET /accounts?q=``)."""
    term = query.strip()[:64]
    if len(term) < 2:
        return []
    if _NUMBER.match(term):
        try:
            return [account_summary(await core.get(f"/accounts/by-number/{term}"))]
        except BankingAPINotFound:
            return []
    body = await core.get("/accounts", params={"q": term, "limit": MATCH_LIMIT})
    found = body.get("accounts", []) if isinstance(body, dict) else []
    return [account_summary(a) for a in found if isinstance(a, dict)]


async def fetch_account(core: CoreSession, account_id: str) -> dict[str, Any] | None:
    """One account by ID, or ``None`` when the core knows no such account."""
    if not looks_like_id(account_id):
        return None
    try:
        return account_summary(await core.get(f"/accounts/{account_id}"))
    except BankingAPINotFound:
        return None

"""The one posting service every money movement goes through.

One call posts one journal atomically in the caller's transaction: customer accounts
are locked in a fixed order (by ID) on PostgreSQL — SQLite serializes writers — their
stored balances are checked and updated, and every posting is written with the
account's running balance. GL accounts are never locked: their balances are derived
from the postings, so the hot teller-cash, clearing and control accounts are not a
queue every transaction waits in.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account
from app.core.errors import ApiError
from app.core.ledger.models import Journal, Posting
from app.core.money import display_amount
from app.db import utcnow

DEBIT, CREDIT = "D", "C"
NOT_ACTIVE = {"CLOSED", "BLOCKED", "PENDING", "DORMANT"}


@dataclass
class Leg:
    """One side of a posting: a GL account, or a customer account under its control GL."""

    gl_account_id: uuid.UUID
    side: str
    amount: int
    currency: str
    account_id: uuid.UUID | None = None
    branch_code: str | None = None
    description: str | None = None


@dataclass
class PostingResult:
    postings: list[Posting] = field(default_factory=list)
    balances: dict[uuid.UUID, int] = field(default_factory=dict)  # account -> ledger after


def check_balanced(legs: Iterable[Leg]) -> None:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for leg in legs:
        totals[leg.currency][0 if leg.side == DEBIT else 1] += leg.amount
    for currency, (debits, credits) in totals.items():
        if debits != credits:
            raise ApiError(
                "UNBALANCED_JOURNAL",
                f"Debits ({display_amount(debits, currency)}) and credits "
                f"({display_amount(credits, currency)}) differ in {currency}.",
                [
                    {"field": "entries", "reason": "total debits", "value": str(debits)},
                    {"field": "entries", "reason": "total credits", "value": str(credits)},
                ],
            )


async def lock_accounts(
    session: AsyncSession, tenant_id: uuid.UUID, account_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Account]:
    """Load (and on PostgreSQL lock) customer accounts, always in ID order."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    query = (
        sa.select(Account)
        .where(col(Account.tenant_id) == tenant_id, col(Account.id).in_(ids))
        .order_by(col(Account.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rows = (await session.execute(query)).scalars().all()
    return {a.id: a for a in rows}


def available_balance(account: Account) -> int:
    return account.ledger_balance - account.hold_amount + account.overdraft_limit


def check_can_debit(account: Account, amount: int, *, field_name: str = "account_id") -> None:
    if account.status == "FROZEN":
        raise ApiError(
            "ACCOUNT_FROZEN",
            f"Account {account.account_number} is frozen: no debits until it is unfrozen.",
            [{"field": field_name, "reason": "account frozen", "value": account.account_number}],
        )
    if account.status in NOT_ACTIVE:
        raise ApiError(
            "ACCOUNT_NOT_ACTIVE",
            f"Account {account.account_number} is {account.status.lower()}.",
            [
                {
                    "field": field_name,
                    "reason": f"account {account.status.lower()}",
                    "value": account.account_number,
                }
            ],
        )
    available = available_balance(account)
    if amount > available:
        raise ApiError(
            "INSUFFICIENT_FUNDS",
            f"Available balance {display_amount(available, account.currency)} is below "
            f"{display_amount(amount, account.currency)}.",
            [
                {
                    "field": "amount",
                    "reason": "exceeds available balance",
                    "value": display_amount(amount, account.currency),
                    "available_balance": display_amount(available, account.currency),
                }
            ],
        )


def check_can_credit(account: Account, *, field_name: str = "account_id") -> None:
    if account.status in NOT_ACTIVE:
        raise ApiError(
            "ACCOUNT_NOT_ACTIVE",
            f"Account {account.account_number} is {account.status.lower()}: it takes no credits.",
            [
                {
                    "field": field_name,
                    "reason": f"account {account.status.lower()}",
                    "value": account.account_number,
                }
            ],
        )


async def post_journal(
    session: AsyncSession,
    journal: Journal,
    legs: list[Leg],
    accounts: dict[uuid.UUID, Account],
    *,
    effective_date: date,
    skip_funds_check: bool = False,
) -> PostingResult:
    """Post ``legs`` under ``journal`` (already added to the session), all or nothing.

    ``accounts`` are the customer accounts the legs touch, locked by the caller with
    :func:`lock_accounts` (callers lock once, before their own checks).
    """
    check_balanced(legs)
    result = PostingResult()
    # Net debits per account first, so a debit is checked against what is really left.
    for leg in legs:
        if leg.account_id is None:
            continue
        account = accounts[leg.account_id]
        if leg.currency != account.currency:
            raise ApiError(
                "CURRENCY_MISMATCH",
                f"Account {account.account_number} holds {account.currency}, not {leg.currency}.",
                [
                    {
                        "field": "currency",
                        "reason": f"account currency is {account.currency}",
                        "value": leg.currency,
                    }
                ],
            )
        if leg.side == DEBIT:
            if not skip_funds_check:
                check_can_debit(account, leg.amount)
            account.ledger_balance -= leg.amount
        else:
            check_can_credit(account)
            account.ledger_balance += leg.amount
        account.updated_at = utcnow()
        session.add(account)
        result.balances[account.id] = account.ledger_balance
        result.postings.append(
            Posting(
                tenant_id=journal.tenant_id,
                journal_id=journal.id,
                gl_account_id=leg.gl_account_id,
                account_id=account.id,
                branch_code=leg.branch_code or account.branch_code,
                side=leg.side,
                amount=leg.amount,
                currency=leg.currency,
                balance_after=account.ledger_balance,
                effective_date=effective_date,
                description=leg.description,
            )
        )
    for leg in legs:
        if leg.account_id is None:
            result.postings.append(
                Posting(
                    tenant_id=journal.tenant_id,
                    journal_id=journal.id,
                    gl_account_id=leg.gl_account_id,
                    branch_code=leg.branch_code,
                    side=leg.side,
                    amount=leg.amount,
                    currency=leg.currency,
                    effective_date=effective_date,
                    description=leg.description,
                )
            )
    session.add_all(result.postings)
    journal.status = "POSTED"
    journal.posted_at = journal.posted_at or utcnow()
    session.add(journal)
    return result

"""What posting a journal would do, decided before anything is written.

:func:`plan_postings` is the ledger's one set of posting rules, and it is pure: it reads
the legs and the customer accounts' standing (balances, holds, overdraft, status) and
answers a :class:`PostingPlan` — each account's change and balance after, and the rows
to write — or refuses with the contract's error. It changes nothing and reads nothing
else, so both writers (:func:`app.core.ledger.posting.post_journal` on the ORM session,
:func:`app.core.ledger.posting.post_legs` on locked rows) execute the same decision, and
a refusal leaves no trace in either.

The rules that need more than the legs and the accounts are checked by the callers
before they plan, where they already hold what the rule reads: whether the period takes
postings (``app.core.periods.service.check_period_row``), whether a manual journal's GL
accounts take lines (``app.core.journals.service.line_problems``: headers, inactive,
system-only accounts).
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from app.core.errors import ApiError
from app.core.money import display_amount

DEBIT, CREDIT = "D", "C"
# Account statuses that take neither debits nor credits (FROZEN still takes credits).
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


class Funds(Protocol):
    """What the debit and credit rules read of an account (an ORM row or a locked one)."""

    @property
    def account_number(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def ledger_balance(self) -> int: ...
    @property
    def hold_amount(self) -> int: ...
    @property
    def overdraft_limit(self) -> int: ...


class PostableAccount(Funds, Protocol):
    """A customer account as the plan reads it: its funds, and where its postings sit."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def branch_code(self) -> str: ...


@dataclass(frozen=True)
class _Standing:
    """An account's funds part-way through a journal (its earlier legs applied)."""

    account_number: str
    currency: str
    status: str
    ledger_balance: int
    hold_amount: int
    overdraft_limit: int


@dataclass(frozen=True)
class PlannedPosting:
    """One posting row to write (its journal, tenant and dates are the writer's)."""

    gl_account_id: uuid.UUID
    side: str
    amount: int
    currency: str
    account_id: uuid.UUID | None
    branch_code: str | None
    balance_after: int | None  # the customer account's running balance; None for a GL leg
    description: str | None


@dataclass(frozen=True)
class PostingPlan:
    """What posting the legs does: nothing here has been written or changed yet.

    ``postings`` lists the customer accounts' legs first (in leg order, each with the
    running balance it leaves), then the GL accounts' legs, the order both writers have
    always written them in.
    """

    postings: tuple[PlannedPosting, ...]
    deltas: Mapping[uuid.UUID, int]  # each customer account's net change (credits +)
    balances: Mapping[uuid.UUID, int]  # each customer account's ledger balance after


def available_balance(account: Funds) -> int:
    """What may still be debited: the ledger balance less holds, plus the overdraft."""
    return account.ledger_balance - account.hold_amount + account.overdraft_limit


def check_balanced(legs: Iterable[Leg]) -> None:
    """Debits equal credits in every currency (double entry)."""
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


def check_same_currency(account: Funds, currency: str) -> None:
    """A customer account moves only in the currency it is held in."""
    if currency != account.currency:
        raise ApiError(
            "CURRENCY_MISMATCH",
            f"Account {account.account_number} holds {account.currency}, not {currency}.",
            [
                {
                    "field": "currency",
                    "reason": f"account currency is {account.currency}",
                    "value": currency,
                }
            ],
        )


def check_can_debit(account: Funds, amount: int, *, field_name: str = "account_id") -> None:
    """A debit needs an active, unfrozen account with ``amount`` available."""
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


def check_can_credit(account: Funds, *, field_name: str = "account_id") -> None:
    """A credit needs an account that is open (a frozen one still takes credits)."""
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


def _standing(account: Funds, moved: int) -> _Standing:
    return _Standing(
        account.account_number,
        account.currency,
        account.status,
        account.ledger_balance + moved,
        account.hold_amount,
        account.overdraft_limit,
    )


def plan_postings(
    legs: Sequence[Leg],
    accounts: Mapping[uuid.UUID, PostableAccount],
    *,
    skip_funds_check: bool = False,
) -> PostingPlan:
    """Decide what posting ``legs`` does to ``accounts`` (the customer accounts they
    touch), or refuse: every rule runs before anything changes, and nothing does here.

    The rules, in the order a refusal names the first broken one: the journal balances
    in every currency; then leg by leg, each customer leg is in its account's currency,
    a debit finds the account active, unfrozen and with the amount available after the
    journal's earlier legs, and a credit finds it open. ``skip_funds_check`` leaves the
    debit rule (status and amount) to the caller, who checked it already: the journal's
    net debit per account, or a teller movement's one debit before its hold or approval.
    """
    check_balanced(legs)
    moved: dict[uuid.UUID, int] = defaultdict(int)
    customer: list[PlannedPosting] = []
    general: list[PlannedPosting] = []
    for leg in legs:
        if leg.account_id is None:
            general.append(_planned(leg, None, leg.branch_code, None))
            continue
        account = accounts[leg.account_id]
        check_same_currency(account, leg.currency)
        if leg.side == DEBIT:
            if not skip_funds_check:
                check_can_debit(_standing(account, moved[account.id]), leg.amount)
            moved[account.id] -= leg.amount
        else:
            check_can_credit(account)
            moved[account.id] += leg.amount
        customer.append(
            _planned(
                leg,
                account.id,
                leg.branch_code or account.branch_code,
                account.ledger_balance + moved[account.id],
            )
        )
    return PostingPlan(
        postings=tuple(customer + general),
        deltas=MappingProxyType(dict(moved)),
        balances=MappingProxyType(
            {account_id: accounts[account_id].ledger_balance + m for account_id, m in moved.items()}
        ),
    )


def _planned(
    leg: Leg, account_id: uuid.UUID | None, branch_code: str | None, balance_after: int | None
) -> PlannedPosting:
    return PlannedPosting(
        gl_account_id=leg.gl_account_id,
        side=leg.side,
        amount=leg.amount,
        currency=leg.currency,
        account_id=account_id,
        branch_code=branch_code,
        balance_after=balance_after,
        description=leg.description,
    )

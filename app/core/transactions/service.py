"""Deposits, withdrawals and transfers: each a system journal through the posting service.

Above the tenant's ``teller_approval_limit`` a transaction waits in PENDING_APPROVAL:
a withdrawal's or transfer's funds are held at once; an officer other than the maker
approves (posts) or rejects (releases) it.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account, Hold
from app.core.accounts.service import get_account, settle_hold
from app.core.audit import service as audit
from app.core.common import check_branch_scope, iso, parse_id
from app.core.context import Principal, RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.ledger.chart import clearing_code, teller_cash_code
from app.core.ledger.numbers import journal_number, transaction_ref
from app.core.ledger.planning import (
    CREDIT,
    DEBIT,
    Leg,
    check_can_credit,
    check_can_debit,
    check_same_currency,
)
from app.core.ledger.posting import (
    LedgerWrites,
    LockedAccount,
    lock_account_rows,
    lock_accounts,
    post_legs,
)
from app.core.ledger.store import LedgerStore, MovementReads, SessionLedger, TenantTerms
from app.core.maker_checker import check_not_maker, same_person_may_check
from app.core.money import display_amount, format_amount, parse_amount
from app.core.periods.service import check_period_row, open_period_for
from app.core.permissions import has_role
from app.core.tenants.models import Tenant
from app.core.transactions import responses as answers
from app.core.transactions.models import Transaction
from app.core.webhooks import outbox
from app.db import new_id, utcnow

_TENANTS: sa.Table = Tenant.__table__  # type: ignore[attr-defined]
DEPOSIT, WITHDRAWAL = "DEPOSIT", "WITHDRAWAL"
TRANSFER, INTER_BRANCH = "TRANSFER", "INTER_BRANCH_TRANSFER"


@dataclass
class TransactionRecord:
    """A transaction this request writes: the columns of ``transactions``, no ORM object
    (the transfer path inserts its rows with Core statements, a batch all at once)."""

    tenant_id: uuid.UUID
    transaction_ref: str
    type: str
    status: str
    amount: int
    currency: str
    account_id: uuid.UUID
    counterparty_account_id: uuid.UUID | None
    narration: str | None
    depositor_name: str | None
    branch_code: str
    business_date: date
    created_by: uuid.UUID
    created_by_email: str
    id: uuid.UUID = field(default_factory=new_id)
    balance_after: int | None = None
    journal_id: uuid.UUID | None = None
    hold_id: uuid.UUID | None = None
    created_at: datetime = field(default_factory=utcnow)
    approved_by: uuid.UUID | None = None
    approved_at: datetime | None = None
    rejected_by: uuid.UUID | None = None
    rejected_at: datetime | None = None
    rejection_reason: str | None = None


def transaction_body(t: Transaction | TransactionRecord) -> answers.Transaction:
    return transaction_as(answers.Transaction, t)


ATransaction = TypeVar("ATransaction", bound=answers.Transaction)


def transaction_as(
    model: type[ATransaction], t: Transaction | TransactionRecord, **more: Any
) -> ATransaction:
    """``t`` as ``model`` (the Transaction answer or one that extends it, ``more`` its
    further members)."""
    return model(
        id=str(t.id),
        transaction_ref=t.transaction_ref,
        type=t.type,
        status=t.status,
        amount=format_amount(t.amount, t.currency),
        currency=t.currency,
        account_id=str(t.account_id),
        counterparty_account_id=(
            str(t.counterparty_account_id) if t.counterparty_account_id else None
        ),
        narration=t.narration,
        depositor_name=t.depositor_name,
        balance_after=(
            format_amount(t.balance_after, t.currency) if t.balance_after is not None else None
        ),
        journal_id=str(t.journal_id) if t.journal_id else None,
        branch_code=t.branch_code,
        business_date=iso(t.business_date),
        created_at=iso(t.created_at),
        created_by=str(t.created_by),
        created_by_email=t.created_by_email,
        approved_by=str(t.approved_by) if t.approved_by else None,
        approved_at=iso(t.approved_at),
        rejected_by=str(t.rejected_by) if t.rejected_by else None,
        rejected_at=iso(t.rejected_at),
        rejection_reason=t.rejection_reason,
        **more,
    )


def transaction_event(t: Transaction | TransactionRecord) -> dict[str, Any]:
    """A transaction as a webhook event's (and an audit record's) plain JSON members."""
    plain: dict[str, Any] = msgspec.to_builtins(transaction_body(t))
    return plain


@dataclass
class Movement:
    """A validated request to move money, before anything is locked."""

    type: str
    amount: int
    currency: str
    account_id: uuid.UUID
    counterparty_id: uuid.UUID | None
    narration: str | None
    depositor_name: str | None = None


def cash_movement(kind: str, data: Any) -> Movement:
    """Body checks first (400), before any lookup (404), as api.md orders them."""
    currency = str(data.currency).upper()
    amount = parse_amount(data.amount, currency)
    account_id = parse_id(data.account_id, "ACCOUNT_NOT_FOUND", "account")
    return Movement(
        kind,
        amount,
        currency,
        account_id,
        None,
        (data.narration or "").strip() or None,
        (getattr(data, "depositor_name", None) or "").strip() or None,
    )


def transfer_movement(kind: str, data: Any) -> Movement:
    currency = str(data.currency).upper()
    amount = parse_amount(data.amount, currency)
    source = parse_id(data.source_account_id, "ACCOUNT_NOT_FOUND", "account")
    destination = parse_id(data.destination_account_id, "ACCOUNT_NOT_FOUND", "account")
    if source == destination:
        raise ApiError(
            "SAME_ACCOUNT",
            "Source and destination are the same account.",
            [{"field": "destination_account_id", "reason": "same as source"}],
        )
    return Movement(
        kind, amount, currency, source, destination, (data.narration or "").strip() or None
    )


class TransactionService:
    def __init__(
        self,
        session: AsyncSession | None,
        ctx: RequestContext,
        *,
        production: bool = True,
        ledger: LedgerStore | None = None,
    ) -> None:
        """On ``session`` (the ORM session: approvals, batches, SQLite), or through
        ``ledger`` alone (a raw PostgreSQL connection, ``PgLedger``: single movements)."""
        assert ctx.principal is not None and ctx.tenant is not None
        assert session is not None or ledger is not None
        self._session = session
        self.ledger: LedgerStore = ledger or SessionLedger(session)  # type: ignore[arg-type]
        self.ctx = ctx
        self.principal: Principal = ctx.principal
        self.tenant_id = ctx.tenant.id
        # Production mode ignores the tenant's same-maker-checker setting (strict unless
        # the caller says otherwise).
        self.production = production
        # A batch locks every account it touches once, up front, checks the period once
        # and writes every item's rows together at the end (``flush``).
        self._locked: dict[uuid.UUID, LockedAccount] | None = None
        self._open_dates: set[date] = set()
        self._terms: TenantTerms | None = None
        self.writes = LedgerWrites()

    async def preload(self, account_ids: list[uuid.UUID]) -> None:
        """Lock every account a batch touches in one query (in ID order, so no deadlocks).

        From here on :meth:`execute` only collects rows; :meth:`flush` writes them.
        """
        self._locked = await self.ledger.lock_accounts(self.tenant_id, account_ids)

    async def flush(self) -> None:
        """Write what the executed movements collected (one statement per table)."""
        await self.ledger.write(self.writes)

    @property
    def session(self) -> AsyncSession:
        """The ORM session (approvals and the like); a raw-connection service has none."""
        if self._session is None:
            raise RuntimeError("this service writes through a raw connection")
        return self._session

    def crosses_branches(self, movement: Movement) -> bool:
        """Whether a preloaded transfer's accounts sit in different branches."""
        assert self._locked is not None
        source = self._locked.get(movement.account_id)
        target = self._locked.get(movement.counterparty_id) if movement.counterparty_id else None
        return (
            source is not None and target is not None and source.branch_code != target.branch_code
        )

    async def _check_period(self, on: date) -> None:
        if on not in self._open_dates:
            await self.ledger.check_open_period(self.tenant_id, on)
            self._open_dates.add(on)

    async def _tenant_terms(self) -> TenantTerms:
        if self._terms is None:
            self._terms = await self.ledger.tenant_terms(self.tenant_id)
        return self._terms

    async def _tenant(self) -> Tenant:
        tenant = await self.session.get(Tenant, self.tenant_id)
        assert tenant is not None
        return tenant

    async def execute(
        self, movement: Movement, *, on: date | None = None, pre_approved: bool = False
    ) -> TransactionRecord:
        """Run one cash or transfer movement; the caller's unit of work commits it.

        ``on`` dates it on another business date than today (the standing-instruction
        job catching up a missed day); ``pre_approved`` skips the teller approval limit
        (a standing instruction was approved by a manager once, for every run).
        Outside a batch its rows are written before it returns; in a batch (after
        :meth:`preload`) at :meth:`flush`.
        """
        accounts, reads, assumed_today = await self._lock_accounts_for(movement, on)
        check_accounts_exist(movement, accounts)  # 404 before any business rule
        source = accounts[movement.account_id]
        destination = accounts.get(movement.counterparty_id) if movement.counterparty_id else None
        self._check_route(movement, source, destination)
        for account in accounts.values():
            check_same_currency(account, movement.currency)
            await self._release_expired_holds(account)
        terms = await self._tenant_terms()
        today = on or utcnow().astimezone(ZoneInfo(terms.timezone)).date()
        await self._check_period_takes_postings(today, reads, assumed_today)
        debited = source if movement.type != DEPOSIT else None
        credited = destination if destination else (source if movement.type == DEPOSIT else None)
        if debited is not None:
            await self._check_debit_allowed(movement, debited, today, to_account=destination)
        if credited is not None:
            check_can_credit(credited)
        transaction = self._new_transaction(movement, source, destination, today)
        if needs_approval(movement, terms, pre_approved=pre_approved):
            self._hold_for_approval(transaction, debited)
        else:
            await self._post(transaction, source, destination, today)
        # A shallow copy of the columns: ``asdict`` deep-copies every UUID and datetime.
        self.writes.transactions.append(dict(vars(transaction)))
        self._record(transaction)
        if self._locked is None:
            await self.ledger.write(self.writes)
        return transaction

    async def _lock_accounts_for(
        self, movement: Movement, on: date | None
    ) -> tuple[dict[uuid.UUID, LockedAccount], MovementReads | None, date | None]:
        """The movement's accounts, locked: from a batch's preload, or read (and locked)
        now with the tenant's terms and the period of the day assumed to be today."""
        ids = movement_account_ids(movement)
        if self._locked is not None:
            return {i: self._locked[i] for i in ids if i in self._locked}, None, on
        # Today in the tenant's zone as the (briefly cached) tenant says, so the
        # accounts, the terms and that day's period come back in one read.
        assert self.ctx.tenant is not None
        assumed_today = on or utcnow().astimezone(ZoneInfo(self.ctx.tenant.timezone)).date()
        reads = await self.ledger.lock_for_movement(self.tenant_id, ids, assumed_today)
        if reads.terms is not None:
            self._terms = reads.terms
        return reads.accounts, reads, assumed_today

    async def _check_period_takes_postings(
        self, today: date, reads: MovementReads | None, assumed_today: date | None
    ) -> None:
        """The business date falls in an open period (share-locked until commit)."""
        if reads is not None and today == assumed_today:
            check_period_row(reads.period, today)  # read (and share-locked) with the accounts
            self._open_dates.add(today)
        else:  # a batch, or the tenant's zone changed since it was cached
            await self._check_period(today)

    async def _check_debit_allowed(
        self,
        movement: Movement,
        debited: LockedAccount,
        today: date,
        *,
        to_account: LockedAccount | None,
    ) -> None:
        """The debited account is open, unfrozen, has the amount available, and a cash
        withdrawal stays within its daily limit."""
        check_can_debit(
            debited,
            movement.amount,
            field_name="source_account_id" if to_account else "account_id",
        )
        if movement.type == WITHDRAWAL:
            await self._check_daily_limit(debited, movement.amount, today)

    def _new_transaction(
        self,
        movement: Movement,
        source: LockedAccount,
        destination: LockedAccount | None,
        today: date,
    ) -> TransactionRecord:
        return TransactionRecord(
            tenant_id=self.tenant_id,
            transaction_ref=transaction_ref(today),
            type=movement.type,
            status="COMPLETED",
            amount=movement.amount,
            currency=movement.currency,
            account_id=source.id,
            counterparty_account_id=destination.id if destination else None,
            narration=movement.narration,
            depositor_name=movement.depositor_name,
            branch_code=self.principal.branch_code,
            business_date=today,
            created_by=self.principal.user_id,
            created_by_email=self.principal.email,
        )

    async def _release_expired_holds(self, account: LockedAccount) -> None:
        """Holds past their expiry stop counting (checked whenever the account is locked)."""
        if account.hold_amount == 0:
            return
        released = await self.ledger.release_expired_holds(account.id, utcnow())
        if released:
            account.hold_amount -= released
            self.writes.touch(account)

    def _check_route(
        self, movement: Movement, source: LockedAccount, destination: LockedAccount | None
    ) -> None:
        if destination is None:
            return
        crosses = source.branch_code != destination.branch_code
        if movement.type == TRANSFER:
            if crosses:
                raise ApiError(
                    "INTER_BRANCH_REQUIRED",
                    f"The accounts are in branches {source.branch_code} and "
                    f"{destination.branch_code}: use an inter-branch transfer.",
                    [
                        detail(
                            "destination_account_id",
                            DetailCode.INTER_BRANCH_REQUIRED,
                            "in another branch",
                            destination.branch_code,
                        )
                    ],
                )
            check_branch_scope(self.principal, source.branch_code)
        elif not crosses:
            raise ApiError(
                "VALIDATION_ERROR",
                "Both accounts are in one branch: use an internal transfer.",
                [
                    detail(
                        "destination_account_id",
                        DetailCode.SAME_BRANCH,
                        "in the same branch",
                        destination.branch_code,
                    )
                ],
            )

    async def _check_daily_limit(self, account: LockedAccount, amount: int, today: date) -> None:
        if account.daily_withdrawal_limit is None:
            return
        taken = await self.ledger.withdrawn_today(account.id, today)
        if int(taken) + amount > account.daily_withdrawal_limit:
            left = max(0, account.daily_withdrawal_limit - int(taken))
            raise ApiError(
                "LIMIT_EXCEEDED",
                f"The daily withdrawal limit is "
                f"{display_amount(account.daily_withdrawal_limit, account.currency)}; "
                f"{display_amount(left, account.currency)} is left today.",
                [
                    {
                        "field": "amount",
                        "reason": "exceeds the daily withdrawal limit",
                        "value": format_amount(amount, account.currency),
                    }
                ],
            )

    def _hold_for_approval(
        self, transaction: TransactionRecord, debited: LockedAccount | None
    ) -> None:
        transaction.status = "PENDING_APPROVAL"
        if debited is not None:
            # A hold may exceed what is available: it is a block (as add_hold places one).
            hold_id = new_id()
            self.writes.holds.append(
                {
                    "id": hold_id,
                    "tenant_id": debited.tenant_id,
                    "account_id": debited.id,
                    "amount": transaction.amount,
                    "reason": f"Awaiting approval of {transaction.transaction_ref}",
                    "status": "ACTIVE",
                    "expires_at": None,
                    "transaction_id": transaction.id,
                    "created_by": self.principal.user_id,
                    "created_at": utcnow(),
                    "released_by": None,
                    "released_at": None,
                }
            )
            debited.hold_amount += transaction.amount
            self.writes.touch(debited)
            transaction.hold_id = hold_id
            transaction.balance_after = debited.ledger_balance
        self.writes.outbox_events.append(
            outbox.event_values(
                self.tenant_id,
                "transaction.pending_approval",
                transaction_event(transaction),
                self.ctx.request_id,
            )
        )

    async def _post(
        self,
        transaction: Transaction | TransactionRecord,
        source: LockedAccount,
        destination: LockedAccount | None,
        today: date,
    ) -> None:
        legs = await self._legs(transaction, source, destination)
        journal: dict[str, Any] = {
            "id": new_id(),
            "tenant_id": self.tenant_id,
            "journal_number": journal_number(today),
            "journal_type": "CASH" if destination is None else "TRANSFER",
            "status": "APPROVED",
            "description": _journal_description(transaction, source, destination),
            "transaction_date": today,
            "effective_date": today,
            "fiscal_period_id": None,
            "source_reference": transaction.transaction_ref,
            "branch_code": transaction.branch_code,
            "created_by": transaction.created_by,
            "created_by_email": transaction.created_by_email,
            "created_at": utcnow(),
            "posted_by": self.principal.user_id,
            "posted_at": None,
        }
        accounts = {source.id: source} | ({destination.id: destination} if destination else {})
        result = post_legs(
            self.writes, journal, legs, accounts, effective_date=today, skip_funds_check=True
        )
        transaction.journal_id = journal["id"]
        transaction.status = "COMPLETED"
        transaction.balance_after = result.balances[source.id]

    async def _legs(
        self,
        t: Transaction | TransactionRecord,
        source: LockedAccount,
        destination: LockedAccount | None,
    ) -> list[Leg]:
        """The double entry, through clearing accounts whenever branches differ."""
        tid = self.tenant_id
        amount, cur, note = t.amount, t.currency, t.narration
        if destination is None:
            teller_branch = t.branch_code
            cash = await self.ledger.system_account_id(tid, teller_cash_code(teller_branch))
            customer_side = CREDIT if t.type == DEPOSIT else DEBIT
            cash_side = DEBIT if t.type == DEPOSIT else CREDIT
            legs = [
                Leg(cash, cash_side, amount, cur, branch_code=teller_branch, description=note),
                Leg(
                    source.control_gl_account_id,
                    customer_side,
                    amount,
                    cur,
                    account_id=source.id,
                    description=note,
                ),
            ]
            if source.branch_code != teller_branch:
                legs += await self._clearing(
                    teller_branch,
                    source.branch_code,
                    amount,
                    cur,
                    note,
                    towards_account=t.type == DEPOSIT,
                )
            return legs
        legs = [
            Leg(
                source.control_gl_account_id,
                DEBIT,
                amount,
                cur,
                account_id=source.id,
                description=note,
            ),
            Leg(
                destination.control_gl_account_id,
                CREDIT,
                amount,
                cur,
                account_id=destination.id,
                description=note,
            ),
        ]
        if source.branch_code != destination.branch_code:
            legs += await self._clearing(
                source.branch_code, destination.branch_code, amount, cur, note, towards_account=True
            )
        return legs

    async def _clearing(
        self,
        from_branch: str,
        to_branch: str,
        amount: int,
        currency: str,
        note: str | None,
        *,
        towards_account: bool,
    ) -> list[Leg]:
        """Value moving from one branch's books to another's: each branch stays balanced."""
        if not towards_account:
            from_branch, to_branch = to_branch, from_branch
        give = await self.ledger.system_account_id(self.tenant_id, clearing_code(from_branch))
        take = await self.ledger.system_account_id(self.tenant_id, clearing_code(to_branch))
        return [
            Leg(give, CREDIT, amount, currency, branch_code=from_branch, description=note),
            Leg(take, DEBIT, amount, currency, branch_code=to_branch, description=note),
        ]

    def _record(self, transaction: TransactionRecord) -> None:
        body = transaction_event(transaction)  # the audit record's and the event's
        verb = {DEPOSIT: "deposit", WITHDRAWAL: "withdrawal"}.get(transaction.type, "transfer")
        self.writes.audit_logs.append(
            audit.record_values(
                self.ctx,
                f"transaction.{verb}_created",
                entity_type="transaction",
                entity_id=transaction.id,
                after=body,
            )
        )
        if transaction.status == "COMPLETED":
            event = (
                "transaction.completed"
                if transaction.type in {DEPOSIT, WITHDRAWAL}
                else "transfer.completed"
            )
            self.writes.outbox_events.append(
                outbox.event_values(self.tenant_id, event, body, self.ctx.request_id)
            )

    # ---- approvals --------------------------------------------------------------------

    async def _pending(self, transaction_id: uuid.UUID) -> Transaction:
        transaction = await self.session.get(
            Transaction, transaction_id, with_for_update=True, populate_existing=True
        )
        if transaction is None or transaction.tenant_id != self.tenant_id:
            raise ApiError("RESOURCE_NOT_FOUND", "No such transaction.")
        await check_not_maker(
            self.session,
            self.principal,
            transaction.created_by,
            same_person_allowed=same_person_may_check(
                await self._tenant(), production=self.production
            ),
            refusal="You made this transaction; another officer must decide on it.",
        )
        if transaction.status != "PENDING_APPROVAL":
            raise ApiError(
                "INVALID_STATE", f"This transaction is {transaction.status.lower()}, not pending."
            )
        return transaction

    async def approve(self, transaction_id: uuid.UUID) -> Transaction:
        transaction = await self._pending(transaction_id)
        ids = [transaction.account_id] + (
            [transaction.counterparty_account_id] if transaction.counterparty_account_id else []
        )
        accounts = await lock_account_rows(self.session, self.tenant_id, ids)
        source = accounts[transaction.account_id]
        destination = (
            accounts[transaction.counterparty_account_id]
            if transaction.counterparty_account_id
            else None
        )
        if transaction.hold_id is not None:
            hold = await self.session.get(Hold, transaction.hold_id)
            if hold is not None and hold.status == "ACTIVE":
                hold.status = "CONSUMED"
                hold.released_at = utcnow()
                hold.released_by = self.principal.user_id
                self.session.add(hold)
                source.hold_amount -= hold.amount
                self.writes.touch(source)
        terms = await self._tenant_terms()
        today = utcnow().astimezone(ZoneInfo(terms.timezone)).date()
        await open_period_for(self.session, self.tenant_id, today)
        if transaction.type != DEPOSIT:
            check_can_debit(source, transaction.amount)
        await self._post(transaction, source, destination, today)
        await self.writes.flush(self.session)
        transaction.approved_by = self.principal.user_id
        transaction.approved_at = utcnow()
        self.session.add(transaction)
        body = transaction_event(transaction)
        audit.record(
            self.session,
            self.ctx,
            "transaction.approved",
            entity_type="transaction",
            entity_id=transaction.id,
            after=body,
        )
        event = (
            "transaction.completed"
            if transaction.type in {DEPOSIT, WITHDRAWAL}
            else "transfer.completed"
        )
        outbox.emit(self.session, self.tenant_id, event, body, self.ctx.request_id)
        return transaction

    async def reject(self, transaction_id: uuid.UUID, reason: str) -> Transaction:
        transaction = await self._pending(transaction_id)
        if transaction.hold_id is not None:
            accounts = await lock_accounts(self.session, self.tenant_id, [transaction.account_id])
            hold = await self.session.get(Hold, transaction.hold_id)
            if hold is not None and hold.status == "ACTIVE":
                settle_hold(
                    self.session,
                    accounts[transaction.account_id],
                    hold,
                    "RELEASED",
                    self.principal.user_id,
                )
        transaction.status = "REJECTED"
        transaction.rejected_by = self.principal.user_id
        transaction.rejected_at = utcnow()
        transaction.rejection_reason = reason
        self.session.add(transaction)
        audit.record(
            self.session,
            self.ctx,
            "transaction.rejected",
            entity_type="transaction",
            entity_id=transaction.id,
            after=transaction_body(transaction),
        )
        if transaction.type not in {DEPOSIT, WITHDRAWAL}:
            outbox.emit(
                self.session,
                self.tenant_id,
                "transfer.failed",
                transaction_event(transaction),
                self.ctx.request_id,
            )
        return transaction


def movement_account_ids(movement: Movement) -> list[uuid.UUID]:
    """The account money leaves or reaches, then a transfer's counterparty."""
    if movement.counterparty_id is None:
        return [movement.account_id]
    return [movement.account_id, movement.counterparty_id]


def check_accounts_exist(movement: Movement, accounts: dict[uuid.UUID, LockedAccount]) -> None:
    """Every account the movement names exists in the tenant (``ACCOUNT_NOT_FOUND``)."""
    for account_id in movement_account_ids(movement):
        if account_id not in accounts:
            raise ApiError(
                "ACCOUNT_NOT_FOUND",
                "No such account.",
                [
                    {
                        "field": _field(movement, account_id),
                        "reason": "not found",
                        "value": str(account_id),
                    }
                ],
            )


def needs_approval(movement: Movement, terms: TenantTerms, *, pre_approved: bool) -> bool:
    """Above the tenant's teller approval limit a movement waits for an officer (a
    standing instruction was approved once, for every run)."""
    return movement.amount > terms.teller_approval_limit and not pre_approved


def _field(movement: Movement, account_id: uuid.UUID) -> str:
    if movement.counterparty_id is None:
        return "account_id"
    return "source_account_id" if account_id == movement.account_id else "destination_account_id"


def _journal_description(
    t: Transaction | TransactionRecord, source: LockedAccount, destination: LockedAccount | None
) -> str:
    if destination is None:
        what = "Cash deposit to" if t.type == DEPOSIT else "Cash withdrawal from"
        return f"{what} {source.account_number} ({t.transaction_ref})"
    return f"Transfer {source.account_number} → {destination.account_number} ({t.transaction_ref})"


def can_do_inter_branch(principal: Principal) -> bool:
    return has_role(principal.roles, "manager")


async def get_transaction(
    session: AsyncSession, tenant_id: uuid.UUID, id_or_ref: str
) -> Transaction:
    try:
        condition = col(Transaction.id) == uuid.UUID(id_or_ref)
    except ValueError:
        condition = col(Transaction.transaction_ref) == id_or_ref.upper()
    found = (
        await session.execute(
            sa.select(Transaction).where(col(Transaction.tenant_id) == tenant_id, condition)
        )
    ).scalar_one_or_none()
    if found is None:
        raise ApiError("RESOURCE_NOT_FOUND", "No such transaction.")
    result: Transaction = found
    return result


async def account_for_cash(
    session: AsyncSession, tenant_id: uuid.UUID, account_id: uuid.UUID
) -> Account:
    return await get_account(session, tenant_id, account_id)

"""The one posting service every money movement goes through.

One call posts one journal atomically in the caller's transaction: customer accounts
are locked in a fixed order (by ID) on PostgreSQL — SQLite serializes writers — the
ledger's rules decide what the legs do (:func:`app.core.ledger.planning.plan_postings`,
pure: the same plan for both writers below), then the accounts' stored balances are
updated and every posting is written with the account's running balance. GL accounts
are never locked: their balances are derived from the postings, so the hot teller-cash,
clearing and control accounts are not a queue every transaction waits in.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import attributes
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app import pg
from app.core.accounts.models import Account, Hold
from app.core.audit.models import AuditLog
from app.core.ledger.models import Journal, Posting
from app.core.ledger.planning import CREDIT as CREDIT
from app.core.ledger.planning import DEBIT as DEBIT
from app.core.ledger.planning import NOT_ACTIVE as NOT_ACTIVE
from app.core.ledger.planning import Leg as Leg
from app.core.ledger.planning import PlannedPosting, plan_postings
from app.core.ledger.planning import available_balance as available_balance
from app.core.ledger.planning import check_balanced as check_balanced
from app.core.ledger.planning import check_can_credit as check_can_credit
from app.core.ledger.planning import check_can_debit as check_can_debit
from app.core.transactions.models import Transaction
from app.core.webhooks.models import OutboxEvent
from app.db import UtcDateTime, utcnow

if TYPE_CHECKING:
    import asyncpg

# CREDIT, DEBIT, Leg and the rules imported from planning above are re-exported: the
# ledger's callers have always imported them from here.


@dataclass
class PostingResult:
    postings: list[Posting] = field(default_factory=list)
    balances: dict[uuid.UUID, int] = field(default_factory=dict)  # account -> ledger after


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
    :func:`lock_accounts` (callers lock once, before their own checks). The rules are
    :func:`plan_postings`'s; this writes its plan through the ORM session.
    """
    plan = plan_postings(legs, accounts, skip_funds_check=skip_funds_check)
    now = utcnow()
    for account_id, balance in plan.balances.items():
        account = accounts[account_id]
        account.ledger_balance = balance
        account.updated_at = now
        session.add(account)
    result = PostingResult(balances=dict(plan.balances))
    result.postings = [
        Posting(
            tenant_id=journal.tenant_id,
            journal_id=journal.id,
            gl_account_id=planned.gl_account_id,
            account_id=planned.account_id,
            branch_code=planned.branch_code,
            side=planned.side,
            amount=planned.amount,
            currency=planned.currency,
            balance_after=planned.balance_after,
            effective_date=effective_date,
            description=planned.description,
        )
        for planned in plan.postings
    ]
    session.add_all(result.postings)
    journal.status = "POSTED"
    journal.posted_at = journal.posted_at or now
    session.add(journal)
    return result


# ---- the set-based path: locked rows in memory, Core statements, one executemany each ----

ACCOUNTS: sa.Table = Account.__table__  # type: ignore[attr-defined]
JOURNALS: sa.Table = Journal.__table__  # type: ignore[attr-defined]
POSTINGS: sa.Table = Posting.__table__  # type: ignore[attr-defined]
TRANSACTIONS: sa.Table = Transaction.__table__  # type: ignore[attr-defined]
HOLDS: sa.Table = Hold.__table__  # type: ignore[attr-defined]
AUDIT_LOGS: sa.Table = AuditLog.__table__  # type: ignore[attr-defined]
OUTBOX_EVENTS: sa.Table = OutboxEvent.__table__  # type: ignore[attr-defined]

LOCKED_COLUMNS = tuple(
    ACCOUNTS.c[name]
    for name in (
        "id",
        "tenant_id",
        "account_number",
        "currency",
        "branch_code",
        "status",
        "control_gl_account_id",
        "ledger_balance",
        "hold_amount",
        "overdraft_limit",
        "daily_withdrawal_limit",
    )
)

_ACCOUNT_UPDATE = (
    sa.update(ACCOUNTS)
    .where(ACCOUNTS.c.id == sa.bindparam("b_id", type_=ACCOUNTS.c.id.type))
    .values(
        ledger_balance=sa.bindparam("b_ledger", type_=sa.BigInteger()),
        hold_amount=sa.bindparam("b_hold", type_=sa.BigInteger()),
        updated_at=sa.bindparam("b_at", type_=UtcDateTime()),
    )
)


@dataclass
class LockedAccount:
    """A customer account row locked for this transaction, its balances kept in memory.

    What :class:`LedgerWrites` writes back is the final balance of every account it
    touched, in one statement, so a batch costs one UPDATE however many items touch it.
    """

    id: uuid.UUID
    tenant_id: uuid.UUID
    account_number: str
    currency: str
    branch_code: str
    status: str
    control_gl_account_id: uuid.UUID
    ledger_balance: int
    hold_amount: int
    overdraft_limit: int
    daily_withdrawal_limit: int | None


async def lock_account_rows(
    session: AsyncSession, tenant_id: uuid.UUID, account_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, LockedAccount]:
    """:func:`lock_accounts` without ORM objects: the same rows, the same ID order.

    A Core statement does not autoflush, so whatever the caller added to the session
    before (an account opened in this very request) is flushed here first, as an ORM
    query would.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    if session.new or session.dirty or session.deleted:
        await session.flush()
    query = (
        sa.select(*LOCKED_COLUMNS)
        .where(ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.id.in_(ids))
        .order_by(ACCOUNTS.c.id)
        .with_for_update()
    )
    rows = (await session.execute(query)).all()
    return {row[0]: LockedAccount(*row) for row in rows}


@dataclass
class LedgerWrites:
    """The rows one request writes, sent with one (executemany) statement per table.

    Every list is appended to only after the item's checks passed, so an item that
    fails leaves nothing here; the caller flushes once (a batch) or after each item.
    """

    journals: list[dict[str, Any]] = field(default_factory=list)
    postings: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    audit_logs: list[dict[str, Any]] = field(default_factory=list)
    outbox_events: list[dict[str, Any]] = field(default_factory=list)
    accounts: dict[uuid.UUID, LockedAccount] = field(default_factory=dict)  # to write back

    def touch(self, account: LockedAccount) -> None:
        self.accounts[account.id] = account

    async def flush(self, session: AsyncSession) -> None:
        """Write everything collected (parents before children) and start afresh.

        Without autoflush: an ORM object changed to point at a row written here (an
        approved transaction's journal) must not be flushed ahead of that row.
        """
        with session.sync_session.no_autoflush:
            one_movement = len(self.transactions) + len(self.journals) <= 2
            if one_movement and session.get_bind().dialect.name == "postgresql":
                await self._write_at_once(session)
            else:
                await self._write(session)
        self.journals, self.postings, self.holds, self.transactions = [], [], [], []
        self.audit_logs, self.outbox_events, self.accounts = [], [], {}

    async def _write_at_once(self, session: AsyncSession) -> None:
        """One movement's rows in ONE statement (PostgreSQL's data-modifying CTEs): every
        round trip costs the core more CPU (mostly in the kernel) than the SQL costs the
        server. Foreign keys are checked at the end of the statement, so the order of the
        parts does not matter; each account appears once (``accounts`` is keyed by ID).
        The statement is built once per shape and reused with new parameters (building it
        costs more than sending it)."""
        tables = self._tables()
        accounts = sorted(self.accounts.values(), key=lambda a: a.id)
        if not tables and not accounts:
            return
        now = utcnow()
        statement = _at_once_statement(tables, accounts)
        params = _at_once_values(tables, accounts, now)
        await session.execute(statement, params)
        _sync_identity_map(session, accounts, now)

    async def flush_raw(self, connection: "asyncpg.Connection") -> None:
        """:meth:`flush` on a raw asyncpg connection (``app.pg``): one statement for one
        movement, one executemany per table for more."""
        tables = self._tables()
        accounts = sorted(self.accounts.values(), key=lambda a: a.id)
        self.journals, self.postings, self.holds, self.transactions = [], [], [], []
        self.audit_logs, self.outbox_events, self.accounts = [], [], {}
        if not tables and not accounts:
            return
        for table, rows in tables:
            for row in rows:
                _with_column_defaults(table, row)
        one_movement = sum(len(rows) for t, rows in tables if t in (JOURNALS, TRANSACTIONS)) <= 2
        if one_movement:
            statement = _at_once_statement(tables, accounts)
            await pg.execute(connection, statement, _at_once_values(tables, accounts, utcnow()))
            return
        # A batch: one statement per table, whatever its size (arrays unnested), and
        # one for every account's final balances.
        for table, rows in tables:
            if table is not AUDIT_LOGS and table is not OUTBOX_EVENTS:
                await pg.insert_rows(connection, table, rows)
        if accounts:
            await connection.execute(
                _ACCOUNTS_UPDATE_FROM_ARRAYS,
                [a.id for a in accounts],
                [a.ledger_balance for a in accounts],
                [a.hold_amount for a in accounts],
                utcnow(),
            )
        for table, rows in tables:
            if table is AUDIT_LOGS or table is OUTBOX_EVENTS:
                await pg.insert_rows(connection, table, rows)

    def _tables(self) -> list[tuple[sa.Table, list[dict[str, Any]]]]:
        return [
            (table, rows)
            for table, rows in (
                (JOURNALS, self.journals),
                (HOLDS, self.holds),
                (TRANSACTIONS, self.transactions),
                (POSTINGS, self.postings),
                (AUDIT_LOGS, self.audit_logs),
                (OUTBOX_EVENTS, self.outbox_events),
            )
            if rows
        ]

    async def _write(self, session: AsyncSession) -> None:
        for table, rows in (
            (JOURNALS, self.journals),
            (HOLDS, self.holds),
            (TRANSACTIONS, self.transactions),
            (POSTINGS, self.postings),
        ):
            if rows:
                await session.execute(sa.insert(table), rows)
        if self.accounts:
            now = utcnow()
            await session.execute(
                _ACCOUNT_UPDATE,
                [
                    {
                        "b_id": a.id,
                        "b_ledger": a.ledger_balance,
                        "b_hold": a.hold_amount,
                        "b_at": now,
                    }
                    for a in sorted(self.accounts.values(), key=lambda a: a.id)
                ],
            )
            _sync_identity_map(session, self.accounts.values(), now)
        for table, rows in ((AUDIT_LOGS, self.audit_logs), (OUTBOX_EVENTS, self.outbox_events)):
            if rows:
                await session.execute(sa.insert(table), rows)


_Shape = tuple[tuple[tuple[str, int, tuple[str, ...]], ...], int]
_AT_ONCE: dict[_Shape, sa.Select[Any]] = {}
_TABLES = {t.name: t for t in (JOURNALS, HOLDS, TRANSACTIONS, POSTINGS, AUDIT_LOGS, OUTBOX_EVENTS)}


def _statement_for(shape: _Shape) -> sa.Select[Any]:
    """The one statement of :meth:`LedgerWrites._write_at_once` for rows of this shape."""
    parts: list[Any] = []
    for t, (name, count, columns) in enumerate(shape[0]):
        table = _TABLES[name]
        # One single-row INSERT per row: a multi-row VALUES has no cache key, so it would
        # be compiled again on every execution.
        for r in range(count):
            row = {c: sa.bindparam(f"w{t}_{r}_{c}", type_=table.c[c].type) for c in columns}
            parts.append(sa.insert(table).values(row).cte(f"w{t}_{r}"))
    for a in range(shape[1]):
        parts.append(
            sa.update(ACCOUNTS)
            .where(ACCOUNTS.c.id == sa.bindparam(f"a{a}_id", type_=ACCOUNTS.c.id.type))
            .values(
                ledger_balance=sa.bindparam(f"a{a}_ledger", type_=sa.BigInteger()),
                hold_amount=sa.bindparam(f"a{a}_hold", type_=sa.BigInteger()),
                updated_at=sa.bindparam(f"a{a}_at", type_=UtcDateTime()),
            )
            .cte(f"a{a}")
        )
    return sa.select(sa.literal(1)).add_cte(*parts)


def _at_once_statement(
    tables: list[tuple[sa.Table, list[dict[str, Any]]]], accounts: list[LockedAccount]
) -> sa.Select[Any]:
    """The one statement of a movement's rows, built once per shape and reused."""
    shape = (
        tuple((table.name, len(rows), tuple(rows[0])) for table, rows in tables),
        len(accounts),
    )
    statement = _AT_ONCE.get(shape)
    if statement is None:
        statement = _AT_ONCE[shape] = _statement_for(shape)
    return statement


def _at_once_values(
    tables: list[tuple[sa.Table, list[dict[str, Any]]]],
    accounts: list[LockedAccount],
    now: datetime,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for t, (_table, rows) in enumerate(tables):
        for r, row in enumerate(rows):
            for name, value in row.items():
                params[f"w{t}_{r}_{name}"] = value
    for a, account in enumerate(accounts):
        params[f"a{a}_id"] = account.id
        params[f"a{a}_ledger"] = account.ledger_balance
        params[f"a{a}_hold"] = account.hold_amount
        params[f"a{a}_at"] = now
    return params


_ACCOUNTS_UPDATE_FROM_ARRAYS = (
    "UPDATE accounts SET ledger_balance = u.ledger, hold_amount = u.hold, updated_at = $4 "
    "FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS u(id, ledger, hold) "
    "WHERE accounts.id = u.id"
)


def _with_column_defaults(table: sa.Table, row: dict[str, Any]) -> None:
    """Fill the columns SQLAlchemy would fill from their Python defaults (a raw statement
    has nobody to do it); the same values, the same moment."""
    for column in table.c:
        if column.key in row or column.default is None:
            continue
        default = column.default
        if default.is_scalar:  # type: ignore[attr-defined]
            row[column.key] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:  # type: ignore[attr-defined]
            row[column.key] = default.arg(None)  # type: ignore[attr-defined]


def _sync_identity_map(
    session: AsyncSession, accounts: Iterable[LockedAccount], now: datetime
) -> None:
    """An ORM copy of an account already in this session (opened in this very request)
    learns its new balances, as if it had been posted through the ORM."""
    identity_map = session.sync_session.identity_map
    if not len(identity_map):
        return
    for account in accounts:
        loaded = identity_map.get((Account, (account.id,), None))
        if isinstance(loaded, Account):
            attributes.set_committed_value(loaded, "ledger_balance", account.ledger_balance)
            attributes.set_committed_value(loaded, "hold_amount", account.hold_amount)
            attributes.set_committed_value(loaded, "updated_at", now)


def post_legs(
    writes: LedgerWrites,
    journal: dict[str, Any],
    legs: list[Leg],
    accounts: dict[uuid.UUID, LockedAccount],
    *,
    effective_date: date,
    skip_funds_check: bool = False,
) -> PostingResult:
    """:func:`post_journal` for locked rows: the same plan, its rows into ``writes``.

    ``journal`` holds the journal's column values (its status becomes POSTED). The plan
    is made before anything changes, so a refusal leaves no trace.
    """
    plan = plan_postings(legs, accounts, skip_funds_check=skip_funds_check)
    now = utcnow()
    for account_id, balance in plan.balances.items():
        account = accounts[account_id]
        account.ledger_balance = balance
        writes.touch(account)
    journal["status"] = "POSTED"
    journal["posted_at"] = journal.get("posted_at") or now
    writes.journals.append(journal)
    writes.postings.extend(
        _posting_row(journal["tenant_id"], journal["id"], planned, effective_date, now)
        for planned in plan.postings
    )
    return PostingResult(balances=dict(plan.balances))


def _posting_row(
    tenant_id: uuid.UUID,
    journal_id: uuid.UUID,
    planned: PlannedPosting,
    effective_date: date,
    now: datetime,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "journal_id": journal_id,
        "gl_account_id": planned.gl_account_id,
        "account_id": planned.account_id,
        "branch_code": planned.branch_code,
        "side": planned.side,
        "amount": planned.amount,
        "currency": planned.currency,
        "balance_after": planned.balance_after,
        "effective_date": effective_date,
        "description": planned.description,
        "posted_at": now,
    }

"""``GET /views/approvals`` and ``GET /views/approvals/waiting``: what waits for a checker.

The console's approvals queue listed pending journals, approved journals, pending teller
transactions and pending standing instructions with four calls (each journal rendered
with every line), then asked for each transaction's and instruction's accounts one call
at a time. Here the whole queue is one read: journals as the list shows them (totals, no
lines), transactions and instructions with their accounts' numbers and holders joined in.

The navigation's count needs less: how many items of each kind wait, by maker (nobody
decides their own), three ``GROUP BY`` statements instead of three lists of 200.

Every statement is built once, at import, with bound parameters: building a select (with
its aliased joins) per request cost more CPU than running it, and a statement built once
also finds its compiled form in SQLAlchemy's cache every time.
"""

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account
from app.core.customers.models import Customer
from app.core.errors import ApiError
from app.core.journals.bodies import render_journal_summaries
from app.core.ledger.models import Journal
from app.core.standing.models import StandingInstruction
from app.core.standing.service import instruction_body
from app.core.tenants.service import business_date, load_tenant
from app.core.transactions.models import Transaction
from app.core.transactions.service import transaction_as
from app.core.views.responses import (
    ApprovalsView,
    InstructionSection,
    JournalSection,
    LabelledInstruction,
    LabelledTransaction,
    TransactionSection,
    Waiting,
)

JOURNAL_WAITING = "PENDING"
JOURNAL_TO_POST = "APPROVED"
TRANSACTION_WAITING = "PENDING_APPROVAL"
INSTRUCTION_WAITING = "PENDING_APPROVAL"

_TENANT: Any = sa.bindparam("tenant_id")
_LIMIT: Any = sa.bindparam("limit")


def _newest_first(query: Any, model: Any) -> Any:
    return query.order_by(col(model.created_at).desc(), col(model.id).desc()).limit(_LIMIT)


def _with_holders(model: Any, left: Any, right: Any, status: str) -> Any:
    """Pending ``model`` rows with both accounts' numbers and holders (outer joins on the
    account columns ``left`` and ``right``)."""
    first, first_holder = aliased(Account), aliased(Customer)
    second, second_holder = aliased(Account), aliased(Customer)
    return _newest_first(
        sa.select(
            model,
            col(first.account_number),
            col(first_holder.display_name),
            col(second.account_number),
            col(second_holder.display_name),
        )
        .outerjoin(first, col(first.id) == left)
        .outerjoin(first_holder, col(first_holder.id) == col(first.customer_id))
        .outerjoin(second, col(second.id) == right)
        .outerjoin(second_holder, col(second_holder.id) == col(second.customer_id))
        .where(col(model.tenant_id) == _TENANT, col(model.status) == status),
        model,
    )


_JOURNALS = _newest_first(
    sa.select(Journal).where(
        col(Journal.tenant_id) == _TENANT, col(Journal.status) == sa.bindparam("status")
    ),
    Journal,
)
_TRANSACTIONS = _with_holders(
    Transaction,
    col(Transaction.account_id),
    col(Transaction.counterparty_account_id),
    TRANSACTION_WAITING,
)
_INSTRUCTIONS = _with_holders(
    StandingInstruction,
    col(StandingInstruction.source_account_id),
    col(StandingInstruction.destination_account_id),
    INSTRUCTION_WAITING,
)


def _one_with_holders() -> Any:
    """One transaction (by ID or reference) with both accounts' numbers and holders."""
    first, first_holder = aliased(Account), aliased(Customer)
    second, second_holder = aliased(Account), aliased(Customer)
    return (
        sa.select(
            Transaction,
            col(first.account_number),
            col(first_holder.display_name),
            col(second.account_number),
            col(second_holder.display_name),
        )
        .outerjoin(first, col(first.id) == col(Transaction.account_id))
        .outerjoin(first_holder, col(first_holder.id) == col(first.customer_id))
        .outerjoin(second, col(second.id) == col(Transaction.counterparty_account_id))
        .outerjoin(second_holder, col(second_holder.id) == col(second.customer_id))
        .where(col(Transaction.tenant_id) == _TENANT)
    )


_TRANSACTION_BY_ID = _one_with_holders().where(col(Transaction.id) == sa.bindparam("id"))
_TRANSACTION_BY_REF = _one_with_holders().where(
    col(Transaction.transaction_ref) == sa.bindparam("ref")
)


def _labelled(row: Any) -> LabelledTransaction:
    t, number, name, other_number, other_name = row
    return transaction_as(
        LabelledTransaction,
        t,
        account_number=number,
        customer_name=name,
        counterparty_account_number=other_number,
        counterparty_customer_name=other_name,
    )


async def transaction_view(
    session: AsyncSession, tenant_id: uuid.UUID, id_or_ref: str
) -> LabelledTransaction:
    """A transaction as ``GET /transactions/{id_or_ref}`` has it, with the numbers and
    holders of its account and counterparty (what a receipt prints)."""
    params: dict[str, Any]
    try:
        statement, params = _TRANSACTION_BY_ID, {"id": uuid.UUID(id_or_ref)}
    except ValueError:
        statement, params = _TRANSACTION_BY_REF, {"ref": id_or_ref.upper()}
    row = (await session.execute(statement, {**params, "tenant_id": tenant_id})).one_or_none()
    if row is None:
        raise ApiError("RESOURCE_NOT_FOUND", "No such transaction.")
    return _labelled(row)


def _by_maker(model: Any, status: str) -> Any:
    return (
        sa.select(col(model.created_by), sa.func.count())
        .where(col(model.tenant_id) == _TENANT, col(model.status) == status)
        .group_by(col(model.created_by))
    )


_WAITING = {
    "journals": _by_maker(Journal, JOURNAL_WAITING),
    "transactions": _by_maker(Transaction, TRANSACTION_WAITING),
    "standing_instructions": _by_maker(StandingInstruction, INSTRUCTION_WAITING),
}


async def _journals(
    session: AsyncSession, tenant_id: uuid.UUID, status: str, limit: int
) -> JournalSection:
    found = (
        await session.execute(
            _JOURNALS, {"tenant_id": tenant_id, "status": status, "limit": limit + 1}
        )
    ).scalars()
    summaries = await render_journal_summaries(session, tenant_id, found.all())
    return JournalSection(items=summaries[:limit], has_more=len(summaries) > limit)


async def _transactions(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int
) -> TransactionSection:
    rows = (
        await session.execute(_TRANSACTIONS, {"tenant_id": tenant_id, "limit": limit + 1})
    ).all()
    return TransactionSection(
        items=[_labelled(row) for row in rows[:limit]], has_more=len(rows) > limit
    )


async def _instructions(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int
) -> InstructionSection:
    rows = (
        await session.execute(_INSTRUCTIONS, {"tenant_id": tenant_id, "limit": limit + 1})
    ).all()
    if not rows:
        return InstructionSection(items=[], has_more=False)
    today = business_date(await load_tenant(session, tenant_id))
    items = []
    for instruction, number, name, other_number, other_name in rows[:limit]:
        items.append(
            LabelledInstruction(
                **msgspec.structs.asdict(instruction_body(instruction, today)),
                source_account_number=number,
                source_account_name=name,
                destination_account_number=other_number,
                destination_account_name=other_name,
            )
        )
    return InstructionSection(items=items, has_more=len(rows) > limit)


async def approvals_queue(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int
) -> ApprovalsView:
    """Every section of the approvals queue, each newest first, at most ``limit`` items."""
    return ApprovalsView(
        journals_pending=await _journals(session, tenant_id, JOURNAL_WAITING, limit),
        journals_approved=await _journals(session, tenant_id, JOURNAL_TO_POST, limit),
        transactions_pending=await _transactions(session, tenant_id, limit),
        standing_instructions_pending=await _instructions(session, tenant_id, limit),
        waiting=await waiting_by_maker(session, tenant_id),
    )


async def waiting_by_maker(session: AsyncSession, tenant_id: uuid.UUID) -> Waiting:
    """How many items of each kind wait for a checker, by the user who made them."""
    waiting: dict[str, dict[str, int]] = {}
    for kind, statement in _WAITING.items():
        rows = await session.execute(statement, {"tenant_id": tenant_id})
        waiting[kind] = {str(maker): int(count) for maker, count in rows.all()}
    return Waiting(
        journals=waiting["journals"],
        transactions=waiting["transactions"],
        standing_instructions=waiting["standing_instructions"],
    )

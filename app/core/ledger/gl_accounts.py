"""Creating and changing GL accounts: the rules a bank's controller expects of a chart.

A code is the tenant's, unique and never renumbered (reports, integrations and the
system's own cached lookups use it). A parent is a header of the same category. A
header takes no postings, so an account that has postings (or lines of journals
still on their way) never becomes a header, nor changes category or currency. The
system's own accounts (teller cash, clearing, control, retained earnings) keep their
place and shape: only their name, and for cash and retained earnings whether manual
journals may use them, can change. Control and clearing accounts never take manual
lines: the first must equal its customer accounts, the second must sum to zero.
"""

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.context import RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.ledger.balances import gl_net
from app.core.ledger.models import GLAccount, Journal, JournalLine, Posting
from app.core.ledger.schemas import GLAccountCreate, GLAccountUpdate
from app.core.money import CURRENCY_DIGITS
from app.core.tenants.models import Tenant
from app.db import is_unique_violation

# System roles whose accounts must never take a manual journal line.
SYSTEM_ONLY_ROLES = {"control", "clearing"}
OPEN_JOURNAL_STATES = ("PENDING", "APPROVED")

T = TypeVar("T")


def gl_state(account: GLAccount) -> dict[str, Any]:
    """What an audit record keeps of an account (before/after a change)."""
    return {
        "id": str(account.id),
        "code": account.code,
        "name": account.name,
        "category": account.category,
        "parent_id": str(account.parent_id) if account.parent_id else None,
        "is_header": account.is_header,
        "allow_manual_entries": account.allow_manual_entries,
        "currency_code": account.currency_code,
        "is_active": account.is_active,
        "role": account.role,
    }


def _check_currency(code: str | None) -> None:
    if code is not None and code not in CURRENCY_DIGITS:
        raise ApiError(
            "VALIDATION_ERROR",
            f"Unsupported currency {code!r}.",
            [
                detail(
                    "currency_code", DetailCode.UNSUPPORTED_CURRENCY, "unsupported currency", code
                )
            ],
        )


async def _load(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    raw_id: str | uuid.UUID,
    *,
    field: str | None = None,
    lock: str | None = None,
) -> GLAccount:
    """The tenant's GL account (locked FOR UPDATE/SHARE on PostgreSQL when asked)."""
    gl_id = raw_id if isinstance(raw_id, uuid.UUID) else _gl_id(raw_id, field)
    query = sa.select(GLAccount).where(
        col(GLAccount.id) == gl_id, col(GLAccount.tenant_id) == tenant_id
    )
    if lock is not None:
        # FOR SHARE, or FOR NO KEY UPDATE: the key never changes, so the foreign-key
        # checks of postings to the account (FOR KEY SHARE) need not wait for a PATCH.
        query = query.with_for_update(read=lock == "share", key_share=lock == "update")
    account = (
        (await session.execute(query.execution_options(populate_existing=True)))
        .scalars()
        .one_or_none()
    )
    if account is None:
        raise _not_found(field, str(raw_id))
    found: GLAccount = account
    return found


def _gl_id(raw: str, field: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        raise _not_found(field, raw) from None


def _not_found(field: str | None, value: str) -> ApiError:
    details = [{"field": field, "reason": "not found", "value": value[:64]}] if field else []
    return ApiError("GL_ACCOUNT_NOT_FOUND", "No such GL account.", details)


def _duplicate(code: str) -> ApiError:
    return ApiError(
        "DUPLICATE_RESOURCE",
        f"A GL account with code {code} already exists.",
        [{"field": "code", "reason": "already exists", "value": code}],
    )


def _check_parent(parent: GLAccount, category: str) -> None:
    if not parent.is_header:
        raise ApiError(
            "VALIDATION_ERROR",
            f"GL account {parent.code} is not a header: only headers have sub-accounts.",
            [{"field": "parent_id", "reason": "not a header account", "value": parent.code}],
        )
    if parent.category != category:
        raise ApiError(
            "VALIDATION_ERROR",
            f"GL account {parent.code} is a {parent.category.lower()} header; a "
            f"{category.lower()} account cannot sit under it.",
            [{"field": "parent_id", "reason": "category differs", "value": parent.code}],
        )
    if not parent.is_active:
        raise ApiError(
            "VALIDATION_ERROR",
            f"GL account {parent.code} is inactive.",
            [{"field": "parent_id", "reason": "parent inactive", "value": parent.code}],
        )


async def create_gl_account(
    session: AsyncSession, ctx: RequestContext, tenant_id: uuid.UUID, data: GLAccountCreate
) -> GLAccount:
    """A new account of the chart, audited as ``gl_account.created``."""
    _check_currency(data.currency_code)
    parent = (
        await _load(session, tenant_id, data.parent_id, field="parent_id", lock="share")
        if data.parent_id is not None
        else None
    )
    if await _code_taken(session, tenant_id, data.code):
        raise _duplicate(data.code)
    if parent is not None:
        _check_parent(parent, data.category)
    if data.is_header and data.allow_manual_entries:
        raise ApiError(
            "HEADER_ACCOUNT_NOT_POSTABLE",
            "A header account takes no postings, so it cannot allow manual entries.",
            [{"field": "allow_manual_entries", "reason": "header accounts take no postings"}],
        )
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    account = GLAccount(
        tenant_id=tenant_id,
        code=data.code,
        name=data.name,
        category=data.category,
        parent_id=parent.id if parent else None,
        is_header=data.is_header,
        allow_manual_entries=(
            False
            if data.is_header
            else (True if data.allow_manual_entries is None else data.allow_manual_entries)
        ),
        currency_code=data.currency_code or tenant.base_currency,
    )
    session.add(account)
    try:
        await session.flush()
    except sa.exc.IntegrityError as exc:  # a concurrent create took the code first
        if is_unique_violation(exc):
            raise _duplicate(data.code) from exc
        raise
    audit.record(
        session,
        ctx,
        "gl_account.created",
        entity_type="gl_account",
        entity_id=account.id,
        after=gl_state(account),
    )
    return account


async def _code_taken(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> bool:
    found = await session.execute(
        sa.select(col(GLAccount.id)).where(
            col(GLAccount.tenant_id) == tenant_id,
            sa.func.lower(col(GLAccount.code)) == code.lower(),
        )
    )
    return found.first() is not None


async def has_postings(session: AsyncSession, gl_id: uuid.UUID) -> bool:
    found = await session.execute(
        sa.select(col(Posting.id)).where(col(Posting.gl_account_id) == gl_id).limit(1)
    )
    return found.first() is not None


async def has_open_journal_lines(session: AsyncSession, gl_id: uuid.UUID) -> bool:
    """Lines of journals not yet posted (PENDING or APPROVED) that use the account."""
    found = await session.execute(
        sa.select(col(JournalLine.id))
        .join(Journal, col(Journal.id) == col(JournalLine.journal_id))
        .where(
            col(JournalLine.gl_account_id) == gl_id,
            col(Journal.status).in_(OPEN_JOURNAL_STATES),
        )
        .limit(1)
    )
    return found.first() is not None


async def _children(session: AsyncSession, gl_id: uuid.UUID) -> list[GLAccount]:
    rows = await session.execute(sa.select(GLAccount).where(col(GLAccount.parent_id) == gl_id))
    return list(rows.scalars().all())


async def _carries_a_balance(session: AsyncSession, account: GLAccount) -> bool:
    """A non-zero balance in any currency (through the roll-ups, like every GL balance)."""
    totals = await gl_net(session, account.tenant_id, by=("currency",), gl_account_ids=[account.id])
    return any(net != 0 for net in totals.values())


def _refuse(field: str, reason: str, message: str) -> ApiError:
    return ApiError("INVALID_STATE", message, [{"field": field, "reason": reason}])


@dataclass(frozen=True)
class GLChange:
    """A PATCH of a GL account read against the account: what it would become.

    ``None``/unchanged fields keep the account's values; ``parent_changes`` says whether
    ``parent_id`` was sent and differs (``new_parent`` is ``None`` for a root).
    """

    account: GLAccount
    category: str
    is_header: bool
    currency_code: str
    parent_changes: bool
    new_parent: GLAccount | None
    is_active: bool
    allow_manual_entries: bool | None  # as sent

    @property
    def deactivates(self) -> bool:
        return self.account.is_active and not self.is_active

    @property
    def changes_category(self) -> bool:
        return self.category != self.account.category

    @property
    def becomes_header(self) -> bool:
        return self.is_header and not self.account.is_header

    @property
    def stops_being_header(self) -> bool:
        return not self.is_header and self.account.is_header

    @property
    def changes_currency(self) -> bool:
        return self.currency_code != self.account.currency_code


class _Usage:
    """Whether the account has postings or lines of journals on their way, asked at
    most once per request (two reads, made only when a rule needs the answer)."""

    def __init__(self, session: AsyncSession, account: GLAccount) -> None:
        self.session = session
        self.account = account
        self._in_use: bool | None = None

    async def in_use(self) -> bool:
        if self._in_use is None:
            self._in_use = await has_postings(
                self.session, self.account.id
            ) or await has_open_journal_lines(self.session, self.account.id)
        return self._in_use


async def update_gl_account(
    session: AsyncSession,
    ctx: RequestContext,
    tenant_id: uuid.UUID,
    raw_id: str,
    data: GLAccountUpdate,
) -> GLAccount:
    """Apply the fields sent, audited as ``gl_account.updated`` with before and after.

    The rules run in the order a refusal names the first broken one: the body, the
    account and the parent sent (404), then the chart's rules, each its own check.
    """
    _check_currency(_given(data.currency_code))
    account = await _load(session, tenant_id, raw_id, lock="update")
    change = await _read_change(session, tenant_id, account, data)
    check_code_never_changes(account, _given(data.code))
    check_system_account_keeps_its_shape(change)
    check_system_only_role_takes_no_manual_lines(account, _given(data.allow_manual_entries))
    await check_parent_fits(session, tenant_id, change)
    usage = _Usage(session, account)
    children = await _children(session, account.id) if account.is_header else []
    await check_header_has_no_postings(change, usage)
    check_header_keeps_its_sub_accounts(change, children)
    await check_category_change_allowed(change, children, usage)
    await check_currency_change_allowed(change, usage)
    await check_deactivation_allowed(session, change, children)
    check_header_takes_no_manual_entries(change.is_header, change.allow_manual_entries)

    before = gl_state(account)
    _apply(change, _given(data.name))
    after = gl_state(account)
    if after != before:
        session.add(account)
        audit.record(
            session,
            ctx,
            "gl_account.updated",
            entity_type="gl_account",
            entity_id=account.id,
            before=before,
            after=after,
        )
    return account


async def _read_change(
    session: AsyncSession, tenant_id: uuid.UUID, account: GLAccount, data: GLAccountUpdate
) -> GLChange:
    """The fields sent, over the account's own (the new parent loaded: 404 if missing)."""
    parent_sent = data.parent_id is not msgspec.UNSET
    new_parent: GLAccount | None = None
    if isinstance(data.parent_id, str):
        new_parent = await _load(
            session, tenant_id, data.parent_id, field="parent_id", lock="share"
        )
    return GLChange(
        account=account,
        category=_given(data.category) or account.category,
        is_header=_or(data.is_header, account.is_header),
        currency_code=_given(data.currency_code) or account.currency_code,
        parent_changes=parent_sent and (new_parent.id if new_parent else None) != account.parent_id,
        new_parent=new_parent,
        is_active=_or(data.is_active, account.is_active),
        allow_manual_entries=_given(data.allow_manual_entries),
    )


def _given(value: T | msgspec.UnsetType) -> T | None:
    """A member of the update as sent, None when left out."""
    return None if isinstance(value, msgspec.UnsetType) else value


def _or(value: T | msgspec.UnsetType, current: T) -> T:
    """The member sent, else the account's own."""
    return current if isinstance(value, msgspec.UnsetType) else value


def check_code_never_changes(account: GLAccount, code: str | None) -> None:
    """Codes are never renumbered: reports, integrations and cached lookups use them."""
    if code is not None and code.strip() != account.code:
        raise ApiError(
            "VALIDATION_ERROR",
            "A GL account's code never changes; create a new account instead.",
            [{"field": "code", "reason": "cannot be changed", "value": code[:30]}],
        )


def check_system_account_keeps_its_shape(change: GLChange) -> None:
    """The system's own accounts keep their category, currency, place, kind and
    activity (teller cash, clearing, control, retained earnings): only the name moves."""
    account = change.account
    if account.role == "general":
        return
    for name, changes in (
        ("category", change.changes_category),
        ("currency_code", change.changes_currency),
        ("parent_id", change.parent_changes),
        ("is_header", change.is_header != account.is_header),
        ("is_active", change.deactivates),
    ):
        if changes:
            raise _refuse(
                name,
                f"{account.role} account",
                f"GL account {account.code} is a system account ({account.role}); "
                f"only its name can change.",
            )


def check_system_only_role_takes_no_manual_lines(
    account: GLAccount, allow_manual_entries: bool | None
) -> None:
    """Control accounts must equal their customer accounts, clearing accounts sum to
    zero: neither ever takes a manual journal line."""
    if allow_manual_entries and account.role in SYSTEM_ONLY_ROLES:
        raise ApiError(
            "MANUAL_ENTRY_NOT_ALLOWED",
            f"GL account {account.code} is a {account.role} account: it takes system "
            "postings only.",
            [{"field": "allow_manual_entries", "reason": f"{account.role} account"}],
        )


async def check_parent_fits(session: AsyncSession, tenant_id: uuid.UUID, change: GLChange) -> None:
    """A parent is an active header of the account's (new) category, and never the
    account itself or one of its descendants."""
    account = change.account
    if change.parent_changes and change.new_parent is not None:
        _check_parent(change.new_parent, change.category)
        await _check_no_cycle(session, account, change.new_parent)
    elif change.changes_category and account.parent_id is not None and not change.parent_changes:
        parent = await _load(session, tenant_id, account.parent_id)
        _check_parent(parent, change.category)


async def check_header_has_no_postings(change: GLChange, usage: _Usage) -> None:
    """A header takes no postings, so an account with some never becomes one."""
    if change.becomes_header and await usage.in_use():
        raise _refuse(
            "is_header",
            "the account has postings or journals in progress",
            f"GL account {change.account.code} has postings (or journals in progress) and "
            "so cannot become a header.",
        )


def check_header_keeps_its_sub_accounts(change: GLChange, children: list[GLAccount]) -> None:
    """Sub-accounts hang under a header: move them before it becomes postable."""
    if change.stops_being_header and children:
        raise _refuse(
            "is_header",
            "the account has sub-accounts",
            f"GL account {change.account.code} has {len(children)} sub-account(s); "
            "move them first.",
        )


async def check_category_change_allowed(
    change: GLChange, children: list[GLAccount], usage: _Usage
) -> None:
    """A category changes only on an unused account with no sub-accounts (they share
    its category; postings were booked as that category in every report)."""
    if not change.changes_category:
        return
    if children:
        raise _refuse(
            "category",
            "the account has sub-accounts",
            f"GL account {change.account.code} has sub-accounts of its category.",
        )
    if await usage.in_use():
        raise _refuse(
            "category",
            "the account has postings or journals in progress",
            f"GL account {change.account.code} has postings; its category cannot change.",
        )


async def check_currency_change_allowed(change: GLChange, usage: _Usage) -> None:
    """Postings are in the account's currency: once it has some, the currency stays."""
    if change.changes_currency and await usage.in_use():
        raise _refuse(
            "currency_code",
            "the account has postings or journals in progress",
            f"GL account {change.account.code} has postings; its currency cannot change.",
        )


async def check_deactivation_allowed(
    session: AsyncSession, change: GLChange, children: list[GLAccount]
) -> None:
    """An account is deactivated only once empty: no active sub-accounts, a zero
    balance in every currency, and no journal on its way that uses it."""
    if not change.deactivates:
        return
    account = change.account
    if any(child.is_active for child in children):
        raise _refuse(
            "is_active",
            "the account has active sub-accounts",
            f"GL account {account.code} has active sub-accounts; deactivate them first.",
        )
    if await _carries_a_balance(session, account):
        raise _refuse(
            "is_active",
            "the balance is not zero",
            f"GL account {account.code} still carries a balance; clear it first.",
        )
    if await has_open_journal_lines(session, account.id):
        raise _refuse(
            "is_active",
            "journals in progress use it",
            f"Journals awaiting approval or posting use GL account {account.code}.",
        )


def check_header_takes_no_manual_entries(
    is_header: bool, allow_manual_entries: bool | None
) -> None:
    """A header takes no postings, so it cannot allow manual entries."""
    if is_header and allow_manual_entries:
        raise ApiError(
            "HEADER_ACCOUNT_NOT_POSTABLE",
            "A header account takes no postings, so it cannot allow manual entries.",
            [{"field": "allow_manual_entries", "reason": "header accounts take no postings"}],
        )


def _apply(change: GLChange, name: str | None) -> None:
    """Every rule passed: the account takes the change (a header never allows manual
    entries)."""
    account = change.account
    if name is not None:
        account.name = name
    account.category = change.category
    account.is_header = change.is_header
    manual = (
        account.allow_manual_entries
        if change.allow_manual_entries is None
        else change.allow_manual_entries
    )
    account.allow_manual_entries = False if change.is_header else manual
    account.currency_code = change.currency_code
    if change.parent_changes:
        account.parent_id = change.new_parent.id if change.new_parent else None
    account.is_active = change.is_active


async def _check_no_cycle(session: AsyncSession, account: GLAccount, parent: GLAccount) -> None:
    """The new parent may be neither the account itself nor one of its descendants."""
    seen: set[uuid.UUID] = set()
    current: GLAccount | None = parent
    while current is not None and current.id not in seen:
        if current.id == account.id:
            raise ApiError(
                "VALIDATION_ERROR",
                f"GL account {parent.code} sits under {account.code}; an account cannot "
                "be its own ancestor.",
                [{"field": "parent_id", "reason": "would make a cycle", "value": parent.code}],
            )
        seen.add(current.id)
        current = await session.get(GLAccount, current.parent_id) if current.parent_id else None

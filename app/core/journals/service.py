"""Manual journals through their life: PENDING → APPROVED → POSTED → REVERSED, or REJECTED.

Every transition locks the journal row first (``FOR UPDATE`` on PostgreSQL; SQLite
serializes writers), so concurrent approvals, postings or reversals of one journal
queue behind each other and each later one sees the state the first left: exactly
one wins, the others get ``INVALID_STATE`` / ``ALREADY_REVERSED``.

Posting and reversing move money through :mod:`app.core.ledger.posting` in the
request's one transaction: period and funds re-checked, customer accounts locked in
ID order, stored balances and postings written, audit and outbox beside them.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account
from app.core.accounts.service import release_expired_holds
from app.core.audit import service as audit
from app.core.common import check_branch_scope, parse_id
from app.core.context import Principal, RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.journals import responses as answers
from app.core.journals.bodies import render_journal
from app.core.journals.schemas import JournalCreate
from app.core.ledger.chart import clearing_code, system_account_id
from app.core.ledger.models import GLAccount, Journal, JournalLine, Posting
from app.core.ledger.numbers import journal_number
from app.core.ledger.posting import (
    CREDIT,
    DEBIT,
    NOT_ACTIVE,
    Leg,
    check_can_credit,
    check_can_debit,
    lock_accounts,
    post_journal,
)
from app.core.maker_checker import check_not_maker, same_person_may_check
from app.core.money import display_amount, format_amount, parse_amount
from app.core.periods.models import FiscalPeriod
from app.core.periods.service import open_period_for
from app.core.permissions import has_role
from app.core.tenants.models import Tenant
from app.core.tenants.service import business_date
from app.core.transactions.models import Transaction
from app.core.transactions.service import transaction_body
from app.core.webhooks import outbox
from app.db import utcnow

# Journals the ledger itself books and that a reversal would make nonsense of.
NOT_REVERSIBLE_TYPES = {"REVERSAL", "CLOSING"}
STATES = ("PENDING", "APPROVED", "POSTED", "REJECTED", "REVERSED")
AUTOMATIC_CLEARING = "Inter-branch clearing (automatic)"


@dataclass
class Line:
    """One journal line on its way to the ledger, with what it points at once resolved."""

    field: str  # where it came from in the request ("entries.2"), for error details
    side: str
    amount: int
    currency: str
    description: str | None
    ref: uuid.UUID | None = None  # the account_id sent, when it is a UUID at all
    raw_id: str = ""
    gl: GLAccount | None = None  # a GL line's account (None for a customer line)
    account: Account | None = None  # a customer line's account
    gl_account_id: uuid.UUID | None = None  # where it posts: the GL, or the control GL
    branch_code: str | None = None
    automatic: bool = False

    @property
    def target(self) -> str:
        if self.account is not None:
            return self.account.account_number
        return self.gl.code if self.gl is not None else self.raw_id


def _detail(line: Line, reason: str, suffix: str = "account_id") -> dict[str, Any]:
    return {"field": f"{line.field}.{suffix}", "reason": reason, "value": line.target}


def line_problems(lines: list[Line]) -> list[tuple[str, str, dict[str, Any]]]:
    """(code, message, detail) for every line that cannot post, in line order."""
    problems: list[tuple[str, str, dict[str, Any]]] = []
    for line in lines:
        if line.account is not None:
            account = line.account
            if account.status in NOT_ACTIVE:
                problems.append(
                    (
                        "ACCOUNT_NOT_ACTIVE",
                        f"Account {account.account_number} is {account.status.lower()}.",
                        _detail(line, f"account {account.status.lower()}"),
                    )
                )
            elif account.status == "FROZEN" and line.side == DEBIT:
                problems.append(
                    (
                        "ACCOUNT_FROZEN",
                        f"Account {account.account_number} is frozen: no debits until it "
                        "is unfrozen.",
                        _detail(line, "account frozen"),
                    )
                )
            if line.currency != account.currency:
                problems.append(
                    (
                        "CURRENCY_MISMATCH",
                        f"Account {account.account_number} holds {account.currency}, not "
                        f"{line.currency}.",
                        _detail(line, f"account currency is {account.currency}", "currency_code")
                        | {"value": line.currency},
                    )
                )
            continue
        gl = line.gl
        assert gl is not None
        if gl.is_header:
            problems.append(
                (
                    "HEADER_ACCOUNT_NOT_POSTABLE",
                    f"GL account {gl.code} ({gl.name}) is a header: post to one of its "
                    "sub-accounts.",
                    _detail(line, "header account"),
                )
            )
        if not gl.is_active:
            problems.append(
                (
                    "ACCOUNT_NOT_ACTIVE",
                    f"GL account {gl.code} ({gl.name}) is inactive.",
                    _detail(line, "account inactive"),
                )
            )
        if not gl.allow_manual_entries and not line.automatic and not gl.is_header:
            problems.append(
                (
                    "MANUAL_ENTRY_NOT_ALLOWED",
                    f"GL account {gl.code} ({gl.name}) takes system postings only, no "
                    "manual journal lines.",
                    _detail(line, "manual entries not allowed"),
                )
            )
        if line.currency != gl.currency_code and not line.automatic:
            problems.append(
                (
                    "CURRENCY_MISMATCH",
                    f"GL account {gl.code} is kept in {gl.currency_code}, not {line.currency}.",
                    _detail(line, f"account currency is {gl.currency_code}", "currency_code")
                    | {"value": line.currency},
                )
            )
    return problems


def raise_first(problems: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Raise the first problem's code, listing every line with that same problem."""
    if not problems:
        return
    code, message, _ = problems[0]
    raise ApiError(code, message, [d for c, _m, d in problems if c == code])


def check_balanced(lines: list[Line]) -> None:
    """Debits equal credits in every currency (``UNBALANCED_JOURNAL`` with both totals)."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        totals[line.currency][0 if line.side == DEBIT else 1] += line.amount
    details: list[dict[str, Any]] = []
    messages: list[str] = []
    for currency, (debits, credits) in sorted(totals.items()):
        if debits != credits:
            messages.append(
                f"debits {display_amount(debits, currency)} ≠ credits "
                f"{display_amount(credits, currency)} in {currency}"
            )
            details += [
                {
                    "field": "entries",
                    "code": DetailCode.UNBALANCED.value,
                    "reason": "total debits",
                    "value": format_amount(debits, currency),
                    "currency_code": currency,
                },
                {
                    "field": "entries",
                    "code": DetailCode.UNBALANCED.value,
                    "reason": "total credits",
                    "value": format_amount(credits, currency),
                    "currency_code": currency,
                },
            ]
    if details:
        raise ApiError(
            "UNBALANCED_JOURNAL",
            "The journal does not balance: " + "; ".join(messages) + ".",
            details,
        )


class JournalService:
    def __init__(
        self, session: AsyncSession, ctx: RequestContext, *, production: bool = True
    ) -> None:
        assert ctx.principal is not None and ctx.tenant is not None
        self.session = session
        self.ctx = ctx
        self.principal: Principal = ctx.principal
        self.tenant_id = ctx.tenant.id
        # Production mode ignores the tenant's same-maker-checker setting (strict unless
        # the caller says otherwise).
        self.production = production

    async def _tenant(self) -> Tenant:
        tenant = await self.session.get(Tenant, self.tenant_id)
        assert tenant is not None
        return tenant

    async def body(self, journal: Journal) -> answers.Journal:
        return await render_journal(self.session, self.tenant_id, journal)

    # ---- create -----------------------------------------------------------------------

    async def create(self, data: JournalCreate) -> Journal:
        """A PENDING manual journal; every rule of ledger.md "Journals" checked, in the
        order of api.md: the body (400), existence (404), business rules (422)."""
        tenant = await self._tenant()
        today = business_date(tenant)
        lines = self._parse_lines(data, today)
        period_id = (
            await self._named_period(data.fiscal_period_id) if data.fiscal_period_id else None
        )
        await self._resolve(lines)
        self._check_branch_scope(lines)
        raise_first(line_problems(lines))
        check_balanced(lines)
        period = await open_period_for(self.session, self.tenant_id, data.effective_date, period_id)
        branch = self.principal.branch_code
        lines += await self._clearing_lines(lines, branch)
        journal = Journal(
            tenant_id=self.tenant_id,
            journal_number=journal_number(today),
            journal_type=data.journal_type,
            status="PENDING",
            description=data.description,
            transaction_date=data.transaction_date,
            effective_date=data.effective_date,
            fiscal_period_id=period.id,
            source_reference=(data.source_reference or "").strip() or None,
            branch_code=branch,
            created_by=self.principal.user_id,
            created_by_email=self.principal.email,
        )
        self.session.add(journal)
        for number, line in enumerate(lines, start=1):
            assert line.gl_account_id is not None
            self.session.add(
                JournalLine(
                    journal_id=journal.id,
                    line_no=number,
                    gl_account_id=line.gl_account_id,
                    account_id=line.account.id if line.account else None,
                    side=line.side,
                    amount=line.amount,
                    currency=line.currency,
                    description=line.description,
                )
            )
        await self.session.flush()
        body = await self.body(journal)
        self._record("journal.created", journal, body)
        return journal

    def _parse_lines(self, data: JournalCreate, today: date) -> list[Line]:
        """Amounts in their currency's grammar and the dates: every bad field at once."""
        details: list[dict[str, Any]] = []
        lines: list[Line] = []
        for index, entry in enumerate(data.entries):
            field = f"entries.{index}"
            try:
                amount = parse_amount(entry.amount, entry.currency_code, f"{field}.amount")
            except ApiError as exc:
                for detail in exc.details:  # an unknown currency names the currency field
                    if detail.get("field") == "currency":
                        detail["field"] = f"{field}.currency_code"
                details += exc.details
                continue
            try:
                ref: uuid.UUID | None = uuid.UUID(entry.account_id)
            except ValueError:
                ref = None  # cannot exist: a 404, once the body is known to be good
            lines.append(
                Line(
                    field=field,
                    side=DEBIT if entry.entry_type == "debit" else CREDIT,
                    amount=amount,
                    currency=entry.currency_code,
                    description=(entry.description or "").strip() or None,
                    ref=ref,
                    raw_id=entry.account_id,
                )
            )
        sides = {entry.entry_type for entry in data.entries}
        if sides != {"debit", "credit"}:
            details.append(
                {
                    "field": "entries",
                    "code": DetailCode.TOO_SHORT.value,
                    "reason": "needs at least one debit and one credit line",
                }
            )
        for name in ("transaction_date", "effective_date"):
            value: date = getattr(data, name)
            if value > today:
                details.append(
                    {
                        "field": name,
                        "code": DetailCode.IN_FUTURE.value,
                        "reason": f"after the business date {today.isoformat()}",
                        "value": value.isoformat(),
                    }
                )
        if details:
            names = ", ".join(dict.fromkeys(str(d["field"]) for d in details))
            raise ApiError("VALIDATION_ERROR", f"Check these fields: {names}.", details)
        return lines

    async def _named_period(self, raw: str) -> uuid.UUID:
        period_id = parse_id(raw, "PERIOD_NOT_FOUND", "fiscal period")
        period = await self.session.get(FiscalPeriod, period_id)
        if period is None or period.tenant_id != self.tenant_id:
            raise ApiError(
                "PERIOD_NOT_FOUND",
                "No such fiscal period.",
                [detail("fiscal_period_id", DetailCode.UNKNOWN_PERIOD, "not found", raw[:64])],
            )
        return period.id

    async def _resolve(self, lines: list[Line]) -> None:
        """Each line's account: a GL account or a customer account of this tenant (404)."""
        ids = {line.ref for line in lines if line.ref is not None}
        gls = await self._gl_accounts(ids)
        accounts: dict[uuid.UUID, Account] = {}
        if ids - set(gls):
            rows = await self.session.execute(
                sa.select(Account).where(
                    col(Account.tenant_id) == self.tenant_id, col(Account.id).in_(ids - set(gls))
                )
            )
            accounts = {a.id: a for a in rows.scalars().all()}
        missing = []
        for line in lines:
            if line.ref in gls:
                line.gl = gls[line.ref]
                line.gl_account_id = line.gl.id
                line.branch_code = line.gl.branch_code
            elif line.ref in accounts:
                line.account = accounts[line.ref]
                line.gl_account_id = line.account.control_gl_account_id
                line.branch_code = line.account.branch_code
            else:
                missing.append(
                    {
                        "field": f"{line.field}.account_id",
                        "code": DetailCode.UNKNOWN_ACCOUNT.value,
                        "reason": "no GL or customer account of this tenant",
                        "value": line.raw_id[:64],
                    }
                )
        if missing:
            raise ApiError("ACCOUNT_NOT_FOUND", "No such account.", missing)

    async def _gl_accounts(
        self, ids: set[uuid.UUID], *, share: bool = False
    ) -> dict[uuid.UUID, GLAccount]:
        if not ids:
            return {}
        query = sa.select(GLAccount).where(
            col(GLAccount.tenant_id) == self.tenant_id, col(GLAccount.id).in_(ids)
        )
        if share:
            # Held until commit: a concurrent PATCH (FOR UPDATE) cannot turn the account
            # into a header or change its currency under a posting; postings never wait
            # for each other on it.
            query = query.with_for_update(read=True)
        rows = await self.session.execute(query.execution_options(populate_existing=True))
        return {g.id: g for g in rows.scalars().all()}

    async def _clearing_lines(self, lines: list[Line], home: str) -> list[Line]:
        """Customer lines of other branches get a clearing pair, so each branch's books
        balance (as cash and transfers do); the clearing accounts still sum to zero."""
        net: dict[tuple[str, str], int] = defaultdict(int)
        for line in lines:
            branch = line.branch_code or home
            if branch != home:
                net[(branch, line.currency)] += line.amount if line.side == DEBIT else -line.amount
        added: list[Line] = []
        for (branch, currency), amount in sorted(net.items()):
            if amount == 0:
                continue
            side_there = CREDIT if amount > 0 else DEBIT
            side_home = DEBIT if amount > 0 else CREDIT
            for where, side in ((branch, side_there), (home, side_home)):
                gl_id = await system_account_id(self.session, self.tenant_id, clearing_code(where))
                added.append(
                    Line(
                        field="entries",
                        side=side,
                        amount=abs(amount),
                        currency=currency,
                        description=AUTOMATIC_CLEARING,
                        gl_account_id=gl_id,
                        branch_code=where,
                        automatic=True,
                    )
                )
        return added

    # ---- transitions --------------------------------------------------------------------

    async def _lock(self, raw_id: str) -> Journal:
        """The journal row, locked until commit, read fresh (not from the identity map)."""
        journal_id = parse_id(raw_id, "JOURNAL_NOT_FOUND", "journal")
        found = (
            (
                await self.session.execute(
                    sa.select(Journal)
                    .where(col(Journal.id) == journal_id, col(Journal.tenant_id) == self.tenant_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .one_or_none()
        )
        if found is None:
            raise ApiError("JOURNAL_NOT_FOUND", "No such journal.")
        journal: Journal = found
        return journal

    async def _check_not_maker(self, journal: Journal, what: str) -> None:
        """Maker ≠ checker whatever the role — the people behind them, an API key being
        its creator — unless a sandbox tenant allows the same person."""
        await check_not_maker(
            self.session,
            self.principal,
            journal.created_by,
            same_person_allowed=same_person_may_check(
                await self._tenant(), production=self.production
            ),
            refusal=f"You made journal {journal.journal_number}; someone else must {what} it.",
        )

    def _check_branch_scope(self, lines: list[Line]) -> None:
        """Below manager, only lines on the caller's own branch's accounts (roles.md, as
        transfers): customer accounts, and the GL accounts tied to a branch (its teller
        cash and clearing). The chart's other GL accounts are the tenant's, not a branch's.
        Automatic clearing lines follow from the customer lines, checked already."""
        for line in lines:
            if line.automatic:
                continue
            if line.account is not None:
                self._check_line_scope(line.field, line.account.branch_code, "account")
            elif line.gl is not None and line.gl.branch_code is not None:
                self._check_line_scope(line.field, line.gl.branch_code, "GL account")

    def _check_line_scope(self, field: str, branch_code: str, what: str) -> None:
        """``BRANCH_SCOPE`` naming the journal line, like every other line problem."""
        try:
            check_branch_scope(self.principal, branch_code, what)
        except ApiError as exc:
            exc.details = [
                {
                    "field": f"{field}.account_id",
                    "code": DetailCode.BRANCH_SCOPE.value,
                    "reason": "outside your branch",
                    "value": branch_code,
                }
            ]
            raise

    async def _check_journal_scope(self, journal: Journal) -> None:
        """The branch scope of a drafted journal's lines, for whoever decides on it."""
        if has_role(self.principal.roles, "manager"):
            return  # tenant-wide: no need to read the lines
        # Columns, not rows: posting locks and reads the accounts itself, fresh.
        rows = await self.session.execute(
            sa.select(
                col(JournalLine.line_no),
                col(Account.branch_code),
                col(GLAccount.branch_code),
                col(GLAccount.role),
            )
            .select_from(JournalLine)
            .join(GLAccount, col(GLAccount.id) == col(JournalLine.gl_account_id))
            .outerjoin(Account, col(Account.id) == col(JournalLine.account_id))
            .where(col(JournalLine.journal_id) == journal.id)
            .order_by(col(JournalLine.line_no))
        )
        for line_no, account_branch, gl_branch, gl_role in rows.tuples().all():
            field = f"entries.{line_no - 1}"
            if account_branch is not None:
                self._check_line_scope(field, account_branch, "account")
            elif gl_branch is not None and gl_role != "clearing":
                # Clearing lines are the automatic pairs of customer lines (checked).
                self._check_line_scope(field, gl_branch, "GL account")

    @staticmethod
    def _require(journal: Journal, *states: str, action: str) -> None:
        if journal.status not in states:
            raise ApiError(
                "INVALID_STATE",
                f"Journal {journal.journal_number} is {journal.status}: only a "
                f"{' or '.join(states)} journal can be {action}.",
                [
                    {
                        "field": "status",
                        "code": DetailCode.INVALID_STATE.value,
                        "reason": f"must be {' or '.join(states)}",
                        "value": journal.status,
                    }
                ],
            )

    async def approve(self, raw_id: str) -> Journal:
        journal = await self._lock(raw_id)
        await self._check_journal_scope(journal)
        await self._check_not_maker(journal, "approve")
        self._require(journal, "PENDING", action="approved")
        journal.status = "APPROVED"
        journal.approved_by = self.principal.user_id
        journal.approved_at = utcnow()
        self.session.add(journal)
        self._record("journal.approved", journal, await self.body(journal), before="PENDING")
        return journal

    async def reject(self, raw_id: str, reason: str) -> Journal:
        journal = await self._lock(raw_id)
        await self._check_journal_scope(journal)
        await self._check_not_maker(journal, "reject")
        self._require(journal, "PENDING", action="rejected")
        journal.status = "REJECTED"
        journal.rejected_by = self.principal.user_id
        journal.rejected_at = utcnow()
        journal.rejection_reason = reason
        self.session.add(journal)
        self._record("journal.rejected", journal, await self.body(journal), before="PENDING")
        return journal

    async def post(self, raw_id: str) -> Journal:
        """APPROVED → POSTED, all or nothing: period, accounts and funds checked again."""
        journal = await self._lock(raw_id)
        await self._check_journal_scope(journal)
        await self._check_not_maker(journal, "post")
        self._require(journal, "APPROVED", action="posted")
        await open_period_for(
            self.session, self.tenant_id, journal.effective_date, journal.fiscal_period_id
        )
        drafted = (
            (
                await self.session.execute(
                    sa.select(JournalLine)
                    .where(col(JournalLine.journal_id) == journal.id)
                    .order_by(col(JournalLine.line_no))
                )
            )
            .scalars()
            .all()
        )
        accounts = await lock_accounts(
            self.session, self.tenant_id, [x.account_id for x in drafted if x.account_id]
        )
        gls = await self._gl_accounts(
            {x.gl_account_id for x in drafted if x.account_id is None}, share=True
        )
        lines = []
        for drafted_line in drafted:
            line = Line(
                field=f"entries.{drafted_line.line_no - 1}",
                side=drafted_line.side,
                amount=drafted_line.amount,
                currency=drafted_line.currency,
                description=drafted_line.description,
                gl_account_id=drafted_line.gl_account_id,
            )
            if drafted_line.account_id is not None:
                line.account = accounts[drafted_line.account_id]
            else:
                line.gl = gls[drafted_line.gl_account_id]
                line.automatic = line.gl.role == "clearing"
                line.branch_code = line.gl.branch_code or journal.branch_code
            lines.append(line)
        raise_first(line_problems(lines))
        await self._check_funds(lines)
        await self._post_lines(journal, lines, journal.effective_date)
        journal.posted_by = self.principal.user_id
        journal.posted_at = utcnow()
        self.session.add(journal)
        self._record("journal.posted", journal, await self.body(journal), before="APPROVED")
        return journal

    async def _check_funds(self, lines: list[Line]) -> None:
        """Each customer account's net debit against its available balance (holds and
        overdraft counted), after expired holds stop counting."""
        net: dict[uuid.UUID, int] = defaultdict(int)
        debited: set[uuid.UUID] = set()
        accounts: dict[uuid.UUID, Account] = {}
        for line in lines:
            if line.account is None:
                continue
            accounts[line.account.id] = line.account
            if line.side == DEBIT:
                net[line.account.id] += line.amount
                debited.add(line.account.id)
            else:
                net[line.account.id] -= line.amount
        for account_id in sorted(accounts):
            account = accounts[account_id]
            await release_expired_holds(self.session, account)
            if account_id in debited:
                check_can_debit(account, max(net[account_id], 0))
            else:
                check_can_credit(account)

    async def _post_lines(self, journal: Journal, lines: list[Line], on: date) -> None:
        # Credits first: a running balance never dips below what the net change leaves.
        ordered = sorted(lines, key=lambda line: 0 if line.side == CREDIT else 1)
        legs = []
        accounts: dict[uuid.UUID, Account] = {}
        for line in ordered:
            assert line.gl_account_id is not None
            if line.account is not None:
                accounts[line.account.id] = line.account
            legs.append(
                Leg(
                    gl_account_id=line.gl_account_id,
                    side=line.side,
                    amount=line.amount,
                    currency=line.currency,
                    account_id=line.account.id if line.account else None,
                    branch_code=line.branch_code,
                    description=line.description or journal.description[:500],
                )
            )
        await post_journal(
            self.session, journal, legs, accounts, effective_date=on, skip_funds_check=True
        )

    async def reverse(self, raw_id: str, reason: str) -> Journal:
        """POSTED → REVERSED: its mirror (every side swapped) is posted at once, dated the
        business date in the open period, and both are linked."""
        original = await self._lock(raw_id)
        await self._check_not_maker(original, "reverse")
        if original.status == "REVERSED":
            raise ApiError(
                "ALREADY_REVERSED",
                f"Journal {original.journal_number} was already reversed.",
                [detail("status", DetailCode.INVALID_STATE, "already reversed", "REVERSED")],
            )
        if original.journal_type in NOT_REVERSIBLE_TYPES or original.reverses_journal_id:
            raise ApiError(
                "INVALID_STATE",
                f"Journal {original.journal_number} is a {original.journal_type.lower()} "
                "journal: it cannot itself be reversed.",
                [
                    {
                        "field": "journal_type",
                        "code": DetailCode.INVALID_STATE.value,
                        "reason": "not reversible",
                        "value": original.journal_type,
                    }
                ],
            )
        self._require(original, "POSTED", action="reversed")
        tenant = await self._tenant()
        today = business_date(tenant)
        period = await self._open_period_today(today)
        postings = (
            (
                await self.session.execute(
                    sa.select(Posting)
                    .where(col(Posting.journal_id) == original.id)
                    .order_by(col(Posting.id))
                )
            )
            .scalars()
            .all()
        )
        accounts = await lock_accounts(
            self.session, self.tenant_id, [p.account_id for p in postings if p.account_id]
        )
        lines = [
            Line(
                field="entries",
                side=CREDIT if p.side == DEBIT else DEBIT,
                amount=p.amount,
                currency=p.currency,
                description=p.description,
                account=accounts[p.account_id] if p.account_id else None,
                gl_account_id=p.gl_account_id,
                branch_code=p.branch_code,
                automatic=True,
            )
            for p in postings
        ]
        await self._check_funds(lines)
        now = utcnow()
        mirror = Journal(
            tenant_id=self.tenant_id,
            journal_number=journal_number(today),
            journal_type="REVERSAL",
            status="APPROVED",
            description=f"Reversal of {original.journal_number}: {reason}"[:500],
            transaction_date=today,
            effective_date=today,
            fiscal_period_id=period.id,
            source_reference=original.journal_number,
            branch_code=original.branch_code,
            created_by=self.principal.user_id,
            created_by_email=self.principal.email,
            approved_by=self.principal.user_id,
            approved_at=now,
            posted_by=self.principal.user_id,
            posted_at=now,
            reverses_journal_id=original.id,
        )
        self.session.add(mirror)
        for number, line in enumerate(lines, start=1):
            assert line.gl_account_id is not None
            self.session.add(
                JournalLine(
                    journal_id=mirror.id,
                    line_no=number,
                    gl_account_id=line.gl_account_id,
                    account_id=line.account.id if line.account else None,
                    side=line.side,
                    amount=line.amount,
                    currency=line.currency,
                    description=line.description,
                )
            )
        await self._post_lines(mirror, lines, today)
        original.status = "REVERSED"
        original.reversed_by = self.principal.user_id
        original.reversed_at = now
        original.reversal_reason = reason
        original.reversal_journal_id = mirror.id
        self.session.add(original)
        await self.session.flush()
        await self._reverse_transaction(original)
        self._record("journal.posted", mirror, await self.body(mirror))
        self._record("journal.reversed", original, await self.body(original), before="POSTED")
        return original

    async def _open_period_today(self, today: date) -> FiscalPeriod:
        """The open period holding the business date: a reversal never lands in a
        closed one, so a closed (or missing) period is NO_OPEN_PERIOD alike."""
        try:
            return await open_period_for(self.session, self.tenant_id, today)
        except ApiError as exc:
            if exc.code != "PERIOD_CLOSED":
                raise
            raise ApiError(
                "NO_OPEN_PERIOD",
                f"No open fiscal period holds the business date {today.isoformat()}; an "
                "admin must open one before anything can be reversed.",
                [
                    {
                        "field": "business_date",
                        "code": DetailCode.PERIOD_CLOSED.value,
                        "reason": "no open period",
                        "value": today.isoformat(),
                    }
                ],
            ) from None

    async def _reverse_transaction(self, journal: Journal) -> None:
        """A reversed system journal takes its deposit, withdrawal or transfer with it."""
        if journal.journal_type not in {"CASH", "TRANSFER"}:
            return
        found = (
            await self.session.execute(
                sa.select(Transaction)
                .where(
                    col(Transaction.tenant_id) == self.tenant_id,
                    col(Transaction.journal_id) == journal.id,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if found is None:
            return
        transaction: Transaction = found
        before = transaction_body(transaction)
        transaction.status = "REVERSED"
        self.session.add(transaction)
        audit.record(
            self.session,
            self.ctx,
            "transaction.reversed",
            entity_type="transaction",
            entity_id=transaction.id,
            before=before,
            after=transaction_body(transaction),
        )

    def _record(
        self, action: str, journal: Journal, body: answers.Journal, *, before: str | None = None
    ) -> None:
        """The audit record and the outbox event of a transition, in its transaction."""
        audit.record(
            self.session,
            self.ctx,
            action,
            entity_type="journal",
            entity_id=journal.id,
            before={"status": before} if before else None,
            after=body,
        )
        outbox.emit(
            self.session, self.tenant_id, action, msgspec.to_builtins(body), self.ctx.request_id
        )

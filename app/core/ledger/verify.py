"""The ledger consistency check of `ledger.md` ("Invariants the tests must check").

``verify_ledger`` recomputes, from the postings, everything the ledger stores or
derives and names every place where the two disagree. Each check is one aggregate
query (GROUP BY / HAVING), never a Python loop over postings, so it stays usable on a
big ledger; only the rows that breach an invariant come back to Python.

It reads in one snapshot (REPEATABLE READ on PostgreSQL, one read transaction on
SQLite), so a check running beside live traffic sees a consistent ledger.

Checked (numbers refer to the invariants of ledger.md):

1. every POSTED (or since REVERSED) journal balances per currency, and has postings;
2. Σ debits = Σ credits over all postings, per tenant and currency;
3. every customer account's stored ``ledger_balance`` equals the sum of its postings
   and the ``balance_after`` of its latest posting; its stored ``hold_amount`` equals
   its ACTIVE holds; every control GL account equals its customer accounts (per
   currency); the clearing accounts sum to zero per tenant and currency;
4. no customer account below −overdraft (now, nor in any running balance); a closed
   account holds nothing and took no posting after it was closed;
7. no posting dated in a closed or locked period after that period was closed.

And the structure the above relies on: every posting's journal is POSTED or
REVERSED; a journal's postings share one effective date; a customer-account posting
is in the account's currency and under its control GL account; no posting on a
header account; no posting outside every fiscal period; a COMPLETED transaction has a
posted journal; a transaction awaiting approval still holds its funds, a rejected
one no longer does; a REVERSED journal has a posted mirror.

GL roll-ups: every row of ``gl_rollups`` equals the sum and count of the postings it
stands for (the tenant's postings up to its mark, of that day, account, currency and
branch), and no such postings lack their row.

Journals (issue 4): a reversed journal and its mirror cancel out exactly, account by
account; every mirror is linked back from a REVERSED original, and no journal has two
mirrors; a posted journal with drafted lines posted exactly those lines.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account, Hold
from app.core.ledger.balances import NO_BRANCH
from app.core.ledger.models import GLAccount, GLRollup, GLRollupMark, Journal, JournalLine, Posting
from app.core.money import format_amount
from app.core.periods.models import FiscalPeriod
from app.core.tenants.models import Tenant
from app.core.transactions.models import Transaction

# How many breaches of one kind are listed before the rest are summarised.
MAX_LISTED = 50
_POSTED_STATES = ("POSTED", "REVERSED")


@dataclass
class LedgerReport:
    breaches: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.breaches

    def text(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self.checked.items())
        if self.ok:
            return f"ledger verify: OK ({counts})"
        lines = [f"ledger verify: {len(self.breaches)} breach(es) ({counts})"]
        lines += [f"  - {breach}" for breach in self.breaches]
        return "\n".join(lines)


def _signed_credit() -> sa.ColumnElement[Any]:
    """A posting's amount seen from a credit-normal account: credits +, debits −."""
    return sa.case((col(Posting.side) == "C", col(Posting.amount)), else_=-col(Posting.amount))


def _debit() -> sa.ColumnElement[Any]:
    return sa.case((col(Posting.side) == "D", col(Posting.amount)), else_=0)


def _credit() -> sa.ColumnElement[Any]:
    return sa.case((col(Posting.side) == "C", col(Posting.amount)), else_=0)


def _money(value: Any, currency: str | None) -> str:
    return f"{format_amount(int(value or 0), currency or 'NGN')} {currency or ''}".strip()


class _Verifier:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID | None) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.report = LedgerReport()
        self.tenants: dict[Any, str] = {}

    # ---- helpers ----------------------------------------------------------------------

    def _scoped(self, query: Any, column: Any) -> Any:
        return query if self.tenant_id is None else query.where(column == self.tenant_id)

    async def _rows(self, query: Any) -> Sequence[Any]:
        return (await self.session.execute(query)).all()

    async def _count(self, query: Any) -> int:
        return int((await self.session.execute(query)).scalar_one() or 0)

    def _breach(self, kind: str, rows: Sequence[Any], describe: Any) -> None:
        for row in rows[:MAX_LISTED]:
            self.report.breaches.append(describe(row))
        if len(rows) > MAX_LISTED:
            self.report.breaches.append(f"… and {len(rows) - MAX_LISTED} more {kind} breaches")

    def _tenant(self, tenant_id: Any) -> str:
        return self.tenants.get(tenant_id, str(tenant_id))

    # ---- the checks -------------------------------------------------------------------

    async def run(self) -> LedgerReport:
        tenants = await self._rows(
            self._scoped(sa.select(col(Tenant.id), col(Tenant.code)), col(Tenant.id))
        )
        self.tenants = {tid: code for tid, code in tenants}
        self.report.checked["tenants"] = len(self.tenants)
        self.report.checked["postings"] = await self._count(
            self._scoped(sa.select(sa.func.count()).select_from(Posting), Posting.tenant_id)
        )
        self.report.checked["journals"] = await self._count(
            self._scoped(
                sa.select(sa.func.count())
                .select_from(Journal)
                .where(col(Journal.status).in_(_POSTED_STATES)),
                Journal.tenant_id,
            )
        )
        self.report.checked["accounts"] = await self._count(
            self._scoped(sa.select(sa.func.count()).select_from(Account), Account.tenant_id)
        )
        await self._journals_balance()
        await self._journal_structure()
        await self._reversals()
        await self._drafted_lines()
        await self._trial_balance()
        await self._account_balances()
        await self._latest_balance_after()
        await self._holds()
        await self._posting_structure()
        await self._control_accounts()
        await self._clearing()
        await self._overdrafts()
        await self._closed_accounts()
        await self._periods()
        await self._transactions()
        await self._rollups()
        return self.report

    async def _journals_balance(self) -> None:
        """(1) Every posted journal balances per currency."""
        query = (
            sa.select(
                col(Journal.journal_number),
                col(Journal.tenant_id),
                col(Posting.currency),
                sa.func.sum(_debit()),
                sa.func.sum(_credit()),
            )
            .select_from(Posting)
            .join(Journal, col(Journal.id) == col(Posting.journal_id))
            .group_by(col(Journal.id), col(Journal.journal_number), col(Journal.tenant_id))
            .group_by(col(Posting.currency))
            .having(sa.func.sum(_debit()) != sa.func.sum(_credit()))
        )
        rows = await self._rows(self._scoped(query, Posting.tenant_id))
        self._breach(
            "unbalanced journal",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] journal {r[0]} does not balance in {r[2]}: "
                f"debits {_money(r[3], r[2])} ≠ credits {_money(r[4], r[2])}"
            ),
        )
        empty = (
            sa.select(col(Journal.journal_number), col(Journal.tenant_id))
            .where(col(Journal.status).in_(_POSTED_STATES))
            .where(~sa.exists().where(col(Posting.journal_id) == col(Journal.id)))
        )
        rows = await self._rows(self._scoped(empty, Journal.tenant_id))
        self._breach(
            "empty journal",
            rows,
            lambda r: f"[{self._tenant(r[1])}] journal {r[0]} is posted but has no postings",
        )

    async def _journal_structure(self) -> None:
        """Postings belong to posted journals only, and share the journal's one date."""
        query = (
            sa.select(
                col(Journal.journal_number),
                col(Journal.tenant_id),
                col(Journal.status),
                sa.func.count(),
            )
            .select_from(Posting)
            .join(Journal, col(Journal.id) == col(Posting.journal_id))
            .where(col(Journal.status).not_in(_POSTED_STATES))
            .group_by(col(Journal.id), col(Journal.journal_number), col(Journal.tenant_id))
            .group_by(col(Journal.status))
        )
        rows = await self._rows(self._scoped(query, Posting.tenant_id))
        self._breach(
            "unposted journal",
            rows,
            lambda r: f"[{self._tenant(r[1])}] journal {r[0]} is {r[2]} but has {r[3]} postings",
        )
        dates = (
            sa.select(
                col(Journal.journal_number),
                col(Journal.tenant_id),
                sa.func.count(sa.distinct(col(Posting.effective_date))),
            )
            .select_from(Posting)
            .join(Journal, col(Journal.id) == col(Posting.journal_id))
            .group_by(col(Journal.id), col(Journal.journal_number), col(Journal.tenant_id))
            .having(sa.func.count(sa.distinct(col(Posting.effective_date))) > 1)
        )
        rows = await self._rows(self._scoped(dates, Posting.tenant_id))
        self._breach(
            "journal date",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] journal {r[0]} has postings on {r[2]} "
                "different effective dates"
            ),
        )
        mirror = aliased(Journal)
        reversed_ = (
            sa.select(col(Journal.journal_number), col(Journal.tenant_id))
            .outerjoin(mirror, col(mirror.id) == col(Journal.reversal_journal_id))
            .where(col(Journal.status) == "REVERSED")
            .where(
                sa.or_(
                    col(mirror.id).is_(None),
                    col(mirror.status) != "POSTED",
                    col(mirror.reverses_journal_id) != col(Journal.id),
                )
            )
        )
        rows = await self._rows(self._scoped(reversed_, Journal.tenant_id))
        self._breach(
            "reversal link",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] journal {r[0]} is REVERSED without a posted "
                "mirror journal linked back to it"
            ),
        )

    async def _journal_numbers(self, ids: list[Any]) -> dict[Any, str]:
        rows = await self._rows(
            sa.select(col(Journal.id), col(Journal.journal_number), col(Journal.tenant_id)).where(
                col(Journal.id).in_(ids)
            )
        )
        return {jid: f"[{self._tenant(tid)}] journal {number}" for jid, number, tid in rows}

    async def _reversals(self) -> None:
        """A reversed journal and its mirror cancel out; links run both ways, once."""
        group = sa.func.coalesce(col(Journal.reverses_journal_id), col(Journal.id))
        signed = sa.case(
            (col(Posting.side) == "D", col(Posting.amount)), else_=-col(Posting.amount)
        )
        query = (
            sa.select(group, col(Posting.currency), sa.func.sum(signed))
            .select_from(Posting)
            .join(Journal, col(Journal.id) == col(Posting.journal_id))
            .where(
                sa.or_(
                    col(Journal.status) == "REVERSED",
                    col(Journal.reverses_journal_id).is_not(None),
                )
            )
            .group_by(group, col(Posting.gl_account_id), col(Posting.account_id))
            .group_by(col(Posting.currency))
            .having(sa.func.sum(signed) != 0)
        )
        rows = await self._rows(self._scoped(query, Posting.tenant_id))
        if rows:
            names = await self._journal_numbers([r[0] for r in rows])
            self._breach(
                "reversal",
                rows,
                lambda r: (
                    f"{names.get(r[0], r[0])} and its reversal do not cancel out: "
                    f"{_money(r[2], r[1])} left on one account"
                ),
            )
        original = aliased(Journal)
        links = (
            sa.select(col(Journal.journal_number), col(Journal.tenant_id))
            .outerjoin(original, col(original.id) == col(Journal.reverses_journal_id))
            .where(col(Journal.reverses_journal_id).is_not(None))
            .where(
                sa.or_(
                    col(original.id).is_(None),
                    col(original.status) != "REVERSED",
                    col(original.reversal_journal_id).is_(None),
                    col(original.reversal_journal_id) != col(Journal.id),
                    col(original.tenant_id) != col(Journal.tenant_id),
                )
            )
        )
        rows = await self._rows(self._scoped(links, Journal.tenant_id))
        self._breach(
            "mirror link",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] journal {r[0]} reverses a journal that is not "
                "REVERSED or does not link back to it"
            ),
        )
        twice = (
            sa.select(col(Journal.reverses_journal_id), sa.func.count())
            .where(col(Journal.reverses_journal_id).is_not(None))
            .group_by(col(Journal.reverses_journal_id))
            .having(sa.func.count() > 1)
        )
        rows = await self._rows(self._scoped(twice, Journal.tenant_id))
        if rows:
            names = await self._journal_numbers([r[0] for r in rows])
            self._breach(
                "reversed twice",
                rows,
                lambda r: f"{names.get(r[0], r[0])} has {r[1]} reversal journals",
            )

    async def _drafted_lines(self) -> None:
        """A posted journal with drafted lines posted exactly them (account by account)."""
        line_sign = sa.case(
            (col(JournalLine.side) == "D", col(JournalLine.amount)), else_=-col(JournalLine.amount)
        )
        posting_sign = sa.case(
            (col(Posting.side) == "D", -col(Posting.amount)), else_=col(Posting.amount)
        )
        drafted: Any = (
            sa.select(
                col(JournalLine.journal_id).label("jid"),
                col(JournalLine.gl_account_id).label("gl"),
                col(JournalLine.account_id).label("acct"),
                col(JournalLine.currency).label("cur"),
                line_sign.label("amt"),
            )
            .join(Journal, col(Journal.id) == col(JournalLine.journal_id))
            .where(col(Journal.status).in_(_POSTED_STATES))
        )
        booked: Any = sa.select(
            col(Posting.journal_id).label("jid"),
            col(Posting.gl_account_id).label("gl"),
            col(Posting.account_id).label("acct"),
            col(Posting.currency).label("cur"),
            posting_sign.label("amt"),
        ).where(col(Posting.journal_id).in_(sa.select(col(JournalLine.journal_id))))
        if self.tenant_id is not None:
            drafted = drafted.where(col(Journal.tenant_id) == self.tenant_id)
            booked = booked.where(col(Posting.tenant_id) == self.tenant_id)
        both = sa.union_all(drafted, booked).subquery()
        query = (
            sa.select(both.c.jid, both.c.cur, sa.func.sum(both.c.amt))
            .group_by(both.c.jid, both.c.gl, both.c.acct, both.c.cur)
            .having(sa.func.sum(both.c.amt) != 0)
        )
        rows = await self._rows(query)
        if rows:
            names = await self._journal_numbers([r[0] for r in rows])
            self._breach(
                "drafted lines",
                rows,
                lambda r: (
                    f"{names.get(r[0], r[0])}: its postings differ from its drafted lines "
                    f"by {_money(r[2], r[1])} on one account"
                ),
            )

    async def _trial_balance(self) -> None:
        """(2) Σ debits = Σ credits per tenant and currency."""
        query = (
            sa.select(
                col(Posting.tenant_id),
                col(Posting.currency),
                sa.func.sum(_debit()),
                sa.func.sum(_credit()),
            )
            .group_by(col(Posting.tenant_id), col(Posting.currency))
            .having(sa.func.sum(_debit()) != sa.func.sum(_credit()))
        )
        rows = await self._rows(self._scoped(query, Posting.tenant_id))
        self._breach(
            "trial balance",
            rows,
            lambda r: (
                f"[{self._tenant(r[0])}] trial balance in {r[1]} does not balance: "
                f"debits {_money(r[2], r[1])} ≠ credits {_money(r[3], r[1])}"
            ),
        )

    async def _stored_equals_sum(
        self, label: str, stored: Any, sums: Any, tenant_column: Any, what: str
    ) -> None:
        """A stored per-account figure against the sum ``sums`` computes (account_id, total)."""
        if self.tenant_id is not None:
            sums = sums.where(tenant_column == self.tenant_id)
        sub = sums.subquery()
        total = sa.func.coalesce(sub.c.total, 0)
        query = (
            sa.select(
                col(Account.account_number),
                col(Account.tenant_id),
                col(Account.currency),
                stored,
                total,
            )
            .outerjoin(sub, sub.c.account_id == col(Account.id))
            .where(stored != total)
        )
        rows = await self._rows(self._scoped(query, Account.tenant_id))
        name = stored.key
        self._breach(
            label,
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] account {r[0]}: stored {name} "
                f"{_money(r[3], r[2])} ≠ {what} {_money(r[4], r[2])}"
            ),
        )

    async def _account_balances(self) -> None:
        """(3) Stored ledger_balance = Σ postings (credits − debits)."""
        sums: Any = (
            sa.select(
                col(Posting.account_id).label("account_id"),
                sa.func.sum(_signed_credit()).label("total"),
            )
            .where(col(Posting.account_id).is_not(None))
            .group_by(col(Posting.account_id))
        )
        await self._stored_equals_sum(
            "account balance",
            col(Account.ledger_balance),
            sums,
            col(Posting.tenant_id),
            "sum of its postings",
        )

    async def _latest_balance_after(self) -> None:
        """(3) Stored ledger_balance = balance_after of the account's latest posting."""
        latest: Any = (
            sa.select(
                col(Posting.account_id).label("account_id"),
                sa.func.max(col(Posting.id)).label("last_id"),
            )
            .where(col(Posting.account_id).is_not(None))
            .group_by(col(Posting.account_id))
        )
        if self.tenant_id is not None:
            latest = latest.where(col(Posting.tenant_id) == self.tenant_id)
        sub = latest.subquery()
        query = (
            sa.select(
                col(Account.account_number),
                col(Account.tenant_id),
                col(Account.currency),
                col(Account.ledger_balance),
                col(Posting.balance_after),
            )
            .join(sub, sub.c.account_id == col(Account.id))
            .join(Posting, col(Posting.id) == sub.c.last_id)
            .where(
                sa.or_(
                    col(Posting.balance_after).is_(None),
                    col(Posting.balance_after) != col(Account.ledger_balance),
                )
            )
        )
        rows = await self._rows(self._scoped(query, Account.tenant_id))
        self._breach(
            "running balance",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] account {r[0]}: stored ledger_balance "
                f"{_money(r[3], r[2])} ≠ balance_after of its latest posting "
                f"{_money(r[4], r[2]) if r[4] is not None else '(none)'}"
            ),
        )

    async def _holds(self) -> None:
        """(3) Stored hold_amount = Σ ACTIVE holds."""
        sums: Any = (
            sa.select(
                col(Hold.account_id).label("account_id"),
                sa.func.sum(col(Hold.amount)).label("total"),
            )
            .where(col(Hold.status) == "ACTIVE")
            .group_by(col(Hold.account_id))
        )
        await self._stored_equals_sum(
            "hold amount",
            col(Account.hold_amount),
            sums,
            col(Hold.tenant_id),
            "sum of its active holds",
        )

    async def _posting_structure(self) -> None:
        """Customer postings in the account's currency, under its control GL; no headers."""
        query = (
            sa.select(
                col(Account.account_number),
                col(Account.tenant_id),
                sa.func.count(),
            )
            .select_from(Posting)
            .join(Account, col(Account.id) == col(Posting.account_id))
            .where(
                sa.or_(
                    col(Posting.currency) != col(Account.currency),
                    col(Posting.gl_account_id) != col(Account.control_gl_account_id),
                    col(Posting.tenant_id) != col(Account.tenant_id),
                )
            )
            .group_by(col(Account.id), col(Account.account_number), col(Account.tenant_id))
        )
        rows = await self._rows(self._scoped(query, Posting.tenant_id))
        self._breach(
            "posting account",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] account {r[0]}: {r[2]} posting(s) in another "
                "currency, tenant or under another GL account than its control account"
            ),
        )
        headers = (
            sa.select(col(GLAccount.code), col(GLAccount.tenant_id), sa.func.count())
            .select_from(Posting)
            .join(GLAccount, col(GLAccount.id) == col(Posting.gl_account_id))
            .where(
                sa.or_(
                    col(GLAccount.is_header).is_(True),
                    col(GLAccount.tenant_id) != col(Posting.tenant_id),
                )
            )
            .group_by(col(GLAccount.id), col(GLAccount.code), col(GLAccount.tenant_id))
        )
        rows = await self._rows(self._scoped(headers, Posting.tenant_id))
        self._breach(
            "header posting",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] GL account {r[0]} is a header (or another "
                f"tenant's) yet has {r[2]} posting(s)"
            ),
        )

    async def _control_accounts(self) -> None:
        """(3) Each control GL account = Σ its customer accounts, per currency."""
        gl_sums: Any = (
            sa.select(
                col(Posting.gl_account_id).label("gl_id"),
                col(Posting.currency).label("currency"),
                sa.func.sum(_signed_credit()).label("total"),
            )
            .select_from(Posting)
            .join(GLAccount, col(GLAccount.id) == col(Posting.gl_account_id))
            .where(col(GLAccount.role) == "control")
            .group_by(col(Posting.gl_account_id), col(Posting.currency))
        )
        account_sums: Any = sa.select(
            col(Account.control_gl_account_id).label("gl_id"),
            col(Account.currency).label("currency"),
            sa.func.sum(col(Account.ledger_balance)).label("total"),
        ).group_by(col(Account.control_gl_account_id), col(Account.currency))
        if self.tenant_id is not None:
            gl_sums = gl_sums.where(col(Posting.tenant_id) == self.tenant_id)
            account_sums = account_sums.where(col(Account.tenant_id) == self.tenant_id)
        gl_sub, acc_sub = gl_sums.subquery(), account_sums.subquery()
        # A full outer join, written portably: each side left-joined to the other.
        left = (
            sa.select(gl_sub.c.gl_id, gl_sub.c.currency, gl_sub.c.total, acc_sub.c.total)
            .outerjoin(
                acc_sub,
                sa.and_(acc_sub.c.gl_id == gl_sub.c.gl_id, acc_sub.c.currency == gl_sub.c.currency),
            )
            .where(gl_sub.c.total != sa.func.coalesce(acc_sub.c.total, 0))
        )
        right = (
            sa.select(acc_sub.c.gl_id, acc_sub.c.currency, gl_sub.c.total, acc_sub.c.total)
            .outerjoin(
                gl_sub,
                sa.and_(acc_sub.c.gl_id == gl_sub.c.gl_id, acc_sub.c.currency == gl_sub.c.currency),
            )
            .where(gl_sub.c.gl_id.is_(None), acc_sub.c.total != 0)
        )
        rows = list(await self._rows(left)) + list(await self._rows(right))
        self.report.checked["control_accounts"] = await self._count(
            self._scoped(
                sa.select(sa.func.count())
                .select_from(GLAccount)
                .where(col(GLAccount.role) == "control"),
                GLAccount.tenant_id,
            )
        )
        if not rows:
            return
        names = await self._gl_names([r[0] for r in rows])
        self._breach(
            "control account",
            rows,
            lambda r: (
                f"{names.get(r[0], str(r[0]))}: control balance in {r[1]} "
                f"{_money(r[2], r[1])} ≠ sum of its customer accounts {_money(r[3], r[1])}"
            ),
        )

    async def _gl_names(self, ids: list[Any]) -> dict[Any, str]:
        rows = await self._rows(
            sa.select(col(GLAccount.id), col(GLAccount.code), col(GLAccount.tenant_id)).where(
                col(GLAccount.id).in_(ids)
            )
        )
        return {gid: f"[{self._tenant(tid)}] GL {code}" for gid, code, tid in rows}

    async def _clearing(self) -> None:
        """(3) The clearing accounts of a tenant sum to zero, per currency."""
        query = (
            sa.select(
                col(Posting.tenant_id),
                col(Posting.currency),
                sa.func.sum(_signed_credit()),
            )
            .select_from(Posting)
            .join(GLAccount, col(GLAccount.id) == col(Posting.gl_account_id))
            .where(col(GLAccount.role) == "clearing")
            .group_by(col(Posting.tenant_id), col(Posting.currency))
            .having(sa.func.sum(_signed_credit()) != 0)
        )
        rows = await self._rows(self._scoped(query, Posting.tenant_id))
        self.report.checked["clearing_accounts"] = await self._count(
            self._scoped(
                sa.select(sa.func.count())
                .select_from(GLAccount)
                .where(col(GLAccount.role) == "clearing"),
                GLAccount.tenant_id,
            )
        )
        self._breach(
            "clearing",
            rows,
            lambda r: (
                f"[{self._tenant(r[0])}] clearing accounts (1301-*) sum to "
                f"{_money(-int(r[2] or 0), r[1])} in {r[1]}, not zero"
            ),
        )

    async def _overdrafts(self) -> None:
        """(4) No customer account below −overdraft, now or in any running balance."""
        query = sa.select(
            col(Account.account_number),
            col(Account.tenant_id),
            col(Account.currency),
            col(Account.ledger_balance),
            col(Account.overdraft_limit),
        ).where(col(Account.ledger_balance) < -col(Account.overdraft_limit))
        rows = await self._rows(self._scoped(query, Account.tenant_id))
        self._breach(
            "overdraft",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] account {r[0]} is at {_money(r[3], r[2])}, "
                f"below its overdraft limit of {_money(r[4], r[2])}"
            ),
        )
        history = (
            sa.select(
                col(Account.account_number),
                col(Account.tenant_id),
                col(Account.currency),
                sa.func.min(col(Posting.balance_after)),
            )
            .select_from(Posting)
            .join(Account, col(Account.id) == col(Posting.account_id))
            .where(col(Posting.balance_after) < -col(Account.overdraft_limit))
            .group_by(col(Account.id), col(Account.account_number), col(Account.tenant_id))
            .group_by(col(Account.currency))
        )
        rows = await self._rows(self._scoped(history, Posting.tenant_id))
        self._breach(
            "overdraft history",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] account {r[0]} went down to {_money(r[3], r[2])}, "
                "below its overdraft limit"
            ),
        )

    async def _closed_accounts(self) -> None:
        """(4) A closed account holds nothing and took no posting after it closed."""
        query = sa.select(
            col(Account.account_number),
            col(Account.tenant_id),
            col(Account.currency),
            col(Account.ledger_balance),
            col(Account.hold_amount),
        ).where(
            col(Account.status) == "CLOSED",
            sa.or_(col(Account.ledger_balance) != 0, col(Account.hold_amount) != 0),
        )
        rows = await self._rows(self._scoped(query, Account.tenant_id))
        self._breach(
            "closed account",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] account {r[0]} is closed with balance "
                f"{_money(r[3], r[2])} and holds {_money(r[4], r[2])}"
            ),
        )
        late = (
            sa.select(col(Account.account_number), col(Account.tenant_id), sa.func.count())
            .select_from(Posting)
            .join(Account, col(Account.id) == col(Posting.account_id))
            .where(
                col(Account.status) == "CLOSED",
                col(Account.closed_at).is_not(None),
                col(Posting.posted_at) > col(Account.closed_at),
            )
            .group_by(col(Account.id), col(Account.account_number), col(Account.tenant_id))
        )
        rows = await self._rows(self._scoped(late, Posting.tenant_id))
        self._breach(
            "posting after close",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] account {r[0]} took {r[2]} posting(s) after it was closed"
            ),
        )

    async def _periods(self) -> None:
        """(7) No posting dated in a closed/locked period after it was closed.

        A posting belongs to its journal's named period (period 13) or else to the
        month period (1-12) holding its effective date.
        """
        in_period = sa.and_(
            col(FiscalPeriod.tenant_id) == col(Posting.tenant_id),
            sa.or_(
                sa.and_(
                    col(Journal.fiscal_period_id).is_not(None),
                    col(FiscalPeriod.id) == col(Journal.fiscal_period_id),
                ),
                sa.and_(
                    col(Journal.fiscal_period_id).is_(None),
                    col(FiscalPeriod.period_number) <= 12,
                    col(FiscalPeriod.start_date) <= col(Posting.effective_date),
                    col(FiscalPeriod.end_date) >= col(Posting.effective_date),
                ),
            ),
        )
        query = (
            sa.select(
                col(Journal.journal_number),
                col(Journal.tenant_id),
                col(FiscalPeriod.period_name),
                col(FiscalPeriod.status),
                sa.func.count(),
            )
            .select_from(Posting)
            .join(Journal, col(Journal.id) == col(Posting.journal_id))
            .join(FiscalPeriod, in_period)
            .where(
                col(FiscalPeriod.status) != "open",
                col(FiscalPeriod.closed_at).is_not(None),
                col(Posting.posted_at) > col(FiscalPeriod.closed_at),
            )
            .group_by(col(Journal.id), col(Journal.journal_number), col(Journal.tenant_id))
            .group_by(col(FiscalPeriod.period_name), col(FiscalPeriod.status))
        )
        rows = await self._rows(self._scoped(query, Posting.tenant_id))
        self._breach(
            "closed period",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] journal {r[0]} posted {r[4]} line(s) into "
                f"period {r[2]} after it was {r[3]}"
            ),
        )
        orphans = (
            sa.select(col(Journal.journal_number), col(Journal.tenant_id), sa.func.count())
            .select_from(Posting)
            .join(Journal, col(Journal.id) == col(Posting.journal_id))
            .where(~sa.exists(sa.select(sa.literal(1)).select_from(FiscalPeriod).where(in_period)))
            .group_by(col(Journal.id), col(Journal.journal_number), col(Journal.tenant_id))
        )
        rows = await self._rows(self._scoped(orphans, Posting.tenant_id))
        self._breach(
            "no period",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] journal {r[0]} has {r[2]} posting(s) dated "
                "outside every fiscal period"
            ),
        )
        self.report.checked["periods"] = await self._count(
            self._scoped(
                sa.select(sa.func.count()).select_from(FiscalPeriod), FiscalPeriod.tenant_id
            )
        )

    async def _transactions(self) -> None:
        """Transactions agree with the ledger: completed ones posted, pending ones held."""
        completed = (
            sa.select(col(Transaction.transaction_ref), col(Transaction.tenant_id))
            .outerjoin(Journal, col(Journal.id) == col(Transaction.journal_id))
            .where(col(Transaction.status) == "COMPLETED")
            .where(sa.or_(col(Journal.id).is_(None), col(Journal.status).not_in(_POSTED_STATES)))
        )
        rows = await self._rows(self._scoped(completed, Transaction.tenant_id))
        self._breach(
            "completed transaction",
            rows,
            lambda r: (
                f"[{self._tenant(r[1])}] transaction {r[0]} is COMPLETED without a posted journal"
            ),
        )
        holds = (
            sa.select(
                col(Transaction.transaction_ref),
                col(Transaction.tenant_id),
                col(Transaction.status),
                col(Hold.status),
            )
            .join(Hold, col(Hold.id) == col(Transaction.hold_id))
            .where(
                sa.or_(
                    sa.and_(
                        col(Transaction.status) == "PENDING_APPROVAL",
                        col(Hold.status) != "ACTIVE",
                    ),
                    sa.and_(
                        col(Transaction.status) != "PENDING_APPROVAL",
                        col(Hold.status) == "ACTIVE",
                    ),
                )
            )
        )
        rows = await self._rows(self._scoped(holds, Transaction.tenant_id))
        self._breach(
            "transaction hold",
            rows,
            lambda r: f"[{self._tenant(r[1])}] transaction {r[0]} is {r[2]} but its hold is {r[3]}",
        )
        self.report.checked["transactions"] = await self._count(
            self._scoped(sa.select(sa.func.count()).select_from(Transaction), Transaction.tenant_id)
        )

    async def _rollups(self) -> None:
        """Each roll-up row = Σ and count of the postings up to its tenant's mark."""
        branch = sa.func.coalesce(col(Posting.branch_code), NO_BRANCH)
        sums: Any = (
            sa.select(
                col(Posting.tenant_id).label("tenant_id"),
                col(Posting.effective_date).label("day"),
                col(Posting.gl_account_id).label("gl_id"),
                col(Posting.currency).label("currency"),
                branch.label("branch"),
                sa.func.sum(_debit() - _credit()).label("net"),
                sa.func.count().label("n"),
            )
            .join(GLRollupMark, col(GLRollupMark.tenant_id) == col(Posting.tenant_id))
            .where(col(Posting.id) <= col(GLRollupMark.through_id))
            .group_by(
                col(Posting.tenant_id),
                col(Posting.effective_date),
                col(Posting.gl_account_id),
                col(Posting.currency),
                branch,
            )
        )
        stored: Any = sa.select(
            col(GLRollup.tenant_id).label("tenant_id"),
            col(GLRollup.effective_date).label("day"),
            col(GLRollup.gl_account_id).label("gl_id"),
            col(GLRollup.currency).label("currency"),
            col(GLRollup.branch_code).label("branch"),
            col(GLRollup.net_debit).label("net"),
            col(GLRollup.posting_count).label("n"),
        )
        if self.tenant_id is not None:
            sums = sums.where(col(Posting.tenant_id) == self.tenant_id)
            stored = stored.where(col(GLRollup.tenant_id) == self.tenant_id)
        actual, kept = sums.subquery(), stored.subquery()
        names = ("tenant_id", "day", "gl_id", "currency", "branch")

        def same_key(a: Any, b: Any) -> Any:
            return sa.and_(*(a.c[name] == b.c[name] for name in names))

        # A full outer join, written portably: each side left-joined to the other.
        left = (
            sa.select(*(kept.c[n] for n in names), kept.c.net, kept.c.n, actual.c.net, actual.c.n)
            .outerjoin(actual, same_key(kept, actual))
            .where(
                sa.or_(
                    actual.c.net.is_(None),
                    kept.c.net != actual.c.net,
                    kept.c.n != actual.c.n,
                )
            )
        )
        right = (
            sa.select(*(actual.c[n] for n in names), kept.c.net, kept.c.n, actual.c.net, actual.c.n)
            .outerjoin(kept, same_key(kept, actual))
            .where(kept.c.net.is_(None))
        )
        rows = list(await self._rows(left)) + list(await self._rows(right))
        self.report.checked["gl_rollups"] = await self._count(
            self._scoped(sa.select(sa.func.count()).select_from(GLRollup), GLRollup.tenant_id)
        )
        if not rows:
            return
        names_of = await self._gl_names([r[2] for r in rows])

        def describe(r: Any) -> str:
            where = f"{names_of.get(r[2], str(r[2]))} {r[3]} branch {r[4] or '(none)'} on {r[1]}"
            kept_text = "no row" if r[5] is None else f"{_money(r[5], r[3])} in {r[6]} posting(s)"
            actual_text = (
                "no postings" if r[7] is None else f"{_money(r[7], r[3])} in {r[8]} posting(s)"
            )
            return f"{where}: GL roll-up holds {kept_text} ≠ postings {actual_text}"

        self._breach("GL roll-up", rows, describe)


async def verify_ledger(session: AsyncSession, tenant_id: uuid.UUID | None = None) -> LedgerReport:
    """Check every ledger invariant the data can show; ``tenant_id=None``: all tenants.

    Only reads. On a fresh session it opens its own snapshot (REPEATABLE READ, read
    only, on PostgreSQL) and ends it; inside a caller's transaction it reads that
    transaction's view and leaves it open.
    """
    own = not session.in_transaction()
    bind = session.bind
    if own and bind is not None and bind.dialect.name == "postgresql":
        # One snapshot for every query, so live traffic cannot show a torn ledger.
        await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    try:
        return await _Verifier(session, tenant_id).run()
    finally:
        if own:
            await session.rollback()

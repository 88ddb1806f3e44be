"""The reports: trial balance, balance sheet, income statement, teller summary.

All figures are sums of postings (``app.core.reports.balances``) or of transactions,
in integer minor units, rendered as decimal strings. A GL account belongs to one
tenant but postings carry their own currency (a domiciliary account's USD sits under
the same control account as its NGN siblings), so every ledger report is for one
currency: the tenant's base currency unless ``currency`` names another.
"""

import calendar
import uuid
from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.auth.models import StaffUser
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.ledger.balances import gl_net
from app.core.ledger.chart import DEBIT_NORMAL
from app.core.ledger.models import GLAccount, Journal
from app.core.money import digits_of, format_amount
from app.core.periods.closing import CLOSING
from app.core.reports import responses as answers
from app.core.reports.balances import (
    collapse,
    gl_accounts,
    net_as_of,
    tenant_periods,
    trial_balance_lines,
    usable_snapshot,
)
from app.core.tenants.models import Tenant
from app.core.tenants.service import business_date, find_branch
from app.core.transactions.models import Transaction

MAX_MONTHS = 120


def _currency(tenant: Tenant, currency: str | None) -> str:
    code = (currency or tenant.base_currency).upper()
    digits_of(code)  # VALIDATION_ERROR for an unsupported one
    return code


async def _branch(session: AsyncSession, tenant: Tenant, branch_code: str | None) -> str | None:
    if not branch_code:
        return None
    branch = await find_branch(session, tenant.id, branch_code)
    if branch is None:
        raise ApiError(
            "VALIDATION_ERROR",
            f"The bank has no branch {branch_code}.",
            [detail("branch_code", DetailCode.UNKNOWN_BRANCH, "unknown branch", branch_code[:20])],
        )
    return branch.code


async def trial_balance(
    session: AsyncSession,
    tenant: Tenant,
    *,
    as_of: date | None,
    branch_code: str | None,
    currency: str | None,
) -> answers.TrialBalance:
    """Every leaf GL account with a balance on ``as_of``: debit or credit; totals equal."""
    day = as_of or business_date(tenant)
    code = _currency(tenant, currency)
    branch = await _branch(session, tenant, branch_code)
    totals = await net_as_of(session, tenant.id, day)
    accounts = await gl_accounts(session, tenant.id)
    per_account = collapse(totals, branch_code=branch)
    lines = [line for line in trial_balance_lines(per_account, accounts) if line.currency == code]
    debit = sum(max(line.net_debit, 0) for line in lines)
    credit = sum(max(-line.net_debit, 0) for line in lines)
    base = usable_snapshot(await tenant_periods(session, tenant.id), day)
    return answers.TrialBalance(
        as_of=day.isoformat(),
        branch_code=branch,
        currency=code,
        lines=[
            answers.TrialBalanceLine(
                gl_account_id=str(line.account.id),
                code=line.account.code,
                name=line.account.name,
                category=line.account.category,
                debit=format_amount(max(line.net_debit, 0), code),
                credit=format_amount(max(-line.net_debit, 0), code),
            )
            for line in lines
        ],
        total_debit=format_amount(debit, code),
        total_credit=format_amount(credit, code),
        balanced=debit == credit,
        currencies=sorted({c for (_gl, c), net in per_account.items() if net} | {code}),
        from_snapshot_of=str(base.id) if base else None,
    )


def _normal(account: GLAccount, net_debit: int) -> int:
    return net_debit if account.category in DEBIT_NORMAL else -net_debit


def _section(lines: list[tuple[GLAccount, int]], code: str) -> tuple[answers.ReportSection, int]:
    total = sum(amount for _a, amount in lines)
    return (
        answers.ReportSection(
            lines=[
                answers.ReportLine(
                    gl_account_id=str(account.id),
                    code=account.code,
                    name=account.name,
                    balance=format_amount(amount, code),
                )
                for account, amount in sorted(lines, key=lambda item: item[0].code)
            ],
            total=format_amount(total, code),
        ),
        total,
    )


async def balance_sheet(
    session: AsyncSession,
    tenant: Tenant,
    *,
    as_of: date | None,
    branch_code: str | None,
    currency: str | None,
) -> answers.BalanceSheet:
    """Assets = liabilities + equity + the earnings not yet closed into retained earnings."""
    day = as_of or business_date(tenant)
    code = _currency(tenant, currency)
    branch = await _branch(session, tenant, branch_code)
    accounts = await gl_accounts(session, tenant.id)
    per_account = collapse(await net_as_of(session, tenant.id, day), branch_code=branch)
    by_category: dict[str, list[tuple[GLAccount, int]]] = defaultdict(list)
    earnings = 0
    for (gl, cur), net in per_account.items():
        if cur != code or net == 0 or gl not in accounts:
            continue
        account = accounts[gl]
        if account.category in {"REVENUE", "EXPENSE"}:
            earnings -= net  # revenue (a credit) adds, expenses subtract
        else:
            by_category[account.category].append((account, _normal(account, net)))
    assets, total_assets = _section(by_category["ASSET"], code)
    liabilities, total_liabilities = _section(by_category["LIABILITY"], code)
    equity, total_equity = _section(by_category["EQUITY"], code)
    right = total_liabilities + total_equity + earnings
    return answers.BalanceSheet(
        as_of=day.isoformat(),
        branch_code=branch,
        currency=code,
        assets=assets,
        liabilities=liabilities,
        equity=equity,
        current_year_earnings=format_amount(earnings, code),
        total_assets=format_amount(total_assets, code),
        total_liabilities=format_amount(total_liabilities, code),
        total_equity=format_amount(total_equity + earnings, code),
        total_liabilities_and_equity=format_amount(right, code),
        balanced=total_assets == right,
    )


def _months(start: date, end: date) -> list[tuple[int, int]]:
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


async def income_statement(
    session: AsyncSession,
    tenant: Tenant,
    *,
    start: date | None,
    end: date | None,
    branch_code: str | None,
    currency: str | None,
) -> answers.IncomeStatement:
    """Revenue, expenses and net income over [from, to], with a month-by-month trend.

    The year-end CLOSING journals are left out: they move a year's income into retained
    earnings, they are not income or expense themselves.
    """
    today = business_date(tenant)
    to = end or today
    since = start or date(to.year, 1, 1)
    if since > to:
        raise ApiError(
            "VALIDATION_ERROR",
            "from is after to.",
            [detail("from", DetailCode.INVALID, "after to", since.isoformat())],
        )
    months = _months(since, to)
    if len(months) > MAX_MONTHS:
        raise ApiError(
            "VALIDATION_ERROR",
            f"An income statement covers at most {MAX_MONTHS} months.",
            [detail("from", DetailCode.TOO_LARGE, f"more than {MAX_MONTHS} months before to")],
        )
    code = _currency(tenant, currency)
    branch = await _branch(session, tenant, branch_code)
    accounts = await gl_accounts(session, tenant.id)
    income_ids = [a.id for a in accounts.values() if a.category in {"REVENUE", "EXPENSE"}]
    closing = sa.select(col(Journal.id)).where(
        col(Journal.tenant_id) == tenant.id, col(Journal.journal_type) == CLOSING
    )
    per_day = await gl_net(
        session,
        tenant.id,
        by=("gl_account_id", "effective_date"),
        since=since,
        through=to,
        gl_account_ids=income_ids,
        currency=code,
        branch_code=branch,
        excluding_journals=closing,
    )
    per_account: dict[uuid.UUID, int] = defaultdict(int)
    per_month: dict[tuple[int, int], list[int]] = {m: [0, 0] for m in months}
    for (gl, day), amount in per_day.items():
        per_account[gl] += amount
        bucket = per_month[(day.year, day.month)]
        if accounts[gl].category == "REVENUE":
            bucket[0] -= amount
        else:
            bucket[1] += amount
    revenue = [
        (accounts[g], -n) for g, n in per_account.items() if n and accounts[g].category == "REVENUE"
    ]
    expenses = [
        (accounts[g], n) for g, n in per_account.items() if n and accounts[g].category == "EXPENSE"
    ]
    revenue_section, total_revenue = _section(revenue, code)
    expense_section, total_expenses = _section(expenses, code)
    return answers.IncomeStatement(
        from_=since.isoformat(),
        to=to.isoformat(),
        branch_code=branch,
        currency=code,
        revenue=revenue_section,
        expenses=expense_section,
        total_revenue=format_amount(total_revenue, code),
        total_expenses=format_amount(total_expenses, code),
        net_income=format_amount(total_revenue - total_expenses, code),
        months=[
            answers.IncomeMonth(
                month=f"{year:04d}-{month:02d}",
                label=f"{calendar.month_abbr[month]} {year}",
                revenue=format_amount(rev, code),
                expenses=format_amount(exp, code),
                net=format_amount(rev - exp, code),
            )
            for (year, month), (rev, exp) in per_month.items()
        ],
    )


async def teller_summary(
    session: AsyncSession,
    tenant: Tenant,
    *,
    on: date | None,
    branch_code: str | None,
    user_id: uuid.UUID | None,
) -> answers.TellerSummary:
    """Per teller and currency: completed deposits and withdrawals, and the net cash."""
    day = on or business_date(tenant)
    branch = await _branch(session, tenant, branch_code)
    is_deposit = col(Transaction.type) == "DEPOSIT"
    query = (
        sa.select(
            col(Transaction.created_by),
            col(Transaction.created_by_email),
            col(Transaction.branch_code),
            col(Transaction.currency),
            sa.func.sum(sa.case((is_deposit, 1), else_=0)),
            sa.func.sum(sa.case((is_deposit, col(Transaction.amount)), else_=0)),
            sa.func.sum(sa.case((is_deposit, 0), else_=1)),
            sa.func.sum(sa.case((is_deposit, 0), else_=col(Transaction.amount))),
        )
        .where(
            col(Transaction.tenant_id) == tenant.id,
            col(Transaction.business_date) == day,
            col(Transaction.status) == "COMPLETED",
            col(Transaction.type).in_(["DEPOSIT", "WITHDRAWAL"]),
        )
        .group_by(
            col(Transaction.created_by),
            col(Transaction.created_by_email),
            col(Transaction.branch_code),
            col(Transaction.currency),
        )
    )
    if branch is not None:
        query = query.where(col(Transaction.branch_code) == branch)
    if user_id is not None:
        query = query.where(col(Transaction.created_by) == user_id)
    rows = (await session.execute(query)).tuples().all()
    names = {
        u.id: u.name
        for u in (
            await session.execute(
                sa.select(StaffUser).where(
                    col(StaffUser.tenant_id) == tenant.id,
                    col(StaffUser.id).in_({r[0] for r in rows}),
                )
            )
        ).scalars()
    }
    tellers = []
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for creator, email, teller_branch, cur, d_count, d_sum, w_count, w_sum in sorted(
        rows, key=lambda r: (r[1], r[2], r[3])
    ):
        figures = [int(d_count or 0), int(d_sum or 0), int(w_count or 0), int(w_sum or 0)]
        for index, value in enumerate(figures):
            totals[cur][index] += value
        deposits, withdrawals, count, net_cash = _cash_figures(figures, cur)
        tellers.append(
            answers.TellerCash(
                user_id=str(creator),
                email=email,
                name=names.get(creator),
                branch_code=teller_branch,
                currency=cur,
                deposits=deposits,
                withdrawals=withdrawals,
                transaction_count=count,
                net_cash=net_cash,
            )
        )
    return answers.TellerSummary(
        date=day.isoformat(),
        branch_code=branch,
        user_id=str(user_id) if user_id else None,
        tellers=tellers,
        totals=[_cash_total(cur, figures) for cur, figures in sorted(totals.items())],
    )


def _cash_figures(
    figures: list[int], currency: str
) -> tuple[answers.CashCount, answers.CashCount, int, str]:
    """Deposits, withdrawals, how many in all, and the net cash."""
    d_count, d_sum, w_count, w_sum = figures
    return (
        answers.CashCount(count=d_count, amount=format_amount(d_sum, currency)),
        answers.CashCount(count=w_count, amount=format_amount(w_sum, currency)),
        d_count + w_count,
        format_amount(d_sum - w_sum, currency),
    )


def _cash_total(currency: str, figures: list[int]) -> answers.CashTotal:
    deposits, withdrawals, count, net_cash = _cash_figures(figures, currency)
    return answers.CashTotal(
        currency=currency,
        deposits=deposits,
        withdrawals=withdrawals,
        transaction_count=count,
        net_cash=net_cash,
    )

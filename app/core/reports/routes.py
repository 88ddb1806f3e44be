"""/reports: trial balance, balance sheet, income statement, teller summary."""

from typing import Annotated

from litestar import Router, get
from litestar.params import Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.common import parse_date, parse_id
from app.core.context import TenantRef
from app.core.contract.requests import CURRENCIES
from app.core.http import DAY_FILTER
from app.core.permissions import requires
from app.core.reports.responses import BalanceSheet, IncomeStatement, TellerSummary, TrialBalance
from app.core.reports.service import (
    balance_sheet,
    income_statement,
    teller_summary,
    trial_balance,
)
from app.core.tenants.service import load_tenant

GL_READ = requires("viewer", "gl:read")


# A currency the core keeps (money.py), or empty for the base currency.
CURRENCY_FILTER = {"enum": [*CURRENCIES, ""]}


@get("/reports/trial-balance", opt=GL_READ, summary="Trial balance as of a date")
async def get_trial_balance(
    session: AsyncSession,
    tenant: TenantRef,
    as_of: Annotated[str | None, Parameter(schema_extra=DAY_FILTER)] = None,
    branch_code: str | None = None,
    currency: Annotated[str | None, Parameter(schema_extra=CURRENCY_FILTER)] = None,
) -> TrialBalance:
    day = parse_date(as_of, "as_of")
    return await trial_balance(
        session,
        await load_tenant(session, tenant.id),
        as_of=day,
        branch_code=branch_code,
        currency=currency,
    )


@get("/reports/balance-sheet", opt=GL_READ, summary="Balance sheet as of a date")
async def get_balance_sheet(
    session: AsyncSession,
    tenant: TenantRef,
    as_of: Annotated[str | None, Parameter(schema_extra=DAY_FILTER)] = None,
    branch_code: str | None = None,
    currency: Annotated[str | None, Parameter(schema_extra=CURRENCY_FILTER)] = None,
) -> BalanceSheet:
    day = parse_date(as_of, "as_of")
    return await balance_sheet(
        session,
        await load_tenant(session, tenant.id),
        as_of=day,
        branch_code=branch_code,
        currency=currency,
    )


@get("/reports/income-statement", opt=GL_READ, summary="Income statement over a range")
async def get_income_statement(
    session: AsyncSession,
    tenant: TenantRef,
    from_: Annotated[str | None, Parameter(query="from", schema_extra=DAY_FILTER)] = None,
    to: Annotated[str | None, Parameter(schema_extra=DAY_FILTER)] = None,
    branch_code: str | None = None,
    currency: Annotated[str | None, Parameter(schema_extra=CURRENCY_FILTER)] = None,
) -> IncomeStatement:
    start, end = parse_date(from_, "from"), parse_date(to, "to")
    return await income_statement(
        session,
        await load_tenant(session, tenant.id),
        start=start,
        end=end,
        branch_code=branch_code,
        currency=currency,
    )


@get(
    "/reports/teller-summary",
    opt=requires("viewer", "transactions:read"),
    summary="Deposits, withdrawals and net cash per teller for a day",
)
async def get_teller_summary(
    session: AsyncSession,
    tenant: TenantRef,
    date_: Annotated[str | None, Parameter(query="date", schema_extra=DAY_FILTER)] = None,
    branch_code: str | None = None,
    user_id: str | None = None,
) -> TellerSummary:
    day = parse_date(date_, "date")
    return await teller_summary(
        session,
        await load_tenant(session, tenant.id),
        on=day,
        branch_code=branch_code,
        user_id=parse_id(user_id, what="user") if user_id else None,
    )


report_router = Router(
    path="/",
    tags=["reports"],
    route_handlers=[get_trial_balance, get_balance_sheet, get_income_statement, get_teller_summary],
)

"""/fiscal-periods: the vendor's calls, plus one period with its snapshot."""

from typing import Annotated

from litestar import Router, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.common import parse_id
from app.core.context import RequestContext, TenantRef
from app.core.http import PageLimit, one_of, page_limit
from app.core.periods.blockers import close_blockers, close_blockers_body
from app.core.periods.closing import close_period, close_year
from app.core.periods.responses import (
    CloseBlockers,
    ClosedYear,
    FiscalPeriod,
    FiscalPeriodPage,
    FiscalYear,
)
from app.core.periods.schemas import PeriodCreate
from app.core.periods.service import (
    STATUSES,
    create_period,
    create_year,
    current_period,
    get_period,
    list_periods,
    parse_year,
    period_body,
)
from app.core.permissions import requires
from app.core.tenants.service import load_tenant

READ = requires("viewer", "gl:read")
# A fiscal year: four digits, 1900-9999 (``parse_year`` checks it).
YEAR = "^(19[0-9]{2}|[2-9][0-9]{3})$"
YEAR_FILTER = "^$|^(19[0-9]{2}|[2-9][0-9]{3})$"  # empty: every year
ADMIN = requires("admin", "admin:full")


@get("/fiscal-periods", opt=READ, summary="Fiscal periods, newest first")
async def get_periods(
    session: AsyncSession,
    tenant: TenantRef,
    fiscal_year: Annotated[str | None, Parameter(schema_extra={"pattern": YEAR_FILTER})] = None,
    status: Annotated[str | None, one_of(*STATUSES)] = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> FiscalPeriodPage:
    year = parse_year(fiscal_year) if fiscal_year else None
    return await list_periods(
        session, tenant.id, fiscal_year=year, status=status, limit=page_limit(limit), cursor=cursor
    )


@get("/fiscal-periods/current", opt=READ, summary="The open period holding the business date")
async def get_current(session: AsyncSession, tenant: TenantRef) -> FiscalPeriod:
    return period_body(await current_period(session, await load_tenant(session, tenant.id)))


@get("/fiscal-periods/{period_id:str}", opt=READ, summary="One period (with its snapshot)")
async def get_one(period_id: str, session: AsyncSession, tenant: TenantRef) -> FiscalPeriod:
    return period_body(await get_period(session, tenant.id, period_id), with_snapshot=True)


@get(
    "/fiscal-periods/{period_id:str}/close-blockers",
    opt=READ,
    summary="What keeps a period from closing (the facts the close refuses on)",
)
async def get_close_blockers(
    period_id: str, session: AsyncSession, tenant: TenantRef
) -> CloseBlockers:
    period = await get_period(session, tenant.id, period_id)
    blockers, total = await close_blockers(session, period)
    return close_blockers_body(period, blockers, total)


@post("/fiscal-periods", status_code=HTTP_201_CREATED, opt=ADMIN, summary="Create a period")
async def post_period(
    data: PeriodCreate, ctx: RequestContext, session: AsyncSession, tenant: TenantRef
) -> FiscalPeriod:
    return period_body(await create_period(session, ctx, tenant.id, data))


@post(
    "/fiscal-periods/year/{year:str}",
    status_code=HTTP_201_CREATED,
    opt=ADMIN,
    summary="Create a year: periods 1-12 by month and 13 for year-end adjustments",
)
async def post_year(
    year: Annotated[str, Parameter(schema_extra={"pattern": YEAR})],
    ctx: RequestContext,
    session: AsyncSession,
    tenant: TenantRef,
) -> FiscalYear:
    fiscal_year = parse_year(year)
    periods = await create_year(session, ctx, tenant.id, fiscal_year)
    return FiscalYear(fiscal_year=fiscal_year, fiscal_periods=[period_body(p) for p in periods])


@post(
    "/fiscal-periods/{period_id:str}/close",
    status_code=HTTP_200_OK,
    opt=ADMIN,
    summary="Close a period for good (stores its trial-balance snapshot)",
)
async def post_close(
    period_id: str, ctx: RequestContext, session: AsyncSession, tenant: TenantRef
) -> FiscalPeriod:
    period = await close_period(
        session, ctx, tenant.id, parse_id(period_id, "PERIOD_NOT_FOUND", "period")
    )
    return period_body(period, with_snapshot=True)


@post(
    "/fiscal-periods/year/{year:str}/close",
    status_code=HTTP_200_OK,
    opt=ADMIN,
    summary="Close a year: revenue and expenses to retained earnings, then lock it",
)
async def post_close_year(
    year: Annotated[str, Parameter(schema_extra={"pattern": YEAR})],
    ctx: RequestContext,
    session: AsyncSession,
    tenant: TenantRef,
) -> ClosedYear:
    fiscal_year = parse_year(year)
    return await close_year(session, ctx, await load_tenant(session, tenant.id), fiscal_year)


period_router = Router(
    path="/",
    tags=["fiscal periods"],
    route_handlers=[
        get_periods,
        get_current,
        get_one,
        get_close_blockers,
        post_period,
        post_year,
        post_close,
        post_close_year,
    ],
)

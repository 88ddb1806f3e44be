"""/journals: draft a manual journal, list and read journals, and move them on."""

from typing import Annotated, Any

import sqlalchemy as sa
from litestar import Router, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.common import parse_date, parse_id
from app.core.context import RequestContext, TenantRef
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.http import DAY_FILTER, PageLimit, page_limit
from app.core.journals.bodies import render_journal, render_journal_summaries, render_journals
from app.core.journals.responses import Journal as JournalAnswer
from app.core.journals.responses import JournalPage
from app.core.journals.schemas import JournalCreate, ReasonRequest
from app.core.journals.service import STATES, JournalService
from app.core.ledger.models import Journal
from app.core.pagination import keyset_slice
from app.core.permissions import requires
from app.core.services import CoreServices

READ = requires("viewer", "gl:read")


def write(role: str, *, idempotency_required: bool = False) -> dict[str, Any]:
    return {**requires(role, "gl:write"), "idempotency_required": idempotency_required}


@post(
    "/journals",
    status_code=HTTP_201_CREATED,
    opt=write("teller", idempotency_required=True),
    summary="Draft a manual journal (PENDING until an officer approves it)",
)
async def post_journal_draft(
    data: JournalCreate, ctx: RequestContext, session: AsyncSession
) -> JournalAnswer:
    service = JournalService(session, ctx)
    return await service.body(await service.create(data))


@get("/journals", opt=READ, summary="Journals, newest first")
async def list_journals(
    session: AsyncSession,
    tenant: TenantRef,
    status: str | None = None,
    from_: Annotated[str | None, Parameter(query="from", schema_extra=DAY_FILTER)] = None,
    to: Annotated[str | None, Parameter(schema_extra=DAY_FILTER)] = None,
    created_by: str | None = None,
    journal_type: str | None = None,
    limit: PageLimit = None,
    cursor: str | None = None,
    entries: bool = True,
) -> JournalPage:
    """``entries=false``: each journal without its lines (its ``totals`` still there), as a
    list shows them: two or three statements for the page instead of seven."""
    start, end = parse_date(from_, "from"), parse_date(to, "to")
    query = sa.select(Journal).where(col(Journal.tenant_id) == tenant.id)
    if status:
        if status.upper() not in STATES:
            raise ApiError(
                "VALIDATION_ERROR",
                f"status must be one of {', '.join(STATES)}.",
                [detail("status", DetailCode.INVALID_CHOICE, "unknown status", status[:20])],
            )
        query = query.where(col(Journal.status) == status.upper())
    if journal_type:
        query = query.where(col(Journal.journal_type) == journal_type.upper())
    if start:
        query = query.where(col(Journal.effective_date) >= start)
    if end:
        query = query.where(col(Journal.effective_date) <= end)
    if created_by:
        try:
            maker = parse_id(created_by)
        except ApiError:
            raise ApiError(
                "VALIDATION_ERROR",
                "created_by must be a user ID.",
                [detail("created_by", DetailCode.INVALID_FORMAT, "not a UUID", created_by[:40])],
            ) from None
        query = query.where(col(Journal.created_by) == maker)
    page = await keyset_slice(
        session,
        query,
        [(col(Journal.created_at), "datetime"), (col(Journal.id), "uuid")],
        limit=page_limit(limit),
        cursor=cursor,
        render=lambda j: j,
        value_of=lambda j: (j.created_at, j.id),
    )
    render = render_journals if entries else render_journal_summaries
    return JournalPage(
        journals=await render(session, tenant.id, page.items),
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


@get("/journals/{journal_id:str}", opt=READ, summary="One journal with its entries")
async def get_journal(journal_id: str, session: AsyncSession, tenant: TenantRef) -> JournalAnswer:
    found = await session.get(Journal, parse_id(journal_id, "JOURNAL_NOT_FOUND", "journal"))
    if found is None or found.tenant_id != tenant.id:
        raise ApiError("JOURNAL_NOT_FOUND", "No such journal.")
    return await render_journal(session, tenant.id, found)


@post(
    "/journals/{journal_id:str}/approve",
    status_code=HTTP_200_OK,
    opt=write("officer"),
    summary="PENDING → APPROVED (not by its maker)",
)
async def approve_journal(
    journal_id: str, ctx: RequestContext, session: AsyncSession, services: CoreServices
) -> JournalAnswer:
    service = JournalService(session, ctx, production=services.settings.server.production)
    return await service.body(await service.approve(journal_id))


@post(
    "/journals/{journal_id:str}/reject",
    status_code=HTTP_200_OK,
    opt=write("officer"),
    summary="PENDING → REJECTED, with a reason (not by its maker)",
)
async def reject_journal(
    journal_id: str,
    data: ReasonRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
) -> JournalAnswer:
    service = JournalService(session, ctx, production=services.settings.server.production)
    return await service.body(await service.reject(journal_id, data.reason))


@post(
    "/journals/{journal_id:str}/post",
    status_code=HTTP_200_OK,
    opt=write("officer"),
    summary="APPROVED → POSTED: balances change now, atomically",
)
async def post_approved_journal(
    journal_id: str, ctx: RequestContext, session: AsyncSession, services: CoreServices
) -> JournalAnswer:
    service = JournalService(session, ctx, production=services.settings.server.production)
    return await service.body(await service.post(journal_id))


@post(
    "/journals/{journal_id:str}/reverse",
    status_code=HTTP_200_OK,
    opt=write("manager", idempotency_required=True),
    summary="POSTED → REVERSED: its mirror journal is posted today (not by the maker)",
)
async def reverse_journal(
    journal_id: str,
    data: ReasonRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
) -> JournalAnswer:
    service = JournalService(session, ctx, production=services.settings.server.production)
    return await service.body(await service.reverse(journal_id, data.reason))


journal_router = Router(
    path="/",
    tags=["journals"],
    route_handlers=[
        post_journal_draft,
        list_journals,
        get_journal,
        approve_journal,
        reject_journal,
        post_approved_journal,
        reverse_journal,
    ],
)

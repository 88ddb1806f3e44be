"""/standing-instructions: create, approve, cancel, read, and their executions."""

from litestar import Router, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.common import parse_id
from app.core.context import RequestContext, TenantRef
from app.core.http import PageLimit, page_limit
from app.core.permissions import requires
from app.core.services import CoreServices
from app.core.standing.responses import (
    ExecutionPage,
    StandingInstruction,
    StandingInstructionPage,
)
from app.core.standing.schemas import CancelRequest, StandingInstructionCreate
from app.core.standing.service import (
    approve_instruction,
    cancel_instruction,
    create_instruction,
    get_instruction,
    instruction_body,
    list_executions,
    list_instructions,
)
from app.core.tenants.service import business_date, load_tenant

READ = requires("viewer", "transactions:read")


@post(
    "/standing-instructions",
    status_code=HTTP_201_CREATED,
    opt=requires("officer", "transactions:write"),
    summary="Create a standing instruction (PENDING_APPROVAL)",
)
async def post_instruction(
    data: StandingInstructionCreate, ctx: RequestContext, session: AsyncSession
) -> StandingInstruction:
    instruction, today = await create_instruction(session, ctx, data)
    return instruction_body(instruction, today)


@post(
    "/standing-instructions/{instruction_id:str}/approve",
    status_code=HTTP_200_OK,
    opt=requires("manager", "transactions:write"),
    summary="Approve a standing instruction (not by its creator)",
)
async def post_approve(
    instruction_id: str, ctx: RequestContext, session: AsyncSession, services: CoreServices
) -> StandingInstruction:
    instruction, today = await approve_instruction(
        session, ctx, instruction_id, production=services.settings.server.production
    )
    return instruction_body(instruction, today)


@post(
    "/standing-instructions/{instruction_id:str}/cancel",
    status_code=HTTP_200_OK,
    opt=requires("officer", "transactions:write"),
    summary="Cancel a standing instruction",
)
async def post_cancel(
    instruction_id: str,
    ctx: RequestContext,
    session: AsyncSession,
    data: CancelRequest | None = None,
) -> StandingInstruction:
    instruction, today = await cancel_instruction(
        session, ctx, instruction_id, data.reason if data else None
    )
    return instruction_body(instruction, today)


@get("/standing-instructions", opt=READ, summary="Standing instructions, newest first")
async def get_instructions(
    session: AsyncSession,
    tenant: TenantRef,
    status: str | None = None,
    account_id: str | None = None,
    frequency: str | None = None,
    created_by: str | None = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> StandingInstructionPage:
    return await list_instructions(
        session,
        await load_tenant(session, tenant.id),
        status=status,
        account_id=parse_id(account_id, "ACCOUNT_NOT_FOUND", "account") if account_id else None,
        frequency=frequency,
        created_by=parse_id(created_by, what="user") if created_by else None,
        limit=page_limit(limit),
        cursor=cursor,
    )


@get("/standing-instructions/{instruction_id:str}", opt=READ, summary="One standing instruction")
async def get_one(
    instruction_id: str, session: AsyncSession, tenant: TenantRef
) -> StandingInstruction:
    instruction = await get_instruction(session, tenant.id, instruction_id)
    return instruction_body(instruction, business_date(await load_tenant(session, tenant.id)))


@get(
    "/standing-instructions/{instruction_id:str}/executions",
    opt=READ,
    summary="An instruction's executions, newest first",
)
async def get_executions(
    instruction_id: str,
    session: AsyncSession,
    tenant: TenantRef,
    status: str | None = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> ExecutionPage:
    instruction = await get_instruction(session, tenant.id, instruction_id)
    return await list_executions(
        session, instruction, status=status, limit=page_limit(limit), cursor=cursor
    )


standing_router = Router(
    path="/",
    tags=["standing instructions"],
    route_handlers=[
        post_instruction,
        post_approve,
        post_cancel,
        get_instructions,
        get_one,
        get_executions,
    ],
)

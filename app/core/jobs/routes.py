"""/jobs: running a background job on request (admin)."""

from litestar import Router, post
from litestar.status_codes import HTTP_200_OK
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.context import RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.jobs.responses import JobRun
from app.core.jobs.standing import job_body, run_standing_instructions
from app.core.permissions import requires
from app.core.standing.schemas import TriggerRequest
from app.core.tenants.service import business_date, load_tenant


@post(
    "/jobs/standing-instructions/trigger",
    status_code=HTTP_200_OK,
    opt=requires("admin", "admin:full"),
    summary="Run the standing-instruction job for a business date, to completion",
)
async def trigger_standing_instructions(
    ctx: RequestContext, session: AsyncSession, data: TriggerRequest | None = None
) -> JobRun:
    assert ctx.tenant is not None and ctx.principal is not None
    tenant = await load_tenant(session, ctx.tenant.id)
    today = business_date(tenant)
    on = (data.business_date if data else None) or today
    if on > today:
        raise ApiError(
            "VALIDATION_ERROR",
            f"business_date is after today's business date ({today}).",
            [detail("business_date", DetailCode.IN_FUTURE, "in the future", on.isoformat())],
        )
    job = await run_standing_instructions(
        session,
        tenant,
        on,
        request_id=ctx.request_id,
        client_ip=ctx.client_ip,
        triggered_by=ctx.principal,
    )
    return job_body(job)


job_router = Router(path="/", tags=["jobs"], route_handlers=[trigger_standing_instructions])

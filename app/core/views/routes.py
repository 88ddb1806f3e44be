"""``/views``: composite reads, each what one console page needs, in one call.

Each shows nothing its parts do not: the same role minimum, and every scope of the parts
(``requires``' further scopes), so an API key limited to one scope reads no more here.
"""

from typing import Annotated

from litestar import Router, get
from litestar.params import Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.common import parse_date, parse_id
from app.core.context import TenantRef
from app.core.http import DAY_FILTER, PageLimit, page_limit
from app.core.permissions import requires
from app.core.views.accounts import account_view
from app.core.views.approvals import approvals_queue, transaction_view, waiting_by_maker
from app.core.views.responses import AccountView, ApprovalsView, LabelledTransaction, Waiting

ACCOUNT = requires("viewer", "transactions:read", "accounts:read")
APPROVALS = requires("viewer", "transactions:read", "gl:read")
TRANSACTION = requires("viewer", "transactions:read", "accounts:read")


@get(
    "/views/accounts/{account_id:str}",
    opt=ACCOUNT,
    summary="An account's page: the account, a page of its statement, totals, chart points",
)
async def get_account_view(
    account_id: str,
    session: AsyncSession,
    tenant: TenantRef,
    from_: Annotated[str | None, Parameter(query="from", schema_extra=DAY_FILTER)] = None,
    to: Annotated[str | None, Parameter(schema_extra=DAY_FILTER)] = None,
    limit: PageLimit = None,
) -> AccountView:
    start, end = parse_date(from_, "from"), parse_date(to, "to")
    return await account_view(
        session,
        tenant.id,
        parse_id(account_id, "ACCOUNT_NOT_FOUND", "account"),
        start=start,
        end=end,
        limit=page_limit(limit),
    )


@get(
    "/views/approvals",
    opt=APPROVALS,
    summary="The approvals queue: every kind of item waiting for a checker",
)
async def get_approvals_view(
    session: AsyncSession, tenant: TenantRef, limit: PageLimit = None
) -> ApprovalsView:
    return await approvals_queue(session, tenant.id, limit=page_limit(limit or 200))


@get(
    "/views/approvals/waiting",
    opt=APPROVALS,
    summary="How many items wait for a checker, by maker",
)
async def get_waiting(session: AsyncSession, tenant: TenantRef) -> Waiting:
    return await waiting_by_maker(session, tenant.id)


@get(
    "/views/transactions/{id_or_ref:str}",
    opt=TRANSACTION,
    summary="A transaction with its accounts' numbers and holders (a receipt)",
)
async def get_transaction_view(
    id_or_ref: str, session: AsyncSession, tenant: TenantRef
) -> LabelledTransaction:
    return await transaction_view(session, tenant.id, id_or_ref[:64])


view_router = Router(
    path="/",
    tags=["views"],
    route_handlers=[get_account_view, get_approvals_view, get_waiting, get_transaction_view],
)

"""/accounts and /products."""

from typing import Annotated, Any

from litestar import Router, delete, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.opening import open_account
from app.core.accounts.responses import (
    Account,
    AccountDetail,
    AccountPage,
    Hold,
    OpenedAccount,
    Products,
    Statement,
)
from app.core.accounts.schemas import AccountOpen, HoldCreate, StatusChange
from app.core.accounts.service import (
    account_body,
    account_by_number_detail,
    account_detail,
    change_status,
    get_account,
    hold_body,
    list_accounts,
    list_products,
    opened_account_body,
    place_hold,
    release_hold,
    statement,
)
from app.core.common import parse_date, parse_id
from app.core.context import RequestContext, TenantRef
from app.core.http import DAY_FILTER, PageLimit, page_limit
from app.core.permissions import requires

READ = requires("viewer", "accounts:read")
WRITE = requires("officer", "accounts:write")


def _account_id(value: str) -> Any:
    return parse_id(value, "ACCOUNT_NOT_FOUND", "account")


@post("/accounts", status_code=HTTP_201_CREATED, opt=WRITE, summary="Open an account")
async def post_account(
    data: AccountOpen, ctx: RequestContext, session: AsyncSession
) -> OpenedAccount:
    account, deposit = await open_account(session, ctx, data)
    return opened_account_body(account, deposit)


@get("/accounts", opt=READ, summary="Accounts, filtered")
async def get_accounts(
    session: AsyncSession,
    tenant: TenantRef,
    status: str | None = None,
    currency: str | None = None,
    customer_id: str | None = None,
    branch_code: str | None = None,
    q: str | None = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> AccountPage:
    customer = parse_id(customer_id, "CUSTOMER_NOT_FOUND", "customer") if customer_id else None
    return await list_accounts(
        session,
        tenant.id,
        status=status,
        currency=currency,
        customer_id=customer,
        branch_code=branch_code,
        q=q,
        limit=page_limit(limit),
        cursor=cursor,
    )


@get("/accounts/by-number/{account_number:str}", opt=READ, summary="An account by its number")
async def get_by_number(
    account_number: str, session: AsyncSession, tenant: TenantRef
) -> AccountDetail:
    return await account_by_number_detail(session, tenant.id, account_number)


@get("/accounts/{account_id:str}", opt=READ, summary="An account with balances and holds")
async def get_one(account_id: str, session: AsyncSession, tenant: TenantRef) -> AccountDetail:
    return await account_detail(
        session, await get_account(session, tenant.id, _account_id(account_id))
    )


@get(
    "/accounts/{account_id:str}/transactions",
    opt=requires("viewer", "transactions:read"),
    summary="Statement: postings with running balance, newest first",
)
async def get_statement(
    account_id: str,
    session: AsyncSession,
    tenant: TenantRef,
    from_: Annotated[str | None, Parameter(query="from", schema_extra=DAY_FILTER)] = None,
    to: Annotated[str | None, Parameter(schema_extra=DAY_FILTER)] = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> Statement:
    start, end = parse_date(from_, "from"), parse_date(to, "to")
    account = await get_account(session, tenant.id, _account_id(account_id))
    return await statement(
        session, account, start=start, end=end, limit=page_limit(limit), cursor=cursor
    )


def _status_route(action: str) -> Any:
    @post(
        f"/accounts/{{account_id:str}}/{action}",
        status_code=HTTP_200_OK,
        opt=WRITE,
        summary=f"{action.capitalize()} an account",
        name=f"account-{action}",
    )
    async def handler(
        account_id: str, data: StatusChange, ctx: RequestContext, session: AsyncSession
    ) -> Account:
        account = await change_status(
            session, ctx, _account_id(account_id), action, data.reason.strip()
        )
        return account_body(account)

    return handler


@post(
    "/accounts/{account_id:str}/holds",
    status_code=HTTP_201_CREATED,
    opt=WRITE,
    summary="Place a hold",
)
async def post_hold(
    account_id: str, data: HoldCreate, ctx: RequestContext, session: AsyncSession
) -> Hold:
    hold = await place_hold(
        session, ctx, _account_id(account_id), data.amount, data.reason.strip(), data.expires_at
    )
    account = await get_account(session, hold.tenant_id, hold.account_id)
    return hold_body(hold, account.currency)


@delete(
    "/accounts/{account_id:str}/holds/{hold_id:str}",
    status_code=HTTP_200_OK,
    opt=WRITE,
    summary="Release a hold",
)
async def delete_hold(
    account_id: str, hold_id: str, ctx: RequestContext, session: AsyncSession
) -> Hold:
    hold, account = await release_hold(
        session, ctx, _account_id(account_id), parse_id(hold_id, what="hold")
    )
    return hold_body(hold, account.currency)


@get("/products", opt=READ, summary="The tenant's account products")
async def get_products(session: AsyncSession, tenant: TenantRef) -> Products:
    return await list_products(session, tenant.id)


account_router = Router(
    path="/",
    tags=["accounts"],
    route_handlers=[
        post_account,
        get_accounts,
        get_by_number,
        get_one,
        get_statement,
        _status_route("freeze"),
        _status_route("unfreeze"),
        _status_route("close"),
        post_hold,
        delete_hold,
        get_products,
    ],
)

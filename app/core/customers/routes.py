"""/customers."""

from litestar import Router, get, post
from litestar.status_codes import HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.service import accounts_of_customer
from app.core.common import parse_id
from app.core.context import RequestContext, TenantRef
from app.core.customers.responses import Customer, CustomerDetail, CustomerPage
from app.core.customers.schemas import CustomerCreate
from app.core.customers.service import (
    create_customer,
    customer_as,
    customer_body,
    get_customer,
    search_customers,
)
from app.core.http import PageLimit, page_limit
from app.core.permissions import requires


@post(
    "/",
    status_code=HTTP_201_CREATED,
    opt=requires("officer", "customers:write"),
    summary="Create a customer",
)
async def post_customer(
    data: CustomerCreate, ctx: RequestContext, session: AsyncSession
) -> Customer:
    return customer_body(await create_customer(session, ctx, data))


@get(
    "/",
    opt=requires("viewer", "customers:read"),
    summary="Search customers by name, email, phone or number",
)
async def list_customers(
    session: AsyncSession,
    tenant: TenantRef,
    q: str | None = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> CustomerPage:
    return await search_customers(session, tenant.id, q, page_limit(limit), cursor)


@get(
    "/{customer_id:str}",
    opt=requires("viewer", "customers:read"),
    summary="A customer with their accounts",
)
async def get_customer_detail(
    customer_id: str, session: AsyncSession, tenant: TenantRef
) -> CustomerDetail:
    customer = await get_customer(
        session, tenant.id, parse_id(customer_id, "CUSTOMER_NOT_FOUND", "customer")
    )
    accounts = await accounts_of_customer(session, tenant.id, customer.id)
    return customer_as(CustomerDetail, customer, accounts=accounts)


customer_router = Router(
    path="/customers",
    route_handlers=[post_customer, list_customers, get_customer_detail],
    tags=["customers"],
)

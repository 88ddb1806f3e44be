"""Customers: create, search, read."""

import uuid
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import col, or_
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.common import iso
from app.core.context import RequestContext
from app.core.customers import responses as answers
from app.core.customers.models import Customer
from app.core.customers.schemas import CustomerCreate
from app.core.detail_codes import DetailCode
from app.core.errors import ApiError, field_error
from app.core.ledger.numbers import next_customer_number
from app.core.pagination import keyset_slice


def customer_body(customer: Customer) -> answers.Customer:
    return customer_as(answers.Customer, customer)


ACustomer = TypeVar("ACustomer", bound=answers.Customer)


def customer_as(model: type[ACustomer], customer: Customer, **more: Any) -> ACustomer:
    """``customer`` as ``model`` (the Customer answer or its detail, ``more`` its further
    members)."""
    return model(
        id=str(customer.id),
        customer_number=customer.customer_number,
        customer_type=customer.customer_type,
        first_name=customer.first_name,
        last_name=customer.last_name,
        company_name=customer.company_name,
        display_name=customer.display_name,
        email=customer.email,
        phone=customer.phone,
        date_of_birth=iso(customer.date_of_birth),
        address=customer.address,
        branch_code=customer.branch_code,
        created_at=iso(customer.created_at),
        **more,
    )


async def create_customer(
    session: AsyncSession, ctx: RequestContext, data: CustomerCreate
) -> Customer:
    assert ctx.principal is not None and ctx.tenant is not None
    problems = []
    if data.customer_type == "INDIVIDUAL":
        for name in ("first_name", "last_name"):
            if not (getattr(data, name) or "").strip():
                problems.append(
                    field_error(name, "required for an individual", code=DetailCode.REQUIRED)
                )
    elif not (data.company_name or "").strip():
        problems.append(
            field_error(
                "company_name", "required for a corporate customer", code=DetailCode.REQUIRED
            )
        )
    if not data.email and not data.phone:
        problems.append(
            field_error(
                "phone", "give a phone number or an email", code=DetailCode.CONTACT_REQUIRED
            )
        )
    if problems:
        raise ApiError("VALIDATION_ERROR", "Some customer details are missing.", problems)
    if data.customer_type == "INDIVIDUAL":
        display = f"{(data.first_name or '').strip()} {(data.last_name or '').strip()}"
    else:
        display = (data.company_name or "").strip()
    customer = Customer(
        tenant_id=ctx.tenant.id,
        customer_number=await next_customer_number(session, ctx.tenant.id),
        customer_type=data.customer_type,
        first_name=(data.first_name or "").strip() or None,
        last_name=(data.last_name or "").strip() or None,
        company_name=(data.company_name or "").strip() or None,
        display_name=display,
        search_name=display.lower(),
        email=data.email.lower() if data.email else None,
        phone=data.phone,
        date_of_birth=data.date_of_birth,
        address=data.address,
        branch_code=ctx.principal.branch_code,
        created_by=ctx.principal.user_id,
    )
    session.add(customer)
    await session.flush()
    audit.record(
        session,
        ctx,
        "customer.created",
        entity_type="customer",
        entity_id=customer.id,
        after=customer_body(customer),
    )
    return customer


async def get_customer(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.tenant_id != tenant_id:
        raise ApiError("CUSTOMER_NOT_FOUND", "No such customer.")
    return customer


async def search_customers(
    session: AsyncSession, tenant_id: uuid.UUID, q: str | None, limit: int, cursor: str | None
) -> answers.CustomerPage:
    query = sa.select(Customer).where(col(Customer.tenant_id) == tenant_id)
    if q:
        term = q.strip().lower()
        like = f"%{_escape_like(term)}%"
        query = query.where(
            or_(
                col(Customer.search_name).like(like, escape="\\"),
                col(Customer.email).like(like, escape="\\"),
                col(Customer.phone).like(f"%{_escape_like(q.strip())}%", escape="\\"),
                col(Customer.customer_number) == q.strip().upper(),
            )
        )
    page = await keyset_slice(
        session,
        query,
        [(col(Customer.created_at), "datetime"), (col(Customer.id), "uuid")],
        limit=limit,
        cursor=cursor,
        render=customer_body,
        value_of=lambda c: (c.created_at, c.id),
    )
    return answers.CustomerPage(
        customers=page.items, has_more=page.has_more, next_cursor=page.next_cursor
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

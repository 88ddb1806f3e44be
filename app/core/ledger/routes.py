"""/gl/accounts: the chart as a tree with balances, one account, its entries."""

import uuid
from typing import Annotated

import msgspec
import sqlalchemy as sa
from litestar import Router, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.common import iso, parse_date, parse_id
from app.core.context import RequestContext, TenantRef
from app.core.errors import ApiError
from app.core.http import DAY_FILTER, PageLimit, page_limit
from app.core.ledger import responses as answers
from app.core.ledger.balances import balances_after, net_debits_by_gl, normal_balance
from app.core.ledger.gl_accounts import create_gl_account, update_gl_account
from app.core.ledger.models import GLAccount, Posting
from app.core.ledger.schemas import GLAccountCreate, GLAccountUpdate
from app.core.money import format_amount
from app.core.pagination import keyset_slice
from app.core.permissions import requires

READ = requires("viewer", "gl:read")
WRITE = requires("officer", "gl:write")


def node(account: GLAccount, balance: int) -> answers.GLAccount:
    """One account with its balance (in its normal direction)."""
    return answers.GLAccount(
        id=str(account.id),
        code=account.code,
        name=account.name,
        category=account.category,
        parent_id=str(account.parent_id) if account.parent_id else None,
        is_header=account.is_header,
        allow_manual_entries=account.allow_manual_entries,
        currency_code=account.currency_code,
        branch_code=account.branch_code,
        is_active=account.is_active,
        role=account.role,
        balance=format_amount(balance, account.currency_code),
    )


async def chart_with_balances(
    session: AsyncSession, tenant_id: uuid.UUID
) -> tuple[list[GLAccount], dict[uuid.UUID, int]]:
    accounts = list(
        (
            await session.execute(
                sa.select(GLAccount)
                .where(col(GLAccount.tenant_id) == tenant_id)
                .order_by(col(GLAccount.code))
            )
        )
        .scalars()
        .all()
    )
    net = await net_debits_by_gl(session, tenant_id)
    children: dict[uuid.UUID, list[GLAccount]] = {}
    for account in accounts:
        if account.parent_id is not None:
            children.setdefault(account.parent_id, []).append(account)
    totals: dict[uuid.UUID, int] = {}

    def total(account: GLAccount) -> int:  # a header shows the sum of its subtree
        if account.id not in totals:
            totals[account.id] = net.get(account.id, 0) + sum(
                total(child) for child in children.get(account.id, [])
            )
        return totals[account.id]

    for account in accounts:
        total(account)
    return accounts, {a.id: normal_balance(a, totals[a.id]) for a in accounts}


@get("/gl/accounts", opt=READ, summary="The chart of accounts as a tree with balances")
async def get_chart(session: AsyncSession, tenant: TenantRef) -> answers.Chart:
    accounts, balances = await chart_with_balances(session, tenant.id)
    nodes = {
        a.id: answers.GLNode(**msgspec.structs.asdict(node(a, balances[a.id])), children=[])
        for a in accounts
    }
    roots = []
    for account in accounts:
        if account.parent_id is not None and account.parent_id in nodes:
            nodes[account.parent_id].children.append(nodes[account.id])
        else:
            roots.append(nodes[account.id])
    return answers.Chart(gl_accounts=roots)


async def _gl(session: AsyncSession, tenant: TenantRef, gl_id: str) -> GLAccount:
    account = await session.get(GLAccount, parse_id(gl_id, "GL_ACCOUNT_NOT_FOUND", "GL account"))
    if account is None or account.tenant_id != tenant.id:
        raise ApiError("GL_ACCOUNT_NOT_FOUND", "No such GL account.")
    return account


@get("/gl/accounts/{gl_account_id:str}", opt=READ, summary="One GL account with its balance")
async def get_gl_account(
    gl_account_id: str, session: AsyncSession, tenant: TenantRef
) -> answers.GLAccount:
    account = await _gl(session, tenant, gl_account_id)
    _accounts, balances = await chart_with_balances(session, tenant.id)
    return node(account, balances[account.id])


@post(
    "/gl/accounts",
    status_code=HTTP_201_CREATED,
    opt=WRITE,
    summary="Add an account to the chart",
)
async def post_gl_account(
    data: GLAccountCreate, ctx: RequestContext, session: AsyncSession, tenant: TenantRef
) -> answers.GLAccount:
    account = await create_gl_account(session, ctx, tenant.id, data)
    return node(account, 0)


@patch(
    "/gl/accounts/{gl_account_id:str}",
    opt=WRITE,
    summary="Rename, move, or change a GL account while the rules allow it",
)
async def patch_gl_account(
    gl_account_id: str,
    data: GLAccountUpdate,
    ctx: RequestContext,
    session: AsyncSession,
    tenant: TenantRef,
) -> answers.GLAccount:
    account = await update_gl_account(session, ctx, tenant.id, gl_account_id, data)
    await session.flush()
    _accounts, balances = await chart_with_balances(session, tenant.id)
    return node(account, balances[account.id])


@get(
    "/gl/accounts/{gl_account_id:str}/entries",
    opt=READ,
    summary="Postings of a GL account with running balance, newest first",
)
async def get_entries(
    gl_account_id: str,
    session: AsyncSession,
    tenant: TenantRef,
    from_: Annotated[str | None, Parameter(query="from", schema_extra=DAY_FILTER)] = None,
    to: Annotated[str | None, Parameter(schema_extra=DAY_FILTER)] = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> answers.GLEntryPage:
    start, end = parse_date(from_, "from"), parse_date(to, "to")
    account = await _gl(session, tenant, gl_account_id)
    flip = 1 if account.category in {"ASSET", "EXPENSE"} else -1
    query = sa.select(Posting).where(col(Posting.gl_account_id) == account.id)
    if start:
        query = query.where(col(Posting.effective_date) >= start)
    if end:
        query = query.where(col(Posting.effective_date) <= end)
    page = await keyset_slice(
        session,
        query,
        [(col(Posting.id), "int")],
        limit=page_limit(limit),
        cursor=cursor,
        render=lambda p: p,
        value_of=lambda p: (p.id,),
    )
    postings: list[Posting] = page.items
    balances = await balances_after(
        session, tenant.id, account.id, [p.id for p in postings if p.id is not None]
    )
    return answers.GLEntryPage(
        entries=[
            answers.GLEntry(
                id=p.id or 0,
                journal_id=str(p.journal_id),
                effective_date=iso(p.effective_date),
                posted_at=iso(p.posted_at),
                entry_type="debit" if p.side == "D" else "credit",
                amount=format_amount(p.amount, p.currency),
                currency=p.currency,
                branch_code=p.branch_code,
                description=p.description,
                balance_after=format_amount(flip * balances.get(p.id or 0, 0), p.currency),
            )
            for p in postings
        ],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


gl_router = Router(
    path="/",
    tags=["general ledger"],
    route_handlers=[
        get_chart,
        get_gl_account,
        post_gl_account,
        patch_gl_account,
        get_entries,
    ],
)

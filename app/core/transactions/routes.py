"""/deposits, /withdrawals, /transfers/*, /transactions."""

from typing import Annotated, Any, cast

import msgspec
import sqlalchemy as sa
from litestar import Response, Router, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import ValidationError, convert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.common import parse_date, parse_id
from app.core.context import RequestContext, TenantRef
from app.core.contract.errors import ErrorDetail
from app.core.errors import ApiError, field_problem
from app.core.http import DAY_FILTER, PageLimit, page_limit
from app.core.ledger.store import PgLedger
from app.core.pagination import keyset_slice
from app.core.permissions import requires
from app.core.services import CoreServices
from app.core.transactions.models import Transaction as TransactionRow
from app.core.transactions.responses import (
    BatchItem,
    BatchResult,
    ItemError,
    Transaction,
    TransactionPage,
)
from app.core.transactions.schemas import BatchRequest, CashRequest, RejectRequest, TransferRequest
from app.core.transactions.service import (
    DEPOSIT,
    INTER_BRANCH,
    TRANSFER,
    WITHDRAWAL,
    Movement,
    TransactionService,
    can_do_inter_branch,
    cash_movement,
    get_transaction,
    transaction_body,
    transfer_movement,
)
from app.core.unit import UnitOfWork
from app.core.validation import every_problem


def money(role: str) -> dict[str, Any]:
    return {**requires(role, "transactions:write"), "idempotency_required": True}


async def movement_service(unit: UnitOfWork, ctx: RequestContext) -> TransactionService:
    """A single movement's service: on PostgreSQL through the request's raw connection
    (the path every deposit and transfer takes), on SQLite through its ORM session."""
    if unit.raw_available:
        return TransactionService(None, ctx, ledger=PgLedger(await unit.connection()))
    return TransactionService(unit.session, ctx)


@post("/deposits", status_code=HTTP_201_CREATED, opt=money("teller"), summary="Cash deposit")
async def post_deposit(data: CashRequest, ctx: RequestContext, unit: UnitOfWork) -> Transaction:
    movement = cash_movement(DEPOSIT, data)
    service = await movement_service(unit, ctx)
    return transaction_body(await service.execute(movement))


@post("/withdrawals", status_code=HTTP_201_CREATED, opt=money("teller"), summary="Cash withdrawal")
async def post_withdrawal(data: CashRequest, ctx: RequestContext, unit: UnitOfWork) -> Transaction:
    movement = cash_movement(WITHDRAWAL, data)
    service = await movement_service(unit, ctx)
    return transaction_body(await service.execute(movement))


@post(
    "/transfers/internal",
    status_code=HTTP_201_CREATED,
    opt=money("officer"),
    summary="Transfer between two accounts of one branch",
)
async def post_internal(
    data: TransferRequest, ctx: RequestContext, unit: UnitOfWork
) -> Transaction:
    movement = transfer_movement(TRANSFER, data)
    service = await movement_service(unit, ctx)
    return transaction_body(await service.execute(movement))


@post(
    "/transfers/inter-branch",
    status_code=HTTP_201_CREATED,
    opt=money("manager"),
    summary="Transfer between branches, through their clearing accounts",
)
async def post_inter_branch(
    data: TransferRequest, ctx: RequestContext, unit: UnitOfWork
) -> Transaction:
    movement = transfer_movement(INTER_BRANCH, data)
    service = await movement_service(unit, ctx)
    return transaction_body(await service.execute(movement))


@post(
    "/transfers/batch",
    status_code=HTTP_200_OK,
    opt=money("officer"),
    summary="Up to 1,000 transfers in one request, independent or atomic",
)
async def post_batch(
    data: BatchRequest, ctx: RequestContext, unit: UnitOfWork
) -> Response[BatchResult]:
    """Every account is locked in one query; items are checked (in memory) before anything
    of them changes, so a failing item leaves no trace and needs no savepoint; the rows of
    every item go out together, one statement per table. The round trips do not grow with
    the batch."""
    assert ctx.principal is not None
    parsed: list[Movement | ApiError] = []
    for raw in data.transfers:
        try:
            parsed.append(transfer_movement(TRANSFER, convert(raw, TransferRequest)))
        except ApiError as exc:
            parsed.append(exc)
        except ValidationError as exc:
            details = every_problem(TransferRequest, msgspec.json.encode(raw))
            parsed.append(
                ApiError(
                    "VALIDATION_ERROR",
                    "Check this transfer.",
                    details or [field_problem(str(exc))],
                )
            )
    ids = {m.account_id for m in parsed if isinstance(m, Movement)} | {
        m.counterparty_id for m in parsed if isinstance(m, Movement) and m.counterparty_id
    }
    service = await movement_service(unit, ctx)
    await service.preload(sorted(ids))
    results: list[BatchItem] = []
    for index, item in enumerate(parsed):
        try:
            if not isinstance(item, Movement):
                raise item
            if service.crosses_branches(item):
                if not can_do_inter_branch(ctx.principal):
                    raise ApiError(
                        "INSUFFICIENT_ROLE", "Inter-branch transfers need the manager role."
                    )
                item.type = INTER_BRANCH
            transaction = await service.execute(item)
            results.append(
                BatchItem(
                    index=index, status="COMPLETED", transaction=transaction_body(transaction)
                )
            )
        except ApiError as exc:
            results.append(BatchItem(index=index, status="FAILED", error=_item_error(exc)))
    if data.mode == "atomic" and any(r.status == "FAILED" for r in results):
        results = [
            r if r.status == "FAILED" else BatchItem(index=r.index, status="NOT_EXECUTED")
            for r in results
        ]
        raise ApiError(
            "BATCH_REJECTED",
            "An item of this atomic batch failed: nothing was posted.",
            extra={"results": msgspec.to_builtins(results)},  # the error body is plain JSON
        )
    await service.flush()
    return Response(BatchResult(results=results), status_code=HTTP_200_OK)


def _item_error(exc: ApiError) -> ItemError:
    # The details as every refusal writes them (app.core.errors.error_body): ErrorDetail's
    # members and any a refusal adds (INSUFFICIENT_FUNDS' available_balance), which the
    # Struct cannot carry; the document allows them, so they go out as they are.
    details = cast(list[ErrorDetail], exc.details)
    return ItemError(code=exc.code, message=exc.message, details=details)


@post(
    "/transactions/{transaction_id:str}/approve",
    status_code=HTTP_200_OK,
    opt=requires("officer", "payments:authorize"),
    summary="Approve (post) a pending one",
)
async def approve(
    transaction_id: str, ctx: RequestContext, session: AsyncSession, services: CoreServices
) -> Transaction:
    service = TransactionService(session, ctx, production=services.settings.server.production)
    return transaction_body(await service.approve(parse_id(transaction_id, what="transaction")))


@post(
    "/transactions/{transaction_id:str}/reject",
    status_code=HTTP_200_OK,
    opt=requires("officer", "payments:authorize"),
    summary="Reject a pending one",
)
async def reject(
    transaction_id: str,
    data: RejectRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
) -> Transaction:
    service = TransactionService(session, ctx, production=services.settings.server.production)
    return transaction_body(
        await service.reject(parse_id(transaction_id, what="transaction"), data.reason.strip())
    )


@get("/transactions", opt=requires("viewer", "transactions:read"), summary="Transactions")
async def list_transactions(
    session: AsyncSession,
    tenant: TenantRef,
    account_id: str | None = None,
    type_: Annotated[str | None, Parameter(query="type")] = None,
    status: str | None = None,
    from_: Annotated[str | None, Parameter(query="from", schema_extra=DAY_FILTER)] = None,
    to: Annotated[str | None, Parameter(schema_extra=DAY_FILTER)] = None,
    created_by: str | None = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> TransactionPage:
    start, end = parse_date(from_, "from"), parse_date(to, "to")
    query = sa.select(TransactionRow).where(col(TransactionRow.tenant_id) == tenant.id)
    if account_id:
        account = parse_id(account_id, "ACCOUNT_NOT_FOUND", "account")
        query = query.where(
            sa.or_(
                col(TransactionRow.account_id) == account,
                col(TransactionRow.counterparty_account_id) == account,
            )
        )
    if type_:
        query = query.where(col(TransactionRow.type) == type_.upper())
    if status:
        query = query.where(col(TransactionRow.status) == status.upper())
    if start:
        query = query.where(col(TransactionRow.business_date) >= start)
    if end:
        query = query.where(col(TransactionRow.business_date) <= end)
    if created_by:
        query = query.where(col(TransactionRow.created_by) == parse_id(created_by, what="user"))
    page = await keyset_slice(
        session,
        query,
        [(col(TransactionRow.created_at), "datetime"), (col(TransactionRow.id), "uuid")],
        limit=page_limit(limit),
        cursor=cursor,
        render=transaction_body,
        value_of=lambda t: (t.created_at, t.id),
    )
    return TransactionPage(
        transactions=page.items, has_more=page.has_more, next_cursor=page.next_cursor
    )


@get(
    "/transactions/{id_or_ref:str}",
    opt=requires("viewer", "transactions:read"),
    summary="One transaction by ID or reference",
)
async def get_one(id_or_ref: str, session: AsyncSession, tenant: TenantRef) -> Transaction:
    return transaction_body(await get_transaction(session, tenant.id, id_or_ref))


transaction_router = Router(
    path="/",
    tags=["transactions"],
    route_handlers=[
        post_deposit,
        post_withdrawal,
        post_internal,
        post_inter_branch,
        post_batch,
        approve,
        reject,
        list_transactions,
        get_one,
    ],
)

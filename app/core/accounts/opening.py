"""Opening an account (with its optional initial cash deposit)."""

import msgspec
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account
from app.core.accounts.schemas import AccountOpen
from app.core.accounts.service import account_body, product_of
from app.core.audit import service as audit
from app.core.common import check_branch_scope, parse_id
from app.core.context import RequestContext
from app.core.customers.service import get_customer
from app.core.detail_codes import DetailCode
from app.core.errors import ApiError, field_error
from app.core.ledger.numbers import next_account_number
from app.core.money import digits_of, parse_amount
from app.core.tenants.service import list_branches
from app.core.transactions.responses import Transaction
from app.core.transactions.service import DEPOSIT, Movement, TransactionService
from app.core.webhooks import outbox


async def open_account(
    session: AsyncSession, ctx: RequestContext, data: AccountOpen
) -> tuple[Account, Transaction | None]:
    assert ctx.principal is not None and ctx.tenant is not None
    tenant_id = ctx.tenant.id
    currency = data.currency.upper()
    digits_of(currency)
    initial = (
        parse_amount(data.initial_deposit, currency, "initial_deposit")
        if data.initial_deposit not in (None, "", 0, "0")
        else None
    )
    product = await product_of(session, tenant_id, data.product_code)
    problems = []
    if product is None:
        problems.append(
            field_error(
                "product_code", "unknown product", data.product_code, DetailCode.UNKNOWN_PRODUCT
            )
        )
    else:
        if product.account_type != data.account_type and data.account_type != "JOINT":
            problems.append(
                field_error(
                    "account_type",
                    f"product {product.code} opens {product.account_type}",
                    data.account_type,
                    DetailCode.INVALID_CHOICE,
                )
            )
        if currency not in product.currencies:
            problems.append(
                field_error(
                    "currency",
                    f"product {product.code} is in {', '.join(product.currencies)}",
                    currency,
                    DetailCode.PRODUCT_CURRENCY_MISMATCH,
                )
            )
    branches = {b.code for b in await list_branches(session, tenant_id)}
    if data.branch_code not in branches:
        problems.append(
            field_error(
                "branch_code", "unknown branch", data.branch_code, DetailCode.UNKNOWN_BRANCH
            )
        )
    if problems:
        raise ApiError("VALIDATION_ERROR", "Check the account details.", problems)
    assert product is not None
    customer = await get_customer(
        session, tenant_id, parse_id(data.customer_id, "CUSTOMER_NOT_FOUND", "customer")
    )
    check_branch_scope(ctx.principal, data.branch_code)
    account = Account(
        tenant_id=tenant_id,
        account_number=await next_account_number(session, tenant_id),
        customer_id=customer.id,
        product_code=product.code,
        account_type=data.account_type,
        currency=currency,
        branch_code=data.branch_code,
        alias=(data.alias or "").strip() or None,
        status="ACTIVE",
        control_gl_account_id=product.control_gl_account_id,
        daily_withdrawal_limit=product.daily_withdrawal_limit,
        opened_by=ctx.principal.user_id,
    )
    session.add(account)
    await session.flush()
    body = account_body(account, customer.display_name)
    audit.record(
        session, ctx, "account.opened", entity_type="account", entity_id=account.id, after=body
    )
    outbox.emit(session, tenant_id, "account.opened", msgspec.to_builtins(body), ctx.request_id)
    deposit = None
    if initial is not None:
        transaction = await TransactionService(session, ctx).execute(
            Movement(DEPOSIT, initial, currency, account.id, None, "Initial deposit")
        )
        from app.core.transactions.service import transaction_body

        deposit = transaction_body(transaction)
        # The posting updated this very (identity-mapped) account; refresh() would reload
        # the unflushed row and drop its new balance, so flush it instead.
        await session.flush()
    return account, deposit

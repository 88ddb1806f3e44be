"""Teller pages: deposit, withdrawal (form → confirm → receipt), the live account search,
receipts and "My day"."""

import re
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException

from app.client import TransactionView
from app.console.amount_words import amount_in_words
from app.console.banking import CoreSession
from app.console.concurrent import together
from app.console.formatting import clock_time, local_time, money
from app.console.htmx import render
from app.console.lookup import STATUS_LABELS as ACCOUNT_STATUS
from app.console.lookup import search_accounts
from app.console.teller.day import STATUS_LABELS, TYPE_LABELS, my_day
from app.console.teller.forms import MoneyForm, Picker, continue_, show, submit

TEMPLATE = "teller/money.html"
_REF = re.compile(r"^[A-Za-z0-9-]{1,40}$")
PICKER_FIELDS = ("account", "source", "destination")

DEPOSIT = MoneyForm(
    kind="deposit",
    path="/teller/deposit",
    permission="teller.deposit",
    core_path="/deposits",
    title="Deposit",
    noun="deposit",
    submit_label="Deposit",
    action="teller.deposit",
    pickers=(Picker("account", "Account", "account_id"),),
    depositor=True,
    lede="Cash paid in at the counter, credited to the customer's account.",
)
WITHDRAWAL = MoneyForm(
    kind="withdrawal",
    path="/teller/withdrawal",
    permission="teller.withdrawal",
    core_path="/withdrawals",
    title="Withdrawal",
    noun="withdrawal",
    submit_label="Withdraw",
    action="teller.withdrawal",
    pickers=(Picker("account", "Account", "account_id"),),
    lede="Cash paid out at the counter, debited from the customer's account.",
)


def _opt(permission: str) -> dict[str, str]:
    return {"permission": permission}


@get("/teller/deposit", opt=_opt("teller.deposit"), name="teller_deposit")
async def deposit_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The deposit form, or a draft's confirm step."""
    return await show(request, DEPOSIT, TEMPLATE)


@post("/teller/deposit", opt=_opt("teller.deposit"), name="teller_deposit_continue")
async def deposit_continue(request: Request[Any, Any, Any]) -> Response[Any]:
    """The "Continue" button of the deposit form."""
    return await continue_(request, DEPOSIT)


@post("/teller/deposit/submit", opt=_opt("teller.deposit"), name="teller_deposit_submit")
async def deposit_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    """The "Deposit" button of the confirm step."""
    return await submit(request, DEPOSIT)


@get("/teller/withdrawal", opt=_opt("teller.withdrawal"), name="teller_withdrawal")
async def withdrawal_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The withdrawal form, or a draft's confirm step."""
    return await show(request, WITHDRAWAL, TEMPLATE)


@post("/teller/withdrawal", opt=_opt("teller.withdrawal"), name="teller_withdrawal_continue")
async def withdrawal_continue(request: Request[Any, Any, Any]) -> Response[Any]:
    """The "Continue" button of the withdrawal form."""
    return await continue_(request, WITHDRAWAL)


@post("/teller/withdrawal/submit", opt=_opt("teller.withdrawal"), name="teller_withdrawal_submit")
async def withdrawal_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    """The "Withdraw" button of the confirm step."""
    return await submit(request, WITHDRAWAL)


@get("/teller/accounts", opt=_opt("teller.deposit"), name="teller_account_search")
async def account_search(request: Request[Any, Any, Any]) -> Response[Any]:
    """Accounts matching what was typed: the picker's live results (a page without htmx).

    ``?field=account&account=<text>`` (the picker's own control sends its value) or ``?q=``.
    """
    field = request.query_params.get("field", "account")
    if field not in PICKER_FIELDS:
        field = "account"
    query = (request.query_params.get(field) or request.query_params.get("q") or "").strip()
    core = CoreSession(request)
    matches = await search_accounts(core, query)
    return render(
        request,
        "teller/accounts.html",
        {
            "page_title": "Find an account",
            "field": field,
            "query": query,
            "matches": matches,
            "chosen_id": matches[0].id if len(matches) == 1 else None,
            "status_labels": ACCOUNT_STATUS,
        },
        block="matches",
    )


@get("/teller/receipts/{ref:str}", opt=_opt("teller.my_day"), name="teller_receipt")
async def receipt(request: Request[Any, Any, Any], ref: str) -> Response[Any]:
    """The receipt of one transaction (printable on one A5/A4 page)."""
    if not _REF.match(ref):
        raise NotFoundException("no such receipt")
    core = CoreSession(request)
    # One call: the transaction with its accounts' numbers and holders (GET /views/...),
    # beside this process's brief copies of the tenant and its branches.
    transaction, tenant, branches = await together(
        core.get(f"/views/transactions/{ref}", model=TransactionView),
        core.tenant(),
        core.branches(),
    )
    account = {
        "account_number": transaction.account_number or "",
        "customer_name": transaction.customer_name or "",
    }
    other = (
        {
            "account_number": transaction.counterparty_account_number or "",
            "customer_name": transaction.counterparty_customer_name or "",
        }
        if transaction.counterparty_account_id
        else None
    )
    branch_code = transaction.branch_code or ""
    branch_name = next((b.name for b in branches if b.code == branch_code), "")
    user = core.signed_in.user
    made_by_me = transaction.created_by == user.id
    currency = transaction.currency
    limit = tenant.settings.teller_approval_limit
    return render(
        request,
        "teller/receipt.html",
        {
            "page_title": f"Receipt {transaction.transaction_ref}",
            "t": transaction,
            "account": account,
            "counterparty": other,
            "type_label": TYPE_LABELS.get(transaction.type, "Transaction"),
            "status_label": STATUS_LABELS.get(transaction.status, "—"),
            "teller": f"{user.name} ({user.email})"
            if made_by_me
            else transaction.created_by_email or "",
            "branch": f"{branch_code} — {branch_name}" if branch_name else branch_code,
            "time": local_time(transaction.created_at, tenant.timezone),
            "amount": money(transaction.amount, currency),
            "amount_words": amount_in_words(str(transaction.amount), currency),
            "balance_after": money(transaction.balance_after, currency),
            "approval_limit": money(limit, currency),
            "tenant": tenant,
        },
    )


@get("/teller/my-day", opt=_opt("teller.my_day"), name="teller_my_day")
async def my_day_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The signed-in user's transactions of today's business date, with totals."""
    core = CoreSession(request)
    day = await my_day(core)
    rows = [
        {
            "ref": t.transaction_ref,
            "time": clock_time(t.created_at, day.timezone),
            "type": TYPE_LABELS.get(t.type, t.type),
            "status": t.status,
            "status_label": STATUS_LABELS.get(t.status, t.status),
            # What the teller wrote, else who brought the cash.
            "narration": t.narration or t.depositor_name or "",
            "amount": money(t.amount, t.currency),
        }
        for t in day.transactions
    ]
    return render(
        request,
        "teller/my_day.html",
        {"page_title": "My day", "day": day, "rows": rows, "tenant": await core.tenant()},
    )


teller_router = Router(
    path="/",
    route_handlers=[
        deposit_page,
        deposit_continue,
        deposit_submit,
        withdrawal_page,
        withdrawal_continue,
        withdrawal_submit,
        account_search,
        receipt,
        my_day_page,
    ],
)

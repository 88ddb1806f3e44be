"""Accounts: the filtered list, an account's page, its statement (page, chart, CSV), opening
an account, freeze / unfreeze / close behind a confirmation, and holds.

Pages work without JavaScript (forms POST, then redirect); htmx asks the same URLs for
fragments. Every write carries the idempotency key minted when its form was rendered and
is written to the console action log. The core decides every rule (branch scope, states,
amounts); its refusals are shown in plain words next to the action.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, Router, get, post
from litestar.response import Stream
from markupsafe import Markup

from app.client import Account, AccountView, BankingAPIError, Customer, Product, Statement
from app.console.accounts.statement import (
    CSV_HEADER,
    DateRange,
    balance_chart,
    csv_filename,
    csv_row,
    date_range,
    summary_of,
)
from app.console.banking import CoreSession
from app.console.confirm import ConfirmedAction, ConfirmPage, Reason, Subject, confirmed_routes
from app.console.csv_export import csv_line
from app.console.customers.routes import customer_path
from app.console.formatting import bank_zone, clock_time, zone_of
from app.console.htmx import VARY, render, wants_fragment
from app.console.writes import (
    FORM_EXPIRED,
    FormErrors,
    Refusal,
    WriteBody,
    key_from_form,
    mint_key,
    normalise_amount,
    redirect,
    send_write,
    text,
)

VIEW = {"permission": "accounts.view"}
STATEMENT = {"permission": "accounts.statement"}
WRITE = {"permission": "accounts.write"}
PAGE_SIZE = 25
STATEMENT_PAGE_SIZE = 50
RECENT_POSTINGS = 10  # the account page's "Latest postings"
CORE_PAGE_MAX = 200

STATUSES = ("ACTIVE", "DORMANT", "FROZEN", "CLOSED", "PENDING", "BLOCKED")
CURRENCIES = ("NGN", "USD", "EUR", "GBP")


@dataclass(frozen=True)
class StatusAction:
    """Freeze, unfreeze or close: what it is called, which states allow it, what staff are
    told."""

    label: str
    title: str
    allowed: frozenset[str]
    done: str
    effect: str


STATUS_ACTIONS: dict[str, StatusAction] = {
    "freeze": StatusAction(
        label="Freeze",
        title="Freeze account",
        allowed=frozenset({"ACTIVE", "DORMANT"}),
        done="frozen",
        effect="Nothing can be paid out of a frozen account; money can still come in.",
    ),
    "unfreeze": StatusAction(
        label="Unfreeze",
        title="Unfreeze account",
        allowed=frozenset({"FROZEN"}),
        done="unfrozen",
        effect="The account becomes active again: payments out are allowed once more.",
    ),
    "close": StatusAction(
        label="Close account",
        title="Close account",
        allowed=frozenset({"ACTIVE", "DORMANT", "FROZEN"}),
        done="closed",
        effect=(
            "A closed account takes no money in or out and cannot be reopened. "
            "Only an account with a zero balance and no holds can be closed."
        ),
    ),
}

DONE_MESSAGES = {
    "opened": "Account opened.",
    "frozen": "Account frozen.",
    "unfrozen": "Account unfrozen.",
    "closed": "Account closed.",
    "hold_placed": "Hold placed.",
    "hold_released": "Hold released.",
}


def account_path(account_id: str) -> str:
    """The core path of one account (the ID came from a URL, so it is quoted)."""
    return f"/accounts/{quote(account_id, safe='')}"


def page_url(account_id: str) -> str:
    return f"/accounts/{quote(account_id, safe='')}"


async def business_date(core: CoreSession) -> date:
    return (await core.tenant()).business_date


# -- the list -------------------------------------------------------------------------------


@get("/accounts", opt=VIEW, name="accounts")
async def account_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """Accounts filtered by status, currency, branch and a search term; newest first."""
    params = request.query_params
    status = params.get("status", "").upper()
    currency = params.get("currency", "").upper()
    branch = params.get("branch", "").strip()[:10]
    q = params.get("q", "").strip()[:100]
    cursor = params.get("cursor") or None
    status = status if status in STATUSES else ""
    currency = currency if currency in CURRENCIES else ""
    core = CoreSession(request)
    page, branches = await asyncio.gather(
        core.get_page(
            "/accounts",
            Account,
            params={
                "status": status or None,
                "currency": currency or None,
                "branch_code": branch or None,
                "q": q or None,
                "cursor": cursor,
                "limit": PAGE_SIZE,
            },
        ),
        core.branch_choices(),
    )
    filters = {"status": status, "currency": currency, "branch": branch, "q": q}
    next_url = None
    if page.has_more and page.next_cursor:
        query = {k: v for k, v in filters.items() if v}
        next_url = "/accounts?" + urlencode({**query, "cursor": page.next_cursor})
    first_url = "/accounts" + (
        "?" + urlencode({k: v for k, v in filters.items() if v}) if any(filters.values()) else ""
    )
    return render(
        request,
        "accounts/index.html",
        {
            "page_title": "Accounts",
            "tenant": await core.tenant(),
            "filters": filters,
            "cursor": cursor,
            "accounts": page.items,
            "next_url": next_url,
            "first_url": first_url,
            "status_options": [(s, s.capitalize()) for s in STATUSES],
            "currency_options": [(c, c) for c in CURRENCIES],
            "branch_options": branches,
        },
        block="rows" if cursor and wants_fragment(request) else "results",
    )


# -- one account ----------------------------------------------------------------------------


def view_path(account_id: str) -> str:
    """The core's one-call read of an account's page (``GET /views/accounts/{id}``)."""
    return f"/views/accounts/{quote(account_id, safe='')}"


async def account_view(
    core: CoreSession, account_id: str, span: DateRange, limit: int
) -> AccountView:
    """The account, its first ``limit`` postings of ``span``, the range's totals and the
    balance chart's points (the newest :data:`CHART_MAX_POSTINGS`), in one call."""
    params = {**span.query, "limit": limit}
    return await core.get(view_path(account_id), params=params, model=AccountView)


async def _detail_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    account_id: str,
    *,
    hold_error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    tenant = await core.tenant()
    span = date_range(None, None, tenant.business_date)
    view = await account_view(core, account_id, span, RECENT_POSTINGS)
    account = view.account
    done = request.query_params.get("done", "")
    holds = account.holds
    return render(
        request,
        "accounts/detail.html",
        {
            "page_title": f"Account {account.account_number}",
            "tenant": tenant,
            "account": account,
            "holds": holds,
            "hold_keys": {h.id: mint_key() for h in holds},
            "recent": view.transactions,
            "chart": balance_chart(
                view.balance_points,
                account.currency,
                span,
                opened_at=account.created_at,
                zone=bank_zone(tenant),
            ),
            "span": span,
            "actions": [
                (name, spec)
                for name, spec in STATUS_ACTIONS.items()
                if account.status in spec.allowed
            ],
            "done": DONE_MESSAGES.get(done),
            "hold_error": hold_error,
            "other_branch": _other_branch(core, account),
        },
        block=None,
        status_code=status_code,
    )


def _other_branch(core: CoreSession, account: Account) -> bool:
    """Whether the core will refuse this user's changes here (branch scope, below manager)."""
    role = core.signed_in.user.role
    return role not in {"manager", "admin"} and account.branch_code != (
        core.signed_in.user.branch_id
    )


@get("/accounts/{account_id:str}", opt=VIEW, name="account")
async def account_detail(request: Request[Any, Any, Any], account_id: str) -> Response[Any]:
    """Balances, holds, status, limits, branch, the customer, and the balance chart."""
    return await _detail_page(request, CoreSession(request), account_id)


# -- the statement --------------------------------------------------------------------------


@get("/accounts/{account_id:str}/statement", opt=STATEMENT, name="account_statement")
async def account_statement(request: Request[Any, Any, Any], account_id: str) -> Response[Any]:
    """Postings with running balance for a date range, newest first, a page at a time.

    The first page is one call (the account, the page, the range's totals and the chart's
    points); "Load more" is one call too (the statement's next page carries its account).
    """
    core = CoreSession(request)
    tenant = await core.tenant()
    span = date_range(
        request.query_params.get("from"),
        request.query_params.get("to"),
        tenant.business_date,
    )
    cursor = request.query_params.get("cursor") or None
    chart = summary = None
    zone = bank_zone(tenant)
    page_body: AccountView | Statement
    if cursor is None:
        page_body = await account_view(core, account_id, span, STATEMENT_PAGE_SIZE)
        currency = page_body.account.currency
        chart = balance_chart(
            page_body.balance_points,
            currency,
            span,
            opened_at=page_body.account.created_at,
            zone=zone,
            width=1180,
            height=260,
        )
        summary = summary_of(page_body.totals, currency)
    else:
        page_body = await core.get(
            account_path(account_id) + "/transactions",
            params={**span.query, "limit": STATEMENT_PAGE_SIZE, "cursor": cursor},
            model=Statement,
        )
    account = page_body.account
    currency = account.currency
    next_url = None
    if page_body.has_more and page_body.next_cursor:
        next_url = f"{page_url(account_id)}/statement?" + urlencode(
            {**span.query, "cursor": page_body.next_cursor}
        )
    # Each posting with its time on the bank's clock.
    postings = [(p, clock_time(p.posted_at, zone)) for p in page_body.transactions]
    fragment = cursor is not None and wants_fragment(request)
    return render(
        request,
        "accounts/statement.html",
        {
            "page_title": f"Statement of account {account.account_number}",
            "tenant": tenant,
            "account": account,
            "currency": currency,
            "postings": postings,
            "span": span,
            "cursor": cursor,
            "next_url": next_url,
            "chart": chart,
            "summary": summary,
            "csv_url": f"{page_url(account_id)}/statement.csv?{urlencode(span.query)}",
            "first_url": f"{page_url(account_id)}/statement?{urlencode(span.query)}",
        },
        block="rows" if fragment else None,
    )


@get("/accounts/{account_id:str}/statement.csv", opt=STATEMENT, name="account_statement_csv")
async def account_statement_csv(request: Request[Any, Any, Any], account_id: str) -> Stream:
    """The statement for the range as CSV, every page, streamed as the core sends them."""
    core = CoreSession(request)
    today = await business_date(core)
    span = date_range(request.query_params.get("from"), request.query_params.get("to"), today)
    path = account_path(account_id) + "/transactions"
    # The first page is read before answering, so a refusal is an error page, not a
    # truncated download.
    first = await core.get(path, params={**span.query, "limit": CORE_PAGE_MAX}, model=Statement)
    currency = first.account.currency

    async def lines() -> AsyncIterator[str]:
        yield csv_line(CSV_HEADER)
        page = first
        seen: set[str] = set()
        while True:
            for posting in page.transactions:
                yield csv_row(posting, currency)
            cursor = page.next_cursor
            if not page.has_more or not cursor or cursor in seen:
                return
            seen.add(cursor)
            params = {**span.query, "limit": CORE_PAGE_MAX, "cursor": cursor}
            page = await core.get(path, params=params, model=Statement)

    filename = csv_filename(first.account.account_number, span)
    return Stream(
        lines(),
        media_type="text/csv",
        headers={**VARY, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- opening an account ---------------------------------------------------------------------


async def _customer_by_ref(core: CoreSession, ref: str) -> Customer | None:
    """A customer by customer number (``CUS0000001``) or ID."""
    ref = ref.strip()
    if not ref:
        return None
    if len(ref) == 36 and ref.count("-") == 4:
        try:
            return await core.get(customer_path(ref), model=Customer)
        except BankingAPIError as exc:
            if exc.status != 404:
                raise
            return None
    page = await core.get_page("/customers", Customer, params={"q": ref, "limit": 10})
    return next((c for c in page.items if c.customer_number.upper() == ref.upper()), None)


async def _products(core: CoreSession) -> list[Product]:
    """The bank's account products (every one fits a page)."""
    return (await core.get_page("/products", Product)).items


OPEN_FIELDS = ("customer", "product_code", "currency", "branch_code", "alias", "initial_deposit")


async def _open_form(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    values: dict[str, str],
    key: str,
    customer: Customer | None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    products, branches = await asyncio.gather(_products(core), core.branch_choices())
    currencies = sorted({c for p in products for c in p.currencies})
    return render(
        request,
        "accounts/new.html",
        {
            "page_title": "Open account",
            "tenant": await core.tenant(),
            "values": values,
            "customer": customer,
            "errors": FormErrors(errors or {}),
            "error": error,
            "key": key,
            "product_options": [
                (p.code, f"{p.name} ({p.code}) — {', '.join(p.currencies)}") for p in products
            ],
            "currency_options": [(c, c) for c in currencies],
            "branch_options": branches,
        },
        block=None,
        status_code=status_code,
    )


@get("/accounts/new", opt=WRITE, name="account_new")
async def account_new(request: Request[Any, Any, Any]) -> Response[Any]:
    """The open-account form, usually reached from the customer's page."""
    core = CoreSession(request)
    customer = await _customer_by_ref(core, request.query_params.get("customer_id", ""))
    tenant = await core.tenant()
    values = {name: "" for name in OPEN_FIELDS}
    values["customer"] = customer.customer_number if customer else ""
    values["currency"] = tenant.base_currency
    values["branch_code"] = core.signed_in.user.branch_id
    values["product_code"] = "SAV001"
    return await _open_form(request, core, values=values, key=mint_key(), customer=customer)


@post("/accounts", opt=WRITE, name="account_open")
async def account_open(request: Request[Any, Any, Any]) -> Response[Any]:
    """Open the account (with its optional initial cash deposit), then show it."""
    form = await request.form()
    values = {name: text(form, name, 120) for name in OPEN_FIELDS}
    key = key_from_form(form)
    core = CoreSession(request)
    customer = await _customer_by_ref(core, values["customer"])
    errors: dict[str, str] = {}
    if customer is None:
        errors["customer"] = (
            "Enter the customer number, like CUS0000001."
            if not values["customer"]
            else f"No customer has the number {values['customer']}."
        )
    if key is None or errors:
        return await _open_form(
            request,
            core,
            values=values,
            key=key or mint_key(),
            customer=customer,
            errors=errors,
            error=FORM_EXPIRED if key is None else None,
            status_code=400,
        )
    assert customer is not None
    product = next((p for p in await _products(core) if p.code == values["product_code"]), None)
    body: WriteBody = {
        "customer_id": customer.id,
        "account_type": product.account_type if product else "SAVINGS",
        "currency": values["currency"],
        "product_code": values["product_code"],
        "branch_code": values["branch_code"],
    }
    if values["alias"]:
        body["alias"] = values["alias"]
    if values["initial_deposit"]:
        body["initial_deposit"] = normalise_amount(values["initial_deposit"])
    opened = await send_write(
        request,
        core,
        core.post("/accounts", body, idempotency_key=key, model=Account),
        action="account.open",
        target=f"customer:{customer.id}",
        key=key,
        done_target=lambda opened: f"account:{opened.id}",
    )
    if isinstance(opened, Refusal):
        return await _open_form(request, core, values=values, customer=customer, **opened.as_form())
    return redirect(f"{page_url(opened.id)}?done=opened")


# -- freeze, unfreeze, close ----------------------------------------------------------------


def _status_action(action: str) -> ConfirmedAction:
    """Freeze, unfreeze or close: a reason, "Confirm <action>", then the account."""
    spec = STATUS_ACTIONS[action]

    async def load(core: CoreSession, account_id: str) -> Subject:
        account = await core.get(account_path(account_id), model=Account)
        status, number = account.status, account.account_number
        page = ConfirmPage(
            title=f"{spec.title} {number}",
            heading=spec.title,
            question=Markup('{} account <span class="mono">{}</span> of {}?').format(
                spec.label, number, account.customer_name or ""
            ),
            button=f"Confirm {action}",
            cancel_url=page_url(account_id),
            effect=spec.effect,
            danger=action == "close",
            notice=None
            if status in spec.allowed
            else f"This account is {status.lower()}, so it can't be {spec.done} now.",
        )
        context = {"tenant": await core.tenant(), "account": account, "heading": spec.title}
        return Subject(context=context, page=page)

    async def send(core: CoreSession, account_id: str, reason: str, key: str) -> Any:
        path = account_path(account_id) + f"/{action}"
        return await core.post(path, {"reason": reason}, idempotency_key=key)

    async def target(_core: CoreSession, account_id: str) -> str:
        return f"account:{account_id}"

    return ConfirmedAction(
        name=f"account_{action}",
        path=f"/accounts/{{account_id:str}}/{action}",
        param="account_id",
        opt=WRITE,
        log=f"account.{action}",
        head="accounts/_head.html",
        facts="accounts/_confirm_facts.html",
        load=load,
        send=send,
        target=target,
        done=lambda account_id, _answer: f"{page_url(account_id)}?done={spec.done}",
        reason=Reason(
            hint="Kept with the account and in the audit trail",
            required="Give a reason; it is kept with the account.",
        ),
    )


# -- holds ----------------------------------------------------------------------------------


async def _hold_form(
    request: Request[Any, Any, Any],
    core: CoreSession,
    account_id: str,
    *,
    values: dict[str, str],
    key: str,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    account = await core.get(account_path(account_id), model=Account)
    tenant = await core.tenant()
    return render(
        request,
        "accounts/hold_new.html",
        {
            "page_title": f"Place hold on {account.account_number}",
            "tenant": await core.tenant(),
            "account": account,
            "values": values,
            "key": key,
            "errors": FormErrors(errors or {}),
            "error": error,
            "timezone": tenant.timezone,
        },
        block=None,
        status_code=status_code,
    )


@get("/accounts/{account_id:str}/holds/new", opt=WRITE, name="account_hold_new")
async def hold_new(request: Request[Any, Any, Any], account_id: str) -> Response[Any]:
    """The place-hold form."""
    core = CoreSession(request)
    values = {"amount": "", "reason": "", "expires_at": ""}
    return await _hold_form(request, core, account_id, values=values, key=mint_key())


def _expiry(raw: str, timezone: str) -> tuple[str | None, str | None]:
    """A ``datetime-local`` value in the bank's timezone as an RFC 3339 time, or an error."""
    if not raw:
        return None, None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None, "Enter the expiry as a date and time, like 2026-12-31 17:00."
    zone = zone_of(timezone)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if moment <= datetime.now(UTC):
        return None, "Choose a date and time in the future."
    return moment.isoformat(), None


@post("/accounts/{account_id:str}/holds", opt=WRITE, name="account_hold_place")
async def hold_place(request: Request[Any, Any, Any], account_id: str) -> Response[Any]:
    """Place the hold (it reduces the available balance), then show the account."""
    form = await request.form()
    values = {
        "amount": text(form, "amount", 40),
        "reason": text(form, "reason", 500),
        "expires_at": text(form, "expires_at", 40),
    }
    key = key_from_form(form)
    core = CoreSession(request)
    tenant = await core.tenant()
    expires_at, expiry_error = _expiry(values["expires_at"], tenant.timezone)
    errors: dict[str, str] = {}
    if not values["amount"]:
        errors["amount"] = "Enter the amount to hold."
    if not values["reason"]:
        errors["reason"] = "Give a reason; it is kept with the hold."
    if expiry_error:
        errors["expires_at"] = expiry_error
    if key is None or errors:
        return await _hold_form(
            request,
            core,
            account_id,
            values=values,
            key=key or mint_key(),
            errors=errors,
            error=FORM_EXPIRED if key is None else None,
            status_code=400,
        )
    assert key is not None
    body: WriteBody = {
        "amount": normalise_amount(values["amount"]),
        "reason": values["reason"],
    }
    if expires_at:
        body["expires_at"] = expires_at
    placed = await send_write(
        request,
        core,
        core.post(account_path(account_id) + "/holds", body, idempotency_key=key),
        action="account.hold_place",
        target=f"account:{account_id}",
        key=key,
    )
    if isinstance(placed, Refusal):
        return await _hold_form(request, core, account_id, values=values, **placed.as_form())
    return redirect(f"{page_url(account_id)}?done=hold_placed")


@post(
    "/accounts/{account_id:str}/holds/{hold_id:str}/release",
    opt=WRITE,
    name="account_hold_release",
)
async def hold_release(
    request: Request[Any, Any, Any], account_id: str, hold_id: str
) -> Response[Any]:
    """Release one hold; its amount is available again."""
    form = await request.form()
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _detail_page(
            request, core, account_id, hold_error=FORM_EXPIRED, status_code=400
        )
    released = await send_write(
        request,
        core,
        core.delete(
            account_path(account_id) + f"/holds/{quote(hold_id, safe='')}", idempotency_key=key
        ),
        action="account.hold_release",
        target=f"account:{account_id}:hold:{hold_id[:40]}",
        key=key,
    )
    if isinstance(released, Refusal):
        message = (
            "That hold is no longer on this account."
            if released.code == "RESOURCE_NOT_FOUND"
            else released.error
        )
        return await _detail_page(
            request, core, account_id, hold_error=message, status_code=released.status_code
        )
    return redirect(f"{page_url(account_id)}?done=hold_released")


accounts_router = Router(
    path="/",
    route_handlers=[
        account_list,
        account_new,
        account_open,
        account_detail,
        account_statement,
        account_statement_csv,
        *confirmed_routes(_status_action("freeze")),
        *confirmed_routes(_status_action("unfreeze")),
        *confirmed_routes(_status_action("close")),
        hold_new,
        hold_place,
        hold_release,
    ],
)

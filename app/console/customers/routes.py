"""Customers: search as you type, a customer's page with their accounts, and create.

Every page works without JavaScript; htmx asks the same URLs for their ``results`` (or
``rows``, for "Load more") fragment. Lists follow the core's cursor, never an offset.
"""

from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, Router, get, post

from app.client import Customer
from app.console.banking import CoreSession
from app.console.htmx import render, wants_fragment
from app.console.writes import (
    FormErrors,
    Refusal,
    WriteBody,
    form_expired,
    key_from_form,
    mint_key,
    redirect,
    send_write,
    text,
)

VIEW = {"permission": "customers.view"}
CREATE = {"permission": "customers.create"}
PAGE_SIZE = 25
CUSTOMER_TYPES = (("INDIVIDUAL", "Individual"), ("CORPORATE", "Corporate"))
FORM_FIELDS = (
    "customer_type",
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    "date_of_birth",
    "address",
)


def customer_path(customer_id: str) -> str:
    """The core path of one customer (the ID is quoted: it came from a URL)."""
    return f"/customers/{quote(customer_id, safe='')}"


@get("/customers", opt=VIEW, name="customers")
async def customer_search(request: Request[Any, Any, Any]) -> Response[Any]:
    """Search by name, phone, email or customer number; newest first."""
    q = request.query_params.get("q", "").strip()[:100]
    cursor = request.query_params.get("cursor") or None
    core = CoreSession(request)
    params = {"q": q or None, "cursor": cursor, "limit": PAGE_SIZE}
    page = await core.get_page("/customers", Customer, params=params)
    next_url = None
    if page.has_more and page.next_cursor:
        next_url = "/customers?" + urlencode(
            {k: v for k, v in {"q": q, "cursor": page.next_cursor}.items() if v}
        )
    return render(
        request,
        "customers/index.html",
        {
            "page_title": "Customers",
            "tenant": await core.tenant(),
            "q": q,
            "cursor": cursor,
            "customers": page.items,
            "next_url": next_url,
        },
        # "Load more" asks for rows to append; the search box for the whole result table.
        block="rows" if cursor and wants_fragment(request) else "results",
    )


@get("/customers/{customer_id:str}", opt=VIEW, name="customer")
async def customer_detail(request: Request[Any, Any, Any], customer_id: str) -> Response[Any]:
    """One customer with their accounts."""
    core = CoreSession(request)
    customer = await core.get(customer_path(customer_id), model=Customer)
    return render(
        request,
        "customers/detail.html",
        {
            "page_title": f"Customer {customer.display_name}",
            "tenant": await core.tenant(),
            "customer": customer,
            "accounts": customer.accounts,
            "created": request.query_params.get("created") == "1",
        },
        block=None,
    )


async def _form_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    values: dict[str, str],
    key: str,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return render(
        request,
        "customers/new.html",
        {
            "page_title": "New customer",
            "tenant": await core.tenant(),
            "values": values,
            "errors": FormErrors(errors or {}),
            "error": error,
            "key": key,
            "customer_types": CUSTOMER_TYPES,
        },
        block=None,
        status_code=status_code,
    )


@get("/customers/new", opt=CREATE, name="customer_new")
async def customer_new(request: Request[Any, Any, Any]) -> Response[Any]:
    """The create-customer form, with its idempotency key minted now."""
    values = {name: "" for name in FORM_FIELDS}
    values["customer_type"] = "INDIVIDUAL"
    return await _form_page(request, CoreSession(request), values=values, key=mint_key())


def customer_body(values: dict[str, str]) -> WriteBody:
    """The core's ``POST /customers`` body; empty optional fields are left out."""
    body: WriteBody = {"customer_type": values["customer_type"]}
    names: tuple[str, ...]
    if values["customer_type"] == "CORPORATE":
        names = ("company_name",)
    else:
        names = ("first_name", "last_name")
    for name in (*names, "email", "phone", "date_of_birth", "address"):
        if values.get(name):
            body[name] = values[name]
    return body


@post("/customers", opt=CREATE, name="customer_create")
async def customer_create(request: Request[Any, Any, Any]) -> Response[Any]:
    """Create the customer, then show their page (POST → redirect → GET)."""
    form = await request.form()
    values = {name: text(form, name, 500) for name in FORM_FIELDS}
    if values["customer_type"] not in {"INDIVIDUAL", "CORPORATE"}:
        values["customer_type"] = values["customer_type"].upper()
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _form_page(request, core, values=values, **form_expired().as_form())
    created = await send_write(
        request,
        core,
        core.post("/customers", customer_body(values), idempotency_key=key, model=Customer),
        action="customer.create",
        target=None,
        key=key,
        done_target=lambda created: f"customer:{created.id}",
    )
    if isinstance(created, Refusal):
        return await _form_page(request, core, values=values, **created.as_form())
    return redirect(f"/customers/{quote(created.id, safe='')}?created=1")


customers_router = Router(
    path="/",
    route_handlers=[customer_search, customer_new, customer_detail, customer_create],
)

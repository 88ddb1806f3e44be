"""Helpers for the customer and account suites (no tests here): act like a staff member in
the console, and set up money movements through the real core over HTTP."""

import re
import uuid
from typing import Any

import httpx
from console_helpers import LiveCore, action_log_rows, csrf_from, sign_in

from app.console.models import ConsoleActionLog

KEY_FIELD = re.compile(r'name="idempotency_key" value="([^"]+)"')
ACCOUNT_LINK = re.compile(r'href="/accounts/([0-9a-f-]{36})"')
CUSTOMER_LINK = re.compile(r'href="/customers/([0-9a-f-]{36})"')


def key_from(html: str) -> str:
    """The idempotency key a write form was rendered with."""
    match = KEY_FIELD.search(html)
    assert match, "no idempotency key on the form"
    return match.group(1)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def signed_in(client: httpx.AsyncClient, email: str = "officer@demo.bank") -> None:
    response = await sign_in(client, email)
    assert response.status_code == 303, response.text[:300]


async def submit(
    client: httpx.AsyncClient, form_path: str, action: str, fields: dict[str, Any]
) -> httpx.Response:
    """Open the form at ``form_path`` and send it to ``action`` with ``fields`` filled in."""
    page = await client.get(form_path)
    assert page.status_code == 200, page.text[:500]
    data = {"_csrf_token": csrf_from(page.text), "idempotency_key": key_from(page.text)}
    data.update(fields)
    return await client.post(action, data=data)


async def create_customer(
    client: httpx.AsyncClient,
    first_name: str | None = None,
    last_name: str = "Tester",
    **fields: str,
) -> str:
    """Create an individual customer through the console; returns their ID."""
    response = await submit(
        client,
        "/customers/new",
        "/customers",
        {
            "customer_type": "INDIVIDUAL",
            "first_name": first_name or unique("Ngozi"),
            "last_name": last_name,
            "phone": "+234 803 555 0101",
            **fields,
        },
    )
    assert response.status_code == 303, response.text[:800]
    match = re.match(r"^/customers/([0-9a-f-]{36})\?created=1$", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def open_account(
    client: httpx.AsyncClient,
    customer_id: str,
    *,
    product: str = "SAV001",
    currency: str = "NGN",
    branch: str = "001",
    deposit: str = "",
    alias: str = "",
) -> str:
    """Open an account through the console's form; returns its ID."""
    customer = (await client.get(f"/customers/{customer_id}")).text
    number = re.search(r'class="mono">(CUS\d+)<', customer)
    assert number, "no customer number on the customer's page"
    response = await submit(
        client,
        f"/accounts/new?customer_id={customer_id}",
        "/accounts",
        {
            "customer": number.group(1),
            "product_code": product,
            "currency": currency,
            "branch_code": branch,
            "alias": alias,
            "initial_deposit": deposit,
        },
    )
    assert response.status_code == 303, response.text[:1500]
    match = re.match(r"^/accounts/([0-9a-f-]{36})\?done=opened$", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


class CoreAPI(LiveCore):
    """The real core over HTTP, as a sandbox teller or manager (for setting up money)."""

    async def cash(self, kind: str, account_id: str, amount: str, narration: str) -> None:
        """A teller deposit or withdrawal (``kind`` is ``deposits`` or ``withdrawals``)."""
        await self.call(
            "POST",
            f"/{kind}",
            as_user="teller@demo.bank",
            json={
                "account_id": account_id,
                "amount": amount,
                "currency": "NGN",
                "narration": narration,
            },
            expect=201,
        )

    async def get(self, path: str, email: str = "manager@demo.bank", **params: Any) -> Any:
        return await self.call("GET", path, as_user=email, params=params, expect=200)


async def action_log(settings: Any, idempotency_key: str) -> list[ConsoleActionLog]:
    """The console action-log rows written for a write sent with ``idempotency_key``."""
    return await action_log_rows(settings, idempotency_key=idempotency_key)

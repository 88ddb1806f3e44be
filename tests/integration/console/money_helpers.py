"""Helpers for the money-page suites (teller, transfers, approvals): the real core over
HTTP to set accounts up and check balances, and the console's forms driven like a browser."""

import re
import uuid
from typing import Any

import httpx
from console_helpers import LiveCore, csrf_from

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
FIELD_ERROR = re.compile(r'class="field__error"[^>]*>([^<]+)<')


class Core(LiveCore):
    """The live core's API, as sandbox staff, with the accounts and money a test needs."""

    async def open_account(
        self,
        *,
        branch: str = "001",
        product: str = "CUR001",
        opening: str | None = "1000.00",
        first_name: str = "Test",
    ) -> dict[str, Any]:
        """A new customer with one NGN account (opened by a manager, so any branch)."""
        last = f"Holder{uuid.uuid4().hex[:8]}"
        customer = await self.call(
            "POST",
            "/customers",
            json={
                "customer_type": "INDIVIDUAL",
                "first_name": first_name,
                "last_name": last,
                "phone": f"+23480{uuid.uuid4().int % 10**8:08d}",
            },
            expect=201,
        )
        body: dict[str, Any] = {
            "customer_id": customer["id"],
            "account_type": "SAVINGS" if product == "SAV001" else "CURRENT",
            "currency": "NGN",
            "product_code": product,
            "branch_code": branch,
        }
        if opening:
            body["initial_deposit"] = opening
        account = await self.call("POST", "/accounts", json=body, expect=201)
        account["customer_name"] = f"{first_name} {last}"
        account["last_name"] = last
        return account

    async def account(self, account_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", f"/accounts/{account_id}", expect=200)
        return result

    async def transactions(self, **params: Any) -> list[dict[str, Any]]:
        body = await self.call("GET", "/transactions", params={"limit": 200, **params}, expect=200)
        result: list[dict[str, Any]] = body["transactions"]
        return result

    async def deposit(self, account_id: str, amount: str, as_user: str = "teller@demo.bank") -> Any:
        return await self.call(
            "POST",
            "/deposits",
            as_user=as_user,
            json={"account_id": account_id, "amount": amount, "currency": "NGN"},
            expect=201,
        )


async def open_form(browser: httpx.AsyncClient, path: str) -> tuple[str, str]:
    """GET a money form: its CSRF token and the idempotency key minted with it."""
    page = await browser.get(path)
    assert page.status_code == 200, page.text[:500]
    match = KEY.search(page.text)
    assert match, "no idempotency key on the form"
    return csrf_from(page.text), match.group(1)


async def press_continue(
    browser: httpx.AsyncClient, path: str, **fields: str
) -> tuple[str, httpx.Response]:
    """Fill the form at ``path`` and press "Continue": (the draft's key, the next page)."""
    csrf, key = await open_form(browser, path)
    answer = await browser.post(path, data={"_csrf_token": csrf, "idempotency_key": key, **fields})
    assert answer.status_code == 303, answer.text[:500]
    location = answer.headers["location"]
    page = await browser.get(location)
    return location.split("draft=", 1)[1], page


async def press_submit(
    browser: httpx.AsyncClient, path: str, key: str, csrf: str
) -> httpx.Response:
    """Press the confirm step's button ("Deposit", "Withdraw", "Transfer")."""
    return await browser.post(f"{path}/submit", data={"_csrf_token": csrf, "idempotency_key": key})


def field_errors(html: str) -> list[str]:
    return [m.replace("&#39;", "'").replace("&#34;", '"') for m in FIELD_ERROR.findall(html)]

"""Helpers for the console suites: sign in like a browser (cookie jar + scraped CSRF token),
the live core over HTTP as sandbox staff, and the console action log as written."""

import re
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from app.console.models import ConsoleActionLog
from app.db import Database
from tests.support import SANDBOX_PASSWORD, TENANT

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
NAV_LINK = re.compile(r'class="sidenav__link"[^>]*>([^<]+)</a>')
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
REFRESH_TOKEN = re.compile(r"\brt_[\w-]{20,}")

ROLE_EMAILS = {
    "viewer": "viewer@demo.bank",
    "teller": "teller@demo.bank",
    "officer": "officer@demo.bank",
    "manager": "manager@demo.bank",
    "admin": "admin@demo.bank",
}
ROLE_NAMES = ("anonymous", "viewer", "teller", "officer", "manager", "admin")


def csrf_from(html: str) -> str:
    """The CSRF token a page carries (hidden field)."""
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def nav_labels(html: str) -> list[str]:
    return [label.strip() for label in NAV_LINK.findall(html)]


async def csrf_token(client: httpx.AsyncClient) -> str:
    """A CSRF token for ``client``'s cookie jar, from the sign-in form."""
    response = await client.get("/login")
    if response.status_code == 303:
        response = await client.get("/")
        match = re.search(
            r"X-CSRFToken&#34;: &#34;([0-9a-f]+)|X-CSRFToken\": \"([0-9a-f]+)", response.text
        )
        assert match, "no CSRF token in hx-headers"
        return match.group(1) or match.group(2)
    return csrf_from(response.text)


async def sign_in(
    client: httpx.AsyncClient,
    email: str,
    password: str = SANDBOX_PASSWORD,
    tenant: str = TENANT,
    next_path: str | None = None,
) -> httpx.Response:
    """Fill and send the sign-in form; returns the POST's answer (a 303 on success)."""
    form = await client.get("/login")
    if form.status_code == 200:
        token = csrf_from(form.text)
    else:
        token = await csrf_token(client)
    data: dict[str, Any] = {
        "email": email,
        "password": password,
        "tenant": tenant,
        "_csrf_token": token,
    }
    if next_path is not None:
        data["next"] = next_path
    return await client.post("/login", data=data)


def session_cookie(response: httpx.Response, name: str = "bd_session") -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return None


def assert_no_tokens(text: str, where: str) -> None:
    assert not JWT.search(text), f"a JWT-looking string in {where}"
    assert not REFRESH_TOKEN.search(text), f"a refresh token in {where}"


def assert_response_has_no_tokens(response: httpx.Response) -> None:
    assert_no_tokens(response.text, f"the body of {response.request.url}")
    for name, value in response.headers.multi_items():
        assert_no_tokens(value, f"header {name} of {response.request.url}")


def asgi_client(app: Any, base_url: str = "http://127.0.0.1") -> httpx.AsyncClient:
    """A cookie-keeping client for an in-process console app."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 45000))
    return httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30)


class LiveCore:
    """The live core's API, as sandbox staff (``default_user`` unless told; tokens cached
    per user)."""

    default_user = "manager@demo.bank"

    def __init__(self, api_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=api_url, timeout=30)
        self._tokens: dict[str, str] = {}

    async def close(self) -> None:
        await self.http.aclose()

    aclose = close

    async def token(self, email: str) -> str:
        if email not in self._tokens:
            answer = await self.http.post(
                "/auth/login",
                json={"email": email, "password": SANDBOX_PASSWORD},
                headers={"X-Tenant-ID": TENANT},
            )
            assert answer.status_code == 200, answer.text
            self._tokens[email] = answer.json()["access_token"]
        return self._tokens[email]

    async def headers(self, email: str | None = None) -> dict[str, str]:
        """The headers of a read as ``email`` (the default user when not told)."""
        token = await self.token(email or self.default_user)
        return {"Authorization": f"Bearer {token}", "X-Tenant-ID": TENANT}

    async def call(
        self,
        method: str,
        path: str,
        *,
        as_user: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        expect: int | None = None,
    ) -> Any:
        headers = await self.headers(as_user)
        if method != "GET":
            headers["Idempotency-Key"] = f"test-{uuid.uuid4().hex}"
        answer = await self.http.request(method, path, json=json, params=params, headers=headers)
        if expect is not None:
            assert answer.status_code == expect, answer.text
        return answer.json() if answer.content else None

    async def gl_accounts(self) -> dict[str, dict[str, Any]]:
        """The tenant's chart of accounts, every node by code."""
        body = await self.call("GET", "/gl/accounts", expect=200)
        found: dict[str, dict[str, Any]] = {}
        stack = list(body["gl_accounts"])
        while stack:
            node = stack.pop()
            found[node["code"]] = node
            stack.extend(node.get("children") or [])
        return found

    async def gl_ids(self) -> dict[str, str]:
        """The tenant's GL account IDs by code."""
        return {code: str(node["id"]) for code, node in (await self.gl_accounts()).items()}

    async def business_date(self) -> str:
        return str((await self.call("GET", "/tenant", expect=200))["business_date"])

    async def draft_journal(
        self,
        *,
        amount: str = "250.00",
        debit: str = "5200",
        credit: str = "2200",
        maker: str = "teller@demo.bank",
        description: str | None = None,
        effective_date: str | None = None,
    ) -> dict[str, Any]:
        """A PENDING manual journal made through the core: Dr ``debit`` / Cr ``credit`` (GL
        codes), dated ``effective_date`` (the business date when not told)."""
        ids = await self.gl_ids()
        day = effective_date or await self.business_date()
        body = {
            "journal_type": "GENERAL",
            "description": description or f"Test journal {uuid.uuid4().hex[:8]}",
            "transaction_date": day,
            "effective_date": day,
            "entries": [
                {
                    "account_id": ids[code],
                    "amount": amount,
                    "entry_type": side,
                    "currency_code": "NGN",
                }
                for code, side in ((debit, "debit"), (credit, "credit"))
            ],
        }
        result: dict[str, Any] = await self.call(
            "POST", "/journals", as_user=maker, json=body, expect=201
        )
        return result


async def action_log_rows(settings: Any, **where: Any) -> list[ConsoleActionLog]:
    """The console action-log rows whose columns equal ``where`` (``idempotency_key=…``)."""
    database = Database(settings.database)
    try:
        async with database.session() as session:
            result = await session.execute(
                sa.select(ConsoleActionLog).where(
                    *(getattr(ConsoleActionLog, name) == value for name, value in where.items())
                )
            )
            return list(result.scalars())
    finally:
        await database.dispose()

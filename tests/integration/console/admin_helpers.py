"""Helpers for the Admin suites (no tests here): staff users made for the test through the
console's own forms, a second browser for them, and the core read over HTTP as the
sandbox admin (never changed: tests create their own users)."""

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from console_helpers import LiveCore, action_log_rows, csrf_from, sign_in
from test_console_accounts_support import key_from

from app.console.models import ConsoleActionLog

PASSWORD = "Staff-Password-2026"
STAFF_LINK = re.compile(r"^/admin/staff/([0-9a-f-]{36})\?done=created$")
INJECTION = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>' OR 1=1; --"


def unique_email(tag: str = "staff") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@demo.bank"


async def admin_signed_in(client: httpx.AsyncClient) -> None:
    response = await sign_in(client, "admin@demo.bank")
    assert response.status_code == 303, response.text[:300]


async def form_fields(client: httpx.AsyncClient, path: str) -> dict[str, str]:
    """The CSRF token and idempotency key of the form at ``path``."""
    page = await client.get(path)
    assert page.status_code == 200, page.text[:500]
    return {"_csrf_token": csrf_from(page.text), "idempotency_key": key_from(page.text)}


async def create_staff(
    client: httpx.AsyncClient,
    *,
    role: str = "teller",
    branch: str = "001",
    name: str | None = None,
    email: str | None = None,
    password: str = PASSWORD,
) -> tuple[str, str]:
    """Create a staff user through the console's form; returns their ID and email."""
    email = email or unique_email(role)
    data = await form_fields(client, "/admin/staff/new")
    data.update(
        {
            "name": name or f"Test {role.title()} {uuid.uuid4().hex[:6]}",
            "email": email,
            "password": password,
            "role": role,
            "branch_id": branch,
        }
    )
    response = await client.post("/admin/staff", data=data)
    assert response.status_code == 303, response.text[:1500]
    match = STAFF_LINK.match(response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1), email


@asynccontextmanager
async def second_browser(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser (its own cookie jar), for the staff user the test made."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield client


class CoreAsAdmin(LiveCore):
    """The real core over HTTP as the sandbox admin, to check what the console did."""

    default_user = "admin@demo.bank"

    @property
    def client(self) -> httpx.AsyncClient:
        return self.http

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params=params, expect=200)

    async def users_matching(self, q: str) -> list[dict[str, Any]]:
        body = await self.get("/users", q=q, limit=200)
        return list(body["users"])

    async def put_settings(self, **settings: Any) -> None:
        await self.call("PUT", "/tenant/settings", json=settings, expect=200)


async def action_log_for(settings: Any, action: str, target: str) -> list[ConsoleActionLog]:
    """The console action-log rows of ``action`` on ``target``."""
    return await action_log_rows(settings, action=action, target=target)

"""Helpers for the browser suite: signing in and out, pictures on request, and the live core
over HTTP for setting things up and checking what happened."""

import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.support import SANDBOX_PASSWORD, TENANT

# Set BRANCHDESK_SCREENSHOTS=<folder> to keep pictures of the flows' pages.
SHOTS = os.environ.get("BRANCHDESK_SCREENSHOTS")


def sign_in(
    page: Page, email: str, password: str = SANDBOX_PASSWORD, tenant: str | None = None
) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    if tenant is not None:
        page.get_by_label("Tenant").fill(tenant)
    page.get_by_role("button", name="Sign in").click()


def expect_home(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()


def htmx_idle(page: Page) -> None:
    """Wait until htmx has no request in flight and nothing left to swap or settle.

    A DOM swap is visible (and countable) a moment before htmx has wired up the new
    elements; typing into one in that moment sends nothing. People don't type that fast.
    """
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def shot(page: Page, name: str) -> None:
    """A full-page picture under ``BRANCHDESK_SCREENSHOTS``, when it is set."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


class Roles:
    """Just the roles of a staff member, for :func:`app.console.permissions.nav_for`."""

    def __init__(self, role: str) -> None:
        self.roles = [role]


class CoreAPI:
    """The live core over HTTP, as sandbox staff (``default_user`` unless told)."""

    default_user = "manager@demo.bank"

    def __init__(self, api_url: str) -> None:
        self.http = httpx.Client(base_url=api_url, timeout=30)
        self.tokens: dict[str, str] = {}

    def call(self, method: str, path: str, as_user: str | None = None, **kw: Any) -> Any:
        user = as_user or self.default_user
        if user not in self.tokens:
            login = self.http.post(
                "/auth/login",
                json={"email": user, "password": SANDBOX_PASSWORD},
                headers={"X-Tenant-ID": TENANT},
            )
            assert login.status_code == 200, login.text
            self.tokens[user] = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {self.tokens[user]}", "X-Tenant-ID": TENANT}
        if method != "GET":
            headers["Idempotency-Key"] = f"browser-{uuid.uuid4().hex}"
        answer = self.http.request(method, path, headers=headers, **kw)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def open_account(self, opening: str, *, surname: str = "Browser") -> dict[str, Any]:
        """A new customer's current account at branch 001 holding ``opening`` (NGN);
        ``holder`` is the name a teller searches for."""
        last = f"{surname}{uuid.uuid4().hex[:6]}"
        customer = self.call(
            "POST",
            "/customers",
            json={
                "customer_type": "INDIVIDUAL",
                "first_name": "Amaka",
                "last_name": last,
                "phone": f"+23481{uuid.uuid4().int % 10**8:08d}",
            },
        )
        account: dict[str, Any] = self.call(
            "POST",
            "/accounts",
            json={
                "customer_id": customer["id"],
                "account_type": "CURRENT",
                "currency": "NGN",
                "product_code": "CUR001",
                "branch_code": "001",
                "initial_deposit": opening,
            },
        )
        account["holder"] = f"Amaka {last}"
        return account

    def gl_id(self, code: str) -> str:
        """The ID of the GL account with ``code``."""
        stack = list(self.call("GET", "/gl/accounts")["gl_accounts"])
        while stack:
            node = stack.pop()
            if node["code"] == code:
                return str(node["id"])
            stack.extend(node.get("children") or [])
        raise AssertionError(f"no GL account {code}")

    def business_date(self) -> str:
        return str(self.call("GET", "/tenant")["business_date"])

    def journal(self, journal_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/journals/{journal_id}")
        return result

    def draft_journal(
        self,
        amount: str,
        *,
        debit: str = "5200",
        credit: str = "2200",
        maker: str = "teller@demo.bank",
        description: str | None = None,
        effective_date: str | None = None,
        journal_type: str = "ACCRUAL",
    ) -> dict[str, Any]:
        """A manual journal (``PENDING``): ``amount`` from GL ``debit`` to GL ``credit``."""
        day = effective_date or self.business_date()
        body = {
            "journal_type": journal_type,
            "description": description or f"Accrued rent {uuid.uuid4().hex[:6]}",
            "transaction_date": day,
            "effective_date": day,
            "entries": [
                {
                    "account_id": self.gl_id(code),
                    "amount": amount,
                    "entry_type": side,
                    "currency_code": "NGN",
                }
                for code, side in ((debit, "debit"), (credit, "credit"))
            ],
        }
        result: dict[str, Any] = self.call("POST", "/journals", as_user=maker, json=body)
        return result

    def close(self) -> None:
        self.http.close()

"""Helpers for the browser suite."""

import re

from playwright.sync_api import Page, expect

from tests.support import SANDBOX_PASSWORD


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

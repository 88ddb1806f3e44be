"""The console in a real browser: sign in per role, navigation, sign out, tokens, CSP."""

import json
import re

import pytest
from browser_helpers import Roles, expect_home, sign_in
from playwright.sync_api import Page, expect

from app.console.permissions import nav_for

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
REFRESH_TOKEN = re.compile(r"\brt_[\w-]{20,}")

USERS = [
    ("viewer@demo.bank", "demo_bank", "viewer", "Vera Viewer"),
    ("teller@demo.bank", "demo_bank", "teller", "Tunde Teller"),
    ("officer@demo.bank", "demo_bank", "officer", "Ola Officer"),
    ("manager@demo.bank", "demo_bank", "manager", "Musa Manager"),
    ("admin@demo.bank", "demo_bank", "admin", "Ada Admin"),
    ("admin@fmfb.bank", "fmfb", "admin", "Funke Admin"),
]


@pytest.mark.parametrize(("email", "tenant", "role", "name"), USERS)
def test_each_role_sees_exactly_its_navigation(
    page: Page, console_messages: list[str], email: str, tenant: str, role: str, name: str
) -> None:
    sign_in(page, email, tenant=tenant)
    expect_home(page)
    expected = [item.label for item in nav_for(Roles(role))]
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(expected)
    assert expected[:3] == ["Home", "Customers", "Accounts"]  # open to every role
    header = page.locator("header.topbar")
    expect(header).to_contain_text(name)
    expect(header).to_contain_text(role.title())
    expect(header).to_contain_text("Business date")
    expect(page).to_have_title("Home · Branchdesk")
    assert console_messages == []


def test_sign_out(page: Page) -> None:
    sign_in(page, "officer@demo.bank")
    expect_home(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login\?signed_out=1$"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_wrong_password_shows_the_message(page: Page) -> None:
    sign_in(page, "teller2@demo.bank", password="definitely-wrong")
    expect(page.get_by_role("alert")).to_contain_text("That email and password don't match")
    expect(page.get_by_label("Email")).to_have_value("teller2@demo.bank")
    expect(page.get_by_label("Password")).to_have_value("")


def test_no_token_anywhere_the_browser_can_see(page: Page) -> None:
    sign_in(page, "manager@demo.bank")
    expect_home(page)
    # A boosted (htmx) navigation too, so htmx has had every chance to store something.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    expect_home(page)
    page.reload()
    seen = [page.content()]
    seen += [f"{c['name']}={c['value']}" for c in page.context.cookies()]
    seen.append(page.evaluate("document.cookie"))
    seen.append(json.dumps(page.evaluate("Object.entries(window.localStorage)")))
    seen.append(json.dumps(page.evaluate("Object.entries(window.sessionStorage)")))
    for text in seen:
        assert not JWT.search(text), text[:200]
        assert not REFRESH_TOKEN.search(text), text[:200]
    # The session cookie is HttpOnly: scripts cannot read it.
    assert "bd_session" not in page.evaluate("document.cookie")
    session = next(c for c in page.context.cookies() if c["name"] == "bd_session")
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"


def test_csp_header_and_no_blocked_inline_code(page: Page, console_messages: list[str]) -> None:
    response = page.goto("/login")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    sign_in(page, "admin@demo.bank")
    expect_home(page)
    # htmx loaded from static/ and is active (the body has its CSRF header).
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("htmx.version").startswith("2.")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    expect_home(page)
    assert not [m for m in console_messages if "Content Security Policy" in m or "Refused" in m]
    assert console_messages == []


def test_keyboard_skip_link_reaches_main(page: Page) -> None:
    sign_in(page, "viewer@demo.bank")
    expect_home(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()

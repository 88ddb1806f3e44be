"""Admin in a real browser: create a staff user, change their role, and they sign in to
the navigation of their new role."""

import re
import uuid

from browser_helpers import Roles, expect_home, sign_in
from playwright.sync_api import Browser, Page, expect

from app.console.permissions import nav_for

PASSWORD = "Browser-Staff-2026"


def test_admin_creates_a_user_changes_their_role_and_they_see_its_navigation(
    page: Page, browser: Browser, base_url: str, console_messages: list[str]
) -> None:
    email = f"browser-{uuid.uuid4().hex[:10]}@demo.bank"
    sign_in(page, "admin@demo.bank")
    expect_home(page)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="New staff user").click()

    # A refused form keeps what was typed and says what to fix, by the field.
    page.get_by_label("Name", exact=True).fill("Bola Browser")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Role", exact=True).select_option("teller")
    page.get_by_label("Branch", exact=True).select_option("001")
    page.get_by_role("button", name="Create staff user").click()
    expect(page.get_by_text("Use at least 12 characters.")).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_have_value(email)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create staff user").click()
    expect(page).to_have_url(re.compile(r"/admin/staff/[0-9a-f-]{36}\?done=created$"))
    expect(page.get_by_text("Staff user created.")).to_be_visible()
    expect(page.get_by_role("heading", name="Bola Browser", level=1)).to_be_visible()

    page.get_by_label("Role", exact=True).select_option("officer")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved. Their open sessions were ended")).to_be_visible()
    about = page.get_by_role("region", name="About Bola Browser")
    expect(about.locator(".badge--officer")).to_have_text("Officer")

    # The new user, in a browser of their own, signs in to the officer's navigation.
    context = browser.new_context(base_url=base_url)
    try:
        theirs = context.new_page()
        sign_in(theirs, email, password=PASSWORD)
        expect_home(theirs)
        officer = [item.label for item in nav_for(Roles("officer"))]
        expect(theirs.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
            officer
        )
        assert "Transfers" in officer and "Admin" not in officer
        expect(theirs.locator("header.topbar")).to_contain_text("Bola Browser")
        expect(theirs.locator("header.topbar")).to_contain_text("Officer")
    finally:
        context.close()
    # The refused form's 400 is the only thing the console reported (htmx logs it).
    assert all("400" in message for message in console_messages), console_messages

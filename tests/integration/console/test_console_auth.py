"""Sign-in, sign-out, the session cookie and the console action log (real core over HTTP)."""

import sqlalchemy as sa
from console_helpers import (
    assert_response_has_no_tokens,
    csrf_from,
    csrf_token,
    session_cookie,
    sign_in,
)

from app.console.models import ConsoleActionLog
from app.db import Database


async def action_rows(settings, request_id: str) -> list[ConsoleActionLog]:  # type: ignore[no-untyped-def]
    database = Database(settings.database)
    try:
        async with database.session() as session:
            result = await session.execute(
                sa.select(ConsoleActionLog).where(ConsoleActionLog.request_id == request_id)  # type: ignore[arg-type]
            )
            return list(result.scalars())
    finally:
        await database.dispose()


async def test_sign_in_form_has_labelled_fields_and_default_tenant(browser, settings):
    response = await browser.get("/login")
    assert response.status_code == 200
    html = response.text
    for name, label in (("email", "Email"), ("password", "Password"), ("tenant", "Tenant")):
        assert f'<label class="field__label" for="field-{name}">{label}</label>' in html
        assert f'name="{name}"' in html
    assert f'value="{settings.console.banking_tenant_id}"' in html
    assert "<title>Sign in · Branchdesk</title>" in html
    csrf_from(html)
    # An anonymous visit stores no session and sets no session cookie.
    assert session_cookie(response) is None


async def test_sign_in_success_then_sign_out_revokes_everything(browser, settings):
    response = await sign_in(browser, "teller@demo.bank")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers.get_list("set-cookie")
    session = [c for c in cookie if c.startswith("bd_session=")]
    assert session, cookie
    flags = session[0].lower()
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags  # plain-HTTP localhost
    sign_in_request_id = response.headers["x-request-id"]

    home = await browser.get("/")
    assert home.status_code == 200
    assert "Tunde Teller" in home.text
    assert_response_has_no_tokens(home)

    token = await csrf_token(browser)
    out = await browser.post("/logout", data={"_csrf_token": token})
    assert out.status_code == 303
    assert out.headers["location"] == "/login?signed_out=1"
    sign_out_request_id = out.headers["x-request-id"]
    notice = await browser.get(out.headers["location"])
    assert "You have signed out." in notice.text

    # The session is gone: the home page sends the browser to sign in.
    again = await browser.get("/")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/login")

    (row,) = await action_rows(settings, sign_in_request_id)
    assert (row.action, row.outcome, row.user_email, row.role, row.tenant) == (
        "auth.sign_in",
        "success",
        "teller@demo.bank",
        "teller",
        "demo_bank",
    )
    assert row.ip == "127.0.0.1"
    assert row.user_agent and "python-httpx" in row.user_agent
    assert row.user_id
    (row,) = await action_rows(settings, sign_out_request_id)
    assert (row.action, row.outcome, row.user_email) == (
        "auth.sign_out",
        "success",
        "teller@demo.bank",
    )


async def test_wrong_password_is_said_plainly_and_logged(browser, settings):
    response = await sign_in(browser, "teller2@demo.bank", password="not-the-password")
    assert response.status_code == 401
    assert "That email and password don&#39;t match" in response.text
    assert 'value="teller2@demo.bank"' in response.text  # the email is kept
    assert "not-the-password" not in response.text  # the password is not
    assert session_cookie(response) is None
    (row,) = await action_rows(settings, response.headers["x-request-id"])
    assert (row.action, row.outcome, row.error_code, row.user_email) == (
        "auth.sign_in_failed",
        "failure",
        "INVALID_CREDENTIALS",
        "teller2@demo.bank",
    )


async def test_empty_form_and_unknown_tenant(browser):
    token = csrf_from((await browser.get("/login")).text)
    response = await browser.post("/login", data={"_csrf_token": token, "email": "", "tenant": ""})
    assert response.status_code == 400
    assert "Enter your email address, your password and the tenant code." in response.text

    response = await sign_in(browser, "viewer@demo.bank", tenant="no_such_bank")
    assert response.status_code == 400
    assert "We don&#39;t know that tenant." in response.text


async def test_fresh_session_id_at_each_sign_in(browser):
    # A session ID planted before sign-in (fixation) is never the one signed in.
    browser.cookies.set("bd_session", "a" * 64, domain="127.0.0.1")
    first = await sign_in(browser, "viewer@demo.bank")
    first_id = session_cookie(first)
    assert first_id and first_id != "a" * 64

    second = await sign_in(browser, "viewer@demo.bank")
    second_id = session_cookie(second)
    assert second.status_code == 303
    assert second_id and second_id != first_id

    # The replaced session no longer signs anyone in.
    browser.cookies.clear()
    browser.cookies.set("bd_session", first_id, domain="127.0.0.1")
    assert (await browser.get("/")).status_code == 303


async def test_sign_in_goes_back_to_next_but_never_off_site(browser):
    response = await browser.get("/?view=branches")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F%3Fview%3Dbranches"
    form = await browser.get(response.headers["location"])
    assert 'name="next" value="/?view=branches"' in form.text

    back = await sign_in(browser, "viewer@demo.bank", next_path="/?view=branches")
    assert back.headers["location"] == "/?view=branches"

    browser.cookies.clear()
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"):
        response = await sign_in(browser, "viewer@demo.bank", next_path=evil)
        assert response.headers["location"] == "/", evil
        browser.cookies.clear()


async def test_user_text_is_escaped_on_the_form(browser):
    nasty = '"><script>alert(1)</script>@x.example'
    response = await sign_in(browser, nasty)
    assert response.status_code in {400, 401}
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


async def test_signed_in_user_visiting_login_goes_home(browser):
    await sign_in(browser, "officer@demo.bank")
    response = await browser.get("/login")
    assert response.status_code == 303
    assert response.headers["location"] == "/"

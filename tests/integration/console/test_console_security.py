"""CSRF, security headers, request IDs, error pages, and tokens that never reach the browser."""

import re

import httpx
from console_helpers import (
    ROLE_EMAILS,
    assert_no_tokens,
    assert_response_has_no_tokens,
    csrf_token,
    sign_in,
)

from app.console.security import CONTENT_SECURITY_POLICY
from app.console.timing import server_timing_value
from tests.support import SANDBOX_PASSWORD, TENANT

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == EXPECTED_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"]
    assert response.headers["x-request-id"]


def test_policy_is_the_documented_one():
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP


async def test_post_without_csrf_token_is_refused_and_changes_nothing(browser):
    await sign_in(browser, "viewer@demo.bank")
    # A cross-site form: no token, another origin.
    refused = await browser.post("/logout", data={}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert "nothing was changed" in refused.text
    assert_security_headers(refused)
    # An htmx request without the header, and one with a forged token.
    assert (await browser.post("/logout", headers={"HX-Request": "true"})).status_code == 403
    forged = "0" * 128
    assert (await browser.post("/logout", headers={"X-CSRFToken": forged})).status_code == 403
    # The session is untouched.
    assert (await browser.get("/")).status_code == 200

    # With the token in the htmx header (as <body hx-headers> sends it) it works.
    token = await csrf_token(browser)
    done = await browser.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert done.status_code == 303
    assert (await browser.get("/")).status_code == 303


async def test_sign_in_without_csrf_token_is_refused(browser):
    response = await browser.post(
        "/login",
        data={"email": "viewer@demo.bank", "password": SANDBOX_PASSWORD, "tenant": TENANT},
    )
    assert response.status_code == 403
    assert "bd_session" not in response.headers.get("set-cookie", "")


async def test_body_carries_the_csrf_header_once(browser):
    await sign_in(browser, "viewer@demo.bank")
    html = (await browser.get("/")).text
    assert html.count("hx-headers=") == 1
    assert "<body" in html and 'hx-headers=\'{"X-CSRFToken": "' in html


async def test_security_headers_on_every_kind_of_answer(browser):
    for path in ("/login", "/", "/no-such-page", "/static/css/app.css"):
        response = await browser.get(path)
        assert_security_headers(response)
    await sign_in(browser, "viewer@demo.bank")
    for path in ("/", "/no-such-page"):
        response = await browser.get(path)
        assert_security_headers(response)
        assert response.headers["cache-control"] == "no-store"
    assert "HX-Request" in (await browser.get("/")).headers["vary"]


async def test_request_id_is_echoed_when_safe_and_replaced_when_not(browser):
    response = await browser.get("/login", headers={"X-Request-ID": "console-test-0001"})
    assert response.headers["x-request-id"] == "console-test-0001"
    response = await browser.get("/login", headers={"X-Request-ID": "bad id <script>"})
    assert response.headers["x-request-id"] != "bad id <script>"
    assert len(response.headers["x-request-id"]) == 32


async def test_no_inline_script_or_style_on_pages(browser):
    await sign_in(browser, "admin@demo.bank")
    for path in ("/", "/no-such-page"):
        html = (await browser.get(path)).text
        assert "<script>" not in html
        assert "<script src=" in html
        assert " style=" not in html
        assert "<style" not in html
        assert " onclick=" not in html


async def test_friendly_error_pages(browser):
    missing = await browser.get("/no-such-page")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert "Traceback" not in missing.text

    await sign_in(browser, "viewer@demo.bank")
    missing = await browser.get("/reports/nothing-here")
    assert missing.status_code == 404
    # Signed in, the error keeps the navigation and offers the way home.
    assert 'aria-label="Main"' in missing.text
    assert ">Go to Home</a>" in missing.text
    wrong_method = await browser.put("/", headers={"X-CSRFToken": await csrf_token(browser)})
    assert wrong_method.status_code == 405
    assert "Traceback" not in wrong_method.text


async def test_tokens_never_reach_the_browser(browser, live_server):
    # Learn what the core's tokens look like, so the patterns below are the real format.
    async with httpx.AsyncClient(base_url=live_server.api_url) as api:
        login = await api.post(
            "/auth/login",
            json={"email": "manager@demo.bank", "password": SANDBOX_PASSWORD},
            headers={"X-Tenant-ID": TENANT},
        )
    body = login.json()
    assert body["access_token"].startswith("eyJ")
    assert body["refresh_token"].startswith("rt_")

    for email in ROLE_EMAILS.values():
        browser.cookies.clear()
        answers = [await browser.get("/login")]
        answers.append(await sign_in(browser, email))
        answers.append(await browser.get("/"))
        answers.append(await browser.get("/", headers={"HX-Request": "true"}))
        answers.append(await browser.get("/no-such-page"))
        for answer in answers:
            assert_response_has_no_tokens(answer)
        for cookie in browser.cookies.jar:
            assert_no_tokens(cookie.value or "", f"cookie {cookie.name}")
            assert len(cookie.value or "") <= 160


SERVER_TIMING = re.compile(r"^app;dur=\d+\.\d$")


async def test_server_timing_on_pages_fragments_errors_and_static_files(browser):
    # The console says how long it spent on each answer (P4's benchmark reads it).
    for path in ("/login", "/no-such-page", "/static/css/app.css"):
        response = await browser.get(path)
        assert SERVER_TIMING.match(response.headers["server-timing"]), path
    await sign_in(browser, "manager@demo.bank")
    page = await browser.get("/")
    fragment = await browser.get("/approvals/badge", headers={"HX-Request": "true"})
    refused = await browser.post("/logout", data={}, headers={"Origin": "https://evil.example"})
    for response in (page, fragment, refused):
        assert response.status_code in {200, 403}
        assert SERVER_TIMING.match(response.headers["server-timing"]), response.url
        assert len(response.headers.get_list("server-timing")) == 1


def test_server_timing_value_is_milliseconds():
    assert server_timing_value(0.0123) == "app;dur=12.3"
    assert server_timing_value(0) == "app;dur=0.0"

"""Helpers for the console suites: sign in like a browser (cookie jar + scraped CSRF token)."""

import re
from typing import Any

import httpx

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

"""Session timeouts, single-flight token refresh, core sign-outs and outages.

These drive in-process console apps (``httpx.ASGITransport``) with adjusted settings, whose
banking client talks to the live core over HTTP, so the test can look inside the session
and token stores.
"""

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta

import httpx
from console_helpers import asgi_client, csrf_token, session_cookie, sign_in

from app.client import BankingClient, TokenSet
from app.console.auth.session import SessionTokenHolder
from app.console.state import console_state
from tests.live_server import free_port
from tests.support import TENANT


async def stored_tokens(app, session_id: str) -> TokenSet:  # type: ignore[no-untyped-def]
    tokens = await SessionTokenHolder(console_state(app), session_id).load()
    assert tokens is not None
    return tokens


async def core_me(live_server, token: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=live_server.api_url) as api:
        return await api.get(
            "/auth/me", headers={"Authorization": f"Bearer {token}", "X-Tenant-ID": TENANT}
        )


async def test_idle_timeout_sends_back_to_sign_in_then_back_here(console_app, live_server):
    app = console_app(session_idle_seconds=1)
    async with asgi_client(app) as client:
        signed = await sign_in(client, "viewer@demo.bank")
        session_id = session_cookie(signed)
        assert session_id
        tokens = await stored_tokens(app, session_id)
        assert (await client.get("/")).status_code == 200
        await asyncio.sleep(1.2)

        expired = await client.get("/?view=rules")
        assert expired.status_code == 303
        assert expired.headers["location"] == "/login?expired=1&next=%2F%3Fview%3Drules"
        notice = await client.get(expired.headers["location"])
        assert "Your session expired" in notice.text
        assert 'name="next" value="/?view=rules"' in notice.text
        # Expiry forgets the tokens and revokes the core session too.
        assert await SessionTokenHolder(console_state(app), session_id).load() is None
        assert (await core_me(live_server, tokens.access_token)).status_code == 401

        back = await sign_in(client, "viewer@demo.bank", next_path="/?view=rules")
        assert back.headers["location"] == "/?view=rules"
        assert (await client.get("/?view=rules")).status_code == 200


async def test_activity_keeps_an_idle_session_alive(console_app):
    app = console_app(session_idle_seconds=2)
    async with asgi_client(app) as client:
        await sign_in(client, "viewer@demo.bank")
        for _ in range(4):
            await asyncio.sleep(0.7)
            assert (await client.get("/")).status_code == 200


async def test_absolute_lifetime_ends_even_a_busy_session(console_app):
    lifetime = 4.0
    app = console_app(session_absolute_seconds=int(lifetime))
    async with asgi_client(app) as client:
        await sign_in(client, "viewer@demo.bank")
        # The session began during sign-in, so it ends no later than lifetime after now.
        signed_in = time.monotonic()
        # Busy all along, leaving a wide margin for a slow sign-in or page on a loaded box.
        while time.monotonic() - signed_in < 1.5:
            assert (await client.get("/")).status_code == 200
            await asyncio.sleep(0.3)
        await asyncio.sleep(max(0.0, signed_in + lifetime + 0.3 - time.monotonic()))
        response = await client.get("/")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?expired=1")


async def test_htmx_requests_are_redirected_with_hx_redirect(console_app):
    app = console_app(session_idle_seconds=1)
    async with asgi_client(app) as client:
        await sign_in(client, "viewer@demo.bank")
        await asyncio.sleep(1.2)
        response = await client.get("/", headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert response.headers["hx-redirect"] == "/login?expired=1"


async def test_refresh_near_expiry_is_single_flight(console_app, live_server):
    app = console_app()
    async with asgi_client(app) as client:
        session_id = session_cookie(await sign_in(client, "teller@demo.bank"))
        assert session_id
        holder = SessionTokenHolder(console_state(app), session_id)
        old = await stored_tokens(app, session_id)
        # Make the access token look 1 minute from expiry: inside the 5-minute margin.
        await holder.save(
            old.model_copy(update={"expires_at": datetime.now(UTC) + timedelta(minutes=1)})
        )
        answers = await asyncio.gather(*(client.get("/") for _ in range(6)))
        assert [a.status_code for a in answers] == [200] * 6
        new = await stored_tokens(app, session_id)
        assert new.refresh_token != old.refresh_token
        assert new.access_token != old.access_token
        assert new.expires_at > datetime.now(UTC) + timedelta(hours=1)
        # Had two requests refreshed with the same refresh token, the core would have
        # revoked the whole session (reuse detection): it is still good.
        assert (await client.get("/")).status_code == 200
        assert (await core_me(live_server, new.access_token)).status_code == 200


async def test_core_sign_out_sends_back_to_sign_in_then_back_here(console_app, live_server):
    app = console_app()
    async with asgi_client(app) as client:
        session_id = session_cookie(await sign_in(client, "officer@demo.bank"))
        assert session_id
        tokens = await stored_tokens(app, session_id)
        async with httpx.AsyncClient(base_url=live_server.api_url) as api:
            revoked = await api.post(
                "/auth/logout",
                headers={"Authorization": f"Bearer {tokens.access_token}", "X-Tenant-ID": TENANT},
            )
            assert revoked.status_code == 204
        response = await client.get("/?from=core")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?ended=1&next=%2F%3Ffrom%3Dcore"
        page = await client.get(response.headers["location"])
        assert "Your sign-in ended at the banking service" in page.text
        back = await sign_in(client, "officer@demo.bank", next_path="/?from=core")
        assert back.headers["location"] == "/?from=core"


async def test_sign_out_revokes_the_core_session(console_app, live_server):
    app = console_app()
    async with asgi_client(app) as client:
        session_id = session_cookie(await sign_in(client, "manager@demo.bank"))
        assert session_id
        tokens = await stored_tokens(app, session_id)
        assert (await core_me(live_server, tokens.access_token)).status_code == 200
        out = await client.post("/logout", data={"_csrf_token": await csrf_token(client)})
        assert out.status_code == 303
        assert (await core_me(live_server, tokens.access_token)).status_code == 401
        assert await SessionTokenHolder(console_state(app), session_id).load() is None


async def test_banking_service_down_is_said_plainly(console_app, console_settings):
    dead = f"http://127.0.0.1:{free_port()}/api/v1/cba"
    app = console_app(banking_api_url=dead)
    async with asgi_client(app) as client:
        response = await sign_in(client, "viewer@demo.bank")
        assert response.status_code == 503
        assert "The banking service is not answering" in response.text

    # Signed in while the core was up, then it stops answering.
    app = console_app()
    async with asgi_client(app) as client:
        await sign_in(client, "viewer@demo.bank")
        console = console_state(app)
        down = BankingClient(dead, TENANT, max_retries=0)
        console.client = down
        console.tenant_cache.clear()
        try:
            page = await client.get("/")
        finally:
            await down.aclose()
        assert page.status_code == 503
        assert "The banking service is not answering; nothing was charged. Try again." in page.text
        assert "Traceback" not in page.text


async def test_secure_cookies_outside_localhost(console_app, console_settings, settings):
    secure = dataclasses.replace(
        console_settings(), server=dataclasses.replace(settings.server, host="0.0.0.0")
    )
    app = console_app(secure)
    async with asgi_client(app, base_url="https://console.bank.example") as client:
        form = await client.get("/login")
        assert "__Host-bd_csrf=" in form.headers["set-cookie"]
        assert "Secure" in form.headers["set-cookie"]
        response = await sign_in(client, "viewer@demo.bank")
        assert response.status_code == 303
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-bd_session=")
        )
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert (await client.get("/")).status_code == 200

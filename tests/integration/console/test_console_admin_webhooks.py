"""Admin → Webhooks in the console, against the live server and its in-process worker: a
subscription made through the form receives a real, signed delivery at a receiver run by
the test; the deliveries page shows its attempts, "Retry" sends it again; edit, pause,
delete with confirmation; bad input, CSRF, injected text, non-admins refused.

Every subscription made here is deleted at the end, so later suites get no deliveries.
"""

import asyncio
import hashlib
import hmac
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from admin_helpers import INJECTION, CoreAsAdmin, action_log_for, admin_signed_in, form_fields
from console_helpers import ROLE_EMAILS, csrf_token, sign_in
from test_console_accounts_support import key_from

from tests.support import TENANT

WEBHOOK_LINK = re.compile(r"^/admin/webhooks/([0-9a-f-]{36})/created$")


class Receiver:
    """A webhook receiver on a free loopback port that answers ``status`` and keeps what
    it was sent (headers and raw body)."""

    def __init__(self) -> None:
        self.status = 500
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.received.append((dict(self.headers.items()), self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/branchdesk"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


class Core(CoreAsAdmin):
    """The core as the sandbox admin, plus clean-up of the subscriptions a test made."""

    def __init__(self, api_url: str) -> None:
        super().__init__(api_url)
        self.made: list[str] = []

    async def webhook(self, webhook_id: str) -> httpx.Response:
        return await self.client.get(f"/webhooks/{webhook_id}", headers=await self.headers())

    async def webhook_names(self) -> list[str]:
        body = await self.get("/webhooks", limit=200)
        return [h["name"] for h in body["webhooks"]]

    async def delete_made(self) -> None:
        for webhook_id in self.made:
            await self.client.delete(f"/webhooks/{webhook_id}", headers=await self.headers())


@pytest.fixture
async def core(live_server):  # type: ignore[no-untyped-def]
    api = Core(live_server.api_url)
    try:
        yield api
    finally:
        await api.delete_made()
        await api.aclose()


def near(html: str, marker: str, length: int = 1500) -> str:
    start = html.index(marker)
    return html[start : start + length]


async def create_webhook(
    browser: httpx.AsyncClient, core: Core, url: str, events: list[str], name: str | None = None
) -> tuple[str, httpx.Response]:
    data = await form_fields(browser, "/admin/webhooks/new")
    response = await browser.post(
        "/admin/webhooks",
        data={
            **data,
            "name": name or f"Receiver {uuid.uuid4().hex[:6]}",
            "url": url,
            "events": events,
            "is_active": "on",
        },
    )
    assert response.status_code == 303, response.text[:1500]
    match = WEBHOOK_LINK.match(response.headers["location"])
    assert match, response.headers["location"]
    core.made.append(match.group(1))
    return match.group(1), response


async def failed_sign_in(live_server: Any) -> None:
    """A ``security.login_failed`` event: a sign-in to the core with a wrong password."""
    async with httpx.AsyncClient(base_url=live_server.api_url) as api:
        response = await api.post(
            "/auth/login",
            json={"email": f"nobody-{uuid.uuid4().hex[:8]}@demo.bank", "password": "wrong-pw-123"},
            headers={"X-Tenant-ID": TENANT},
        )
        assert response.status_code == 401


async def deliveries_until(
    browser: httpx.AsyncClient, webhook_id: str, pattern: str, wait_seconds: float = 30.0
) -> str:
    """The deliveries page, once it shows ``pattern`` (the worker runs every second)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        html = (await browser.get(f"/admin/webhooks/{webhook_id}/deliveries")).text
        if re.search(pattern, html):
            return html
        if loop.time() > deadline:
            pytest.fail(f"the deliveries page never showed {pattern!r}:\n{html[-3000:]}")
        await asyncio.sleep(0.5)


async def test_a_webhook_made_in_the_console_delivers_and_retries(
    browser, core, receiver, live_server, settings
):
    await admin_signed_in(browser)
    form = await browser.get("/admin/webhooks/new")
    for label in ("Name", "URL", "Secret"):
        assert f">{label}</label>" in form.text
    assert '<legend class="field__label">Events</legend>' in form.text
    assert 'value="security.login_failed"' in form.text and 'value="journal.posted"' in form.text

    webhook_id, created = await create_webhook(
        browser, core, receiver.url, ["security.login_failed"], name="Fraud monitor"
    )
    once = await browser.get(created.headers["location"])
    assert "This is the only time the secret is shown." in once.text
    found = re.search(r'id="new-secret" type="text" value="(whsec_[^"]+)"', once.text)
    assert found, once.text[:2000]
    secret = found.group(1)
    assert once.headers["cache-control"] == "no-store"
    again = await browser.get(created.headers["location"])
    assert secret not in again.text and "can't be shown again" in again.text
    listed = await browser.get("/admin/webhooks")
    assert f'href="/admin/webhooks/{webhook_id}">Fraud monitor</a>' in listed.text
    assert receiver.url in listed.text and secret not in listed.text
    [row] = await action_log_for(settings, "webhook.create", f"webhook:{webhook_id}")
    assert (row.outcome, row.user_email) == ("success", "admin@demo.bank")

    # A real event reaches the receiver, signed with the secret the page showed.
    await failed_sign_in(live_server)
    html = await deliveries_until(browser, webhook_id, r"HTTP 500")
    assert 'class="badge badge--status badge--pending">Waiting<' in html
    assert "security.login_failed" in html and "Attempts (1)" in html
    headers, body = receiver.received[0]
    timestamp, signature = re.match(
        r"^t=(\d+),v1=([0-9a-f]{64})$", headers["X-Webhook-Signature"]
    ).groups()  # type: ignore[union-attr]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(signature, expected.hexdigest())

    # The receiver is fixed; "Retry" sends the same event again at once.
    receiver.status = 200
    retry = re.search(
        r'action="(/admin/webhooks/[^"]+/deliveries/([0-9a-f-]{36})/retry)".*?'
        r'name="idempotency_key" value="([^"]+)"',
        html,
        re.S,
    )
    assert retry, "no Retry button"
    retried = await browser.post(
        retry.group(1),
        data={"_csrf_token": await csrf_token(browser), "idempotency_key": retry.group(3)},
    )
    assert retried.status_code == 303
    assert retried.headers["location"] == f"/admin/webhooks/{webhook_id}/deliveries?done=retried"
    assert "Delivery queued again" in (await browser.get(retried.headers["location"])).text
    done = await deliveries_until(browser, webhook_id, r"badge--delivered\">Delivered<")
    assert "Attempts (2)" in done and "HTTP 200" in done
    assert len({h["X-Webhook-ID"] for h, _ in receiver.received}) == 1  # the same event
    delivered = await browser.get(f"/admin/webhooks/{webhook_id}/deliveries?status=DELIVERED")
    assert retry.group(2) in delivered.text
    waiting = await browser.get(f"/admin/webhooks/{webhook_id}/deliveries?status=PENDING")
    assert retry.group(2) not in waiting.text

    # Paused, its deliveries offer no "Retry"; a crafted one is refused in words by its row.
    page = await browser.get(f"/admin/webhooks/{webhook_id}")
    paused = await browser.post(
        f"/admin/webhooks/{webhook_id}",
        data={
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": key_from(page.text),
            "name": "Fraud monitor",
            "url": receiver.url,
            "events": ["security.login_failed"],
        },
    )
    assert paused.status_code == 303
    quiet = await browser.get(f"/admin/webhooks/{webhook_id}/deliveries")
    assert "This webhook is paused" in quiet.text and ">Retry</button>" not in quiet.text
    refused = await browser.post(
        retry.group(1),
        data={
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": "console-" + uuid.uuid4().hex,
        },
    )
    assert refused.status_code == 409
    row = near(refused.text, f'id="delivery-{retry.group(2)}"', 4000)
    assert "This webhook is inactive: activate it before retrying its deliveries." in row


async def test_edit_pause_and_delete_a_webhook(browser, core, receiver):
    await admin_signed_in(browser)
    webhook_id, _ = await create_webhook(browser, core, receiver.url, ["account.opened"])
    page = await browser.get(f"/admin/webhooks/{webhook_id}")
    assert page.status_code == 200
    assert 'id="event-account-opened" name="events" value="account.opened" checked' in page.text
    saved = await browser.post(
        f"/admin/webhooks/{webhook_id}",
        data={
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": key_from(page.text),
            "name": "Ledger feed",
            "url": receiver.url,
            "events": ["journal.posted", "journal.reversed"],
            # "is_active" unticked: pause it
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/admin/webhooks/{webhook_id}?done=saved"
    shown = await browser.get(saved.headers["location"])
    assert "Changes saved." in shown.text
    assert 'badge--inactive">Paused<' in shown.text
    hook = (await core.webhook(webhook_id)).json()
    assert (hook["name"], hook["events"], hook["is_active"]) == (
        "Ledger feed",
        ["journal.posted", "journal.reversed"],
        False,
    )
    deliveries = await browser.get(f"/admin/webhooks/{webhook_id}/deliveries")
    assert "This webhook is paused" in deliveries.text
    assert "No deliveries yet." in deliveries.text

    confirm = await browser.get(f"/admin/webhooks/{webhook_id}/delete")
    assert confirm.status_code == 200
    assert "Delete webhook Ledger feed?" in confirm.text
    assert (await core.webhook(webhook_id)).status_code == 200  # asking changed nothing
    deleted = await browser.post(
        f"/admin/webhooks/{webhook_id}/delete",
        data={"_csrf_token": await csrf_token(browser), "idempotency_key": key_from(confirm.text)},
    )
    assert deleted.status_code == 303
    listed = await browser.get(deleted.headers["location"])
    assert "Webhook deleted." in listed.text
    assert webhook_id not in listed.text
    assert (await core.webhook(webhook_id)).status_code == 404
    gone = await browser.get(f"/admin/webhooks/{webhook_id}")
    assert gone.status_code == 404


async def test_bad_webhook_input_is_shown_by_its_field_and_changes_nothing(browser, core, receiver):
    await admin_signed_in(browser)
    names = await core.webhook_names()
    data = await form_fields(browser, "/admin/webhooks/new")
    bad = await browser.post(
        "/admin/webhooks",
        data={**data, "name": "", "url": "ftp://files.example", "secret": "short"},
    )
    assert bad.status_code == 400
    assert "Some details need attention" in bad.text
    assert "Enter the name." in near(bad.text, 'id="field-name"')
    assert "Enter a full web address" in near(bad.text, 'id="field-url"')
    assert "Choose at least one event." in near(bad.text, 'id="events-hint"')
    assert "Use 16 to 200 letters, digits or symbols" in near(bad.text, 'id="field-secret"')
    assert 'value="short"' not in bad.text  # a secret is never written back
    assert key_from(bad.text) == data["idempotency_key"]
    assert await core.webhook_names() == names

    webhook_id, _ = await create_webhook(browser, core, receiver.url, ["account.frozen"])
    page = await browser.get(f"/admin/webhooks/{webhook_id}")
    edit = await browser.post(
        f"/admin/webhooks/{webhook_id}",
        data={
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": key_from(page.text),
            "name": "Still here",
            "url": "http://user:pw@example.com/x",
            "is_active": "on",
        },
    )
    assert edit.status_code == 400
    assert "Leave the user name and password out" in near(edit.text, 'id="field-url"')
    assert "Choose at least one event." in edit.text
    hook = (await core.webhook(webhook_id)).json()
    assert (hook["name"], hook["url"], hook["events"]) == (
        hook["name"],
        receiver.url,
        ["account.frozen"],
    )
    assert hook["name"] != "Still here"
    # A delivery that does not exist is the 404 page, not a crash.
    missing = await browser.post(
        f"/admin/webhooks/{webhook_id}/deliveries/{uuid.uuid4()}/retry",
        data={"_csrf_token": await csrf_token(browser), "idempotency_key": "console-" + "0" * 32},
    )
    assert missing.status_code == 404


async def test_webhook_text_is_shown_literally_and_writes_need_csrf(browser, core, receiver):
    await admin_signed_in(browser)
    webhook_id, _ = await create_webhook(
        browser, core, receiver.url, ["period.closed"], name=INJECTION
    )
    for path in ("/admin/webhooks", f"/admin/webhooks/{webhook_id}"):
        html = (await browser.get(path)).text
        assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    names = await core.webhook_names()
    data = await form_fields(browser, "/admin/webhooks/new")
    forged = {
        "idempotency_key": data["idempotency_key"],
        "name": "Forged",
        "url": "https://evil.example/x",
        "events": ["security.login_failed"],
    }
    assert (await browser.post("/admin/webhooks", data=forged)).status_code == 403
    htmx = await browser.post("/admin/webhooks", data=forged, headers={"HX-Request": "true"})
    assert htmx.status_code == 403
    delete = await browser.post(
        f"/admin/webhooks/{webhook_id}/delete", data={"idempotency_key": "console-1"}
    )
    assert delete.status_code == 403
    assert await core.webhook_names() == names
    assert (await core.webhook(webhook_id)).status_code == 200


@pytest.mark.parametrize("role", ["viewer", "officer", "manager"])
async def test_non_admins_get_no_webhook_pages(role, browser):
    await sign_in(browser, ROLE_EMAILS[role])
    for path in ("/admin/webhooks", "/admin/webhooks/new"):
        page = await browser.get(path)
        assert page.status_code == 403
        assert "You need the Admin role for this; ask an admin." in page.text
    refused = await browser.post(
        "/admin/webhooks",
        data={"_csrf_token": await csrf_token(browser), "name": "x", "url": "https://x.example"},
    )
    assert refused.status_code == 403

"""Security review (issue 10), finding 9: behind a reverse proxy, each staff member is
themselves at the core.

The console forwards the staff member's address to the core (``X-Forwarded-For``), which
keys its sign-in throttle and its audit trail by it. Behind a proxy the console must take
that address from the proxy's ``X-Forwarded-For`` (when the proxy is in
``TRUSTED_PROXIES``, as the core does), not forward the proxy itself: else every staff
member shares one bucket, and one person's typos (or an attacker's guesses) lock everyone
out of signing in.
"""

import random
import uuid
from typing import Any

import httpx
import pytest
from console_helpers import sign_in

from tests.live_server import LiveServer
from tests.support import SANDBOX_PASSWORD

FAILED_SIGN_INS_ALLOWED = 3


def behind(app: Any, peer: str, forwarded_for: str | None) -> httpx.AsyncClient:
    """A browser reaching the console through ``peer`` (a proxy, or itself)."""
    transport = httpx.ASGITransport(app=app, client=(peer, 45000))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=headers, timeout=60
    )


def client_address() -> str:
    # Benchmarking range (RFC 2544): never a real client, fresh per run so that buckets
    # left in a shared Redis by an earlier run cannot matter.
    return f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.fixture(scope="module")
def strict_core(database_ready):  # type: ignore[no-untyped-def]
    """A core that allows only a few failed sign-ins per address."""
    server = LiveServer(
        command="core", env={"RATE_LIMIT_FAILED_LOGINS": str(FAILED_SIGN_INS_ALLOWED)}
    ).start()
    yield server
    server.stop()


async def test_one_staff_members_failures_do_not_throttle_another(console_app, strict_core):
    app = console_app(banking_api_url=strict_core.api_url)
    careless, colleague = client_address(), client_address()
    assert careless != colleague
    async with behind(app, "127.0.0.1", careless) as first:
        statuses = []
        for _ in range(FAILED_SIGN_INS_ALLOWED + 1):
            answer = await sign_in(first, f"nobody-{uuid.uuid4().hex[:8]}@demo.bank", "wrong")
            statuses.append(answer.status_code)
        # The careless one is throttled at the core ...
        assert statuses[-1] == 429, statuses
    # ... and a colleague behind the same proxy signs in as usual.
    async with behind(app, "127.0.0.1", colleague) as second:
        answer = await sign_in(second, "viewer@demo.bank", SANDBOX_PASSWORD)
        assert answer.status_code == 303, "a colleague's failures throttled this sign-in"


async def signed_in_from(app: Any, core: Any, peer: str, forwarded_for: str | None) -> str:
    """Sign in through the console as ``peer`` says; the address the core audited."""
    request_id = f"xff-{uuid.uuid4().hex}"
    async with behind(app, peer, forwarded_for) as browser:
        browser.headers["X-Request-ID"] = request_id
        assert (await sign_in(browser, "viewer@demo.bank")).status_code == 303
    body = await core.call(
        "GET", "/audit-logs", params={"request_id": request_id, "action": "auth.login"}, expect=200
    )
    [entry] = body["audit_logs"]
    return str(entry["ip"])


async def test_the_core_audits_the_forwarded_staff_member(console_app, core):
    app = console_app()
    staff = client_address()
    # Through a trusted proxy (the loopback, by default): the staff member's own address.
    assert await signed_in_from(app, core, "127.0.0.1", staff) == staff
    # Through a chain: the proxy's proxy appended the hop it saw; a hop the browser wrote
    # itself (leftmost) proves nothing.
    assert await signed_in_from(app, core, "127.0.0.1", f"10.9.9.9, {staff}, 127.0.0.1") == staff
    # A peer that is not a trusted proxy cannot choose its address.
    assert await signed_in_from(app, core, "192.0.2.44", staff) == "192.0.2.44"

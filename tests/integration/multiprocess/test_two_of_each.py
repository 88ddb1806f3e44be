"""Two core processes and two console processes behave exactly like one (README, "How it
runs"): rate limits are counted together, a session made on one console works on the
other, an idempotency key used on one core replays on the other, and a webhook received by
one console reaches a page open on the other."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.console.models import ConsoleWebhookEvent
from app.db import Database
from tests.integration.multiprocess.conftest import CREDENTIAL_LIMIT, Cluster, Worker
from tests.live_helpers import deliver, event_payload, open_stream
from tests.support import SANDBOX_PASSWORD, TENANT

CSRF_FIELD = 'name="_csrf_token" value="'
# The cluster's traffic comes from an address of its own: rate limits count in Redis, which
# the rest of the suite (from 127.0.0.1) shares, and these cores have small limits.
CLIENT_ADDRESS = "127.0.0.2"


def cluster_client(**options: Any) -> httpx.AsyncClient:
    """An HTTP client whose requests leave from :data:`CLIENT_ADDRESS`."""
    transport = httpx.AsyncHTTPTransport(local_address=CLIENT_ADDRESS)
    return httpx.AsyncClient(transport=transport, **options)


async def login(api_url: str, email: str, tenant: str = TENANT) -> str:
    async with cluster_client(base_url=api_url, timeout=30) as client:
        answer = await client.post(
            "/auth/login",
            json={"email": email, "password": SANDBOX_PASSWORD},
            headers={"X-Tenant-ID": tenant},
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Tenant-ID": TENANT, **extra}


def csrf_of(html: str) -> str:
    start = html.index(CSRF_FIELD) + len(CSRF_FIELD)
    return html[start : html.index('"', start)]


async def console_sign_in(client: httpx.AsyncClient, email: str) -> None:
    form = await client.get("/login")
    answer = await client.post(
        "/login",
        data={
            "email": email,
            "password": SANDBOX_PASSWORD,
            "tenant": TENANT,
            "_csrf_token": csrf_of(form.text),
        },
    )
    assert answer.status_code == 303, answer.text[:300]


@pytest.fixture(scope="module")
async def database(settings) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    db = Database(settings.database)
    yield db
    await db.dispose()


async def an_account(api_url: str, token: str) -> dict[str, Any]:
    async with cluster_client(base_url=api_url, timeout=30) as api:
        customer = await api.post(
            "/customers",
            json={
                "customer_type": "INDIVIDUAL",
                "first_name": "Cluster",
                "last_name": f"Holder{uuid.uuid4().hex[:6]}",
                "phone": f"+23482{uuid.uuid4().int % 10**8:08d}",
            },
            headers=auth(token, **{"Idempotency-Key": uuid.uuid4().hex}),
        )
        assert customer.status_code == 201, customer.text
        account = await api.post(
            "/accounts",
            json={
                "customer_id": customer.json()["id"],
                "account_type": "CURRENT",
                "currency": "NGN",
                "product_code": "CUR001",
                "branch_code": "001",
            },
            headers=auth(token, **{"Idempotency-Key": uuid.uuid4().hex}),
        )
        assert account.status_code == 201, account.text
        result: dict[str, Any] = account.json()
        return result


async def test_rate_limits_are_counted_together(cluster: Cluster):
    token = await login(cluster.core_a.api_url, "viewer@demo.bank")
    async with (
        cluster_client(base_url=cluster.core_a.api_url) as a,
        cluster_client(base_url=cluster.core_b.api_url) as b,
    ):
        probe = await a.get("/tenant", headers=auth(token))
        assert probe.status_code == 200
        if int(probe.headers["RateLimit-Reset"]) < 15:
            # Windows are aligned to the clock: start the count in a fresh one.
            await asyncio.sleep(int(probe.headers["RateLimit-Reset"]) + 0.5)
            probe = await a.get("/tenant", headers=auth(token))
        remaining = [int(probe.headers["RateLimit-Remaining"])]
        assert int(probe.headers["RateLimit-Limit"]) == CREDENTIAL_LIMIT
        # Alternate between the two processes: each sees the other's requests.
        for n in range(remaining[0]):
            answer = await (b if n % 2 == 0 else a).get("/tenant", headers=auth(token))
            assert answer.status_code == 200, answer.text
            remaining.append(int(answer.headers["RateLimit-Remaining"]))
        assert remaining == list(range(remaining[0], -1, -1))
        for process in (a, b):
            refused = await process.get("/tenant", headers=auth(token))
            assert refused.status_code == 429
            assert refused.json()["code"] == "RATE_LIMIT_EXCEEDED"
            assert int(refused.headers["Retry-After"]) >= 1


async def test_a_session_made_on_one_console_works_on_the_other(cluster: Cluster):
    # One browser (one cookie jar: cookies are per host, not per port), two processes.
    a, b = cluster.console_a.base_url, cluster.console_b.base_url
    async with cluster_client(timeout=30) as browser:
        form = await browser.get(f"{a}/login")
        signed_in = await browser.post(
            f"{a}/login",
            data={
                "email": "officer@demo.bank",
                "password": SANDBOX_PASSWORD,
                "tenant": TENANT,
                "_csrf_token": csrf_of(form.text),
            },
        )
        assert signed_in.status_code == 303
        home = await browser.get(f"{b}/")
        assert home.status_code == 200, home.text[:300]
        assert "Ola Officer" in home.text
        # A form rendered by one process is accepted by the other (one CSRF secret), and
        # signing out there ends the session here too.
        page = await browser.get(f"{a}/customers")
        out = await browser.post(f"{b}/logout", data={"_csrf_token": csrf_of(page.text)})
        assert out.status_code == 303
        after = await browser.get(f"{a}/")
        assert after.status_code == 303
        assert after.headers["location"].startswith("/login")


async def test_an_idempotency_key_used_on_one_core_replays_on_the_other(cluster: Cluster):
    teller = await login(cluster.core_a.api_url, "teller@demo.bank")
    manager = await login(cluster.core_a.api_url, "manager@demo.bank")
    account = await an_account(cluster.core_a.api_url, manager)
    key = f"cluster-{uuid.uuid4().hex}"
    body = {"account_id": account["id"], "amount": "75.00", "currency": "NGN"}
    async with (
        cluster_client(base_url=cluster.core_a.api_url) as a,
        cluster_client(base_url=cluster.core_b.api_url) as b,
    ):
        first = await a.post(
            "/deposits", json=body, headers=auth(teller, **{"Idempotency-Key": key})
        )
        assert first.status_code == 201, first.text
        again = await b.post(
            "/deposits", json=body, headers=auth(teller, **{"Idempotency-Key": key})
        )
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.content == first.content  # byte for byte
        other = await b.post(
            "/deposits",
            json={**body, "amount": "76.00"},
            headers=auth(teller, **{"Idempotency-Key": key}),
        )
        assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_CONFLICT"
        balance = await b.get(f"/accounts/{account['id']}", headers=auth(manager))
        assert balance.json()["ledger_balance"] == "75.00"  # it ran once


async def test_a_webhook_received_by_one_console_reaches_a_page_open_on_the_other(
    cluster: Cluster, settings, database
):  # type: ignore[no-untyped-def]
    secret = settings.console.webhook_secret
    manager_token = await login(cluster.core_b.api_url, "manager@demo.bank")
    async with cluster_client(base_url=cluster.core_b.api_url) as api:
        tenant_id = (await api.get("/tenant", headers=auth(manager_token))).json()["id"]
    async with (
        cluster_client(base_url=cluster.console_a.base_url, timeout=30) as a,
        cluster_client(base_url=cluster.console_b.base_url, timeout=30) as b,
    ):
        await console_sign_in(b, "manager@demo.bank")
        async with open_stream(b) as stream:
            payload = event_payload("journal.created", tenant_id)
            answer = await deliver(a, secret, payload)
            assert answer.json() == {"received": True, "duplicate": False}
            seen = await stream.until(event_id=payload["id"])
            assert seen[-1].signal["type"] == "journal.created"

            # The same event delivered to both consoles at once: stored once, pushed once.
            twice = event_payload("journal.approved", tenant_id)
            answers = await asyncio.gather(deliver(a, secret, twice), deliver(b, secret, twice))
            assert sorted(r.json()["duplicate"] for r in answers) == [False, True]
            marker = event_payload("journal.posted", tenant_id)
            await deliver(a, secret, marker)
            seen = await stream.until(event_id=marker["id"])
            assert [m.event_id for m in seen].count(twice["id"]) == 1
    async with database.session() as session:
        count = (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(ConsoleWebhookEvent)
                .where(ConsoleWebhookEvent.event_id == twice["id"])  # type: ignore[arg-type]
            )
        ).scalar_one()
    assert count == 1


async def test_the_other_consoles_badge_forgets_its_count_at_once(cluster: Cluster, settings):  # type: ignore[no-untyped-def]
    teller = await login(cluster.core_a.api_url, "teller@demo.bank")
    manager = await login(cluster.core_a.api_url, "manager@demo.bank")
    account = await an_account(cluster.core_a.api_url, manager)
    async with (
        cluster_client(base_url=cluster.console_a.base_url, timeout=30) as a,
        cluster_client(base_url=cluster.console_b.base_url, timeout=30) as b,
        cluster_client(base_url=cluster.core_a.api_url, timeout=30) as api,
    ):
        await console_sign_in(b, "officer@demo.bank")
        badge = await b.get("/approvals/badge", headers={"HX-Request": "true"})
        before = badge.text
        pending = await api.post(
            "/deposits",
            json={"account_id": account["id"], "amount": "1500000.00", "currency": "NGN"},
            headers=auth(teller, **{"Idempotency-Key": uuid.uuid4().hex}),
        )
        assert pending.json()["status"] == "PENDING_APPROVAL"
        assert (await b.get("/approvals/badge")).text == before  # console B's cache
        tenant_id = (await api.get("/tenant", headers=auth(manager))).json()["id"]
        payload = event_payload("transaction.pending_approval", tenant_id)
        await deliver(a, settings.console.webhook_secret, payload)  # to the *other* console
        deadline = time.monotonic() + 2.0  # well inside the cache's 5 s
        while (now := (await b.get("/approvals/badge")).text) == before:
            assert time.monotonic() < deadline, "console B kept its stale count"
            await asyncio.sleep(0.05)
        assert now != before


async def test_the_cores_deliveries_reach_a_page_on_the_other_console(
    cluster: Cluster, worker: Worker, database: Database
):
    """End to end: a teller's pending deposit on core B → its outbox → the worker →
    console A's receiver → Redis → the manager's page open on console B."""
    admin = await login(cluster.core_a.api_url, "admin@demo.bank")
    teller = await login(cluster.core_b.api_url, "teller@demo.bank")
    manager = await login(cluster.core_b.api_url, "manager@demo.bank")
    account = await an_account(cluster.core_b.api_url, manager)
    request_id = f"cluster-{uuid.uuid4().hex}"
    async with (
        cluster_client(base_url=cluster.core_a.api_url, timeout=30) as core_a,
        cluster_client(base_url=cluster.core_b.api_url, timeout=30) as core_b,
        cluster_client(base_url=cluster.console_b.base_url, timeout=30) as console_b,
    ):
        hooks = (await core_a.get("/webhooks", headers=auth(admin))).json()["webhooks"]
        [console_hook] = [h for h in hooks if h["name"] == "Console live updates"]
        original = console_hook["url"]
        receiver = f"{cluster.console_a.base_url}/webhooks/cba"
        patched = await core_a.patch(
            f"/webhooks/{console_hook['id']}", json={"url": receiver}, headers=auth(admin)
        )
        assert patched.status_code == 200, patched.text
        try:
            await console_sign_in(console_b, "manager@demo.bank")
            async with open_stream(console_b) as stream:
                pending = await core_b.post(
                    "/deposits",
                    json={"account_id": account["id"], "amount": "2500000.00", "currency": "NGN"},
                    headers=auth(
                        teller, **{"Idempotency-Key": uuid.uuid4().hex, "X-Request-ID": request_id}
                    ),
                )
                assert pending.json()["status"] == "PENDING_APPROVAL"
                event_id = await outbox_event_of(database, request_id)
                try:
                    seen = await stream.until(event_id=event_id, within=20)
                except TimeoutError:
                    pytest.fail(
                        f"no live signal in 20 s; the worker said:\n{worker.output()[-3000:]}"
                    )
                assert seen[-1].signal["type"] == "transaction.pending_approval"
        finally:
            await core_a.patch(
                f"/webhooks/{console_hook['id']}", json={"url": original}, headers=auth(admin)
            )


async def outbox_event_of(database: Database, request_id: str) -> str:
    """The ID of the pending-approval event the core wrote for ``request_id``."""
    from app.core.webhooks.models import OutboxEvent

    async with database.session() as session:
        found = (
            await session.execute(
                sa.select(OutboxEvent.id).where(  # type: ignore[call-overload]
                    OutboxEvent.request_id == request_id,
                    OutboxEvent.type == "transaction.pending_approval",
                )
            )
        ).scalar_one()
    return str(found)

"""The Audit page against the live server: the core's trail and the console's action log,
joined by request ID, filtered, paged, exported; the "Verify the trail" panel; one tenant.
"""

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from console_helpers import csrf_from, sign_in
from money_helpers import Core, press_continue, press_submit
from sqlmodel import col

from app.console.models import ConsoleActionLog
from app.core.audit.models import AuditLog
from app.core.audit.sealing import AuditSealer
from app.db import Database, utcnow
from tests.db_tamper import as_dba
from tests.support import SANDBOX_PASSWORD, TENANT

REQUEST_LINK = re.compile(r'href="/audit/requests/([^"]+)"')
RECORD_ID = re.compile(r'<tr class="audit-row[^"]*">\s*<td class="mono num">(\d+)</td>')
LOAD_MORE = re.compile(r'class="btn btn--ghost btn--small" href="([^"]+)"')


@pytest.fixture(scope="module")
async def database(settings) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    db = Database(settings.database)
    yield db
    await db.dispose()


@pytest.fixture
async def manager(live_server) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as client:
        assert (await sign_in(client, "manager@demo.bank")).status_code == 303
        yield client


async def console_rows(database: Database, **where: Any) -> list[ConsoleActionLog]:
    async with database.session() as session:
        query = sa.select(ConsoleActionLog).where(
            *(getattr(ConsoleActionLog, k) == v for k, v in where.items())
        )
        return list((await session.execute(query)).scalars())


def shown(response: httpx.Response) -> str:
    """The page's HTML without the ``<wbr>`` line-break chances dotted names carry."""
    return response.text.replace("<wbr>", "")


def unescape(text: str) -> str:
    return text.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")


async def teller_deposit(live_server: Any, core: Core) -> str:
    """A deposit taken at the console by the teller; its idempotency key."""
    account = await core.open_account(opening="100.00")
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as teller:
        await sign_in(teller, "teller@demo.bank")
        key, confirm = await press_continue(
            teller,
            "/teller/deposit",
            account=account["account_number"],
            amount="250.00",
            narration="Audit join",
        )
        answer = await press_submit(teller, "/teller/deposit", key, csrf_from(confirm.text))
        assert answer.status_code == 303, answer.text[:300]
    return key


async def test_one_request_id_joins_the_console_and_the_core(live_server, core, database, manager):
    key = await teller_deposit(live_server, core)
    [logged] = await console_rows(database, idempotency_key=key, action="teller.deposit")
    request_id = logged.request_id
    assert request_id and logged.outcome == "success" and logged.tenant == "demo_bank"

    joined = await manager.get(f"/audit/requests/{request_id}")
    assert joined.status_code == 200
    html = shown(joined)
    assert "<title>Audit · One request · Branchdesk</title>" in html
    assert f'<span class="mono">{request_id}</span>' in html
    # The console's side: who pressed "Deposit" in which browser.
    console_part, core_part = html.split('id="pair-core"', 1)
    assert "teller.deposit" in console_part and "teller@demo.bank" in console_part
    # The core's side: what the ledger recorded for that same request.
    assert "transaction.deposit_created" in core_part
    assert "Created with" in core_part  # its "after", readable
    assert "Audit join" in core_part

    # From the trail, the record is marked as coming from the console, and links here.
    trail = await manager.get("/audit", params={"request_id": request_id})
    assert trail.status_code == 200
    assert "transaction.deposit_created" in shown(trail)
    assert 'title="The console logged this request too">Console<' in shown(trail)
    assert f"/audit/requests/{request_id}" in REQUEST_LINK.sub(
        lambda m: f"/audit/requests/{m.group(1)}", shown(trail)
    )
    # From the console log, the same.
    log = await manager.get("/audit/console", params={"request_id": request_id})
    assert "teller.deposit" in shown(log)
    assert request_id in REQUEST_LINK.findall(shown(log))


async def test_a_request_the_console_never_saw_is_not_marked_as_the_consoles(live_server, manager):
    """Another client of the core (here a sign-in straight to the API) under a request ID
    of its own: the request page shows the core's record, and nothing from the console."""
    request_id = f"api-only-{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(base_url=live_server.api_url, timeout=30) as api:
        answer = await api.post(
            "/auth/login",
            json={"email": "viewer@demo.bank", "password": SANDBOX_PASSWORD},
            headers={"X-Tenant-ID": TENANT, "X-Request-ID": request_id},
        )
        assert answer.status_code == 200
    page = await manager.get(f"/audit/requests/{request_id}")
    assert page.status_code == 200
    console_part, core_part = shown(page).split('id="pair-core"', 1)
    assert "The console logged nothing under this request" in console_part
    assert "auth.login" in core_part and "viewer@demo.bank" in core_part
    assert "The console logged this request too" not in core_part


async def test_the_trail_filters_by_actor_action_record_and_dates(core, manager):
    customer = await core.call(
        "POST",
        "/customers",
        json={
            "customer_type": "INDIVIDUAL",
            "first_name": "Audit",
            "last_name": f"Filter{uuid.uuid4().hex[:6]}",
            "phone": f"+23481{uuid.uuid4().int % 10**8:08d}",
        },
        expect=201,
    )
    tenant = await core.call("GET", "/tenant", expect=200)
    today = tenant["business_date"]
    by_record = await manager.get(
        "/audit", params={"entity_type": "customer", "entity_id": customer["id"]}
    )
    assert by_record.status_code == 200
    assert shown(by_record).count('<tr class="audit-row') == 1
    assert "customer.created" in shown(by_record)
    same = await manager.get(
        "/audit",
        params={
            "actor": "MANAGER@demo.bank",
            "action": "customer.*",
            "entity_id": customer["id"],
            "from": today,
            "to": today,
            "outcome": "success",
        },
    )
    assert shown(same).count('<tr class="audit-row') == 1
    # Nothing of it the day before, nor by another actor.
    yesterday = (utcnow().date() - timedelta(days=2)).isoformat()
    for params in (
        {"entity_id": customer["id"], "to": yesterday},
        {"entity_id": customer["id"], "actor": "teller@demo.bank"},
        {"entity_id": customer["id"], "action": "journal.*"},
    ):
        answer = await manager.get("/audit", params=params)
        assert '<tr class="audit-row' not in shown(answer), params
        assert "No record matches these filters." in shown(answer)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-13-01"}, "from", "Enter a date like 2026-12-01."),
        (
            {"from": "2026-12-02", "to": "2026-12-01"},
            "to",
            "The end date is before the start date.",
        ),
        ({"action": "DROP TABLE"}, "action", "Enter an action like journal.posted"),
        ({"actor": "two words"}, "actor", "Enter one staff member"),
        ({"outcome": "maybe"}, "outcome", "Choose one of the outcomes listed."),
        ({"request_id": "<script>"}, "request_id", "A request ID has only letters"),
    ],
)
async def test_bad_trail_filters_are_said_next_to_the_field(manager, params, field, message):
    answer = await manager.get("/audit", params=params)
    assert answer.status_code == 200
    html = unescape(shown(answer))
    assert message in html
    assert f'id="filter-{field}-error"' in html or field == "outcome"
    assert "nothing was searched" in html
    assert '<tr class="audit-row' not in html
    assert "<script>" not in shown(answer)  # shown back escaped


async def test_the_console_log_pages_with_load_more_and_filters(live_server, database, manager):
    action = f"test.load_more_{uuid.uuid4().hex[:8]}"
    now = utcnow()
    async with database.session() as session:
        for n in range(60):
            session.add(
                ConsoleActionLog(
                    at=now - timedelta(seconds=n),
                    user_email="officer@demo.bank",
                    role="officer",
                    tenant="demo_bank",
                    action=action,
                    target=f"item:{n:02d}",
                    request_id=f"req-{action}-{n:02d}",
                    outcome="failure" if n % 2 else "success",
                )
            )
        # The other bank's row with the same action is never shown here.
        session.add(
            ConsoleActionLog(tenant="fmfb", action=action, outcome="success", target="item:fmfb")
        )
        await session.commit()
    first = await manager.get("/audit/console", params={"action": action})
    assert shown(first).count("item:") == 50
    first_page = shown(first)
    assert "item:00" in first_page and "item:49" in first_page and "item:fmfb" not in first_page
    [more] = LOAD_MORE.findall(shown(first))
    more = unescape(more)
    rest = await manager.get(more, headers={"HX-Request": "true"})
    assert rest.status_code == 200
    assert "<html" not in shown(rest)  # the rows only, appended in place
    assert shown(rest).count("item:") == 10
    assert "item:50" in shown(rest) and "item:59" in shown(rest)
    assert "Load more" not in shown(rest)
    failures = await manager.get(
        "/audit/console", params={"action": action, "outcome": "failure", "user": "OFFICER@"}
    )
    assert shown(failures).count("item:") == 30
    one = await manager.get("/audit/console", params={"request_id": f"req-{action}-07"})
    assert shown(one).count("item:") == 1
    family = await manager.get("/audit/console", params={"action": "test.*"})
    assert "item:00" in shown(family)
    # A cursor that is not ours starts again from the newest.
    foreign = await manager.get("/audit/console", params={"action": action, "cursor": "nonsense"})
    assert foreign.status_code == 200 and "item:00" in shown(foreign)


async def test_each_side_exports_as_csv_with_its_filters(live_server, core, database, manager):
    key = await teller_deposit(live_server, core)
    [logged] = await console_rows(database, idempotency_key=key)
    async with database.session() as session:
        session.add(
            ConsoleActionLog(
                tenant="demo_bank",
                action="test.csv_injection",
                outcome="success",
                target='=HYPERLINK("http://evil")',
                request_id=logged.request_id,
            )
        )
        await session.commit()
    # The pages link their export with their own filters, outside htmx's boost (a boosted
    # link would swap the file into the page).
    for page, export in (("/audit", "/audit/trail.csv"), ("/audit/console", "/audit/console.csv")):
        html = shown(await manager.get(page, params={"request_id": logged.request_id}))
        link = f'href="{export}?request_id={logged.request_id}" hx-boost="false" download'
        assert link in html, page
    console_csv = await manager.get("/audit/console.csv", params={"request_id": logged.request_id})
    assert console_csv.status_code == 200
    assert console_csv.headers["content-type"].startswith("text/csv")
    assert "console-action-log-demo_bank.csv" in console_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(shown(console_csv))))
    assert {r["action"] for r in rows} == {"teller.deposit", "test.csv_injection"}
    injected = next(r for r in rows if r["action"] == "test.csv_injection")
    assert injected["target"].startswith("'=")  # a spreadsheet shows it, never runs it
    deposit = next(r for r in rows if r["action"] == "teller.deposit")
    assert deposit["idempotency_key"] == key and deposit["user_email"] == "teller@demo.bank"

    trail_csv = await manager.get("/audit/trail.csv", params={"request_id": logged.request_id})
    assert trail_csv.status_code == 200
    assert "audit-trail-demo_bank.csv" in trail_csv.headers["content-disposition"]
    records = list(csv.DictReader(io.StringIO(shown(trail_csv))))
    assert [r["action"] for r in records] == ["transaction.deposit_created"]
    assert records[0]["request_id"] == logged.request_id
    assert '"narration": "Audit join"' in records[0]["after"]
    # Bad filters are never exported: back to the page that says what is wrong.
    refused = await manager.get("/audit/trail.csv", params={"from": "yesterday"})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/audit?")


async def test_managers_see_their_own_tenant_only(live_server, core, database):
    key = await teller_deposit(live_server, core)
    [logged] = await console_rows(database, idempotency_key=key)
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as other:
        assert (await sign_in(other, "admin@fmfb.bank", tenant="fmfb")).status_code == 303
        for path, params in (
            ("/audit", {"request_id": logged.request_id}),
            ("/audit/console", {"request_id": logged.request_id}),
            ("/audit/console", {}),
            (f"/audit/requests/{logged.request_id}", {}),
            ("/audit/console.csv", {}),
            ("/audit/trail.csv", {"request_id": logged.request_id}),
        ):
            answer = await other.get(path, params=params)
            assert answer.status_code == 200, path
            assert "teller@demo.bank" not in shown(answer), path
            assert "teller.deposit" not in shown(answer), path


async def test_lower_roles_are_refused_the_audit_page(live_server):
    for email in ("viewer@demo.bank", "teller@demo.bank", "officer@demo.bank"):
        async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as client:
            await sign_in(client, email)
            for path in ("/audit", "/audit/console", "/audit/verify", "/audit/console.csv"):
                answer = await client.get(path)
                assert answer.status_code == 403, (email, path)
                assert "You need the Manager role for this" in shown(answer)
            assert ">Audit</a>" not in (await client.get("/")).text


async def test_verify_the_trail_says_intact_or_names_the_broken_record(core, database, manager):
    sealer = AuditSealer(database, records_per_seal=25, records_per_run=10**6)
    for _ in range(3):
        await sealer.run_once()
    page = await manager.get("/audit")
    assert ">Verify the trail</button>" in shown(page)
    assert 'hx-get="/audit/verify" hx-target="#verify-panel"' in shown(page)
    intact = await manager.get("/audit/verify", headers={"HX-Request": "true"})
    assert intact.status_code == 200
    assert "<html" not in shown(intact)  # the panel only, swapped in place
    assert "The trail is intact." in shown(intact)
    assert "sealed through record #" in shown(intact)
    # Without JavaScript, the same answer as a page.
    assert "The trail is intact." in (await manager.get("/audit/verify")).text

    verdict = await core.call("GET", "/audit-logs/verify", expect=200)
    tenant = await core.call("GET", "/tenant", expect=200)
    assert verdict["valid"] is True and verdict["sealed_through_id"]
    async with database.session() as session:
        victim = (
            await session.execute(
                sa.select(AuditLog)
                .where(
                    col(AuditLog.tenant_id) == uuid.UUID(tenant["id"]),
                    col(AuditLog.id) <= verdict["sealed_through_id"],
                )
                .order_by(col(AuditLog.id).desc())
                .limit(1)
            )
        ).scalar_one()
    original = victim.outcome
    async with as_dba(database) as conn:
        await conn.execute(
            sa.update(AuditLog).where(col(AuditLog.id) == victim.id).values(outcome="tampered")
        )
    try:
        broken = await manager.get("/audit/verify", headers={"HX-Request": "true"})
        assert "The trail has been altered." in shown(broken)
        assert f"Record #{victim.id} no longer matches its seal" in shown(broken)
    finally:
        async with as_dba(database) as conn:
            await conn.execute(
                sa.update(AuditLog).where(col(AuditLog.id) == victim.id).values(outcome=original)
            )
    assert "The trail is intact." in (await manager.get("/audit/verify")).text


async def test_the_trail_loads_more_by_keyset(core, manager):
    """Page 1 is the newest 50; "Load more" appends the next, older ones, never the same."""
    for _ in range(55):
        await core.call(
            "POST",
            "/customers",
            json={
                "customer_type": "INDIVIDUAL",
                "first_name": "Paged",
                "last_name": f"Holder{uuid.uuid4().hex[:6]}",
                "phone": f"+23483{uuid.uuid4().int % 10**8:08d}",
            },
            expect=201,
        )
    first = await manager.get("/audit", params={"action": "customer.created"})
    ids = [int(i) for i in RECORD_ID.findall(shown(first))]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    [more] = LOAD_MORE.findall(shown(first))
    rest = await manager.get(unescape(more), headers={"HX-Request": "true"})
    assert rest.status_code == 200 and "<html" not in shown(rest)
    later = [int(i) for i in RECORD_ID.findall(shown(rest))]
    assert later and max(later) < min(ids)
    assert "customer.created" in shown(rest) and "customer.updated" not in shown(rest)
    # Without JavaScript the same link is a whole page, filters kept.
    page = await manager.get(unescape(more))
    assert "<html" in shown(page) and 'value="customer.created"' in shown(page)
    assert "Back to the newest" in shown(page)

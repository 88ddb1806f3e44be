"""GET /audit-logs: the tenant's trail, its filters, its pages, and append-only storage."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditLog, AuditSeal
from app.core.audit.service import parse_filters
from app.db import Database
from tests.integration.api.ledger_helpers import h, make_customer, unique
from tests.support import OTHER_TENANT, headers

LAGOS = ZoneInfo("Africa/Lagos")  # demo_bank's timezone


def rid(prefix: str = "audit") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


async def trail(api, tokens, who="manager", **params):  # type: ignore[no-untyped-def]
    response = await api.get("/audit-logs", params=params, headers=await h(tokens, who))
    assert response.status_code == 200, response.text
    return response.json()


async def created_customer(api, tokens):  # type: ignore[no-untyped-def]
    """An officer creates a customer under a request ID of our choosing."""
    request_id = rid()
    tag = unique()
    response = await api.post(
        "/customers",
        json={
            "customer_type": "INDIVIDUAL",
            "first_name": "Audit",
            "last_name": f"Trail{tag}",
            "email": f"{tag}@audit.test",
            "phone": f"+234{int(tag, 16) % 10**10:010d}",
        },
        headers={**await h(tokens, "officer"), "X-Request-ID": request_id},
    )
    assert response.status_code == 201, response.text
    return request_id, response.json()


async def test_a_record_has_the_contract_shape(api, tokens):
    request_id, customer = await created_customer(api, tokens)
    body = await trail(api, tokens, request_id=request_id)
    assert set(body) == {"audit_logs", "has_more", "next_cursor"}
    (entry,) = body["audit_logs"]
    assert set(entry) == {
        "id",
        "at",
        "actor_id",
        "actor_email",
        "action",
        "entity_type",
        "entity_id",
        "request_id",
        "ip",
        "outcome",
        "before",
        "after",
    }
    assert isinstance(entry["id"], int)
    assert entry["action"] == "customer.created"
    assert entry["entity_type"] == "customer"
    assert entry["entity_id"] == customer["id"]
    assert entry["actor_email"] == "officer@demo.bank"
    assert entry["request_id"] == request_id
    assert entry["outcome"] == "success"
    assert entry["ip"] == "127.0.0.1"
    assert entry["at"].endswith("Z")
    me = (await api.get("/auth/me", headers=await h(tokens, "officer"))).json()
    assert entry["actor_id"] == me["id"]


async def test_filters_narrow_the_trail(api, tokens):
    request_id, customer = await created_customer(api, tokens)
    (entry,) = (await trail(api, tokens, request_id=request_id))["audit_logs"]

    def ids(body):  # type: ignore[no-untyped-def]
        return [e["id"] for e in body["audit_logs"]]

    by_entity = await trail(api, tokens, entity_type="customer", entity_id=customer["id"])
    assert ids(by_entity) == [entry["id"]]
    by_email = await trail(api, tokens, actor="OFFICER@demo.bank", limit=200)
    assert entry["id"] in ids(by_email)
    assert {e["actor_email"] for e in by_email["audit_logs"]} == {"officer@demo.bank"}
    by_id = await trail(api, tokens, actor=entry["actor_id"], limit=200)
    assert entry["id"] in ids(by_id)
    assert {e["actor_id"] for e in by_id["audit_logs"]} == {entry["actor_id"]}
    by_action = await trail(api, tokens, action="customer.created", limit=200)
    assert entry["id"] in ids(by_action)
    assert {e["action"] for e in by_action["audit_logs"]} == {"customer.created"}
    family = await trail(api, tokens, action="customer.*", limit=200)
    assert entry["id"] in ids(family)
    assert all(e["action"].startswith("customer.") for e in family["audit_logs"])
    assert ids(await trail(api, tokens, request_id=request_id, action="account.opened")) == []

    at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
    around = {
        "from": (at - timedelta(seconds=1)).isoformat(),
        "to": (at + timedelta(seconds=1)).isoformat(),
    }
    assert entry["id"] in ids(await trail(api, tokens, request_id=request_id, **around))
    day = at.astimezone(LAGOS).date()  # a date is the tenant's calendar day
    whole_day = {"from": day.isoformat(), "to": day.isoformat()}
    assert ids(await trail(api, tokens, request_id=request_id, **whole_day)) == [entry["id"]]
    later = {"from": (at + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")}
    assert ids(await trail(api, tokens, request_id=request_id, **later)) == []
    earlier = {"to": (day - timedelta(days=1)).isoformat()}
    assert ids(await trail(api, tokens, request_id=request_id, **earlier)) == []


def test_dates_are_the_tenants_days_and_times_keep_their_offset():
    filters = parse_filters(from_="2026-11-22", to="2026-11-22", zone=LAGOS)
    assert filters.start == datetime(2026, 11, 21, 23, 0, tzinfo=UTC)
    assert filters.end == datetime(2026, 11, 22, 22, 59, 59, 999999, tzinfo=UTC)
    exact = parse_filters(from_="2026-11-22T10:00:00+01:00", to="2026-11-22T10:30:00Z")
    assert exact.start == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert exact.end == datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


async def test_failed_sign_ins_are_in_the_trail_with_their_outcome(api, tokens):
    email = f"nobody-{uuid.uuid4().hex[:8]}@demo.bank"
    request_id = rid("login")
    response = await api.post(
        "/auth/login",
        json={"email": email, "password": "not the password"},
        headers=headers(None, "demo_bank", **{"X-Request-ID": request_id}),
    )
    assert response.status_code == 401
    (entry,) = (await trail(api, tokens, request_id=request_id))["audit_logs"]
    assert (entry["action"], entry["outcome"], entry["actor_email"]) == (
        "auth.login_failed",
        "failure",
        email,
    )
    failures = await trail(api, tokens, outcome="failure", actor=email)
    assert [e["id"] for e in failures["audit_logs"]] == [entry["id"]]


async def test_pages_run_newest_first_by_keyset(api, tokens):
    for _ in range(3):
        await make_customer(api, tokens)
    first = await trail(api, tokens, action="customer.created", limit=2)
    assert first["has_more"] is True and first["next_cursor"]
    second = await trail(
        api, tokens, action="customer.created", limit=2, cursor=first["next_cursor"]
    )
    page_ids = [e["id"] for e in first["audit_logs"] + second["audit_logs"]]
    assert page_ids == sorted(page_ids, reverse=True)
    assert len(set(page_ids)) == 4
    everything = await trail(api, tokens, action="customer.created", limit=4)
    assert [e["id"] for e in everything["audit_logs"]] == page_ids


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"actor": "two words"}, "actor"),
        ({"actor": "x" * 300}, "actor"),
        ({"action": "Customer Created"}, "action"),
        ({"action": "customer.*.created"}, "action"),
        ({"entity_type": "Customer!"}, "entity_type"),
        ({"entity_id": "x" * 81}, "entity_id"),
        ({"request_id": "x" * 129}, "request_id"),
        ({"outcome": "maybe"}, "outcome"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-11-22T10:00:00"}, "from"),  # a time without its offset
        ({"from": "2026-11-22", "to": "2026-11-21"}, "to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
    ],
)
async def test_bad_filters_are_refused_by_name(api, tokens, params, field):
    response = await api.get("/audit-logs", params=params, headers=await h(tokens, "manager"))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert field in {d["field"] for d in body["details"]}


async def test_every_bad_filter_is_listed_at_once(api, tokens):
    response = await api.get(
        "/audit-logs",
        params={"actor": "a b", "action": "X", "from": "soon"},
        headers=await h(tokens, "manager"),
    )
    assert response.status_code == 400
    assert {d["field"] for d in response.json()["details"]} == {"actor", "action", "from"}


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0", "WzEsMl0"])
async def test_a_cursor_not_ours_is_invalid_format(api, tokens, cursor):
    response = await api.get(
        "/audit-logs", params={"cursor": cursor}, headers=await h(tokens, "manager")
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_FORMAT"


async def test_a_tenant_sees_only_its_own_trail(api, tokens):
    demo_request, _customer = await created_customer(api, tokens)
    # fmfb's admin signs in: a record of the other tenant, under a known request ID.
    fmfb_request = rid("fmfb")
    signed_in = await api.post(
        "/auth/login",
        json={"email": "admin@fmfb.bank", "password": "Sandbox#2026"},
        headers=headers(None, OTHER_TENANT, **{"X-Request-ID": fmfb_request}),
    )
    assert signed_in.status_code == 200
    fmfb = headers(signed_in.json()["access_token"], OTHER_TENANT)

    async def fmfb_trail(**params):  # type: ignore[no-untyped-def]
        response = await api.get("/audit-logs", params=params, headers=fmfb)
        assert response.status_code == 200, response.text
        return response.json()["audit_logs"]

    assert [e["action"] for e in await fmfb_trail(request_id=fmfb_request)] == ["auth.login"]
    assert await fmfb_trail(request_id=demo_request) == []
    assert await fmfb_trail(actor="officer@demo.bank") == []
    assert all(
        e["actor_email"] is None or not e["actor_email"].endswith("@demo.bank")
        for e in await fmfb_trail(limit=200)
    )
    assert (await trail(api, tokens, request_id=fmfb_request))["audit_logs"] == []
    assert (await trail(api, tokens, actor="admin@fmfb.bank"))["audit_logs"] == []
    # Another tenant's token against this tenant is refused before any query.
    crossed = await api.get("/audit-logs", headers=headers(signed_in.json()["access_token"]))
    assert (crossed.status_code, crossed.json()["code"]) == (403, "TENANT_MISMATCH")


@pytest.mark.parametrize("who", ["viewer", "teller", "officer"])
async def test_below_manager_the_trail_is_closed(api, tokens, who):
    response = await api.get("/audit-logs", headers=await h(tokens, who))
    assert (response.status_code, response.json()["code"]) == (403, "INSUFFICIENT_ROLE")


# -- append-only ------------------------------------------------------------------------


@pytest.fixture
async def raw_db(settings):  # type: ignore[no-untyped-def]
    """A connection pool of our own, as a DBA or a buggy script would have."""
    db = Database(settings.database)
    yield db
    await db.dispose()


async def _refused(db: Database, statement: str) -> str:
    async with db.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            await conn.execute(sa.text(statement))
        await conn.rollback()
    return str(caught.value.orig)


@pytest.mark.parametrize("table", ["audit_logs", "audit_seals"])
async def test_the_database_refuses_to_update_or_delete_audit_rows(
    api, tokens, raw_db, table, core_app
):
    await created_customer(api, tokens)
    if table == "audit_seals":
        from app.core.audit.sealing import AuditSealer

        await AuditSealer(core_app.state.services.db).run_once()
    async with raw_db.session() as session:
        model = AuditLog if table == "audit_logs" else AuditSeal
        newest = (
            await session.execute(sa.select(sa.func.max(model.id)))  # type: ignore[arg-type]
        ).scalar_one()
        count = (await session.execute(sa.select(sa.func.count()).select_from(model))).scalar_one()
    assert newest is not None
    column = "outcome" if table == "audit_logs" else "hash"
    for statement in (
        f"UPDATE {table} SET {column} = 'x' WHERE id = {newest}",
        f"DELETE FROM {table} WHERE id = {newest}",
        f"DELETE FROM {table}",
    ):
        assert "append-only" in await _refused(raw_db, statement)
    if not raw_db.is_sqlite:
        assert "append-only" in await _refused(raw_db, f"TRUNCATE {table}")
    async with raw_db.session() as session:
        after = (await session.execute(sa.select(sa.func.count()).select_from(model))).scalar_one()
    assert after == count

"""/webhooks: subscriptions, their validation, the URL policy, and their audit records."""

import dataclasses
import uuid

import pytest
import sqlalchemy as sa

from app.core.errors import ApiError
from app.core.webhooks.events import EVENT_TYPES
from app.core.webhooks.models import WebhookSubscription
from app.core.webhooks.sealing import open_secret
from app.core.webhooks.service import check_url_policy
from tests.integration.api.ledger_helpers import h
from tests.support import OTHER_TENANT, headers

# Nothing listens on port 9: deliveries other tests' workers make to these fail fast.
QUIET_URL = "http://127.0.0.1:9/hooks"


def body(**fields):  # type: ignore[no-untyped-def]
    return {
        "name": f"hook-{uuid.uuid4().hex[:8]}",
        "url": QUIET_URL,
        "events": ["account.opened", "transfer.completed"],
        "is_active": True,
        **fields,
    }


async def create(api, tokens, **fields):  # type: ignore[no-untyped-def]
    response = await api.post("/webhooks", json=body(**fields), headers=await h(tokens, "admin"))
    assert response.status_code == 201, response.text
    return response


async def trail(api, tokens, response):  # type: ignore[no-untyped-def]
    """The audit records of the request behind ``response``, through the API."""
    listed = await api.get(
        "/audit-logs",
        params={"request_id": response.headers["x-request-id"]},
        headers=await h(tokens, "manager"),
    )
    assert listed.status_code == 200
    return listed.json()["audit_logs"]


async def count_webhooks(core_app) -> int:  # type: ignore[no-untyped-def]
    async with core_app.state.services.db.session() as session:
        return (
            await session.execute(sa.select(sa.func.count()).select_from(WebhookSubscription))
        ).scalar_one()


async def test_create_generates_a_secret_shown_once(api, tokens):
    response = await create(api, tokens)
    hook = response.json()
    assert set(hook) == {
        "id",
        "name",
        "url",
        "events",
        "is_active",
        "created_by",
        "created_at",
        "updated_at",
        "secret",
    }
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 30
    assert hook["events"] == ["account.opened", "transfer.completed"]
    assert hook["is_active"] is True and hook["url"] == QUIET_URL
    (record,) = await trail(api, tokens, response)
    assert (record["action"], record["entity_type"], record["entity_id"]) == (
        "webhook.created",
        "webhook",
        hook["id"],
    )
    assert record["after"]["secret_generated"] is True
    assert hook["secret"] not in str(record)

    admin = await h(tokens, "admin")
    one = await api.get(f"/webhooks/{hook['id']}", headers=admin)
    assert one.status_code == 200
    assert "secret" not in one.json()
    assert {k: v for k, v in hook.items() if k != "secret"} == one.json()
    listed = await api.get("/webhooks", params={"limit": 200}, headers=admin)
    assert set(listed.json()) == {"webhooks", "has_more", "next_cursor"}
    assert hook["secret"] not in listed.text
    assert hook["id"] in [w["id"] for w in listed.json()["webhooks"]]


async def test_create_with_a_secret_keeps_it_and_orders_events(api, tokens, core_app):
    secret = "s3cret-of-the-receiver-0123456789"
    response = await create(
        api, tokens, secret=secret, events=["transfer.failed", "account.opened", "account.opened"]
    )
    hook = response.json()
    assert hook["secret"] == secret
    assert hook["events"] == ["account.opened", "transfer.failed"]
    async with core_app.state.services.db.session() as session:
        row = await session.get(WebhookSubscription, uuid.UUID(hook["id"]))
    assert row is not None and secret not in row.secret  # sealed at rest
    assert (
        open_secret(row.secret, core_app.state.services.settings.webhooks.secrets_key, row.id)
        == secret
    )
    (record,) = await trail(api, tokens, response)
    assert record["after"]["secret_generated"] is False and secret not in str(record)


async def test_every_known_event_type_may_be_subscribed(api, tokens):
    hook = (await create(api, tokens, events=list(EVENT_TYPES), is_active=False)).json()
    assert hook["events"] == list(EVENT_TYPES)
    assert hook["is_active"] is False


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"url": "ftp://files.example.com/in"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({"url": "https://hooks.example.com:99999/x"}, "url"),
        ({"url": "https://hooks.example.com/" + "x" * 2000}, "url"),
        ({"events": []}, "events"),
        ({"events": ["account.opened", "account.deleted"]}, "events"),
        ({"events": "account.opened"}, "events"),
        ({"events": ["*"]}, "events"),
        ({"secret": "short"}, "secret"),
        ({"secret": "has spaces in the middle of it"}, "secret"),
        ({"is_active": "yes"}, "is_active"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_bad_bodies_are_refused_by_field_and_create_nothing(
    api, tokens, core_app, fields, field
):
    before = await count_webhooks(core_app)
    response = await api.post("/webhooks", json=body(**fields), headers=await h(tokens, "admin"))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert any(field in d["field"] for d in response.json()["details"]), response.text
    assert await count_webhooks(core_app) == before


@pytest.mark.parametrize("missing", ["name", "url", "events"])
async def test_required_fields(api, tokens, missing):
    sent = body()
    del sent[missing]
    response = await api.post("/webhooks", json=sent, headers=await h(tokens, "admin"))
    assert response.status_code == 400
    assert response.json()["code"] in {"MISSING_FIELD", "VALIDATION_ERROR"}
    assert missing in {d["field"] for d in response.json()["details"]}


async def test_patch_changes_what_is_sent_and_audits_it(api, tokens, core_app):
    hook = (await create(api, tokens)).json()
    admin = await h(tokens, "admin")
    response = await api.patch(
        f"/webhooks/{hook['id']}",
        json={"name": "Renamed", "events": ["journal.posted"], "is_active": False},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["name"], changed["events"], changed["is_active"]) == (
        "Renamed",
        ["journal.posted"],
        False,
    )
    assert changed["url"] == hook["url"] and "secret" not in changed
    (record,) = await trail(api, tokens, response)
    assert record["action"] == "webhook.updated"
    assert record["before"]["events"] == hook["events"]
    assert record["after"]["events"] == ["journal.posted"]
    assert record["after"]["secret_rotated"] is False

    rotated = await api.patch(
        f"/webhooks/{hook['id']}", json={"secret": "a-brand-new-secret-0001"}, headers=admin
    )
    assert rotated.status_code == 200
    (record,) = await trail(api, tokens, rotated)
    assert record["after"]["secret_rotated"] is True
    assert "a-brand-new-secret-0001" not in str(record)
    async with core_app.state.services.db.session() as session:
        row = await session.get(WebhookSubscription, uuid.UUID(hook["id"]))
    assert row is not None and "a-brand-new-secret-0001" not in row.secret
    key = core_app.state.services.settings.webhooks.secrets_key
    assert open_secret(row.secret, key, row.id) == "a-brand-new-secret-0001"

    # Nothing changes: nothing is recorded.
    same = await api.patch(f"/webhooks/{hook['id']}", json={"name": "Renamed"}, headers=admin)
    assert same.status_code == 200
    assert await trail(api, tokens, same) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": None}, "url"),
        ({"url": "gopher://x"}, "url"),
        ({"events": ["nope.never"]}, "events"),
        ({"events": []}, "events"),
        ({"is_active": None}, "is_active"),
        ({"secret": "tiny"}, "secret"),
        ({"id": str(uuid.uuid4())}, "id"),
    ],
)
async def test_bad_patches_change_nothing(api, tokens, fields, field):
    hook = (await create(api, tokens)).json()
    admin = await h(tokens, "admin")
    response = await api.patch(f"/webhooks/{hook['id']}", json=fields, headers=admin)
    assert response.status_code == 400, response.text
    assert any(field in d["field"] for d in response.json()["details"])
    after = (await api.get(f"/webhooks/{hook['id']}", headers=admin)).json()
    assert after == {k: v for k, v in hook.items() if k != "secret"}


async def test_delete_removes_it_for_the_api_and_audits(api, tokens):
    hook = (await create(api, tokens)).json()
    admin = await h(tokens, "admin")
    response = await api.delete(f"/webhooks/{hook['id']}", headers=admin)
    assert response.status_code == 204
    (record,) = await trail(api, tokens, response)
    assert (record["action"], record["entity_id"]) == ("webhook.deleted", hook["id"])
    for method, path in (
        ("GET", f"/webhooks/{hook['id']}"),
        ("DELETE", f"/webhooks/{hook['id']}"),
        ("GET", f"/webhooks/{hook['id']}/deliveries"),
    ):
        gone = await api.request(method, path, headers=admin)
        assert (gone.status_code, gone.json()["code"]) == (404, "RESOURCE_NOT_FOUND")
    patched = await api.patch(f"/webhooks/{hook['id']}", json={"name": "x"}, headers=admin)
    assert patched.status_code == 404
    listed = await api.get("/webhooks", params={"limit": 200}, headers=admin)
    assert hook["id"] not in [w["id"] for w in listed.json()["webhooks"]]


async def test_another_tenants_webhook_is_a_404(api, tokens):
    hook = (await create(api, tokens)).json()
    fmfb = headers(await tokens.for_role("other_tenant"), OTHER_TENANT)
    for method, path, kwargs in (
        ("GET", f"/webhooks/{hook['id']}", {}),
        ("PATCH", f"/webhooks/{hook['id']}", {"json": {"name": "mine now"}}),
        ("DELETE", f"/webhooks/{hook['id']}", {}),
        ("GET", f"/webhooks/{hook['id']}/deliveries", {}),
        ("POST", f"/webhooks/{hook['id']}/deliveries/{uuid.uuid4()}/retry", {"json": {}}),
    ):
        response = await api.request(method, path, headers=fmfb, **kwargs)
        assert (response.status_code, response.json()["code"]) == (404, "RESOURCE_NOT_FOUND")
    listed = await api.get("/webhooks", params={"limit": 200}, headers=fmfb)
    assert hook["id"] not in [w["id"] for w in listed.json()["webhooks"]]
    still = await api.get(f"/webhooks/{hook['id']}", headers=await h(tokens, "admin"))
    assert still.json()["name"] == hook["name"]


@pytest.mark.parametrize("raw", ["not-a-uuid", str(uuid.uuid4())])
async def test_unknown_ids_are_404(api, tokens, raw):
    admin = await h(tokens, "admin")
    for method, path in (
        ("GET", f"/webhooks/{raw}"),
        ("DELETE", f"/webhooks/{raw}"),
        ("GET", f"/webhooks/{raw}/deliveries"),
    ):
        response = await api.request(method, path, headers=admin)
        assert response.status_code == 404
    hook = (await create(api, tokens)).json()
    retry = await api.post(f"/webhooks/{hook['id']}/deliveries/{raw}/retry", json={}, headers=admin)
    assert (retry.status_code, retry.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


async def test_deliveries_page_of_a_new_webhook_and_its_bad_queries(api, tokens):
    hook = (await create(api, tokens)).json()
    admin = await h(tokens, "admin")
    page = await api.get(f"/webhooks/{hook['id']}/deliveries", headers=admin)
    assert page.json() == {"deliveries": [], "has_more": False, "next_cursor": None}
    bad_status = await api.get(
        f"/webhooks/{hook['id']}/deliveries", params={"status": "LOST"}, headers=admin
    )
    assert (bad_status.status_code, bad_status.json()["details"][0]["field"]) == (400, "status")
    bad_cursor = await api.get(
        f"/webhooks/{hook['id']}/deliveries", params={"cursor": "nope"}, headers=admin
    )
    assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (400, "INVALID_FORMAT")


async def test_the_webhook_list_pages_by_keyset(api, tokens):
    for _ in range(3):
        await create(api, tokens)
    admin = await h(tokens, "admin")
    first = (await api.get("/webhooks", params={"limit": 2}, headers=admin)).json()
    assert first["has_more"] is True
    second = (
        await api.get(
            "/webhooks", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin
        )
    ).json()
    seen = [w["id"] for w in first["webhooks"] + second["webhooks"]]
    assert len(set(seen)) == 4
    stamps = [w["created_at"] for w in first["webhooks"] + second["webhooks"]]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize("who", ["viewer", "teller", "officer", "manager"])
async def test_webhooks_are_for_admins_only(api, tokens, who):
    response = await api.post("/webhooks", json=body(), headers=await h(tokens, who))
    assert (response.status_code, response.json()["code"]) == (403, "INSUFFICIENT_ROLE")


# -- the production URL policy ------------------------------------------------------------


async def no_dns(host: str, port: int) -> list:  # type: ignore[type-arg]
    """A resolver for these unit checks: names map to a public address, no query is sent."""
    import ipaddress

    return [ipaddress.ip_address("8.8.8.8")]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.example.com/in", True),
        ("http://hooks.example.com/in", False),  # https required
        ("https://127.0.0.1/in", False),
        ("https://localhost:8443/in", False),
        ("https://api.localhost/in", False),
        ("https://10.1.2.3/in", False),
        ("https://192.168.0.10/in", False),
        ("https://172.16.5.4/in", False),
        ("https://169.254.169.254/latest/meta-data", False),  # cloud metadata
        ("https://100.64.0.1/in", False),  # carrier-grade NAT
        ("https://[::1]/in", False),
        ("https://[fd00::1]/in", False),
        ("https://[::ffff:10.0.0.1]/in", False),
        ("https://0.0.0.0/in", False),
        ("https://8.8.8.8/in", True),
    ],
)
async def test_production_requires_https_and_public_addresses(settings, url, allowed):
    strict = dataclasses.replace(settings.webhooks, require_https=True)
    if allowed:
        await check_url_policy(url, strict, resolver=no_dns)
    else:
        with pytest.raises(ApiError) as refused:
            await check_url_policy(url, strict, resolver=no_dns)
        assert refused.value.code == "VALIDATION_ERROR"
        assert refused.value.details[0]["field"] == "url"
    # Outside production only https is relaxed: internal addresses are refused in every mode.
    relaxed = dataclasses.replace(settings.webhooks, require_https=False)
    if allowed or url.startswith("http://"):
        await check_url_policy(url, relaxed, resolver=no_dns)
    else:
        with pytest.raises(ApiError) as refused:
            await check_url_policy(url, relaxed, resolver=no_dns)
        assert (refused.value.code, refused.value.status) == ("VALIDATION_ERROR", 422)


def test_production_defaults(monkeypatch, tmp_path):
    from app.settings import load_settings

    monkeypatch.setenv("BRANCHDESK_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("BRANCHDESK_PRODUCTION", "true")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    # What production mode needs besides (tests/unit/test_production_settings.py).
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/bank")
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("CONSOLE_WEBHOOK_SECRET", "w" * 32)
    monkeypatch.setenv("WEBHOOK_SECRETS_KEY", "s" * 32)
    monkeypatch.setenv("IDENTITY_SECRETS_KEY", "i" * 32)
    monkeypatch.delenv("WEBHOOK_ALLOWED_TARGETS", raising=False)
    monkeypatch.setenv("CONSOLE_WEBHOOK_URL", "https://console.bank.example/webhooks/cba")
    production = load_settings().webhooks
    assert production.require_https
    # Only the console's own receiver is admitted among internal targets, that URL exactly.
    assert [str(t) for t in production.allowed_targets] == [
        "https://console.bank.example:443/webhooks/cba"
    ]

"""/api-keys: machine clients, their scopes, and revocation of their tokens."""

import uuid

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditLog
from app.core.auth.models import ApiKey, AuthSession
from app.core.auth.passwords import hash_secret
from app.core.permissions import scopes_for_role
from tests.support import TENANT, headers


async def audit_rows(core_app, response, action):  # type: ignore[no-untyped-def]
    """The audit records the request of ``response`` wrote with ``action``."""
    request_id = response.headers["x-request-id"]
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(
            sa.select(AuditLog).where(AuditLog.request_id == request_id, AuditLog.action == action)
        )
        return list(rows.scalars().all())


def fields(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {d["field"] for d in response.json()["details"]}


async def create_key(api, tokens, **body):  # type: ignore[no-untyped-def]
    body = {"name": f"key-{uuid.uuid4().hex[:8]}", "role": "admin", **body}
    response = await api.post("/api-keys", json=body, headers=await tokens.headers_for("admin"))
    assert response.status_code == 201, response.text
    return response


async def key_token(api, secret):  # type: ignore[no-untyped-def]
    return await api.post("/auth/token", json={"api_key": secret}, headers=headers(None, TENANT))


async def test_key_lifecycle(api, tokens, core_app):
    admin = await tokens.headers_for("admin")
    response = await create_key(api, tokens, scopes=["gl:read", "customers:read"])
    key = response.json()
    secret = key["api_key"]
    assert secret.startswith("bdk_")
    assert key["prefix"] == secret[:12]
    assert key["role"] == "admin"
    assert key["scopes"] == ["customers:read", "gl:read"]
    assert key["branch_id"] == "001"  # the creating admin's branch
    assert key["revoked_at"] is None
    (record,) = await audit_rows(core_app, response, "api_key.created")
    assert record.entity_id == key["id"]
    assert secret not in str(record.after)
    # Only the hash is stored.
    async with core_app.state.services.db.session() as session:
        row = await session.get(ApiKey, uuid.UUID(key["id"]))
        assert row is not None and row.key_hash == hash_secret(secret)

    # Shown once: the list never carries the secret.
    listed = await api.get("/api-keys", headers=admin)
    assert listed.status_code == 200
    assert set(listed.json()) == {"api_keys", "has_more", "next_cursor"}
    assert secret not in listed.text
    mine = [k for k in listed.json()["api_keys"] if k["id"] == key["id"]]
    assert mine and "api_key" not in mine[0]

    # The key's token carries exactly its scopes.
    issued = await key_token(api, secret)
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    me = (await api.get("/auth/me", headers=headers(token))).json()
    assert me["kind"] == "api_key"
    assert sorted(me["scopes"]) == ["customers:read", "gl:read"]
    assert me["branch_id"] == "001"
    assert (await api.get("/tenant", headers=headers(token))).status_code == 200
    outside = await api.get("/users", headers=headers(token))
    assert outside.status_code == 403
    assert outside.json()["code"] == "INSUFFICIENT_SCOPE"

    # Revoking it revokes its tokens and refuses the key.
    response = await api.delete(f"/api-keys/{key['id']}", headers=admin)
    assert response.status_code == 204, response.text
    assert response.content == b""
    (record,) = await audit_rows(core_app, response, "api_key.revoked")
    assert record.entity_id == key["id"]
    revoked = await api.get("/auth/me", headers=headers(token))
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "TOKEN_REVOKED"
    refused = await key_token(api, secret)
    assert refused.status_code == 401
    assert refused.json()["code"] == "INVALID_CREDENTIALS"
    refreshed = await api.post(
        "/auth/refresh",
        json={"refresh_token": issued.json()["refresh_token"]},
        headers=headers(None, TENANT),
    )
    assert refreshed.status_code == 401
    async with core_app.state.services.db.session() as session:
        auth_session = await session.get(AuthSession, uuid.UUID(key["id"]))
        assert auth_session is not None and auth_session.revoked_at is not None
    listed = (await api.get("/api-keys", headers=admin)).json()["api_keys"]
    assert next(k for k in listed if k["id"] == key["id"])["revoked_at"] is not None

    # Deleting again changes nothing.
    again = await api.delete(f"/api-keys/{key['id']}", headers=admin)
    assert again.status_code == 204
    assert await audit_rows(core_app, again, "api_key.revoked") == []


async def test_default_scopes_are_the_roles(api, tokens):
    key = (await create_key(api, tokens, role="officer")).json()
    assert key["scopes"] == scopes_for_role("officer")
    admin_key = (await create_key(api, tokens)).json()
    token = (await key_token(api, admin_key["api_key"])).json()["access_token"]
    response = await api.get("/users", params={"limit": 1}, headers=headers(token))
    assert response.status_code == 200, response.text
    officer_token = (await key_token(api, key["api_key"])).json()["access_token"]
    response = await api.get("/api-keys", headers=headers(officer_token))
    assert response.status_code == 403
    assert response.json()["code"] == "INSUFFICIENT_ROLE"


async def test_create_key_validation(api, tokens):
    admin = await tokens.headers_for("admin")
    response = await api.post(
        "/api-keys", json={"name": "", "role": "emperor", "scopes": "all"}, headers=admin
    )
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert fields(response) == {"name", "role", "scopes"}

    response = await api.post(
        "/api-keys",
        json={"name": "reporting", "role": "viewer", "scopes": ["gl:read", "admin:full"]},
        headers=admin,
    )
    assert response.status_code == 400
    assert fields(response) == {"scopes"}
    assert "admin:full" in response.json()["details"][0]["reason"]

    response = await api.post(
        "/api-keys", json={"name": "empty", "role": "viewer", "scopes": []}, headers=admin
    )
    assert response.status_code == 400
    assert fields(response) == {"scopes"}

    response = await api.post("/api-keys", json={}, headers=admin)
    assert response.status_code == 400
    assert response.json()["code"] == "MISSING_FIELD"
    assert fields(response) == {"name", "role"}


async def test_list_api_keys_pages(api, tokens):
    admin = await tokens.headers_for("admin")
    made = [(await create_key(api, tokens)).json()["id"] for _ in range(3)]
    page1 = (await api.get("/api-keys", params={"limit": 2}, headers=admin)).json()
    assert [k["id"] for k in page1["api_keys"]] == made[::-1][:2]
    assert page1["has_more"] is True
    page2 = (
        await api.get(
            "/api-keys", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=admin
        )
    ).json()
    assert page2["api_keys"][0]["id"] == made[0]
    bad = await api.get("/api-keys", params={"cursor": "garbage"}, headers=admin)
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_FORMAT"
    # The other tenant sees none of them.
    other = (await api.get("/api-keys", headers=await tokens.headers_for("other_tenant"))).json()
    assert not {k["id"] for k in other["api_keys"]} & set(made)


async def test_other_tenant_key_is_404(api, tokens):
    key = (await create_key(api, tokens)).json()
    other = await tokens.headers_for("other_tenant")
    response = await api.delete(f"/api-keys/{key['id']}", headers=other)
    assert response.status_code == 404
    assert response.json()["code"] == "RESOURCE_NOT_FOUND"
    for missing in (str(uuid.uuid4()), "nope"):
        response = await api.delete(
            f"/api-keys/{missing}", headers=await tokens.headers_for("admin")
        )
        assert response.status_code == 404
    # Still valid for its own tenant.
    assert (await key_token(api, key["api_key"])).status_code == 200
    # And useless for the other tenant.
    response = await api.post(
        "/auth/token", json={"api_key": key["api_key"]}, headers=headers(None, "fmfb")
    )
    assert response.status_code == 401


@pytest.mark.parametrize("role", ["viewer", "teller", "officer", "manager"])
async def test_non_admins_get_insufficient_role(api, tokens, role):
    caller = await tokens.headers_for(role)
    calls = [
        ("GET", "/api-keys", None),
        ("POST", "/api-keys", {"name": "x", "role": "viewer"}),
        ("DELETE", f"/api-keys/{uuid.uuid4()}", None),
    ]
    for method, path, body in calls:
        response = await api.request(method, path, json=body, headers=caller)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "INSUFFICIENT_ROLE"

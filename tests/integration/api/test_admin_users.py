"""/users: staff administration, its audit trail, and what it does to sign-ins."""

import uuid

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditLog
from tests.support import TENANT, headers

PASSWORD = "Correct-horse-42"


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


def unique_email(tag: str = "staff") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@demo.bank"


async def create_user(api, tokens, **overrides):  # type: ignore[no-untyped-def]
    body = {
        "email": unique_email(),
        "name": "Kemi Cashier",
        "password": PASSWORD,
        "roles": ["teller"],
        "branch_id": "001",
        **overrides,
    }
    response = await api.post("/users", json=body, headers=await tokens.headers_for("admin"))
    assert response.status_code == 201, response.text
    return response.json()


async def login(api, email, password=PASSWORD):  # type: ignore[no-untyped-def]
    return await api.post(
        "/auth/login", json={"email": email, "password": password}, headers=headers(None, TENANT)
    )


async def test_create_user_can_sign_in(api, tokens, core_app):
    admin = await tokens.headers_for("admin")
    email = unique_email("new")
    response = await api.post(
        "/users",
        json={
            "email": email.upper(),
            "name": " Ngozi Officer ",
            "password": PASSWORD,
            "roles": ["officer", "viewer"],
            "branch_id": "002",
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {
        "id",
        "email",
        "name",
        "roles",
        "branch_id",
        "is_active",
        "locked_until",
        "failed_login_count",
        "last_login_at",
        "created_at",
    }
    assert user["email"] == email
    assert user["name"] == "Ngozi Officer"
    assert user["roles"] == ["viewer", "officer"]
    assert user["branch_id"] == "002"
    assert user["is_active"] is True
    assert user["failed_login_count"] == 0
    assert user["locked_until"] is None and user["last_login_at"] is None
    assert user["created_at"].endswith("Z")
    assert PASSWORD not in response.text and "argon2" not in response.text

    (record,) = await audit_rows(core_app, response, "user.created")
    assert record.entity_id == user["id"]
    assert record.actor_email == "admin@demo.bank"
    assert record.after["roles"] == ["viewer", "officer"]
    assert "password" not in str(record.after) and PASSWORD not in str(record.after)

    signed_in = await login(api, email)
    assert signed_in.status_code == 200, signed_in.text
    me = await api.get("/auth/me", headers=headers(signed_in.json()["access_token"]))
    assert me.status_code == 200
    assert me.json()["roles"] == ["viewer", "officer"]
    assert me.json()["branch_id"] == "002"
    assert "customers:write" in me.json()["scopes"]
    assert "audit:read" not in me.json()["scopes"]

    fetched = await api.get(f"/users/{user['id']}", headers=admin)
    assert fetched.status_code == 200
    assert fetched.json()["last_login_at"] is not None


async def test_create_user_at_a_new_branch(api, tokens):
    admin = await tokens.headers_for("admin")
    code = uuid.uuid4().hex[:6]
    assert (
        await api.post("/branches", json={"code": code, "name": "Yaba"}, headers=admin)
    ).status_code == 201
    user = await create_user(api, tokens, branch_id=code.upper())
    assert user["branch_id"] == code  # the branch's own spelling


async def test_create_user_validation_lists_every_field(api, tokens):
    admin = await tokens.headers_for("admin")
    response = await api.post(
        "/users",
        json={
            "email": "not-an-email",
            "name": "",
            "password": "short",
            "roles": ["teller", "superuser"],
            "branch_id": "",
        },
        headers=admin,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    names = fields(response)
    assert {"email", "name", "password", "branch_id"} <= names
    assert any(name.startswith("roles") for name in names)

    response = await api.post(
        "/users", json={"email": unique_email(), "name": "No Roles"}, headers=admin
    )
    assert response.status_code == 400
    assert response.json()["code"] == "MISSING_FIELD"
    assert fields(response) == {"password", "roles", "branch_id"}

    base = {"email": unique_email(), "name": "X", "password": PASSWORD, "branch_id": "001"}
    response = await api.post("/users", json={**base, "roles": []}, headers=admin)
    assert response.status_code == 400
    assert fields(response) == {"roles"}
    response = await api.post(
        "/users", json={**base, "roles": ["teller"], "branch_id": "999"}, headers=admin
    )
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert fields(response) == {"branch_id"}


async def test_duplicate_email_is_409(api, tokens):
    user = await create_user(api, tokens)
    response = await api.post(
        "/users",
        json={
            "email": user["email"].upper(),
            "name": "Twin",
            "password": PASSWORD,
            "roles": ["viewer"],
            "branch_id": "001",
        },
        headers=await tokens.headers_for("admin"),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "DUPLICATE_RESOURCE"
    # The seeded email of the other tenant is free here (emails are unique per tenant).
    response = await api.post(
        "/users",
        json={
            "email": "teller@fmfb.bank",
            "name": "Namesake",
            "password": PASSWORD,
            "roles": ["viewer"],
            "branch_id": "001",
        },
        headers=await tokens.headers_for("admin"),
    )
    assert response.status_code in {201, 409}  # 409 only if an earlier run created it
    if response.status_code == 409:
        assert response.json()["code"] == "DUPLICATE_RESOURCE"


async def test_list_users_pages_and_filters(api, tokens):
    admin = await tokens.headers_for("admin")
    tag = uuid.uuid4().hex[:10]
    created = [
        await create_user(api, tokens, name=f"Pager {tag} {i}", roles=[role], branch_id=branch)
        for i, (role, branch) in enumerate(
            [("teller", "001"), ("officer", "002"), ("teller", "002")]
        )
    ]
    newest_first = [u["id"] for u in reversed(created)]

    page1 = await api.get("/users", params={"q": tag, "limit": 2}, headers=admin)
    assert page1.status_code == 200, page1.text
    body = page1.json()
    assert set(body) == {"users", "has_more", "next_cursor"}
    assert [u["id"] for u in body["users"]] == newest_first[:2]
    assert body["has_more"] is True and body["next_cursor"]
    page2 = await api.get(
        "/users", params={"q": tag, "limit": 2, "cursor": body["next_cursor"]}, headers=admin
    )
    assert [u["id"] for u in page2.json()["users"]] == newest_first[2:]
    assert page2.json()["has_more"] is False and page2.json()["next_cursor"] is None

    async def ids(**params):  # type: ignore[no-untyped-def]
        response = await api.get("/users", params={"q": tag, **params}, headers=admin)
        assert response.status_code == 200, response.text
        return [u["id"] for u in response.json()["users"]]

    assert await ids(role="teller") == [created[2]["id"], created[0]["id"]]
    assert await ids(branch_id="002") == [created[2]["id"], created[1]["id"]]
    assert await ids(role="teller", branch_id="002") == [created[2]["id"]]
    assert await ids(q=created[1]["email"].upper()) == [created[1]["id"]]
    assert await ids(active="false") == []
    assert len(await ids(active="true")) == 3

    # Whole-tenant listing walks every page without repeats, and never the other tenant.
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/users", params=params, headers=admin)).json()
        seen += [u["email"] for u in page["users"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen))
    assert "admin@demo.bank" in seen and "admin@fmfb.bank" not in seen


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cursor": "not-a-cursor"}, "INVALID_FORMAT"),
        ({"cursor": "WyJ4Il0"}, "INVALID_FORMAT"),
        ({"limit": 0}, "VALIDATION_ERROR"),
        ({"limit": 201}, "VALIDATION_ERROR"),
        ({"role": "king"}, "VALIDATION_ERROR"),
        ({"active": "maybe"}, "VALIDATION_ERROR"),
    ],
)
async def test_list_users_bad_query(api, tokens, params, code):
    response = await api.get("/users", params=params, headers=await tokens.headers_for("admin"))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code


async def test_patch_user_roles_and_branch(api, tokens, core_app):
    admin = await tokens.headers_for("admin")
    user = await create_user(api, tokens)
    old_token = (await login(api, user["email"])).json()["access_token"]

    response = await api.patch(
        f"/users/{user['id']}",
        json={"name": "Kemi Manager", "roles": ["manager"], "branch_id": "002"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["name"], updated["roles"], updated["branch_id"]) == (
        "Kemi Manager",
        ["manager"],
        "002",
    )
    (record,) = await audit_rows(core_app, response, "user.updated")
    assert record.before == {
        "name": "Kemi Cashier",
        "roles": ["teller"],
        "branch_id": "001",
        "is_active": True,
    }
    assert record.after == {
        "name": "Kemi Manager",
        "roles": ["manager"],
        "branch_id": "002",
        "is_active": True,
    }
    # The old token carried the old rights: it is revoked, a new sign-in has the new ones.
    stale = await api.get("/auth/me", headers=headers(old_token))
    assert stale.status_code == 401
    assert stale.json()["code"] == "TOKEN_REVOKED"
    fresh = (await login(api, user["email"])).json()["access_token"]
    me = (await api.get("/auth/me", headers=headers(fresh))).json()
    assert me["roles"] == ["manager"] and me["branch_id"] == "002"

    # A name-only change keeps the sessions.
    response = await api.patch(f"/users/{user['id']}", json={"name": "Kemi M."}, headers=admin)
    assert response.status_code == 200
    assert (await api.get("/auth/me", headers=headers(fresh))).status_code == 200


async def test_patch_user_validation(api, tokens):
    admin = await tokens.headers_for("admin")
    user = await create_user(api, tokens)
    response = await api.patch(
        f"/users/{user['id']}",
        json={"name": None, "roles": ["root"], "is_active": "no", "email": "x@y.z"},
        headers=admin,
    )
    assert response.status_code == 400
    names = fields(response)
    assert {"name", "is_active", "email"} <= names
    assert any(name.startswith("roles") for name in names)
    response = await api.patch(f"/users/{user['id']}", json={"branch_id": "nope"}, headers=admin)
    assert response.status_code == 400
    assert fields(response) == {"branch_id"}


async def test_deactivation_revokes_and_refuses_sign_in(api, tokens, core_app):
    admin = await tokens.headers_for("admin")
    user = await create_user(api, tokens)
    token = (await login(api, user["email"])).json()["access_token"]
    assert (await api.get("/auth/me", headers=headers(token))).status_code == 200

    response = await api.patch(f"/users/{user['id']}", json={"is_active": False}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert len(await audit_rows(core_app, response, "user.updated")) == 1
    (revoked,) = await audit_rows(core_app, response, "user.sessions_revoked")
    assert revoked.after == {"revoked": 1, "reason": "deactivated"}

    response = await api.get("/auth/me", headers=headers(token))
    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_REVOKED"
    refused = await login(api, user["email"])
    assert refused.status_code == 401
    assert refused.json()["code"] == "INVALID_CREDENTIALS"

    response = await api.patch(f"/users/{user['id']}", json={"is_active": True}, headers=admin)
    assert response.status_code == 200
    assert (await login(api, user["email"])).status_code == 200


async def test_admin_cannot_deactivate_or_demote_self(api, tokens):
    admin = await tokens.headers_for("admin")
    me = (await api.get("/auth/me", headers=admin)).json()
    for change in ({"is_active": False}, {"roles": ["manager"]}):
        response = await api.patch(f"/users/{me['id']}", json=change, headers=admin)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "INVALID_STATE"
    response = await api.patch(
        f"/users/{me['id']}", json={"roles": ["admin"], "is_active": True}, headers=admin
    )
    assert response.status_code == 200
    assert (await api.get("/auth/me", headers=admin)).status_code == 200  # nothing changed


async def test_revoke_sessions(api, tokens, core_app):
    admin = await tokens.headers_for("admin")
    user = await create_user(api, tokens)
    first = (await login(api, user["email"])).json()
    second = (await login(api, user["email"])).json()

    response = await api.post(f"/users/{user['id']}/revoke-sessions", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 2}
    (record,) = await audit_rows(core_app, response, "user.sessions_revoked")
    assert record.entity_id == user["id"]
    for pair in (first, second):
        stale = await api.get("/auth/me", headers=headers(pair["access_token"]))
        assert stale.status_code == 401
        assert stale.json()["code"] == "TOKEN_REVOKED"
        refreshed = await api.post(
            "/auth/refresh",
            json={"refresh_token": pair["refresh_token"]},
            headers=headers(None, TENANT),
        )
        assert refreshed.status_code == 401
    # Signing in again works; nothing is left to revoke the second time round... but one.
    assert (await login(api, user["email"])).status_code == 200
    again = await api.post(f"/users/{user['id']}/revoke-sessions", json={}, headers=admin)
    assert again.json() == {"revoked": 1}


async def test_unlock_lets_a_locked_user_sign_in(api, tokens, core_app, settings):
    admin = await tokens.headers_for("admin")
    user = await create_user(api, tokens)
    for _ in range(settings.auth.lockout_threshold):
        failed = await login(api, user["email"], "Wrong-password-1")
        assert failed.status_code == 401
    locked = await login(api, user["email"])
    assert locked.status_code == 403
    assert locked.json()["code"] == "ACCOUNT_LOCKED"
    shown = (await api.get(f"/users/{user['id']}", headers=admin)).json()
    assert shown["locked_until"] is not None
    assert shown["failed_login_count"] == settings.auth.lockout_threshold

    response = await api.post(f"/users/{user['id']}/unlock", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["locked_until"] is None
    assert response.json()["failed_login_count"] == 0
    (record,) = await audit_rows(core_app, response, "user.unlocked")
    assert record.before["failed_login_count"] == settings.auth.lockout_threshold
    assert record.before["locked_until"] is not None
    assert record.after == {"failed_login_count": 0, "locked_until": None}

    assert (await login(api, user["email"])).status_code == 200


async def test_other_tenant_ids_are_404(api, tokens):
    user = await create_user(api, tokens)
    other = await tokens.headers_for("other_tenant")
    calls = [
        ("GET", f"/users/{user['id']}", None),
        ("PATCH", f"/users/{user['id']}", {"name": "Hijack"}),
        ("POST", f"/users/{user['id']}/unlock", None),
        ("POST", f"/users/{user['id']}/revoke-sessions", None),
    ]
    for method, path, body in calls:
        response = await api.request(method, path, json=body, headers=other)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "RESOURCE_NOT_FOUND"
    admin = await tokens.headers_for("admin")
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        response = await api.get(f"/users/{missing}", headers=admin)
        assert response.status_code == 404
        assert response.json()["code"] == "RESOURCE_NOT_FOUND"
    # Nothing changed on our side.
    assert (await api.get(f"/users/{user['id']}", headers=admin)).json()["name"] == user["name"]


@pytest.mark.parametrize("role", ["viewer", "teller", "officer", "manager"])
async def test_non_admins_get_insufficient_role(api, tokens, role):
    caller = await tokens.headers_for(role)
    target = str(uuid.uuid4())
    calls = [
        ("GET", "/users", None),
        ("POST", "/users", {"email": unique_email(), "name": "X"}),
        ("GET", f"/users/{target}", None),
        ("PATCH", f"/users/{target}", {"name": "X"}),
        ("POST", f"/users/{target}/unlock", None),
        ("POST", f"/users/{target}/revoke-sessions", None),
    ]
    for method, path, body in calls:
        response = await api.request(method, path, json=body, headers=caller)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "INSUFFICIENT_ROLE"

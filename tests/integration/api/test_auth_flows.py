"""Sign-in, lockout (S7), refresh rotation and reuse detection, sign-out, audit."""

import uuid

import sqlalchemy as sa
from sqlmodel import col

from app.core.audit.models import AuditLog
from app.core.auth.models import StaffUser
from app.core.auth.passwords import hash_password
from app.core.tenants.models import Tenant
from tests.support import SANDBOX_PASSWORD, TENANT, headers


async def make_user(core_app, role="teller", password="Correct#Horse1"):
    """A throwaway staff user, so lockout tests never touch the sandbox users."""
    db = core_app.state.services.db
    email = f"lock-{uuid.uuid4().hex[:10]}@demo.bank"
    async with db.writer(), db.session() as session:
        tenant = (
            await session.execute(sa.select(Tenant).where(col(Tenant.code) == TENANT))
        ).scalar_one()
        session.add(
            StaffUser(
                tenant_id=tenant.id,
                email=email,
                name="Lock Test",
                password_hash=hash_password(password),
                roles=[role],
                branch_code="001",
            )
        )
        await session.commit()
    return email, password


async def audit_actions(core_app, email):
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(
            sa.select(AuditLog.action, AuditLog.outcome)
            .where(col(AuditLog.actor_email) == email)
            .order_by(col(AuditLog.id))
        )
        return [tuple(r) for r in rows.all()]


async def login(api, email, password):
    return await api.post(
        "/auth/login", json={"email": email, "password": password}, headers=headers()
    )


async def test_login_returns_the_contract_shape(api, core_app):
    response = await login(api, "teller@demo.bank", SANDBOX_PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert body["user"]["email"] == "teller@demo.bank"
    assert body["user"]["roles"] == ["teller"]
    assert body["user"]["branch_id"] == "001"
    assert body["tenant"]["code"] == TENANT
    me = await api.get("/auth/me", headers=headers(body["access_token"]))
    assert me.status_code == 200
    assert "transactions:write" in me.json()["scopes"]
    assert "accounts:write" not in me.json()["scopes"]


async def test_email_is_case_insensitive(api):
    response = await login(api, "Teller@Demo.Bank", SANDBOX_PASSWORD)
    assert response.status_code == 200


async def test_wrong_password_and_unknown_email_look_the_same(api):
    wrong = await login(api, "teller@demo.bank", "not-the-password")
    unknown = await login(api, f"ghost-{uuid.uuid4().hex}@demo.bank", "whatever")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "INVALID_CREDENTIALS"
    assert wrong.json()["message"] == unknown.json()["message"]


async def test_five_failures_lock_the_account_and_are_audited(api, core_app):
    email, password = await make_user(core_app)
    for _ in range(5):
        response = await login(api, email, "wrong-password")
        assert response.json()["code"] == "INVALID_CREDENTIALS"
    locked = await login(api, email, password)  # even the right password now
    assert (locked.status_code, locked.json()["code"]) == (403, "ACCOUNT_LOCKED")
    actions = await audit_actions(core_app, email)
    assert actions.count(("auth.login_failed", "failure")) == 5
    assert ("auth.account_locked", "locked") in actions
    assert ("auth.login_refused", "locked") in actions


async def test_lock_expires(api, core_app):
    email, password = await make_user(core_app)
    for _ in range(5):
        await login(api, email, "wrong-password")
    db = core_app.state.services.db
    async with db.writer(), db.session() as session:  # fast-forward 15 minutes
        user = (
            await session.execute(sa.select(StaffUser).where(col(StaffUser.email) == email))
        ).scalar_one()
        user.locked_until = user.first_failed_at
        session.add(user)
        await session.commit()
    assert (await login(api, email, password)).status_code == 200


async def test_success_resets_the_failure_count(api, core_app):
    email, password = await make_user(core_app)
    for _ in range(4):
        await login(api, email, "wrong-password")
    assert (await login(api, email, password)).status_code == 200
    for _ in range(4):
        await login(api, email, "wrong-password")
    assert (await login(api, email, password)).status_code == 200


async def test_refresh_rotates_and_reuse_revokes_the_session(api, core_app):
    email, password = await make_user(core_app)
    first = (await login(api, email, password)).json()
    second = await api.post(
        "/auth/refresh", json={"refresh_token": first["refresh_token"]}, headers=headers()
    )
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert (await api.get("/auth/me", headers=headers(pair["access_token"]))).status_code == 200
    # The spent token comes back: theft is assumed and the whole session ends.
    reuse = await api.post(
        "/auth/refresh", json={"refresh_token": first["refresh_token"]}, headers=headers()
    )
    assert (reuse.status_code, reuse.json()["code"]) == (401, "INVALID_REFRESH_TOKEN")
    for token in (first["access_token"], pair["access_token"]):
        me = await api.get("/auth/me", headers=headers(token))
        assert (me.status_code, me.json()["code"]) == (401, "TOKEN_REVOKED")
    # ... including the newest refresh token.
    later = await api.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}, headers=headers()
    )
    assert later.status_code == 401
    assert ("auth.refresh_reuse_detected", "revoked") in [
        (a, o) for a, o in await audit_actions_any(core_app)
    ]


async def audit_actions_any(core_app):
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(sa.select(AuditLog.action, AuditLog.outcome))
        return [tuple(r) for r in rows.all()]


async def test_refresh_token_of_another_tenant_refused(api, core_app):
    email, password = await make_user(core_app)
    pair = (await login(api, email, password)).json()
    response = await api.post(
        "/auth/refresh",
        json={"refresh_token": pair["refresh_token"]},
        headers=headers(None, "fmfb"),
    )
    assert response.json()["code"] == "INVALID_REFRESH_TOKEN"


async def test_unknown_refresh_token(api):
    response = await api.post(
        "/auth/refresh", json={"refresh_token": "rt_" + "x" * 40}, headers=headers()
    )
    assert (response.status_code, response.json()["code"]) == (401, "INVALID_REFRESH_TOKEN")


async def test_logout_revokes_at_once_and_is_audited(api, core_app):
    email, password = await make_user(core_app)
    pair = (await login(api, email, password)).json()
    h = headers(pair["access_token"])
    assert (await api.post("/auth/logout", headers=h)).status_code == 204
    me = await api.get("/auth/me", headers=h)
    assert me.json()["code"] == "TOKEN_REVOKED"
    refresh = await api.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}, headers=headers()
    )
    assert refresh.status_code == 401
    actions = await audit_actions(core_app, email)
    assert ("auth.login", "success") in actions
    assert ("auth.logout", "success") in actions


async def test_login_audit_carries_request_id_and_ip(api, core_app):
    email, password = await make_user(core_app)
    request_id = f"req-{uuid.uuid4().hex}"
    response = await api.post(
        "/auth/login",
        json={"email": email, "password": password},
        headers={**headers(), "X-Request-ID": request_id},
    )
    assert response.status_code == 200
    async with core_app.state.services.db.session() as session:
        row = (
            await session.execute(sa.select(AuditLog).where(col(AuditLog.request_id) == request_id))
        ).scalar_one()
    assert row.action == "auth.login"
    assert row.ip == "127.0.0.1"
    assert row.actor_email == email

"""The second factor for password sign-ins (issue 14), against the real core and database.

Each test runs in a bank of its own (``private_tenant``) whose setting asks officers and
above for a TOTP factor; codes are computed from the seed the enrolment shows, as an
authenticator app would.
"""

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.audit.models import AuditLog
from app.core.auth import totp
from app.core.auth.identity_models import MfaChallenge, RecoveryCode, SecondFactor
from app.core.auth.models import StaffUser
from app.core.tenants.models import Tenant
from app.db import utcnow
from tests.integration.api.private_tenant import PrivateTenant, make_tenant
from tests.support import API, SANDBOX_PASSWORD, headers

STEP = totp.STEP_SECONDS


async def _bank(core_app: Any, api: httpx.AsyncClient, tokens: Any) -> PrivateTenant:
    bank = await make_tenant(
        core_app,
        api,
        tokens,
        branches=("001",),
        extra_staff=(("admin2", "admin", "001"),),
        sign_in=("admin", "admin2"),
    )
    changed = await api.put(
        "/tenant/settings", json={"mfa_required_role": "officer"}, headers=bank.h("admin")
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["settings"]["mfa_required_role"] == "officer"
    await _remember_users(core_app, bank)
    return bank


async def _login(api: httpx.AsyncClient, bank: PrivateTenant, who: str) -> httpx.Response:
    return await api.post(
        "/auth/login",
        json={"email": f"{who}@{bank.code}.test", "password": SANDBOX_PASSWORD},
        headers=headers(None, bank.code),
    )


async def _challenge(api: httpx.AsyncClient, bank: PrivateTenant, who: str, code: str) -> str:
    answer = await _login(api, bank, who)
    assert (answer.status_code, answer.json()["code"]) == (401, code), answer.text
    challenge: str = answer.json()["mfa"]["challenge"]
    return challenge


async def _enrol(api: httpx.AsyncClient, bank: PrivateTenant, who: str) -> dict[str, Any]:
    """Enrol ``who`` through the sign-in steps; their seed, recovery codes and tokens."""
    challenge = await _challenge(api, bank, who, "MFA_ENROLMENT_REQUIRED")
    started = await api.post(
        "/auth/mfa/enrol", json={"challenge": challenge}, headers=headers(None, bank.code)
    )
    assert started.status_code == 200, started.text
    seed = started.json()["secret"]
    confirmed = await api.post(
        "/auth/mfa/enrol/confirm",
        json={"challenge": challenge, "code": totp.code_at(seed, time.time())},
        headers=headers(None, bank.code),
    )
    assert confirmed.status_code == 200, confirmed.text
    return {"seed": seed, **confirmed.json()}


async def _audit(core_app: Any, user_id: str, action: str) -> list[AuditLog]:
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(
            sa.select(AuditLog)
            .where(col(AuditLog.entity_id) == user_id, col(AuditLog.action) == action)
            .order_by(col(AuditLog.id))
        )
        return list(rows.scalars().all())


def _verify(api: httpx.AsyncClient, bank: PrivateTenant, body: dict[str, Any]) -> Any:
    return api.post("/auth/mfa/verify", json=body, headers=headers(None, bank.code))


async def test_a_new_bank_asks_officers_and_above(core_app):
    """A tenant made without saying otherwise requires the factor from officer up."""
    tenant = Tenant(
        code="x", name="x", base_currency="NGN", timezone="Africa/Lagos", teller_approval_limit=1
    )
    assert tenant.mfa_required_role == "officer"
    async with core_app.state.services.db.session() as session:
        sandbox = (
            (await session.execute(sa.select(Tenant).where(col(Tenant.code) == "demo_bank")))
            .scalars()
            .one()
        )
    assert sandbox.mfa_required_role == "none"  # sandbox.md: the password alone


async def test_below_the_role_the_password_is_enough(core_app, api, tokens):
    bank = await _bank(core_app, api, tokens)
    answer = await _login(api, bank, "teller")
    assert answer.status_code == 200, answer.text
    assert "recovery_codes" not in answer.json()


async def test_enrolment_at_sign_in_shows_the_qr_data_and_recovery_codes_once(
    core_app, api, tokens
):
    bank = await _bank(core_app, api, tokens)
    challenge = await _challenge(api, bank, "officer", "MFA_ENROLMENT_REQUIRED")
    answer = await _login(api, bank, "officer")  # a second sign-in replaces the first step
    challenge = answer.json()["mfa"]["challenge"]
    started = await api.post(
        "/auth/mfa/enrol", json={"challenge": challenge}, headers=headers(None, bank.code)
    )
    assert started.status_code == 200, started.text
    enrolment = started.json()
    seed = enrolment["secret"]
    assert enrolment["otpauth_uri"].startswith(
        f"otpauth://totp/Branchdesk:officer@{bank.code}.test?"
    )
    assert f"secret={seed}" in enrolment["otpauth_uri"]
    # The seed is kept sealed, never as the app shows it.
    async with core_app.state.services.db.session() as session:
        factor = await session.get(SecondFactor, uuid.UUID(bank_user(bank)))
    assert factor is not None and seed not in factor.secret and factor.confirmed_at is None

    wrong = await api.post(
        "/auth/mfa/enrol/confirm",
        json={"challenge": challenge, "code": "000000"},
        headers=headers(None, bank.code),
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "INVALID_MFA_CODE")
    confirmed = await api.post(
        "/auth/mfa/enrol/confirm",
        json={"challenge": challenge, "code": totp.code_at(seed, time.time())},
        headers=headers(None, bank.code),
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert len(body["recovery_codes"]) == 10 and len(set(body["recovery_codes"])) == 10
    me = await api.get("/auth/me", headers=headers(body["access_token"], bank.code))
    assert me.status_code == 200 and me.json()["roles"] == ["officer"]
    # Stored as digests only; the challenge is spent.
    async with core_app.state.services.db.session() as session:
        kept = (
            (
                await session.execute(
                    sa.select(RecoveryCode.code_hash).where(
                        col(RecoveryCode.user_id) == uuid.UUID(bank_user(bank))
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(kept) == 10
    assert not any(code.replace("-", "") in "".join(kept) for code in body["recovery_codes"])
    again = await api.post(
        "/auth/mfa/enrol/confirm",
        json={"challenge": challenge, "code": totp.code_at(seed, time.time() + STEP)},
        headers=headers(None, bank.code),
    )
    assert (again.status_code, again.json()["code"]) == (401, "INVALID_MFA_CHALLENGE")
    (enrolled,) = await _audit(core_app, bank_user(bank), "auth.mfa_enrolled")
    assert enrolled.after == {"method": "totp", "recovery_codes": 10}


def bank_user(bank: PrivateTenant, who: str = "officer") -> str:
    return bank.users.get(who) or _USERS[(bank.code, who)]


_USERS: dict[tuple[str, str], str] = {}


async def _remember_users(core_app: Any, bank: PrivateTenant) -> None:
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(
            sa.select(StaffUser.email, StaffUser.id).where(  # type: ignore[call-overload]
                col(StaffUser.tenant_id) == uuid.UUID(bank.id)
            )
        )
        for email, user_id in rows.all():
            _USERS[(bank.code, email.split("@")[0])] = str(user_id)


async def test_sign_in_with_a_code_refuses_the_same_code_again(core_app, api, tokens):
    bank = await _bank(core_app, api, tokens)
    enrolled = await _enrol(api, bank, "manager")
    seed = enrolled["seed"]
    # The enrolment took this step's code: the next one (the app rolls over) signs in.
    code = totp.code_at(seed, time.time() + STEP)
    challenge = await _challenge(api, bank, "manager", "MFA_REQUIRED")
    answer = await _verify(api, bank, {"challenge": challenge, "code": code})
    assert answer.status_code == 200, answer.text
    (login,) = [
        r
        for r in await _audit(core_app, bank_user(bank, "manager"), "auth.login")
        if r.after == {"method": "password+totp"}
    ][-1:]
    assert login.outcome == "success"

    # The same code, seen over a shoulder, is worth nothing a second time.
    challenge = await _challenge(api, bank, "manager", "MFA_REQUIRED")
    reused = await _verify(api, bank, {"challenge": challenge, "code": code})
    assert (reused.status_code, reused.json()["code"]) == (401, "MFA_CODE_REUSED")
    older = await _verify(
        api, bank, {"challenge": challenge, "code": totp.code_at(seed, time.time())}
    )
    assert (older.status_code, older.json()["code"]) == (401, "MFA_CODE_REUSED")
    failures = await _audit(core_app, bank_user(bank, "manager"), "auth.mfa_failed")
    assert [f.after for f in failures] == [{"reason": "reused_code"}] * 2


async def test_a_recovery_code_works_once(core_app, api, tokens):
    bank = await _bank(core_app, api, tokens)
    enrolled = await _enrol(api, bank, "officer")
    recovery = enrolled["recovery_codes"][3]
    challenge = await _challenge(api, bank, "officer", "MFA_REQUIRED")
    typed = recovery.upper().replace("-", " ")  # as read off paper: case and spaces ignored
    answer = await _verify(api, bank, {"challenge": challenge, "recovery_code": typed})
    assert answer.status_code == 200, answer.text
    assert answer.json()["recovery_codes_left"] == 9
    challenge = await _challenge(api, bank, "officer", "MFA_REQUIRED")
    again = await _verify(api, bank, {"challenge": challenge, "recovery_code": recovery})
    assert (again.status_code, again.json()["code"]) == (401, "INVALID_MFA_CODE")
    assert again.json()["details"][0]["field"] == "recovery_code"


async def test_wrong_codes_lock_the_account_like_wrong_passwords(core_app, api, tokens):
    bank = await _bank(core_app, api, tokens)
    enrolled = await _enrol(api, bank, "officer")
    challenge = await _challenge(api, bank, "officer", "MFA_REQUIRED")
    right = totp.code_at(enrolled["seed"], time.time() + STEP)
    wrong = "000000" if right != "000000" else "111111"
    statuses = []
    for _ in range(5):
        answer = await _verify(api, bank, {"challenge": challenge, "code": wrong})
        statuses.append((answer.status_code, answer.json()["code"]))
    assert statuses[:4] == [(401, "INVALID_MFA_CODE")] * 4
    assert statuses[4] == (403, "ACCOUNT_LOCKED")
    # Locked: neither the right code nor the password gets through.
    answer = await _verify(api, bank, {"challenge": challenge, "code": right})
    assert answer.status_code in {401, 403}
    assert answer.json()["code"] in {"ACCOUNT_LOCKED", "INVALID_MFA_CHALLENGE"}
    locked = await _login(api, bank, "officer")
    assert (locked.status_code, locked.json()["code"]) == (403, "ACCOUNT_LOCKED")
    assert len(await _audit(core_app, bank_user(bank), "auth.account_locked")) == 1
    # An admin unlocks, as for a password lock.
    unlocked = await api.post(f"/users/{bank_user(bank)}/unlock", json={}, headers=bank.h("admin"))
    assert unlocked.status_code == 200, unlocked.text
    challenge = await _challenge(api, bank, "officer", "MFA_REQUIRED")
    answer = await _verify(api, bank, {"challenge": challenge, "code": right})
    assert answer.status_code == 200, answer.text


async def test_a_challenge_is_short_lived_and_of_its_tenant(core_app, api, tokens):
    bank = await _bank(core_app, api, tokens)
    enrolled = await _enrol(api, bank, "officer")
    challenge = await _challenge(api, bank, "officer", "MFA_REQUIRED")
    code = totp.code_at(enrolled["seed"], time.time() + STEP)
    # Another bank's header: the challenge names nothing there.
    foreign = await api.post(
        "/auth/mfa/verify",
        json={"challenge": challenge, "code": code},
        headers=headers(None, "demo_bank"),
    )
    assert (foreign.status_code, foreign.json()["code"]) == (401, "INVALID_MFA_CHALLENGE")
    async with core_app.state.services.db.writer(), core_app.state.services.db.session() as s:
        await s.execute(
            sa.update(MfaChallenge)
            .where(col(MfaChallenge.user_id) == uuid.UUID(bank_user(bank)))
            .values(expires_at=utcnow())
        )
        await s.commit()
    expired = await _verify(api, bank, {"challenge": challenge, "code": code})
    assert (expired.status_code, expired.json()["code"]) == (401, "INVALID_MFA_CHALLENGE")
    # A made-up challenge, and a body with both codes or none: refused, nothing written.
    made_up = await _verify(api, bank, {"challenge": "mfa_" + "x" * 40, "code": code})
    assert made_up.json()["code"] == "INVALID_MFA_CHALLENGE"
    for body in (
        {"challenge": challenge},
        {"challenge": challenge, "code": code, "recovery_code": "abcd"},
    ):
        bad = await _verify(api, bank, body)
        assert (bad.status_code, bad.json()["code"]) == (400, "VALIDATION_ERROR")


async def test_admin_reset_is_audited_and_ends_sessions(core_app, api, tokens):
    bank = await _bank(core_app, api, tokens)
    enrolled = await _enrol(api, bank, "officer")
    session_token = enrolled["access_token"]
    user_id = bank_user(bank)
    seen = await api.get(f"/users/{user_id}/second-factor", headers=bank.h("admin"))
    assert seen.status_code == 200, seen.text
    assert seen.json()["enrolled"] is True and seen.json()["recovery_codes_left"] == 10
    assert seen.json()["reset_needs_second_admin"] is False
    refused = await api.post(
        f"/users/{user_id}/second-factor/reset", json={"reason": ""}, headers=bank.h("admin")
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "VALIDATION_ERROR")
    reset = await api.post(
        f"/users/{user_id}/second-factor/reset",
        json={"reason": "Lost phone, ticket 4411"},
        headers=bank.h("admin"),
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["status"] == "COMPLETED"
    (record,) = await _audit(core_app, user_id, "user.second_factor_reset")
    assert record.after["reason"] == "Lost phone, ticket 4411"
    assert record.after["requested_by"] == record.after["approved_by"] == bank.users["admin"]
    assert record.actor_email == f"admin@{bank.code}.test"
    ended = await api.get("/auth/me", headers=headers(session_token, bank.code))
    assert (ended.status_code, ended.json()["code"]) == (401, "TOKEN_REVOKED")
    # The next sign-in enrols a new factor (the old seed is gone).
    await _challenge(api, bank, "officer", "MFA_ENROLMENT_REQUIRED")


@pytest.fixture
async def production_api(settings, database_ready) -> AsyncIterator[httpx.AsyncClient]:
    """The real core in production mode, on the suite's database."""
    from app.core.app import create_app

    strict = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, production=True)
    )
    app = create_app(strict)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40002))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=f"http://testserver{API}") as c:
            yield c
    finally:
        await app.state.services.close()


async def test_in_production_a_second_admin_approves_the_reset(
    core_app, api, tokens, production_api
):
    bank = await _bank(core_app, api, tokens)
    await _enrol(api, bank, "officer")
    user_id = bank_user(bank)
    requested = await production_api.post(
        f"/users/{user_id}/second-factor/reset",
        json={"reason": "New phone"},
        headers=bank.h("admin"),
    )
    assert requested.status_code == 200, requested.text
    assert requested.json()["status"] == "PENDING_APPROVAL"
    status = (
        await production_api.get(f"/users/{user_id}/second-factor", headers=bank.h("admin"))
    ).json()
    assert status["enrolled"] is True and status["pending_reset"]["reason"] == "New phone"
    twice = await production_api.post(
        f"/users/{user_id}/second-factor/reset", json={"reason": "again"}, headers=bank.h("admin2")
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "INVALID_STATE")
    own = await production_api.post(
        f"/users/{user_id}/second-factor/reset/approve", json={}, headers=bank.h("admin")
    )
    assert (own.status_code, own.json()["code"]) == (403, "SELF_APPROVAL_FORBIDDEN")
    assert await _challenge(api, bank, "officer", "MFA_REQUIRED")  # still enrolled
    approved = await production_api.post(
        f"/users/{user_id}/second-factor/reset/approve", json={}, headers=bank.h("admin2")
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "COMPLETED"
    (record,) = await _audit(core_app, user_id, "user.second_factor_reset")
    assert record.after["requested_by"] == bank.users["admin"]
    assert record.after["approved_by"] == bank.users["admin2"]
    await _challenge(api, bank, "officer", "MFA_ENROLMENT_REQUIRED")

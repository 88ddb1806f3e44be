"""Issue 10, finding 2: maker ≠ checker holds for the human behind an API key.

Each test replays the attack through the real core: an admin makes something, mints an
API key (``POST /api-keys``), exchanges it at ``/auth/token`` and decides on their own
work with it; or the other way round, a key makes it and its owner (or another key of
the same owner) decides. The one accountable person is the key's ``created_by``.
"""

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.audit.models import AuditLog
from app.core.auth.models import ApiKey
from tests.integration.api.journal_helpers import act, business_day, draft, gl, line
from tests.integration.api.ledger_helpers import (
    APPROVAL_LIMIT,
    deposit,
    expect,
    h,
    open_account,
    unique,
    withdraw,
)
from tests.support import API, TENANT, TokenCache, headers, new_key

pytestmark = pytest.mark.usefixtures("ledger_checked")

PASSWORD = "Correct-horse-42"


@dataclasses.dataclass
class Key:
    id: str
    secret: str
    token: str

    def h(self, *, key: bool = False) -> dict[str, str]:
        extra = {"Idempotency-Key": new_key()} if key else {}
        return headers(self.token, TENANT, **extra)


async def mint(
    api: httpx.AsyncClient, admin: dict[str, str], role: str = "manager", **body: Any
) -> Key:
    """POST /api-keys by ``admin``, then the key exchanged at /auth/token."""
    made = expect(
        await api.post(
            "/api-keys", json={"name": unique("mc-"), "role": role, **body}, headers=admin
        ),
        201,
    )
    issued = expect(
        await api.post(
            "/auth/token", json={"api_key": made["api_key"]}, headers=headers(None, TENANT)
        ),
        200,
    )
    return Key(made["id"], made["api_key"], issued["access_token"])


async def journal_entries(api: httpx.AsyncClient, tokens: TokenCache) -> list[dict[str, Any]]:
    chart = await gl(api, tokens)
    return [line(chart["5200"]["id"], "3.00", "debit"), line(chart["2200"]["id"], "3.00", "credit")]


async def journal_action(
    api: httpx.AsyncClient, journal_id: str, action: str, hdrs: dict[str, str]
) -> httpx.Response:
    body = {"reason": "decided by a key"} if action in ("reject", "reverse") else None
    return await api.post(f"/journals/{journal_id}/{action}", json=body, headers=hdrs)


# ---- journals ---------------------------------------------------------------------------


async def test_admin_cannot_check_own_journal_through_a_key_they_mint(api, tokens):
    admin = await h(tokens, "admin")
    own = expect(await draft(api, tokens, await journal_entries(api, tokens), who="admin"), 201)
    key = await mint(api, admin, "manager")
    for action in ("approve", "reject"):
        refused = expect(
            await journal_action(api, own["id"], action, key.h()), 403, "SELF_APPROVAL_FORBIDDEN"
        )
        assert own["journal_number"] in refused["message"]
    # Approved by someone else, the admin's key still cannot post or reverse it.
    expect(await act(api, tokens, own["id"], "approve", "manager"), 200)
    expect(await journal_action(api, own["id"], "post", key.h()), 403, "SELF_APPROVAL_FORBIDDEN")
    expect(await act(api, tokens, own["id"], "post", "manager"), 200)
    expect(
        await journal_action(api, own["id"], "reverse", key.h(key=True)),
        403,
        "SELF_APPROVAL_FORBIDDEN",
    )
    expect(await act(api, tokens, own["id"], "reverse", "manager2", reason="undo"), 200)


async def test_key_made_journal_cannot_be_checked_by_its_owner_or_a_sibling_key(api, tokens):
    admin = await h(tokens, "admin")
    maker = await mint(api, admin, "manager")
    sibling = await mint(api, admin, "manager")
    body = {
        "journal_type": "GENERAL",
        "description": f"Made by a key {unique()}",
        "transaction_date": (await business_day(api, tokens)).isoformat(),
        "effective_date": (await business_day(api, tokens)).isoformat(),
        "entries": await journal_entries(api, tokens),
    }
    made = expect(await api.post("/journals", json=body, headers=maker.h(key=True)), 201)
    for hdrs in (admin, sibling.h()):
        for action in ("approve", "reject"):
            expect(
                await journal_action(api, made["id"], action, hdrs), 403, "SELF_APPROVAL_FORBIDDEN"
            )
    expect(await act(api, tokens, made["id"], "approve", "manager"), 200)
    for hdrs in (admin, sibling.h(), maker.h()):
        expect(await journal_action(api, made["id"], "post", hdrs), 403, "SELF_APPROVAL_FORBIDDEN")
    expect(await act(api, tokens, made["id"], "post", "manager"), 200)


async def test_key_of_unknown_owner_can_make_but_never_check(api, tokens, core_app):
    """A key with no ``created_by`` (a seed's or a system's): nobody answers for its checks."""
    admin = await h(tokens, "admin")
    orphan = await mint(api, admin, "manager")
    async with core_app.state.services.db.session() as session:
        await session.execute(
            sa.update(ApiKey).where(col(ApiKey.id) == uuid.UUID(orphan.id)).values(created_by=None)
        )
        await session.commit()
    # Its tokens from now on carry no owner (the one minted above carries the admin).
    orphan.token = expect(
        await api.post(
            "/auth/token", json={"api_key": orphan.secret}, headers=headers(None, TENANT)
        ),
        200,
    )["access_token"]
    someone_elses = expect(
        await draft(api, tokens, await journal_entries(api, tokens), who="officer"), 201
    )
    refused = expect(
        await journal_action(api, someone_elses["id"], "approve", orphan.h()),
        403,
        "SELF_APPROVAL_FORBIDDEN",
    )
    assert "owner" in refused["message"]
    # It can still make: any accountable checker decides on its work.
    body = {
        "journal_type": "GENERAL",
        "description": f"Made by an orphan key {unique()}",
        "transaction_date": (await business_day(api, tokens)).isoformat(),
        "effective_date": (await business_day(api, tokens)).isoformat(),
        "entries": await journal_entries(api, tokens),
    }
    made = expect(await api.post("/journals", json=body, headers=orphan.h(key=True)), 201)
    expect(await act(api, tokens, made["id"], "reject", "officer", reason="tidy"), 200)
    expect(await act(api, tokens, someone_elses["id"], "reject", "manager", reason="tidy"), 200)


async def test_a_key_token_without_the_owner_claim_does_not_bypass(api, tokens, core_app):
    """Tokens issued before the owner claim existed: the owner is looked up, not skipped."""
    admin = await h(tokens, "admin")
    key = await mint(api, admin, "manager")
    me = expect(await api.get("/auth/me", headers=admin), 200)
    services = core_app.state.services
    async with services.db.session() as session:
        row = await session.get(ApiKey, uuid.UUID(key.id))
        assert row is not None
    tenant = expect(await api.get("/tenant", headers=admin), 200)
    legacy = services.tokens.issue_access_token(
        user_id=row.id,
        tenant_id=uuid.UUID(tenant["id"]),
        email=f"api-key:{row.name}",
        name=row.name,
        roles=[row.role],
        scopes=list(row.scopes),
        branch_code=row.branch_code,
        session_id=row.id,
        kind="api_key",
    ).token
    assert str(row.created_by) == me["id"]
    own = expect(await draft(api, tokens, await journal_entries(api, tokens), who="admin"), 201)
    expect(
        await journal_action(api, own["id"], "approve", headers(legacy, TENANT)),
        403,
        "SELF_APPROVAL_FORBIDDEN",
    )
    expect(await act(api, tokens, own["id"], "reject", "manager", reason="tidy"), 200)


# ---- pending teller transactions --------------------------------------------------------


async def funded_account(api: httpx.AsyncClient, tokens: TokenCache) -> dict[str, Any]:
    acct = await open_account(api, tokens)
    for _ in range(3):
        expect(await deposit(api, tokens, acct["id"], APPROVAL_LIMIT), 201)
    return acct


async def decide(
    api: httpx.AsyncClient, transaction_id: str, action: str, hdrs: dict[str, str]
) -> httpx.Response:
    body = {"reason": "decided"} if action == "reject" else None
    return await api.post(f"/transactions/{transaction_id}/{action}", json=body, headers=hdrs)


async def test_admin_cannot_approve_own_pending_withdrawal_through_a_key(api, tokens):
    acct = await funded_account(api, tokens)
    pending = expect(await withdraw(api, tokens, acct["id"], "1500000.00", who="admin"), 201)
    assert pending["status"] == "PENDING_APPROVAL"
    key = await mint(api, await h(tokens, "admin"), "manager")
    for action in ("approve", "reject"):
        expect(await decide(api, pending["id"], action, key.h()), 403, "SELF_APPROVAL_FORBIDDEN")
    expect(await decide(api, pending["id"], "reject", await h(tokens, "manager")), 200)


async def test_key_made_pending_withdrawal_cannot_be_approved_by_its_owner(api, tokens):
    acct = await funded_account(api, tokens)
    admin = await h(tokens, "admin")
    maker = await mint(api, admin, "manager")
    sibling = await mint(api, admin, "officer")
    made = expect(
        await api.post(
            "/withdrawals",
            json={"account_id": acct["id"], "amount": "1500000.00", "currency": "NGN"},
            headers=maker.h(key=True),
        ),
        201,
    )
    assert made["status"] == "PENDING_APPROVAL"
    for hdrs in (admin, sibling.h(), maker.h()):
        for action in ("approve", "reject"):
            expect(await decide(api, made["id"], action, hdrs), 403, "SELF_APPROVAL_FORBIDDEN")
    approved = expect(await decide(api, made["id"], "approve", await h(tokens, "officer")), 200)
    assert approved["status"] == "COMPLETED"


# ---- standing instructions --------------------------------------------------------------


async def standing_body(api: httpx.AsyncClient, tokens: TokenCache) -> dict[str, Any]:
    source = await open_account(api, tokens, initial_deposit="100.00")
    target = await open_account(api, tokens)
    today: date = await business_day(api, tokens)
    return {
        "source_account_id": source["id"],
        "destination_account_id": target["id"],
        "amount": "10.00",
        "currency": "NGN",
        "frequency": "MONTHLY",
        "start_date": today.isoformat(),
        "narration": "rent",
    }


async def cancel(api: httpx.AsyncClient, tokens: TokenCache, instruction_id: str) -> None:
    expect(
        await api.post(
            f"/standing-instructions/{instruction_id}/cancel",
            json={"reason": "test over"},
            headers=await h(tokens, "manager"),
        ),
        200,
    )


async def test_admin_cannot_approve_own_standing_instruction_through_a_key(api, tokens):
    admin = await h(tokens, "admin")
    made = expect(
        await api.post(
            "/standing-instructions", json=await standing_body(api, tokens), headers=admin
        ),
        201,
    )
    key = await mint(api, admin, "manager")
    expect(
        await api.post(f"/standing-instructions/{made['id']}/approve", headers=key.h()),
        403,
        "SELF_APPROVAL_FORBIDDEN",
    )
    await cancel(api, tokens, made["id"])


async def test_key_made_standing_instruction_cannot_be_approved_by_its_owner(api, tokens):
    admin = await h(tokens, "admin")
    maker = await mint(api, admin, "manager")
    sibling = await mint(api, admin, "manager")
    made = expect(
        await api.post(
            "/standing-instructions",
            json=await standing_body(api, tokens),
            headers=maker.h(key=True),
        ),
        201,
    )
    for hdrs in (admin, sibling.h(), maker.h()):
        expect(
            await api.post(f"/standing-instructions/{made['id']}/approve", headers=hdrs),
            403,
            "SELF_APPROVAL_FORBIDDEN",
        )
    approved = expect(
        await api.post(
            f"/standing-instructions/{made['id']}/approve", headers=await h(tokens, "manager")
        ),
        200,
    )
    assert approved["status"] == "ACTIVE"
    await cancel(api, tokens, made["id"])


# ---- deactivating or demoting the owner revokes the keys ---------------------------------


async def second_admin(api: httpx.AsyncClient, tokens: TokenCache) -> tuple[str, dict[str, str]]:
    """A fresh admin of demo_bank (unique e-mail), signed in: (user ID, headers)."""
    email = f"mc-admin-{uuid.uuid4().hex[:12]}@demo.bank"
    user = expect(
        await api.post(
            "/users",
            json={
                "email": email,
                "name": "Second Admin",
                "password": PASSWORD,
                "roles": ["admin"],
                "branch_id": "001",
            },
            headers=await h(tokens, "admin"),
        ),
        201,
    )
    body = await tokens.login(email, TENANT, PASSWORD)
    return user["id"], headers(body["access_token"], TENANT)


async def assert_key_dead(api: httpx.AsyncClient, key: Key) -> None:
    me = await api.get("/auth/me", headers=key.h())
    assert (me.status_code, me.json()["code"]) == (401, "TOKEN_REVOKED"), me.text
    again = await api.post(
        "/auth/token", json={"api_key": key.secret}, headers=headers(None, TENANT)
    )
    assert (again.status_code, again.json()["code"]) == (401, "INVALID_CREDENTIALS")


async def revocations(core_app: Any, response: httpx.Response) -> list[AuditLog]:
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(
            sa.select(AuditLog).where(
                col(AuditLog.request_id) == response.headers["x-request-id"],
                col(AuditLog.action) == "api_key.revoked",
            )
        )
        return list(rows.scalars().all())


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"is_active": False}, "owner_deactivated"), ({"roles": ["officer"]}, "owner_demoted")],
)
async def test_deactivating_or_demoting_the_owner_revokes_their_keys(
    api, tokens, core_app, change, reason
):
    owner_id, owner = await second_admin(api, tokens)
    keys = [await mint(api, owner, "manager"), await mint(api, owner, "viewer")]
    bystander = await mint(api, await h(tokens, "admin"), "viewer")
    admin = await h(tokens, "admin")
    # A rename or a move to another branch takes no rights away: the keys live on.
    for harmless in ({"name": "Renamed Admin"}, {"branch_id": "002"}):
        expect(await api.patch(f"/users/{owner_id}", json=harmless, headers=admin), 200)
        expect(await api.get("/auth/me", headers=keys[0].h()), 200)
    response = await api.patch(f"/users/{owner_id}", json=change, headers=admin)
    expect(response, 200)
    for key in keys:
        await assert_key_dead(api, key)
    records = await revocations(core_app, response)
    assert sorted(r.entity_id for r in records) == sorted(k.id for k in keys)
    assert all(r.after and r.after["reason"] == reason for r in records)
    listed = expect(await api.get("/api-keys", headers=await h(tokens, "admin")), 200)
    revoked = {k["id"]: k["revoked_at"] for k in listed["api_keys"]}
    assert all(revoked[k.id] for k in keys)
    # Another admin's key is untouched.
    expect(await api.get("/auth/me", headers=bystander.h()), 200)


async def test_a_key_whose_owner_was_deactivated_before_the_rule_is_refused(api, tokens, core_app):
    """A key made by someone deactivated before deactivation revoked keys (set up by
    flipping ``is_active`` in the database, as an older release left it) mints nothing."""
    from app.core.auth.models import StaffUser

    owner_id, owner = await second_admin(api, tokens)
    key = await mint(api, owner, "viewer")
    async with core_app.state.services.db.session() as session:
        await session.execute(
            sa.update(StaffUser)
            .where(col(StaffUser.id) == uuid.UUID(owner_id))
            .values(is_active=False)
        )
        await session.commit()
    refused = await api.post(
        "/auth/token", json={"api_key": key.secret}, headers=headers(None, TENANT)
    )
    assert (refused.status_code, refused.json()["code"]) == (401, "INVALID_CREDENTIALS")


# ---- allow_same_maker_checker: audited, and refused in production mode -------------------


@pytest.fixture
async def production_api(settings, database_ready) -> AsyncIterator[httpx.AsyncClient]:
    """The real core in production mode, on the suite's database (tokens are shared)."""
    from app.core.app import create_app

    strict = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, production=True)
    )
    app = create_app(strict)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://testserver{API}"
        ) as client:
            yield client
    finally:
        await app.state.services.close()


async def settings_audit(core_app: Any, response: httpx.Response) -> list[AuditLog]:
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(
            sa.select(AuditLog).where(
                col(AuditLog.request_id) == response.headers["x-request-id"],
                col(AuditLog.action).startswith("tenant.settings"),
            )
        )
        return list(rows.scalars().all())


async def test_turning_same_maker_checker_on_is_refused_in_production(
    api, tokens, core_app, production_api
):
    admin = await h(tokens, "admin")
    refused = await production_api.put(
        "/tenant/settings", json={"allow_same_maker_checker": True}, headers=admin
    )
    body = expect(refused, 400, "VALIDATION_ERROR")
    assert [d["field"] for d in body["details"]] == ["allow_same_maker_checker"]
    assert "production" in body["message"]
    # Nothing changed, not even the other setting sent alongside; the attempt is on record.
    together = await production_api.put(
        "/tenant/settings",
        json={"allow_same_maker_checker": True, "teller_approval_limit": "5.00"},
        headers=admin,
    )
    expect(together, 400, "VALIDATION_ERROR")
    settings = expect(await api.get("/tenant", headers=admin), 200)["settings"]
    assert settings == {
        "teller_approval_limit": APPROVAL_LIMIT,
        "allow_same_maker_checker": False,
        "mfa_required_role": "none",  # the sandbox's (issue 14)
    }
    (record,) = await settings_audit(core_app, refused)
    assert record.action == "tenant.settings_refused"
    assert record.outcome == "refused"
    assert record.after == {"allow_same_maker_checker": True}
    # Turning it off (or leaving it off) is always allowed.
    expect(
        await production_api.put(
            "/tenant/settings", json={"allow_same_maker_checker": False}, headers=admin
        ),
        200,
    )


async def test_a_setting_left_on_is_ignored_in_production(api, tokens, core_app, production_api):
    """A database carried over from a sandbox with the setting on: production ignores it."""
    admin = await h(tokens, "admin")
    own = expect(await draft(api, tokens, await journal_entries(api, tokens), who="officer"), 201)
    changed = await api.put(
        "/tenant/settings", json={"allow_same_maker_checker": True}, headers=admin
    )
    expect(changed, 200)
    try:
        (record,) = await settings_audit(core_app, changed)
        assert record.before is not None and record.after is not None
        assert record.before["allow_same_maker_checker"] is False
        assert record.after["allow_same_maker_checker"] is True
        expect(
            await production_api.post(
                f"/journals/{own['id']}/approve", headers=await h(tokens, "officer")
            ),
            403,
            "SELF_APPROVAL_FORBIDDEN",
        )
        key = await mint(api, admin, "manager")
        admins = expect(
            await draft(api, tokens, await journal_entries(api, tokens), who="admin"), 201
        )
        expect(
            await production_api.post(f"/journals/{admins['id']}/approve", headers=key.h()),
            403,
            "SELF_APPROVAL_FORBIDDEN",
        )
    finally:
        expect(
            await api.put(
                "/tenant/settings", json={"allow_same_maker_checker": False}, headers=admin
            ),
            200,
        )
    expect(await act(api, tokens, own["id"], "reject", "manager", reason="tidy"), 200)
    expect(await act(api, tokens, admins["id"], "reject", "manager", reason="tidy"), 200)

"""PUT /tenant/settings and POST /branches: admin writes, validated, audited."""

import uuid

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditLog

ORIGINAL_LIMIT = "1000000.00"


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


async def test_settings_round_trip_is_audited(api, tokens, core_app):
    admin = await tokens.headers_for("admin")
    original = (await api.get("/tenant", headers=admin)).json()["settings"]
    # The sandbox signs in with the password alone (sandbox.md): no second factor required.
    assert original == {
        "teller_approval_limit": ORIGINAL_LIMIT,
        "allow_same_maker_checker": False,
        "mfa_required_role": "none",
    }
    try:
        response = await api.put(
            "/tenant/settings",
            json={"teller_approval_limit": "2500000.5", "allow_same_maker_checker": True},
            headers=admin,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["code"] == "demo_bank"
        assert body["settings"] == {
            "teller_approval_limit": "2500000.50",
            "allow_same_maker_checker": True,
            "mfa_required_role": "none",
        }
        (record,) = await audit_rows(core_app, response, "tenant.settings_updated")
        assert record.before == original
        assert record.after == body["settings"]
        assert record.actor_email == "admin@demo.bank"
        assert record.entity_type == "tenant"

        # Visible to every signed-in caller; only the fields sent change.
        viewer = await tokens.headers_for("viewer")
        seen = (await api.get("/tenant", headers=viewer)).json()["settings"]
        assert seen["teller_approval_limit"] == "2500000.50"
        response = await api.put(
            "/tenant/settings", json={"teller_approval_limit": 1500.5}, headers=admin
        )
        assert response.status_code == 200, response.text
        assert response.json()["settings"] == {
            "teller_approval_limit": "1500.50",
            "allow_same_maker_checker": True,
            "mfa_required_role": "none",
        }
    finally:
        response = await api.put(
            "/tenant/settings",
            json={"teller_approval_limit": ORIGINAL_LIMIT, "allow_same_maker_checker": False},
            headers=admin,
        )
        assert response.status_code == 200, response.text
    assert (await api.get("/tenant", headers=admin)).json()["settings"] == original


@pytest.mark.parametrize(
    "amount", ["-1", "1.234", "abc", "1e5", 1.234, "0", "", " 5", "1,000", "1000000000000", True]
)
async def test_settings_refuse_bad_amounts(api, tokens, amount):
    response = await api.put(
        "/tenant/settings",
        json={"teller_approval_limit": amount},
        headers=await tokens.headers_for("admin"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert fields(response) == {"teller_approval_limit"}


async def test_settings_list_every_bad_field(api, tokens):
    response = await api.put(
        "/tenant/settings",
        json={"teller_approval_limit": "1.234", "allow_same_maker_checker": "yes", "other": 1},
        headers=await tokens.headers_for("admin"),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert fields(response) == {"teller_approval_limit", "allow_same_maker_checker", "other"}
    tenant = (await api.get("/tenant", headers=await tokens.headers_for("admin"))).json()
    assert tenant["settings"]["teller_approval_limit"] == ORIGINAL_LIMIT


async def test_branch_create_list_and_audit(api, tokens, core_app):
    admin = await tokens.headers_for("admin")
    code = uuid.uuid4().hex[:8].upper()
    response = await api.post("/branches", json={"code": code, "name": " Lekki "}, headers=admin)
    assert response.status_code == 201, response.text
    branch = response.json()
    assert branch["code"] == code
    assert branch["name"] == "Lekki"
    uuid.UUID(branch["id"])
    (record,) = await audit_rows(core_app, response, "branch.created")
    assert record.entity_id == branch["id"]
    # staff_count is counted when read, not part of the branch's recorded state.
    assert branch["staff_count"] == 0
    assert record.after == {k: v for k, v in branch.items() if k != "staff_count"}

    listed = await api.get("/branches", headers=await tokens.headers_for("viewer"))
    assert branch in listed.json()["branches"]
    # The other tenant does not see it.
    other = await api.get("/branches", headers=await tokens.headers_for("other_tenant"))
    assert code not in {b["code"] for b in other.json()["branches"]}


async def test_branch_code_is_unique_per_tenant(api, tokens):
    admin = await tokens.headers_for("admin")
    code = uuid.uuid4().hex[:10]
    first = await api.post("/branches", json={"code": code, "name": "One"}, headers=admin)
    assert first.status_code == 201, first.text
    for again in (code, code.upper()):
        response = await api.post("/branches", json={"code": again, "name": "Two"}, headers=admin)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "DUPLICATE_RESOURCE"
    # The seeded code "001" exists in both tenants: uniqueness is per tenant.
    response = await api.post("/branches", json={"code": "001", "name": "X"}, headers=admin)
    assert response.status_code == 409
    other = await tokens.headers_for("other_tenant")
    response = await api.post("/branches", json={"code": code, "name": "Theirs"}, headers=other)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("code", ["", "ABCDEFGHIJK", "A-1", "a b", "é1", 12])
async def test_branch_code_format(api, tokens, code):
    response = await api.post(
        "/branches", json={"code": code, "name": "Bad"}, headers=await tokens.headers_for("admin")
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert fields(response) == {"code"}


async def test_branch_validation_lists_every_field(api, tokens):
    admin = await tokens.headers_for("admin")
    response = await api.post("/branches", json={"code": "!!", "name": "  "}, headers=admin)
    assert response.status_code == 400
    assert fields(response) == {"code", "name"}
    response = await api.post("/branches", json={}, headers=admin)
    assert response.status_code == 400
    assert response.json()["code"] == "MISSING_FIELD"
    assert fields(response) == {"code", "name"}


@pytest.mark.parametrize("role", ["viewer", "teller", "officer", "manager"])
async def test_non_admins_cannot_write(api, tokens, role):
    headers = await tokens.headers_for(role)
    response = await api.put(
        "/tenant/settings", json={"allow_same_maker_checker": True}, headers=headers
    )
    assert response.status_code == 403
    assert response.json()["code"] == "INSUFFICIENT_ROLE"
    response = await api.post("/branches", json={"code": "ZZ9", "name": "No"}, headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "INSUFFICIENT_ROLE"


async def test_anonymous_is_refused(api):
    response = await api.put(
        "/tenant/settings",
        json={"allow_same_maker_checker": True},
        headers={"X-Tenant-ID": "demo_bank"},
    )
    assert response.status_code == 401

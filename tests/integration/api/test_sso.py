"""Single sign-on against a real OpenID provider (``tests/oidc``), through the real core.

The provider's own login form signs the staff member in (``IdentityProvider.authorize``
plays the browser), and the core gets what the console would hand it: the code with its
PKCE verifier, or an ID token. Each test works in a bank of its own.
"""

import base64
import hashlib
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.audit.models import AuditLog
from app.core.auth import oidc
from app.core.auth.identity_models import IdentityProvider as ProviderRow
from app.core.auth.models import StaffUser
from tests.integration.api.private_tenant import PrivateTenant, make_tenant
from tests.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    Account,
    IdentityProvider,
    new_nonce,
    running_provider,
)
from tests.support import SANDBOX_PASSWORD, headers

REDIRECT = "http://127.0.0.1:9/login/sso/callback"


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[IdentityProvider]:
    yield from running_provider()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def provider_settings(provider: IdentityProvider, **changes: Any) -> dict[str, Any]:
    return {
        "display_name": "Test IdP",
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "groups_claim": "groups",
        "group_mappings": [
            {"group": "bd-tellers", "role": "teller"},
            {"group": "bd-officers", "role": "officer", "branch_id": "001"},
            {"group": "bd-managers-ikeja", "role": "manager", "branch_id": "002"},
        ],
        **changes,
    }


async def _bank(core_app: Any, api: httpx.AsyncClient, tokens: Any, provider: Any) -> PrivateTenant:
    bank = await make_tenant(core_app, api, tokens, sign_in=("admin",))
    configured = await api.put(
        "/tenant/identity-provider", json=provider_settings(provider), headers=bank.h("admin")
    )
    assert configured.status_code == 200, configured.text
    return bank


def account(bank: PrivateTenant, who: str, *groups: str, **kw: Any) -> Account:
    return Account(
        id=f"{who}-{bank.code}",
        email=f"{who}@{bank.code}.test",
        name=f"{who.title()}",
        groups=list(groups),
        **kw,
    )


async def sign_in(
    api: httpx.AsyncClient,
    bank: PrivateTenant,
    provider: IdentityProvider,
    person: Account,
    **overrides: Any,
) -> httpx.Response:
    """The whole flow: the provider signs ``person`` in, the core gets the code."""
    provider.put_account(person)
    verifier, challenge = pkce()
    nonce = new_nonce()
    answer = provider.authorize(
        person.id,
        redirect_uri=REDIRECT,
        state="st" + uuid.uuid4().hex,
        nonce=nonce,
        code_challenge=challenge,
    )
    body = {
        "code": answer["code"],
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
        "nonce": nonce,
        "iss": answer["iss"],
        **overrides,
    }
    return await api.post("/auth/oidc/token", json=body, headers=headers(None, bank.code))


def redeem(provider: IdentityProvider, person: Account, nonce: str) -> str:
    """The provider's ID token, redeemed by the test itself (a caller with the secret)."""
    provider.put_account(person)
    verifier, challenge = pkce()
    answer = provider.authorize(
        person.id, redirect_uri=REDIRECT, state="s" * 20, nonce=nonce, code_challenge=challenge
    )
    token = httpx.post(
        f"{provider.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert token.status_code == 200, token.text
    id_token: str = token.json()["id_token"]
    return id_token


async def audit(core_app: Any, bank: PrivateTenant, action: str) -> list[AuditLog]:
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(
            sa.select(AuditLog)
            .where(col(AuditLog.tenant_id) == uuid.UUID(bank.id), col(AuditLog.action) == action)
            .order_by(col(AuditLog.id))
        )
        return list(rows.scalars().all())


async def staff(core_app: Any, bank: PrivateTenant, who: str) -> StaffUser | None:
    async with core_app.state.services.db.session() as session:
        return (
            await session.execute(
                sa.select(StaffUser).where(
                    col(StaffUser.tenant_id) == uuid.UUID(bank.id),
                    col(StaffUser.email) == f"{who}@{bank.code}.test",
                )
            )
        ).scalar_one_or_none()


async def test_the_provider_settings_never_show_the_secret(
    core_app, api, tokens, identity_provider
):
    bank = await _bank(core_app, api, tokens, identity_provider)
    shown = await api.get("/tenant/identity-provider", headers=bank.h("admin"))
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["client_secret_set"] is True and "client_secret" not in body
    assert CLIENT_SECRET not in shown.text
    async with core_app.state.services.db.session() as session:
        row = await session.get(ProviderRow, uuid.UUID(bank.id))
    assert row is not None and CLIENT_SECRET not in row.client_secret
    (record,) = await audit(core_app, bank, "tenant.identity_provider_updated")
    assert record.after["client_secret"] == "(changed)" and record.before is None
    assert CLIENT_SECRET not in str(record.after)
    # A change without the secret keeps it; the audit says only what changed.
    kept = await api.put(
        "/tenant/identity-provider",
        json={
            k: v
            for k, v in provider_settings(identity_provider, display_name="Keycloak").items()
            if k != "client_secret"
        },
        headers=bank.h("admin"),
    )
    assert kept.status_code == 200, kept.text
    records = await audit(core_app, bank, "tenant.identity_provider_updated")
    assert records[-1].before["display_name"] == "Test IdP"
    assert (
        records[-1].after["display_name"] == "Keycloak" and "client_secret" not in records[-1].after
    )
    # Anyone may ask what to sign in with (the sign-in page does), never for the secret.
    public = await api.get("/auth/oidc/provider", headers=headers(None, bank.code))
    assert public.status_code == 200, public.text
    assert public.json()["display_name"] == "Keycloak"
    assert public.json()["authorization_endpoint"] == f"{identity_provider.issuer}/auth"
    assert CLIENT_SECRET not in public.text
    none = await api.get("/auth/oidc/provider", headers=headers(None, "demo_bank"))
    assert (none.status_code, none.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"issuer": "ftp://idp.example"}, "issuer"),
        ({"group_mappings": [{"group": "x", "role": "owner"}]}, "group_mappings.0.role"),
        (
            {"group_mappings": [{"group": "x", "role": "teller", "branch_id": "999"}]},
            "group_mappings.0.branch_id",
        ),
        ({"scopes": "email profile"}, "scopes"),
        ({"groups_claim": "a b"}, "groups_claim"),
        ({"client_secret": "has space"}, "client_secret"),
    ],
)
async def test_bad_provider_settings_are_refused_and_change_nothing(
    core_app, api, tokens, identity_provider, change, field
):
    bank = await make_tenant(core_app, api, tokens, sign_in=("admin",))
    refused = await api.put(
        "/tenant/identity-provider",
        json=provider_settings(identity_provider, **change),
        headers=bank.h("admin"),
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "VALIDATION_ERROR"), refused.text
    assert field in {d["field"] for d in refused.json()["details"]}
    missing = await api.get("/tenant/identity-provider", headers=bank.h("admin"))
    assert missing.status_code == 404


async def test_sign_in_matches_staff_by_email_and_roles_follow_groups(
    core_app, api, tokens, identity_provider
):
    bank = await _bank(core_app, api, tokens, identity_provider)
    person = account(bank, "teller", "bd-managers-ikeja", "unrelated-group")
    answer = await sign_in(api, bank, identity_provider, person)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user"]["roles"] == ["manager"] and body["user"]["branch_id"] == "002"
    assert (
        body["identity_provider"]["end_session_endpoint"]
        == f"{identity_provider.issuer}/session/end"
    )
    me = await api.get("/auth/me", headers=headers(body["access_token"], bank.code))
    assert me.status_code == 200 and me.json()["roles"] == ["manager"]
    (change,) = await audit(core_app, bank, "user.updated")
    assert change.before["roles"] == ["teller"] and change.after["roles"] == ["manager"]
    assert change.after["source"] == "identity_provider"
    logins = [r for r in await audit(core_app, bank, "auth.login") if r.after == {"method": "sso"}]
    assert len(logins) == 1
    user = await staff(core_app, bank, "teller")
    assert user is not None and user.idp_subject == person.id

    # Groups changed at the provider: the next sign-in follows, audited again, and the
    # session that carried the old role ends.
    person.groups = ["bd-tellers"]
    again = await sign_in(api, bank, identity_provider, person)
    assert again.status_code == 200, again.text
    assert again.json()["user"]["roles"] == ["teller"]
    changes = await audit(core_app, bank, "user.updated")
    assert [c.after["roles"] for c in changes] == [["manager"], ["teller"]]
    old = await api.get("/auth/me", headers=headers(body["access_token"], bank.code))
    assert (old.status_code, old.json()["code"]) == (401, "TOKEN_REVOKED")
    # No change, no record.
    assert (await sign_in(api, bank, identity_provider, person)).status_code == 200
    assert len(await audit(core_app, bank, "user.updated")) == 2


async def test_a_replayed_code_a_wrong_verifier_and_a_wrong_nonce_are_refused(
    core_app, api, tokens, identity_provider
):
    bank = await _bank(core_app, api, tokens, identity_provider)
    person = account(bank, "officer", "bd-officers")
    identity_provider.put_account(person)
    verifier, challenge = pkce()
    nonce = new_nonce()
    answer = identity_provider.authorize(
        person.id, redirect_uri=REDIRECT, state="s" * 20, nonce=nonce, code_challenge=challenge
    )
    body = {
        "code": answer["code"],
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
        "nonce": nonce,
    }
    first = await api.post("/auth/oidc/token", json=body, headers=headers(None, bank.code))
    assert first.status_code == 200, first.text
    replay = await api.post("/auth/oidc/token", json=body, headers=headers(None, bank.code))
    assert (replay.status_code, replay.json()["code"]) == (401, "AUTHORIZATION_CODE_REJECTED")

    wrong_verifier = await sign_in(api, bank, identity_provider, person, code_verifier=pkce()[0])
    assert wrong_verifier.json()["code"] == "AUTHORIZATION_CODE_REJECTED"
    wrong_nonce = await sign_in(api, bank, identity_provider, person, nonce=new_nonce())
    assert (wrong_nonce.status_code, wrong_nonce.json()["code"]) == (401, "INVALID_ID_TOKEN")
    assert "nonce" in wrong_nonce.json()["message"]
    refusals = [r.after["reason"] for r in await audit(core_app, bank, "auth.sso_refused")]
    assert refusals == ["invalid_grant", "invalid_grant", "its nonce is not this sign-in's"]


async def test_an_expired_id_token_is_refused(core_app, api, tokens, identity_provider):
    bank = await _bank(core_app, api, tokens, identity_provider)
    person = account(bank, "officer", "bd-officers")
    identity_provider.shift_token_clock(-3600)  # its ID tokens expired an hour ago
    try:
        answer = await sign_in(api, bank, identity_provider, person)
    finally:
        identity_provider.shift_token_clock(0)
    assert (answer.status_code, answer.json()["code"]) == (401, "INVALID_ID_TOKEN")
    assert "expired" in answer.json()["message"]
    (refused,) = await audit(core_app, bank, "auth.sso_refused")
    assert refused.after["reason"] == "it has expired"


async def test_an_id_token_exchange_works_once(core_app, api, tokens, identity_provider):
    bank = await _bank(core_app, api, tokens, identity_provider)
    person = account(bank, "officer", "bd-officers")
    nonce = new_nonce()
    id_token = redeem(identity_provider, person, nonce)
    body = {"id_token": id_token, "nonce": nonce}
    first = await api.post("/auth/oidc/token", json=body, headers=headers(None, bank.code))
    assert first.status_code == 200, first.text
    assert first.json()["user"]["roles"] == ["officer"]
    replay = await api.post("/auth/oidc/token", json=body, headers=headers(None, bank.code))
    assert (replay.status_code, replay.json()["code"]) == (401, "INVALID_ID_TOKEN")
    assert "already used" in replay.json()["message"]
    # Another bank with no provider: refused, whatever the token.
    elsewhere = await api.post("/auth/oidc/token", json=body, headers=headers(None, "demo_bank"))
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "RESOURCE_NOT_FOUND")
    for bad in (
        {"nonce": nonce},
        {
            "id_token": id_token,
            "code": "x",
            "code_verifier": "v" * 43,
            "redirect_uri": REDIRECT,
            "nonce": nonce,
        },
        {"code": "x", "nonce": nonce},
        {"id_token": id_token, "nonce": "short"},
    ):
        refused = await api.post("/auth/oidc/token", json=bad, headers=headers(None, bank.code))
        assert (refused.status_code, refused.json()["code"]) == (400, "VALIDATION_ERROR")


async def test_tokens_of_an_issuer_the_bank_did_not_configure_are_refused_and_audited(
    core_app, api, tokens, identity_provider
):
    bank = await _bank(core_app, api, tokens, identity_provider)
    person = account(bank, "officer", "bd-officers")
    other = IdentityProvider(redirect_uris=[REDIRECT], accounts=[person]).start()
    try:
        nonce = new_nonce()
        foreign = redeem(other, person, nonce)
        answer = await api.post(
            "/auth/oidc/token",
            json={"id_token": foreign, "nonce": nonce},
            headers=headers(None, bank.code),
        )
        # The callback of a mix-up names the other provider: refused before redeeming.
        mixed = await sign_in(api, bank, identity_provider, person, iss=other.issuer)
    finally:
        other.stop()
    assert (answer.status_code, answer.json()["code"]) == (401, "UNKNOWN_ISSUER")
    assert (mixed.status_code, mixed.json()["code"]) == (401, "UNKNOWN_ISSUER")
    refusals = await audit(core_app, bank, "auth.sso_refused")
    assert [(r.after["reason"], r.after["issuer"]) for r in refusals] == [
        ("unknown_issuer", other.issuer),
        ("unknown_issuer", other.issuer),
    ]
    assert all(r.outcome == "refused" for r in refusals)


async def test_who_may_not_sign_in(core_app, api, tokens, identity_provider):
    bank = await _bank(core_app, api, tokens, identity_provider)
    deactivated = await api.patch(
        f"/users/{(await staff(core_app, bank, 'viewer')).id}",
        json={"is_active": False},
        headers=bank.h("admin"),
    )
    assert deactivated.status_code == 200, deactivated.text
    cases = [
        (account(bank, "viewer", "bd-tellers"), "deactivated"),
        (account(bank, "officer"), "no_mapped_group"),
        (account(bank, "stranger", "bd-tellers"), "no_staff_user"),
        (account(bank, "manager", "bd-officers", email_verified=False), "email_not_verified"),
    ]
    for person, reason in cases:
        answer = await sign_in(api, bank, identity_provider, person)
        assert (answer.status_code, answer.json()["code"]) == (403, "SSO_ACCESS_DENIED"), reason
        assert answer.json()["details"][0]["reason"] == reason
    refusals = [r.after["reason"] for r in await audit(core_app, bank, "auth.sso_refused")]
    assert refusals == [reason for _, reason in cases]
    # The same e-mail at the provider, but another person (another subject): refused.
    officer = account(bank, "officer", "bd-officers")
    assert (await sign_in(api, bank, identity_provider, officer)).status_code == 200
    impostor = Account(
        id=f"other-{bank.code}", email=officer.email, name="X", groups=["bd-officers"]
    )
    answer = await sign_in(api, bank, identity_provider, impostor)
    assert answer.json()["details"][0]["reason"] == "subject_mismatch"


async def test_first_sign_in_creates_staff_only_when_the_bank_says_so(
    core_app, api, tokens, identity_provider
):
    bank = await _bank(core_app, api, tokens, identity_provider)
    allowed = await api.put(
        "/tenant/identity-provider",
        json=provider_settings(identity_provider, create_users=True, default_branch="002"),
        headers=bank.h("admin"),
    )
    assert allowed.status_code == 200, allowed.text
    person = account(bank, "newcomer", "bd-tellers")
    answer = await sign_in(api, bank, identity_provider, person)
    assert answer.status_code == 200, answer.text
    assert (
        answer.json()["user"]["roles"] == ["teller"] and answer.json()["user"]["branch_id"] == "002"
    )
    (created,) = await audit(core_app, bank, "user.created")
    assert created.after["source"] == "identity_provider"
    # They have no password: the password sign-in never lets them in.
    refused = await api.post(
        "/auth/login",
        json={"email": person.email, "password": SANDBOX_PASSWORD},
        headers=headers(None, bank.code),
    )
    assert (refused.status_code, refused.json()["code"]) == (401, "INVALID_CREDENTIALS")


async def test_the_core_follows_a_key_rotation(core_app, api, tokens, identity_provider):
    """The provider starts signing with a new key: the core fetches the key set again."""
    bank = await make_tenant(core_app, api, tokens, sign_in=("admin",))
    person = account(bank, "officer", "bd-officers")
    first = IdentityProvider(redirect_uris=[REDIRECT], accounts=[person]).start()
    try:
        configured = await api.put(
            "/tenant/identity-provider", json=provider_settings(first), headers=bank.h("admin")
        )
        assert configured.status_code == 200
        assert (await sign_in(api, bank, first, person)).status_code == 200  # keys now kept
        old_kid = first.kid
    finally:
        first.stop()
    rotated = IdentityProvider(redirect_uris=[REDIRECT], accounts=[person], port=first.port).start()
    try:
        assert rotated.kid != old_kid
        answer = await sign_in(api, bank, rotated, person)
        assert answer.status_code == 200, answer.text
    finally:
        rotated.stop()
        oidc.DIRECTORY.forget(rotated.issuer)

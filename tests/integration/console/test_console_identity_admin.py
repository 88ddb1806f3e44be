"""Admin pages of staff identity (issue 14), against the live server, in the sandbox's
second bank (fmfb, restored afterwards): the sign-in settings (single sign-on through a
real provider), the second-factor setting, and a staff member's factor reset."""

import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from admin_helpers import form_fields
from console_helpers import csrf_from, sign_in

from app.core.auth import totp
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, IdentityProvider
from tests.support import SANDBOX_PASSWORD

BANK = "fmfb"
PASSWORD = "Identity-Console-2026"


class BankCore:
    """The live core as fmfb's admin."""

    def __init__(self, api_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=api_url, timeout=30)
        self.token = ""

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        if not self.token:
            login = await self.http.post(
                "/auth/login",
                json={"email": "admin@fmfb.bank", "password": SANDBOX_PASSWORD},
                headers={"X-Tenant-ID": BANK},
            )
            self.token = login.json()["access_token"]
        sent = {"Authorization": f"Bearer {self.token}", "X-Tenant-ID": BANK, **(headers or {})}
        return await self.http.request(method, path, headers=sent, **kw)

    async def require_second_factor_from(self, role: str) -> None:
        """Set the lowest role that needs a second factor ("none": nobody)."""
        changed = await self.call(
            "PUT",
            "/tenant/settings",
            json={"mfa_required_role": role},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert changed.status_code == 200, changed.text

    async def new_manager(self) -> tuple[str, httpx.Response]:
        """A new manager of branch 001 (their email, and the core's answer)."""
        email = f"mfa-{uuid.uuid4().hex[:8]}@fmfb.bank"
        created = await self.call(
            "POST",
            "/users",
            json={
                "email": email,
                "name": "Mina Manager",
                "password": PASSWORD,
                "roles": ["manager"],
                "branch_id": "001",
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        return email, created


@pytest.fixture
async def bank(live_server) -> AsyncIterator[BankCore]:  # type: ignore[no-untyped-def]
    core = BankCore(live_server.api_url)
    yield core
    await core.http.aclose()


@pytest.fixture
async def admin(live_server) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as client:
        signed = await sign_in(client, "admin@fmfb.bank", tenant=BANK)
        assert signed.status_code == 303, signed.text[:300]
        yield client


async def test_sign_in_settings_set_up_single_sign_on_and_never_show_the_secret(
    admin, bank, live_server
):
    provider = IdentityProvider(redirect_uris=[f"{live_server.base_url}/login/sso/callback"])
    provider.start()
    try:
        page = await admin.get("/admin/sign-in")
        assert page.status_code == 200
        assert f"{live_server.base_url}/login/sso/callback" in page.text
        assert f"{live_server.base_url}/login?signed_out=1" in page.text
        form = await form_fields(admin, "/admin/sign-in")
        values = {
            **form,
            "display_name": "Bank SSO",
            "issuer": provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": "openid email profile groups",
            "groups_claim": "groups",
            "email_claim": "email",
            "require_verified_email": "on",
            "enabled": "on",
            "group_mappings": "bd-tellers = teller\nbd-bosses = captain",
        }
        refused = await admin.post("/admin/sign-in", data=values)
        assert refused.status_code == 400
        assert "Line 2: “captain” is not a role" in refused.text
        assert CLIENT_SECRET not in refused.text  # the typed secret is not echoed back
        assert (await bank.call("GET", "/tenant/identity-provider")).status_code == 404

        values["group_mappings"] = "bd-tellers = teller\nbd-officers = officer @ 001"
        saved = await admin.post("/admin/sign-in", data=values)
        assert saved.status_code == 303, saved.text[:1500]
        assert saved.headers["location"] == "/admin/sign-in?done=saved"
        shown = await admin.get("/admin/sign-in?done=saved")
        assert "Sign-in settings saved." in shown.text
        assert "A secret is set and never shown" in shown.text
        assert CLIENT_SECRET not in shown.text
        assert "bd-officers = officer @ 001" in shown.text
        config = (await bank.call("GET", "/tenant/identity-provider")).json()
        assert config["client_secret_set"] is True and config["group_mappings"][1] == {
            "group": "bd-officers",
            "role": "officer",
            "branch_id": "001",
        }
        # The sign-in page for the bank now offers the provider.
        async with httpx.AsyncClient(base_url=live_server.base_url) as visitor:
            login = await visitor.get(f"/login?tenant={BANK}")
            assert "Sign in with Bank SSO" in login.text
            started = await visitor.get(f"/login/sso?tenant={BANK}")
            assert started.status_code == 303
            target = started.headers["location"]
            assert target.startswith(f"{provider.issuer}/auth?")
            for part in (
                "code_challenge_method=S256",
                "state=",
                "nonce=",
                f"client_id={CLIENT_ID}",
            ):
                assert part in target

        # Saved again without a secret: the one set is kept.
        form = await form_fields(admin, "/admin/sign-in")
        again = await admin.post("/admin/sign-in", data={**values, **form, "client_secret": ""})
        assert again.status_code == 303
        assert (await bank.call("GET", "/tenant/identity-provider")).json()["client_secret_set"]

        remove = await admin.get("/admin/sign-in")
        keys = re.findall(r'name="idempotency_key" value="([^"]+)"', remove.text)
        removed = await admin.post(
            "/admin/sign-in/remove",
            data={"_csrf_token": form["_csrf_token"], "idempotency_key": keys[-1]},
        )
        assert removed.headers["location"] == "/admin/sign-in?done=removed"
        async with httpx.AsyncClient(base_url=live_server.base_url) as visitor:
            assert "Sign in with" not in (await visitor.get(f"/login?tenant={BANK}")).text
    finally:
        await bank.call("DELETE", "/tenant/identity-provider", headers={})
        provider.stop()


async def test_second_factor_setting_and_an_admins_reset(admin, bank, live_server):
    form = await form_fields(admin, "/admin/settings")
    tenant = (await bank.call("GET", "/tenant")).json()
    limit = tenant["settings"]["teller_approval_limit"]
    try:
        saved = await admin.post(
            "/admin/settings",
            data={**form, "teller_approval_limit": limit, "mfa_required_role": "manager"},
        )
        assert saved.status_code == 303, saved.text[:1500]
        settings = (await bank.call("GET", "/tenant")).json()["settings"]
        assert settings["mfa_required_role"] == "manager"
        assert "Managers and admins" in (await admin.get("/admin/settings")).text

        # A manager enrols at their sign-in (through the core, as the console would).
        email, created = await bank.new_manager()
        user_id = created.json()["id"]
        login = await bank.http.post(
            "/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"X-Tenant-ID": BANK},
        )
        challenge = login.json()["mfa"]["challenge"]
        seed = (
            await bank.http.post(
                "/auth/mfa/enrol", json={"challenge": challenge}, headers={"X-Tenant-ID": BANK}
            )
        ).json()["secret"]
        done = await bank.http.post(
            "/auth/mfa/enrol/confirm",
            json={"challenge": challenge, "code": totp.code_at(seed, time.time())},
            headers={"X-Tenant-ID": BANK},
        )
        assert done.status_code == 200, done.text

        page = await admin.get(f"/admin/staff/{user_id}")
        assert "Authenticator app set up" in page.text and "10 recovery codes left" in page.text
        fields = await form_fields(admin, f"/admin/staff/{user_id}")
        factor_key = re.findall(r'name="idempotency_key" value="([^"]+)"', page.text)[-1]
        no_reason = await admin.post(
            f"/admin/staff/{user_id}/second-factor/reset",
            data={
                "_csrf_token": fields["_csrf_token"],
                "idempotency_key": factor_key,
                "reason": " ",
            },
        )
        assert no_reason.status_code == 400
        assert "Say why the second factor is reset" in no_reason.text
        reset = await admin.post(
            f"/admin/staff/{user_id}/second-factor/reset",
            data={
                "_csrf_token": fields["_csrf_token"],
                "idempotency_key": factor_key,
                "reason": "Lost phone",
            },
        )
        assert reset.status_code == 303, reset.text[:1500]
        after = await admin.get(reset.headers["location"])
        assert "Second factor reset." in after.text
        assert "No authenticator app yet" in after.text
        # The person's session ended; their next sign-in enrols again.
        ended = await bank.http.get(
            "/auth/me",
            headers={"Authorization": f"Bearer {done.json()['access_token']}", "X-Tenant-ID": BANK},
        )
        assert ended.status_code == 401
    finally:
        await bank.require_second_factor_from("none")


async def test_the_console_keeps_the_second_factor_step_between_its_pages(bank, live_server):
    """Enrolment (the same seed on a reload, the recovery codes once), then a sign-in with
    a recovery code: the step the console keeps between the password and the code."""
    await bank.require_second_factor_from("manager")
    try:
        email, created = await bank.new_manager()
        assert created.status_code == 201, created.text
        async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as person:
            started = await sign_in(person, email, password=PASSWORD, tenant=BANK)
            assert started.status_code == 303, started.text[:500]
            assert started.headers["location"] == "/login/mfa/enrol"
            page = await person.get("/login/mfa/enrol")
            assert page.status_code == 200 and "<svg" in page.text
            shown = re.search(r'class="secret-key mono"[^>]*>([^<]+)<', page.text)
            assert shown is not None
            seed = shown.group(1).replace(" ", "")
            reloaded = await person.get("/login/mfa/enrol")
            assert shown.group(1) in reloaded.text  # the same seed, asked of the core once
            confirmed = await person.post(
                "/login/mfa/enrol",
                data={"_csrf_token": csrf_from(page.text), "code": totp.code_at(seed, time.time())},
            )
            assert confirmed.status_code == 200, confirmed.text[:1500]
            listed = re.search(r'aria-label="Recovery codes">(.*?)</ol>', confirmed.text, re.S)
            assert listed is not None
            codes = re.findall(r"<li>([^<]+)</li>", listed.group(1))
            assert len(codes) == 10
        async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as person:
            started = await sign_in(person, email, password=PASSWORD, tenant=BANK)
            assert started.headers["location"] == "/login/mfa"
            page = await person.get("/login/mfa?recovery=1")
            assert page.status_code == 200
            wrong = await person.post(
                "/login/mfa",
                data={"_csrf_token": csrf_from(page.text), "recovery_code": "not-a-code"},
            )
            assert wrong.status_code == 401 and "recovery code is not right" in wrong.text
            done = await person.post(
                "/login/mfa",
                data={"_csrf_token": csrf_from(page.text), "recovery_code": codes[0]},
            )
            assert done.status_code == 303, done.text[:1500]
            assert done.headers["location"] == "/"
            assert (await person.get("/")).status_code == 200
    finally:
        await bank.require_second_factor_from("none")

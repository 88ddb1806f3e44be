"""Admin → Branches, Settings and API keys in the console, against the live server.

Settings changed here are put back in a ``finally``: other suites rely on the demo bank's
approval limit of 1,000,000.00 and on maker-checker staying strict.
"""

import re
import uuid

import httpx
import pytest
from admin_helpers import INJECTION, CoreAsAdmin, admin_signed_in, form_fields
from console_helpers import csrf_token, sign_in
from test_console_accounts_support import action_log, key_from

from tests.support import TENANT

DEMO_LIMIT = "1000000.00"


@pytest.fixture
async def core(live_server):  # type: ignore[no-untyped-def]
    api = CoreAsAdmin(live_server.api_url)
    yield api
    await api.aclose()


def near(html: str, marker: str, length: int = 1500) -> str:
    start = html.index(marker)
    return html[start : start + length]


def branch_code() -> str:
    return "T" + uuid.uuid4().hex[:7].upper()


# -- branches -----------------------------------------------------------------------------


async def test_open_a_branch(browser, core, settings):
    await admin_signed_in(browser)
    page = await browser.get("/admin/branches")
    assert page.status_code == 200
    assert '<td class="mono">001</td>' in page.text and '<td class="mono">002</td>' in page.text
    assert ">Code</label>" in page.text and ">Name</label>" in page.text
    code = branch_code()
    key = key_from(page.text)
    opened = await browser.post(
        "/admin/branches",
        data={
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": key,
            "code": code,
            "name": "Lekki Phase 1",
        },
    )
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/admin/branches?opened={code}"
    shown = await browser.get(opened.headers["location"])
    assert f"Branch {code} — Lekki Phase 1 opened" in shown.text
    assert f'<tr class="row--new">\n          <td class="mono">{code}</td>' in shown.text
    branches = (await core.get("/branches"))["branches"]
    assert {"code": code, "name": "Lekki Phase 1"} in [
        {"code": b["code"], "name": b["name"]} for b in branches
    ]
    # The new branch is offered wherever staff choose a branch.
    assert (
        f'<option value="{code}">{code} — Lekki Phase 1</option>'
        in (await browser.get("/admin/staff/new")).text
    )
    rows = await action_log(settings, key)
    assert [(r.action, r.outcome, r.target) for r in rows] == [
        ("branch.open", "success", f"branch:{code}")
    ]


async def test_bad_or_taken_branch_codes_are_refused_by_the_field(browser, core):
    await admin_signed_in(browser)
    before = len((await core.get("/branches"))["branches"])
    data = await form_fields(browser, "/admin/branches")
    bad = await browser.post("/admin/branches", data={**data, "code": "a b!", "name": ""})
    assert bad.status_code == 400
    assert "Use 1 to 10 letters or digits" in near(bad.text, 'id="field-code"')
    assert "Enter the name." in near(bad.text, 'id="field-name"')
    assert 'value="a b!"' in bad.text  # what was typed is kept
    taken = await browser.post(
        "/admin/branches", data={**data, "code": "001", "name": "Second head office"}
    )
    assert taken.status_code == 409
    assert "A branch with this code already exists" in near(taken.text, 'id="field-code"')
    assert len((await core.get("/branches"))["branches"]) == before
    # Injected text in a name is stored and shown literally.
    code = branch_code()
    fresh = await form_fields(browser, "/admin/branches")
    made = await browser.post("/admin/branches", data={**fresh, "code": code, "name": INJECTION})
    assert made.status_code == 303
    html = (await browser.get(made.headers["location"])).text
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- settings -----------------------------------------------------------------------------


async def test_change_the_approval_limit_and_maker_checker(browser, core, settings):
    await admin_signed_in(browser)
    try:
        page = await browser.get("/admin/settings")
        assert page.status_code == 200
        html = page.text
        assert ">Teller approval limit</label>" in html
        assert 'value="1,000,000.00"' in html  # the money input shows the limit formatted
        assert "₦1,000,000.00" in html
        assert "Allow the same person to make and approve" in html
        assert "one person alone can move money with nobody checking" in html
        checkbox = re.search(
            r'<input type="checkbox" id="field-allow_same_maker_checker"[^>]*>', html
        )
        assert checkbox and " checked" not in checkbox.group(0)  # off in the demo bank

        key = key_from(html)
        saved = await browser.post(
            "/admin/settings",
            data={
                "_csrf_token": await csrf_token(browser),
                "idempotency_key": key,
                "teller_approval_limit": "₦2,500,000.50",
            },
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/admin/settings?done=saved"
        shown = await browser.get(saved.headers["location"])
        assert "Settings saved." in shown.text and "₦2,500,000.50" in shown.text
        tenant = await core.get("/tenant")
        assert tenant["settings"] == {
            "teller_approval_limit": "2500000.50",
            "allow_same_maker_checker": False,
            "mfa_required_role": "none",
        }
        assert "₦2,500,000.50" in (await browser.get("/")).text  # Home forgot its cached copy
        rows = await action_log(settings, key)
        assert [(r.action, r.outcome) for r in rows] == [("tenant.settings_update", "success")]

        # Turning maker-checker off asks first, and changes nothing until confirmed.
        fields = {
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": key_from(shown.text),
            "teller_approval_limit": "2,500,000.50",
            "allow_same_maker_checker": "on",
        }
        ask = await browser.post("/admin/settings", data=fields)
        assert ask.status_code == 200
        assert "Let the same person make and approve?" in ask.text
        assert ">Allow the same person</button>" in ask.text
        assert (await core.get("/tenant"))["settings"]["allow_same_maker_checker"] is False
        confirmed = await browser.post(
            "/admin/settings",
            data={**fields, "idempotency_key": key_from(ask.text), "confirmed": "yes"},
        )
        assert confirmed.status_code == 303
        after = await browser.get("/admin/settings")
        assert "Maker-checker separation is off" in after.text
        assert "Same person allowed" in after.text
        assert (await core.get("/tenant"))["settings"]["allow_same_maker_checker"] is True

        # Back to strict: no confirmation needed to make the rule stronger.
        strict = await browser.post(
            "/admin/settings",
            data={
                "_csrf_token": await csrf_token(browser),
                "idempotency_key": key_from(after.text),
                "teller_approval_limit": "1,000,000.00",
            },
        )
        assert strict.status_code == 303
        assert (await core.get("/tenant"))["settings"] == {
            "teller_approval_limit": DEMO_LIMIT,
            "allow_same_maker_checker": False,
            "mfa_required_role": "none",
        }
        unchanged = await browser.post(
            "/admin/settings",
            data={
                "_csrf_token": await csrf_token(browser),
                "idempotency_key": key_from((await browser.get("/admin/settings")).text),
                "teller_approval_limit": "1000000",
            },
        )
        assert unchanged.headers["location"] == "/admin/settings?done=unchanged"
    finally:
        await core.put_settings(teller_approval_limit=DEMO_LIMIT, allow_same_maker_checker=False)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-5", "Enter the limit in figures, like 1000000.00"),
        ("1.234", "Enter the limit in figures, like 1000000.00"),
        ("a lot", "Enter the limit in figures, like 1000000.00"),
        ("0", "Enter a limit greater than zero."),
        ("", "Enter the limit in figures"),
    ],
)
async def test_bad_limits_are_refused_by_the_field_and_change_nothing(
    typed, message, browser, core
):
    await admin_signed_in(browser)
    try:
        data = await form_fields(browser, "/admin/settings")
        response = await browser.post(
            "/admin/settings",
            data={**data, "teller_approval_limit": typed, "allow_same_maker_checker": "on"},
        )
        if response.status_code == 200:  # the maker-checker confirmation comes first
            response = await browser.post(
                "/admin/settings",
                data={
                    **data,
                    "idempotency_key": key_from(response.text),
                    "teller_approval_limit": typed,
                    "allow_same_maker_checker": "on",
                    "confirmed": "yes",
                },
            )
        assert response.status_code == 400
        assert message in near(response.text, 'id="field-teller_approval_limit"')
        assert (await core.get("/tenant"))["settings"] == {
            "teller_approval_limit": DEMO_LIMIT,
            "allow_same_maker_checker": False,
            "mfa_required_role": "none",
        }
    finally:
        await core.put_settings(teller_approval_limit=DEMO_LIMIT, allow_same_maker_checker=False)


async def test_settings_need_the_csrf_token(browser, core):
    await admin_signed_in(browser)
    data = await form_fields(browser, "/admin/settings")
    forged = {"idempotency_key": data["idempotency_key"], "teller_approval_limit": "5.00"}
    assert (await browser.post("/admin/settings", data=forged)).status_code == 403
    htmx = await browser.post("/admin/settings", data=forged, headers={"HX-Request": "true"})
    assert htmx.status_code == 403
    assert (await core.get("/tenant"))["settings"]["teller_approval_limit"] == DEMO_LIMIT


# -- API keys -----------------------------------------------------------------------------


async def test_api_key_is_shown_once_works_and_is_revoked(browser, live_server, settings):
    await admin_signed_in(browser)
    form = await browser.get("/admin/api-keys/new")
    assert form.status_code == 200
    for label in ("Name", "Role"):
        assert f">{label}</label>" in form.text
    assert '<legend class="field__label">Scopes</legend>' in form.text
    name = f"Payroll batch {uuid.uuid4().hex[:6]}"
    key = key_from(form.text)
    created = await browser.post(
        "/admin/api-keys",
        data={
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": key,
            "name": name,
            "role": "teller",
            "scopes": ["transactions:read", "accounts:read"],
        },
    )
    assert created.status_code == 303
    match = re.match(r"^/admin/api-keys/([0-9a-f-]{36})/created$", created.headers["location"])
    assert match
    key_id = match.group(1)
    once = await browser.get(created.headers["location"])
    assert once.status_code == 200
    assert "This is the only time the key is shown." in once.text
    secret = re.search(r'id="new-secret" type="text" value="(bdk_[^"]+)"', once.text)
    assert secret, once.text[:2000]
    assert once.headers["cache-control"] == "no-store"
    again = await browser.get(created.headers["location"])
    assert again.status_code == 200
    assert secret.group(1) not in again.text
    assert "can't be shown again" in again.text

    async with httpx.AsyncClient(base_url=live_server.api_url) as api:
        token = await api.post(
            "/auth/token", json={"api_key": secret.group(1)}, headers={"X-Tenant-ID": TENANT}
        )
        assert token.status_code == 200, token.text
        access = token.json()["access_token"]
        me = await api.get(
            "/auth/me", headers={"Authorization": f"Bearer {access}", "X-Tenant-ID": TENANT}
        )
        assert sorted(me.json()["scopes"]) == ["accounts:read", "transactions:read"]

        listed = await browser.get("/admin/api-keys")
        assert name in listed.text
        assert f'href="/admin/api-keys/{key_id}/revoke"' in listed.text
        assert secret.group(1) not in listed.text
        confirm = await browser.get(f"/admin/api-keys/{key_id}/revoke")
        assert "Revoke API key" in confirm.text and ">Revoke</button>" in confirm.text
        revoke_key = key_from(confirm.text)
        revoked = await browser.post(
            f"/admin/api-keys/{key_id}/revoke",
            data={"_csrf_token": await csrf_token(browser), "idempotency_key": revoke_key},
        )
        assert revoked.status_code == 303
        after = await browser.get(revoked.headers["location"])
        assert "API key revoked." in after.text
        revoked_section = near(after.text, 'id="revoked-heading"', 4000)
        assert name in revoked_section
        assert f"/admin/api-keys/{key_id}/revoke" not in after.text
        refused = await api.get(
            "/auth/me", headers={"Authorization": f"Bearer {access}", "X-Tenant-ID": TENANT}
        )
        assert refused.status_code == 401
    rows = await action_log(settings, key) + await action_log(settings, revoke_key)
    assert [(r.action, r.outcome, r.target) for r in rows] == [
        ("api_key.create", "success", f"api_key:{key_id}"),
        ("api_key.revoke", "success", f"api_key:{key_id}"),
    ]


async def test_api_key_scopes_above_its_role_are_refused(browser, core):
    await admin_signed_in(browser)
    before = len((await core.get("/api-keys", limit=200))["api_keys"])
    data = await form_fields(browser, "/admin/api-keys/new")
    wide = await browser.post(
        "/admin/api-keys",
        data={
            **data,
            "name": INJECTION,
            "role": "viewer",
            "scopes": ["accounts:read", "admin:full"],
        },
    )
    assert wide.status_code == 400
    assert "A key with the viewer role can&#39;t carry admin:full" in near(
        wide.text, 'id="scopes-hint"'
    )
    assert 'id="scope-accounts-read" name="scopes" value="accounts:read" checked' in wide.text
    assert "<script>alert(1)</script>" not in wide.text  # the name, kept, is escaped
    no_role = await browser.post("/admin/api-keys", data={**data, "name": "Batch", "role": ""})
    assert no_role.status_code == 400
    assert "Choose one of the roles." in near(no_role.text, 'id="field-role"')
    assert len((await core.get("/api-keys", limit=200))["api_keys"]) == before


async def test_non_admins_get_no_admin_pages(browser):
    await sign_in(browser, "manager@demo.bank")
    for path in ("/admin/branches", "/admin/settings", "/admin/api-keys", "/admin/api-keys/new"):
        page = await browser.get(path)
        assert page.status_code == 403
        assert "You need the Admin role for this; ask an admin." in page.text
    token = await csrf_token(browser)
    for path in ("/admin/branches", "/admin/settings", "/admin/api-keys"):
        response = await browser.post(
            path, data={"_csrf_token": token, "idempotency_key": "console-abc", "code": "X1"}
        )
        assert response.status_code == 403

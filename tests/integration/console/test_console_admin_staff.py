"""Admin → Staff in the console, against the live server: create, list and search, change
role and branch, deactivate / reactivate, unlock, revoke sessions, the admin's own account,
non-admins refused, CSRF and injected text. Every user changed here is made by the test."""

import re

import httpx
import pytest
from admin_helpers import (
    INJECTION,
    PASSWORD,
    CoreAsAdmin,
    action_log_for,
    admin_signed_in,
    create_staff,
    form_fields,
    second_browser,
    unique_email,
)
from console_helpers import ROLE_EMAILS, csrf_token, nav_labels, sign_in
from test_console_accounts_support import action_log, key_from

from tests.support import TENANT


@pytest.fixture
async def core(live_server):  # type: ignore[no-untyped-def]
    api = CoreAsAdmin(live_server.api_url)
    yield api
    await api.aclose()


def page_title(html: str) -> str:
    """The page's first heading (the title says where you are)."""
    found = re.search(r'<h1 class="page-head__title">([^<]+)</h1>', html)
    assert found, "no page heading"
    return found.group(1).strip()


def section(html: str, marker: str, length: int = 1500) -> str:
    """The part of the page from ``marker`` on (to check a message sits by its field)."""
    start = html.index(marker)
    return html[start : start + length]


async def test_admin_area_overview_and_sections(browser):
    await admin_signed_in(browser)
    home = await browser.get("/")
    assert nav_labels(home.text)[-1] == "Admin"
    page = await browser.get("/admin")
    assert page.status_code == 200
    html = page.text
    assert "<title>Admin · Branchdesk</title>" in html
    tabs = re.findall(r'class="tabs__link" href="([^"]+)"[^>]*>([^<]+)<', html)
    assert tabs == [
        ("/admin/staff", "Staff"),
        ("/admin/branches", "Branches"),
        ("/admin/settings", "Settings"),
        ("/admin/sign-in", "Sign-in"),
        ("/admin/api-keys", "API keys"),
        ("/admin/webhooks", "Webhooks"),
    ]
    assert "₦1,000,000.00" in html  # the demo bank's approval limit
    assert "nobody approves their own work" in html
    staff = await browser.get("/admin/staff")
    assert 'class="tabs__link" href="/admin/staff" aria-current="page">Staff<' in staff.text
    for header in ("Name", "Email", "Roles", "Branch", "Status", "Last sign-in"):
        assert f'<th scope="col">{header}</th>' in staff.text
    # Newest first: other suites' staff may push the sandbox admin off the first page.
    own = await browser.get("/admin/staff", params={"q": "admin@demo.bank"})
    assert "Ada Admin</a> <span" in own.text  # the admin's own row says "(you)"
    assert 'class="badge badge--role badge--admin">Admin<' in own.text
    # No inline script or style anywhere in the area (the CSP would block them).
    for path in (
        "/admin",
        "/admin/staff",
        "/admin/staff/new",
        "/admin/branches",
        "/admin/settings",
        "/admin/sign-in",
        "/admin/api-keys",
        "/admin/api-keys/new",
        "/admin/webhooks",
        "/admin/webhooks/new",
    ):
        page = await browser.get(path)
        assert page.status_code == 200, path
        assert "<script>" not in page.text and "<style" not in page.text, path
        assert " style=" not in page.text and " onclick=" not in page.text, path
        assert f"<title>{page_title(page.text)} · Branchdesk</title>" in page.text


async def test_create_staff_user_who_then_signs_in(browser, live_server, settings, core):
    await admin_signed_in(browser)
    form = await browser.get("/admin/staff/new")
    assert form.status_code == 200
    for label in ("Name", "Email", "Password", "Role", "Branch"):
        assert f">{label}</label>" in form.text
    assert "At least 12 characters" in form.text
    assert '<option value="002">002 — ' in form.text

    user_id, email = await create_staff(browser, role="teller", branch="002", name="Kemi Cashier")
    detail = await browser.get(f"/admin/staff/{user_id}?done=created")
    assert detail.status_code == 200
    assert "Staff user created." in detail.text
    assert 'class="badge badge--role badge--teller">Teller<' in detail.text
    assert 'class="badge badge--status badge--active">Active<' in detail.text
    assert "<dt>Last sign-in</dt><dd>Never</dd>" in detail.text
    assert PASSWORD not in detail.text
    listed = await browser.get("/admin/staff", params={"q": email})
    assert f'href="/admin/staff/{user_id}">Kemi Cashier</a>' in listed.text
    assert '<td class="mono">002</td>' in listed.text
    rows = [r for r in await core.users_matching(email)]
    assert [(r["roles"], r["branch_id"], r["is_active"]) for r in rows] == [
        (["teller"], "002", True)
    ]

    async with second_browser(live_server.base_url) as kemi:
        signed = await sign_in(kemi, email, password=PASSWORD)
        assert signed.status_code == 303
        home = await kemi.get("/")
        assert nav_labels(home.text) == [
            "Home",
            "Customers",
            "Accounts",
            "Deposit",
            "Withdrawal",
            "My day",
            "Journals",
            "Standing instructions",
            "Fiscal periods",
            "Reports",
        ]
    after = await browser.get(f"/admin/staff/{user_id}")
    assert "<dt>Last sign-in</dt><dd>Never</dd>" not in after.text
    assert re.search(
        r"<dt>Last sign-in</dt><dd>\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d</dd>", after.text
    )
    [row] = await action_log_for(settings, "user.create", f"user:{user_id}")
    assert row.outcome == "success" and row.user_email == "admin@demo.bank"


async def test_bad_staff_details_are_shown_by_their_fields_and_create_nothing(
    browser, core, settings
):
    await admin_signed_in(browser)
    data = await form_fields(browser, "/admin/staff/new")
    email = unique_email("bad")
    bad = {
        **data,
        "name": "",
        "email": "not-an-email",
        "password": "short",
        "role": "",
        "branch_id": "",
    }
    response = await browser.post("/admin/staff", data=bad)
    assert response.status_code == 400
    html = response.text
    assert "Some details need attention" in html
    assert "Enter the name." in section(html, 'id="field-name"')
    assert "Enter an email address like name@example.com." in section(html, 'id="field-email"')
    assert "Use at least 12 characters." in section(html, 'id="field-password"')
    assert "Choose one of the roles." in section(html, 'id="field-role"')
    assert "Choose a branch." in section(html, 'id="field-branch_id"')
    assert 'value="short"' not in html  # the password is never written back
    assert key_from(html) == data["idempotency_key"]  # nothing was stored: same key
    rows = await action_log(settings, data["idempotency_key"])
    assert {(r.action, r.outcome, r.error_code) for r in rows} == {
        ("user.create", "failure", "VALIDATION_ERROR")
    }

    unknown_branch = await browser.post(
        "/admin/staff",
        data={
            **bad,
            "name": "Bisi",
            "email": email,
            "password": PASSWORD,
            "role": "teller",
            "branch_id": "999",
        },
    )
    assert unknown_branch.status_code == 400
    assert "There is no branch with this code" in section(
        unknown_branch.text, 'id="field-branch_id"'
    )
    assert await core.users_matching(email) == []

    taken = await browser.post(
        "/admin/staff",
        data={
            **bad,
            "name": "Copy",
            "email": "teller@demo.bank",
            "password": PASSWORD,
            "role": "teller",
            "branch_id": "001",
        },
    )
    assert taken.status_code == 409
    assert "A staff user with this email already exists." in section(taken.text, 'id="field-email"')
    assert key_from(taken.text) != data["idempotency_key"]  # the core kept its answer: new key
    [sandbox_teller] = await core.users_matching("teller@demo.bank")
    assert sandbox_teller["name"] == "Tunde Teller"


async def test_change_role_and_branch_ends_their_console_session(browser, live_server, core):
    await admin_signed_in(browser)
    user_id, email = await create_staff(browser, role="teller", branch="001")
    async with second_browser(live_server.base_url) as them:
        assert (await sign_in(them, email, password=PASSWORD)).status_code == 303
        assert "Transfers" not in nav_labels((await them.get("/")).text)

        page = await browser.get(f"/admin/staff/{user_id}")
        assert ">Save changes</button>" in page.text
        data = {
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": key_from(page.text),
            "name": re.search(
                r'id="field-name" name="name" type="text" value="([^"]*)"', page.text
            ).group(1),  # type: ignore[union-attr]
            "role": "officer",
            "branch_id": "002",
        }
        saved = await browser.post(f"/admin/staff/{user_id}", data=data)
        assert saved.status_code == 303
        assert saved.headers["location"] == f"/admin/staff/{user_id}?done=saved_rights"
        detail = await browser.get(saved.headers["location"])
        assert "Changes saved. Their open sessions were ended" in detail.text
        assert 'class="badge badge--role badge--officer">Officer<' in detail.text
        [row] = await core.users_matching(email)
        assert (row["roles"], row["branch_id"]) == (["officer"], "002")

        # Their console session stops on its next request; signing in again gives the new role.
        ended = await them.get("/")
        assert ended.status_code == 303
        assert ended.headers["location"].startswith("/login?ended=1")
        assert (await sign_in(them, email, password=PASSWORD)).status_code == 303
        labels = nav_labels((await them.get("/")).text)
        assert "Transfers" in labels and "Approvals" in labels and "Admin" not in labels
        assert "<dt>Branch</dt><dd>002</dd>" in (await them.get("/")).text

        # The same details again: nothing is sent, nothing ends.
        again = await browser.get(f"/admin/staff/{user_id}")
        unchanged = await browser.post(
            f"/admin/staff/{user_id}",
            data={**data, "idempotency_key": key_from(again.text)},
        )
        assert unchanged.headers["location"] == f"/admin/staff/{user_id}?done=unchanged"
        assert (await them.get("/")).status_code == 200


async def test_deactivate_and_reactivate_behind_a_confirmation(browser, live_server, core):
    await admin_signed_in(browser)
    user_id, email = await create_staff(browser, role="viewer")
    async with second_browser(live_server.base_url) as them:
        assert (await sign_in(them, email, password=PASSWORD)).status_code == 303
        detail = await browser.get(f"/admin/staff/{user_id}")
        assert f'href="/admin/staff/{user_id}/deactivate">Deactivate</a>' in detail.text

        confirm = await browser.get(f"/admin/staff/{user_id}/deactivate")
        assert confirm.status_code == 200
        assert "Check and confirm" in confirm.text
        assert "They will not be able to sign in" in confirm.text
        [row] = await core.users_matching(email)
        assert row["is_active"] is True  # showing the confirmation changed nothing
        done = await browser.post(
            f"/admin/staff/{user_id}/deactivate",
            data={
                "_csrf_token": await csrf_token(browser),
                "idempotency_key": key_from(confirm.text),
            },
        )
        assert done.status_code == 303
        page = await browser.get(done.headers["location"])
        assert "Staff user deactivated." in page.text
        assert 'class="badge badge--status badge--inactive">Inactive<' in page.text
        assert f'href="/admin/staff/{user_id}/reactivate">Reactivate</a>' in page.text
        [row] = await core.users_matching(email)
        assert row["is_active"] is False
        assert (await them.get("/")).status_code == 303  # their session ended
        refused = await sign_in(them, email, password=PASSWORD)
        assert refused.status_code == 401
        assert "That email and password don&#39;t match." in refused.text
        inactive = await browser.get("/admin/staff", params={"q": email, "status": "inactive"})
        assert f'href="/admin/staff/{user_id}"' in inactive.text

        again = await browser.get(f"/admin/staff/{user_id}/reactivate")
        back = await browser.post(
            f"/admin/staff/{user_id}/reactivate",
            data={
                "_csrf_token": await csrf_token(browser),
                "idempotency_key": key_from(again.text),
            },
        )
        assert back.status_code == 303
        assert "Staff user reactivated." in (await browser.get(back.headers["location"])).text
        assert (await sign_in(them, email, password=PASSWORD)).status_code == 303


async def test_unlock_a_locked_account(browser, live_server, core):
    await admin_signed_in(browser)
    user_id, email = await create_staff(browser, role="teller")
    async with httpx.AsyncClient(base_url=live_server.api_url) as api:
        for _ in range(5):
            await api.post(
                "/auth/login",
                json={"email": email, "password": "wrong-password-123"},
                headers={"X-Tenant-ID": TENANT},
            )
        locked = await api.post(
            "/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"X-Tenant-ID": TENANT},
        )
        assert locked.json()["code"] == "ACCOUNT_LOCKED"
    detail = await browser.get(f"/admin/staff/{user_id}")
    assert 'class="badge badge--status badge--locked">Locked<' in detail.text
    assert "Locked after too many failed sign-ins" in detail.text
    listed = await browser.get("/admin/staff", params={"q": email})
    assert ">Locked</span>" in listed.text
    unlock = await browser.post(
        f"/admin/staff/{user_id}/unlock",
        data={
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": re.findall(r'name="idempotency_key" value="([^"]+)"', detail.text)[
                1
            ],
        },
    )
    assert unlock.status_code == 303
    page = await browser.get(unlock.headers["location"])
    assert "Account unlocked." in page.text
    assert 'badge--active">Active<' in page.text
    [row] = await core.users_matching(email)
    assert row["locked_until"] is None and row["failed_login_count"] == 0
    async with second_browser(live_server.base_url) as them:
        assert (await sign_in(them, email, password=PASSWORD)).status_code == 303


async def test_revoked_sessions_end_on_their_next_request(browser, live_server, settings):
    await admin_signed_in(browser)
    user_id, email = await create_staff(browser, role="officer")
    async with (
        second_browser(live_server.base_url) as them,
        second_browser(live_server.base_url) as their_other_desk,
    ):
        assert (await sign_in(them, email, password=PASSWORD)).status_code == 303
        assert (await sign_in(their_other_desk, email, password=PASSWORD)).status_code == 303
        assert (await them.get("/customers")).status_code == 200

        confirm = await browser.get(f"/admin/staff/{user_id}/revoke-sessions")
        assert confirm.status_code == 200
        assert "Every session they have open" in confirm.text
        assert ">Revoke sessions</button>" in confirm.text
        key = key_from(confirm.text)
        done = await browser.post(
            f"/admin/staff/{user_id}/revoke-sessions",
            data={"_csrf_token": await csrf_token(browser), "idempotency_key": key},
        )
        assert done.status_code == 303
        assert done.headers["location"] == f"/admin/staff/{user_id}?done=revoked&n=2"
        page = await browser.get(done.headers["location"])
        assert "Sessions revoked." in page.text and "Sessions ended: 2." in page.text

        for desk in (them, their_other_desk):
            ended = await desk.get("/customers")
            assert ended.status_code == 303
            assert ended.headers["location"] == "/login?ended=1&next=%2Fcustomers"
            assert (await desk.get("/")).status_code == 303  # the console session is gone
        assert (await sign_in(them, email, password=PASSWORD)).status_code == 303
        assert (await them.get("/")).status_code == 200
    rows = await action_log(settings, key)
    assert [(r.action, r.outcome, r.target) for r in rows] == [
        ("user.revoke_sessions", "success", f"user:{user_id}")
    ]


async def test_an_admin_cannot_lock_themselves_out(browser, live_server, core):
    """A second admin made for this test acts on their own account; the core refuses."""
    await admin_signed_in(browser)
    user_id, email = await create_staff(browser, role="admin", name="Second Admin")
    async with second_browser(live_server.base_url) as me:
        assert (await sign_in(me, email, password=PASSWORD)).status_code == 303
        own = await me.get(f"/admin/staff/{user_id}")
        assert "You can't deactivate your own account; ask another admin." in own.text
        assert f"/admin/staff/{user_id}/deactivate" not in own.text
        assert "This is you: you keep the admin role" in own.text
        confirm = await me.get(f"/admin/staff/{user_id}/deactivate")
        assert ">Deactivate</button>" not in confirm.text

        # Sent anyway (a crafted form): the core refuses and the page says why.
        refused = await me.post(
            f"/admin/staff/{user_id}/deactivate",
            data={"_csrf_token": await csrf_token(me), "idempotency_key": key_from(own.text)},
        )
        assert refused.status_code == 409
        assert "You can&#39;t deactivate your own account; ask another admin." in refused.text
        demote = await me.post(
            f"/admin/staff/{user_id}",
            data={
                "_csrf_token": await csrf_token(me),
                "idempotency_key": key_from((await me.get(f"/admin/staff/{user_id}")).text),
                "name": "Second Admin",
                "role": "manager",
                "branch_id": "001",
            },
        )
        assert demote.status_code == 409
        assert "You can&#39;t take the admin role away from yourself" in section(
            demote.text, 'id="field-role"'
        )
        [row] = await core.users_matching(email)
        assert (row["roles"], row["is_active"]) == (["admin"], True)
        assert (await me.get("/admin")).status_code == 200  # still signed in, still admin


async def test_injected_text_is_stored_and_shown_literally(browser, core):
    await admin_signed_in(browser)
    user_id, email = await create_staff(browser, role="viewer", name=INJECTION)
    for path in (f"/admin/staff/{user_id}", f"/admin/staff?q={email}"):
        html = (await browser.get(path)).text
        assert "<script>alert(1)</script>" not in html
        assert "<img src=x" not in html
        assert (
            "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"
            in html
        )
    [row] = await core.users_matching(email)
    assert row["name"] == INJECTION
    # A search term is echoed escaped; 10 kB of text is refused in words, not a crash.
    search = await browser.get("/admin/staff", params={"q": "<script>x</script>"})
    assert 'value="&lt;script&gt;x&lt;/script&gt;"' in search.text
    data = await form_fields(browser, "/admin/staff/new")
    long = await browser.post(
        "/admin/staff",
        data={
            **data,
            "name": "x" * 10_000,
            "email": unique_email(),
            "password": PASSWORD,
            "role": "viewer",
            "branch_id": "001",
        },
    )
    assert long.status_code == 400
    assert "This is too long (at most 200 characters)." in section(long.text, 'id="field-name"')


async def test_csrf_is_required_for_admin_writes(browser, core):
    await admin_signed_in(browser)
    data = await form_fields(browser, "/admin/staff/new")
    email = unique_email("csrf")
    fields = {
        "name": "Forged",
        "email": email,
        "password": PASSWORD,
        "role": "admin",
        "branch_id": "001",
        "idempotency_key": data["idempotency_key"],
    }
    cross_site = await browser.post(
        "/admin/staff", data=fields, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert "nothing was changed" in cross_site.text
    htmx = await browser.post("/admin/staff", data=fields, headers={"HX-Request": "true"})
    assert htmx.status_code == 403
    assert await core.users_matching(email) == []


@pytest.mark.parametrize("role", ["viewer", "teller", "officer", "manager"])
async def test_non_admins_are_refused_and_see_no_admin_link(role, browser, core):
    await sign_in(browser, ROLE_EMAILS[role])
    home = (await browser.get("/")).text
    assert "Admin" not in nav_labels(home)
    assert 'href="/admin' not in home
    for path in ("/admin", "/admin/staff", "/admin/staff/new", "/admin/settings"):
        page = await browser.get(path)
        assert page.status_code == 403
        assert "You need the Admin role for this; ask an admin." in page.text
    email = unique_email("sneaky")
    refused = await browser.post(
        "/admin/staff",
        data={
            "_csrf_token": await csrf_token(browser),
            "idempotency_key": "console-0123",
            "name": "Sneaky",
            "email": email,
            "password": PASSWORD,
            "role": "admin",
            "branch_id": "001",
        },
    )
    assert refused.status_code == 403
    assert await core.users_matching(email) == []


async def test_list_filters_and_live_search(browser):
    await admin_signed_in(browser)
    tag = unique_email("filter").split("@")[0]
    manager_id, _ = await create_staff(
        browser, role="manager", branch="002", email=f"{tag}-m@demo.bank"
    )
    viewer_id, _ = await create_staff(
        browser, role="viewer", branch="001", email=f"{tag}-v@demo.bank"
    )
    found = await browser.get("/admin/staff", params={"q": tag}, headers={"HX-Request": "true"})
    assert found.text.lstrip().startswith('<section id="staff-results"')
    assert "<html" not in found.text and found.headers["vary"] == "HX-Request"
    assert manager_id in found.text and viewer_id in found.text
    managers = await browser.get("/admin/staff", params={"q": tag, "role": "manager"})
    assert manager_id in managers.text and viewer_id not in managers.text
    branch = await browser.get("/admin/staff", params={"q": tag, "branch": "001"})
    assert viewer_id in branch.text and manager_id not in branch.text
    none = await browser.get("/admin/staff", params={"q": tag + "-nobody"})
    assert "No staff user matches these filters." in none.text

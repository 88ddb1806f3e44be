"""Staff users: the list (search and filters), create, a user's page with their role,
branch and name, unlock, and deactivate / reactivate / revoke sessions behind a
confirmation.

The core owns every rule: password length, unique emails, known branches, and that an
admin never deactivates or demotes themselves (it refuses with ``INVALID_STATE``; the
console shows that next to the control and offers no such button on the admin's own page).
A change of role or branch, a deactivation and "Revoke sessions" all end the user's core
sessions, so their console sessions stop on their next request.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from markupsafe import Markup

from app.client import BankingAPIError, RevokedSessions, User
from app.console.admin.common import (
    MANAGE,
    ROLE_CHOICES,
    VIEW,
    admin_context,
    admin_refusal,
    form_values,
    quoted,
    render_admin,
)
from app.console.admin.second_factor import DONE_MESSAGES as FACTOR_DONE
from app.console.admin.second_factor import factor_context, second_factor_routes
from app.console.auth.session import SignedIn
from app.console.banking import CoreSession
from app.console.concurrent import together
from app.console.confirm import ConfirmedAction, ConfirmPage, Subject, confirmed_routes
from app.console.formatting import bank_zone, clock_time, local_time
from app.console.htmx import wants_fragment
from app.console.permissions import ROLE_LABELS, highest_role
from app.console.writes import (
    FORM_EXPIRED,
    FormErrors,
    Refusal,
    WriteBody,
    form_expired,
    key_from_form,
    mint_key,
    redirect,
    send_write,
    text,
)

PAGE_SIZE = 25
MIN_PASSWORD = 12  # the core's rule (POST /users), said on the form before it is broken
CREATE_FIELDS = ("email", "name", "role", "branch_id")
STATUS_FILTERS = (("active", "Active"), ("inactive", "Inactive"))

DONE_MESSAGES = {
    "created": "Staff user created. They can sign in now with the password you set.",
    "saved": "Changes saved.",
    "saved_rights": (
        "Changes saved. Their open sessions were ended, so the new role and branch apply "
        "from their next sign-in."
    ),
    "unchanged": "Nothing to save: the details were already like this.",
    "unlocked": "Account unlocked. They can sign in again now.",
    "deactivated": "Staff user deactivated. They can't sign in, and their sessions ended.",
    "reactivated": "Staff user reactivated. They can sign in again.",
    "revoked": "Sessions revoked. They must sign in again.",
}


@dataclass(frozen=True)
class StaffAction:
    """A confirmed action on a staff user: what the button says, what happens, its done
    message and its log action."""

    title: str
    button: str
    danger: bool
    effect: str
    done: str
    log: str


STAFF_ACTIONS: dict[str, StaffAction] = {
    "deactivate": StaffAction(
        title="Deactivate staff user",
        button="Deactivate",
        danger=True,
        effect=(
            "They will not be able to sign in, and every session they have open ends at "
            "once. Their history stays; you can reactivate them later."
        ),
        done="deactivated",
        log="user.deactivate",
    ),
    "reactivate": StaffAction(
        title="Reactivate staff user",
        button="Reactivate",
        danger=False,
        effect="They can sign in again with their password, with the role and branch shown.",
        done="reactivated",
        log="user.reactivate",
    ),
    "revoke-sessions": StaffAction(
        title="Revoke sessions",
        button="Revoke sessions",
        danger=True,
        effect=(
            "Every session they have open, in the console or anywhere else, stops working on "
            "its next request and they must sign in again. Their account stays active."
        ),
        done="revoked",
        log="user.revoke_sessions",
    ),
}


@dataclass(frozen=True)
class StaffRow:
    """A staff user as the pages show them: role badges, status, times in the bank's zone."""

    id: str
    email: str
    name: str
    roles: list[tuple[str, str]]
    role: str
    branch_id: str
    active: bool
    locked: bool
    status: str
    status_label: str
    locked_until: str
    failed_logins: int
    last_login: str
    created: str
    is_me: bool


def user_path(user_id: str) -> str:
    """The core path of one staff user (the ID came from a URL, so it is quoted)."""
    return f"/users/{quoted(user_id)}"


def page_url(user_id: str) -> str:
    return f"/admin/staff/{quoted(user_id)}"


def staff_row(user: User, me: str, zone: Any, now: datetime) -> StaffRow:
    """A staff user as the pages show them: role badges, status, times in the bank's zone."""
    locked = user.locked_until is not None and user.locked_until > now
    active = user.is_active
    status = "locked" if locked and active else ("active" if active else "inactive")
    return StaffRow(
        id=user.id,
        email=user.email,
        name=user.name,
        roles=[(r, ROLE_LABELS.get(r, r)) for r in user.roles],
        role=highest_role(user.roles) or "",
        branch_id=user.branch_id,
        active=active,
        locked=locked,
        status=status,
        status_label={"active": "Active", "inactive": "Inactive", "locked": "Locked"}[status],
        locked_until=clock_time(user.locked_until, zone) if locked else "",
        failed_logins=user.failed_login_count,
        last_login=local_time(user.last_login_at, zone),
        created=local_time(user.created_at, zone),
        is_me=user.id == me,
    )


# -- the list ---------------------------------------------------------------------------------


@get("/admin/staff", opt=VIEW, name="admin_staff")
async def staff_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """Staff users filtered by a search term, role, branch and status; newest first."""
    params = request.query_params
    q = params.get("q", "").strip()[:100]
    role = params.get("role", "")
    role = role if role in ROLE_LABELS else ""
    branch = params.get("branch", "").strip()[:10]
    status = params.get("status", "")
    status = status if status in {"active", "inactive"} else ""
    cursor = params.get("cursor") or None
    core = CoreSession(request)
    page, branches, tenant = await asyncio.gather(
        core.get_page(
            "/users",
            User,
            params={
                "q": q or None,
                "role": role or None,
                "branch_id": branch or None,
                "active": {"active": "true", "inactive": "false"}.get(status),
                "cursor": cursor,
                "limit": PAGE_SIZE,
            },
        ),
        core.branch_choices(),
        core.tenant(),
    )
    filters = {"q": q, "role": role, "branch": branch, "status": status}
    query = {k: v for k, v in filters.items() if v}
    next_url = None
    if page.has_more and page.next_cursor:
        next_url = "/admin/staff?" + urlencode({**query, "cursor": page.next_cursor})
    zone, now = bank_zone(tenant), datetime.now(UTC)
    return render_admin(
        request,
        "admin/staff/index.html",
        {
            "filters": filters,
            "cursor": cursor,
            "staff": [staff_row(u, core.signed_in.user.id, zone, now) for u in page.items],
            "next_url": next_url,
            "first_url": "/admin/staff" + (f"?{urlencode(query)}" if query else ""),
            "role_options": list(ROLE_CHOICES),
            "branch_options": branches,
            "status_options": list(STATUS_FILTERS),
        },
        title="Staff",
        section="staff",
        tenant=tenant,
        block="rows" if cursor and wants_fragment(request) else "results",
    )


# -- create -----------------------------------------------------------------------------------


async def _create_form(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    values: dict[str, str],
    key: str,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return render_admin(
        request,
        "admin/staff/new.html",
        {
            **form_values(values, key, errors, error),
            "role_options": list(ROLE_CHOICES),
            "branch_options": await core.branch_choices(),
            "min_password": MIN_PASSWORD,
        },
        title="New staff user",
        section="staff",
        tenant=await core.tenant(),
        status_code=status_code,
    )


@get("/admin/staff/new", opt=MANAGE, name="admin_staff_new")
async def staff_new(request: Request[Any, Any, Any]) -> Response[Any]:
    """The new-staff-user form, its idempotency key minted now."""
    values = {name: "" for name in CREATE_FIELDS}
    return await _create_form(request, CoreSession(request), values=values, key=mint_key())


@post("/admin/staff", opt=MANAGE, name="admin_staff_create")
async def staff_create(request: Request[Any, Any, Any]) -> Response[Any]:
    """Create the staff user, then show their page (POST → redirect → GET).

    The password is never written back into the page: after a refusal it is typed again.
    """
    form = await request.form()
    values = {name: text(form, name, 254) for name in CREATE_FIELDS}
    password = str(form.get("password") or "")[:1024]
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _create_form(request, core, values=values, **form_expired().as_form())
    body = {
        "email": values["email"],
        "name": values["name"],
        "password": password,
        "roles": [values["role"]] if values["role"] else [],
        "branch_id": values["branch_id"],
    }
    created = await send_write(
        request,
        core,
        core.post("/users", body, idempotency_key=key, model=User),
        action="user.create",
        target=None,
        key=key,
        explain=admin_refusal,
        done_target=lambda created: f"user:{created.id}",
    )
    if isinstance(created, Refusal):
        return await _create_form(request, core, values=values, **created.as_form())
    return redirect(f"{page_url(created.id)}?done=created")


# -- one staff user ---------------------------------------------------------------------------


async def _detail_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    user_id: str,
    *,
    values: dict[str, str] | None = None,
    key: str | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    action_error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    user, branches, tenant = await asyncio.gather(
        core.get(user_path(user_id), model=User), core.branch_choices(), core.tenant()
    )
    row = staff_row(user, core.signed_in.user.id, bank_zone(tenant), datetime.now(UTC))
    done = request.query_params.get("done", "")
    factor = await factor_context(core, user_id, tenant)
    return render_admin(
        request,
        "admin/staff/detail.html",
        {
            "staff": row,
            "values": values or {"name": row.name, "role": row.role, "branch_id": row.branch_id},
            "key": key or mint_key(),
            "unlock_key": mint_key(),
            "errors": FormErrors(errors or {}),
            "error": error,
            "action_error": action_error,
            "done": DONE_MESSAGES.get(done) or FACTOR_DONE.get(done),
            "revoked_count": request.query_params.get("n", "") if done == "revoked" else "",
            "factor": factor,
            "factor_key": mint_key(),
            "role_options": list(ROLE_CHOICES),
            "branch_options": branches,
        },
        title=f"Staff user {row.name}",
        section="staff",
        tenant=tenant,
        status_code=status_code,
    )


@get("/admin/staff/{user_id:str}", opt=VIEW, name="admin_staff_user")
async def staff_detail(request: Request[Any, Any, Any], user_id: str) -> Response[Any]:
    """A staff user: status, last sign-in, the role-and-branch form and the actions."""
    return await _detail_page(request, CoreSession(request), user_id)


@post("/admin/staff/{user_id:str}", opt=MANAGE, name="admin_staff_update")
async def staff_update(request: Request[Any, Any, Any], user_id: str) -> Response[Any]:
    """Change the name, role or branch; only what changed is sent to the core."""
    form = await request.form()
    values = {
        "name": text(form, "name", 200),
        "role": text(form, "role", 20),
        "branch_id": text(form, "branch_id", 10),
    }
    key = key_from_form(form)
    core = CoreSession(request)
    # A missing user is a 404 page, as for GET.
    user = await core.get(user_path(user_id), model=User)
    if key is None:
        return await _detail_page(request, core, user_id, values=values, **form_expired().as_form())
    roles = user.roles
    change: WriteBody = {}
    if values["name"] != user.name:
        change["name"] = values["name"]
    if values["role"] != (highest_role(roles) or ""):
        change["roles"] = [values["role"]] if values["role"] else []
    if values["branch_id"] != user.branch_id:
        change["branch_id"] = values["branch_id"]
    if not change:
        return redirect(f"{page_url(user_id)}?done=unchanged")
    updated = await send_write(
        request,
        core,
        core.send("PATCH", user_path(user_id), json=change, idempotency_key=key),
        action="user.update",
        target=f"user:{user.id}",
        key=key,
        explain=admin_refusal,
    )
    if isinstance(updated, Refusal):
        return await _detail_page(request, core, user_id, values=values, **updated.as_form())
    rights = "roles" in change or "branch_id" in change
    return redirect(f"{page_url(user_id)}?done={'saved_rights' if rights else 'saved'}")


@post("/admin/staff/{user_id:str}/unlock", opt=MANAGE, name="admin_staff_unlock")
async def staff_unlock(request: Request[Any, Any, Any], user_id: str) -> Response[Any]:
    """Clear the failed sign-ins and the lock (nothing else changes, so no confirmation)."""
    form = await request.form()
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _detail_page(
            request, core, user_id, action_error=FORM_EXPIRED, status_code=400
        )
    unlocked = await send_write(
        request,
        core,
        core.post(user_path(user_id) + "/unlock", {}, idempotency_key=key),
        action="user.unlock",
        target=f"user:{user_id[:40]}",
        key=key,
        explain=admin_refusal,
        reraise_not_found=True,
    )
    if isinstance(unlocked, Refusal):
        return await _detail_page(
            request, core, user_id, action_error=unlocked.error, status_code=unlocked.status_code
        )
    return redirect(f"{page_url(user_id)}?done=unlocked")


# -- deactivate, reactivate, revoke sessions (confirmed) -----------------------------------


def _allowed(action: str, row: StaffRow) -> tuple[bool, str]:
    """Whether ``action`` makes sense for the user now, and why not when it doesn't."""
    if action == "deactivate" and row.is_me:
        return False, "You can't deactivate your own account; ask another admin."
    if action == "deactivate" and not row.active:
        return False, "This staff user is already inactive."
    if action == "reactivate" and row.active:
        return False, "This staff user is already active."
    return True, ""


def _staff_action(action: str) -> ConfirmedAction:
    """Deactivate, reactivate or revoke sessions: what it does, the button, the user."""
    spec = STAFF_ACTIONS[action]

    async def load(core: CoreSession, user_id: str) -> Subject:
        user, tenant = await together(core.get(user_path(user_id), model=User), core.tenant())
        row = staff_row(user, core.signed_in.user.id, bank_zone(tenant), datetime.now(UTC))
        allowed, why_not = _allowed(action, row)
        effect = spec.effect
        if action == "revoke-sessions" and row.is_me:
            effect += " This includes your own session: you will be asked to sign in again."
        page = ConfirmPage(
            title=f"{spec.title} {row.name}",
            question=Markup("{} {}?").format(spec.button, row.name),
            button=spec.button,
            cancel_url=page_url(user_id),
            effect=effect,
            danger=spec.danger,
            blocked=None if allowed else why_not,
            back_label=f"Back to {row.name}",
        )
        context = admin_context(
            "staff", tenant, title=spec.title, lede=f"{row.name} · {row.email}",
            eyebrow="Staff",
        )  # fmt: skip
        return Subject(context={**context, "staff": row}, page=page)

    async def send(core: CoreSession, user_id: str, _reason: str, key: str) -> Any:
        if action == "revoke-sessions":
            path = user_path(user_id) + "/revoke-sessions"
            return await core.post(path, {}, idempotency_key=key, model=RevokedSessions)
        change = {"is_active": action == "reactivate"}
        return await core.send("PATCH", user_path(user_id), json=change, idempotency_key=key)

    async def target(_core: CoreSession, user_id: str) -> str:
        return f"user:{user_id[:40]}"

    def done(user_id: str, answer: Any) -> str:
        query = {"done": spec.done}
        if isinstance(answer, RevokedSessions):
            query["n"] = str(answer.revoked)
        return f"{page_url(user_id)}?{urlencode(query)}"

    return ConfirmedAction(
        name=f"admin_staff_{action.replace('-', '_')}",
        path=f"/admin/staff/{{user_id:str}}/{action}",
        param="user_id",
        opt=MANAGE,
        log=spec.log,
        head="admin/_confirm_head.html",
        facts="admin/staff/_confirm_facts.html",
        load=load,
        send=send,
        target=target,
        done=done,
        explain=_staff_refusal,
        reraise_not_found=True,
    )


def _staff_refusal(error: BankingAPIError, signed_in: SignedIn) -> tuple[FormErrors, str | None]:
    """ "You can't deactivate yourself" comes back on the is_active field: said above."""
    errors, summary = admin_refusal(error, signed_in)
    return errors, errors.get("is_active") or summary


staff_routes: list[Any] = [
    staff_list,
    staff_new,
    staff_create,
    staff_detail,
    staff_update,
    staff_unlock,
    *confirmed_routes(_staff_action("deactivate")),
    *confirmed_routes(_staff_action("reactivate")),
    *confirmed_routes(_staff_action("revoke-sessions")),
    *second_factor_routes,
]

"""API keys for machine clients: the list, create (a role, and optionally fewer scopes than
the role allows), the key shown exactly once, and revoke behind a confirmation.

The secret comes back from ``POST /api-keys`` only. It is kept server-side for the one
page that shows it (POST → redirect → GET) and forgotten as that page is rendered.
"""

from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from markupsafe import Markup

from app.client import ApiKey, BankingAPIError
from app.console.admin.common import (
    MANAGE,
    ROLE_CHOICES,
    VIEW,
    OneTimeSecrets,
    admin_context,
    admin_refusal,
    form_values,
    quoted,
    render_admin,
)
from app.console.auth.session import SignedIn
from app.console.banking import CoreSession
from app.console.confirm import ConfirmedAction, ConfirmPage, Subject, confirmed_routes
from app.console.formatting import bank_zone, local_time
from app.console.permissions import ROLE_LABELS, ROLES
from app.console.writes import (
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

PAGE_LIMIT = 200
MAX_PAGES = 10
SECRET_KIND = "api_key"

# roles.md "Scopes by role": what each role adds, in words for the form.
SCOPES_ADDED: dict[str, tuple[tuple[str, str], ...]] = {
    "viewer": (
        ("customers:read", "Read customers"),
        ("accounts:read", "Read accounts and balances"),
        ("transactions:read", "Read transactions"),
        ("gl:read", "Read the general ledger and reports"),
        ("loans:read", "Read loans"),
    ),
    "teller": (
        ("transactions:write", "Take deposits and withdrawals"),
        ("gl:write", "Draft journals"),
        ("payments:initiate", "Start payments"),
    ),
    "officer": (
        ("customers:write", "Create and change customers"),
        ("accounts:write", "Open and change accounts, place holds"),
        ("payments:authorize", "Approve payments and pending transactions"),
        ("loans:write", "Change loans"),
    ),
    "manager": (
        ("loans:approve", "Approve loans"),
        ("audit:read", "Read the audit trail"),
    ),
    "admin": (("admin:full", "Administer the bank (settings, staff, keys, webhooks)"),),
}
ALL_SCOPES = frozenset(scope for added in SCOPES_ADDED.values() for scope, _ in added)


def beyond_role(role: str, scopes: list[str]) -> list[str]:
    """The ``scopes`` a key with ``role`` may not carry (each role has its own and those of
    the roles below it)."""
    if role not in SCOPES_ADDED:
        return []
    allowed = {
        scope for held in ROLES[: ROLES.index(role) + 1] for scope, _ in SCOPES_ADDED.get(held, ())
    }
    return [s for s in scopes if s not in allowed]


@dataclass(frozen=True)
class KeyRow:
    """An API key as the list shows it."""

    id: str
    name: str
    role: str
    role_label: str
    scopes: list[str]
    prefix: str
    branch_id: str
    created: str
    revoked: bool
    revoked_at: str


@dataclass(frozen=True)
class KeyForm:
    """The new-key form as typed."""

    name: str = ""
    role: str = ""
    scopes: list[str] = field(default_factory=list)


class CreatedKey(msgspec.Struct, kw_only=True, frozen=True):
    """A new key as its one page shows it (the secret only straight after)."""

    name: str
    role: str
    scopes: list[str]
    prefix: str
    api_key: str | None = None


def key_row(key: ApiKey, zone: Any) -> KeyRow:
    """An API key as the list shows it."""
    return KeyRow(
        id=key.id,
        name=key.name,
        role=key.role,
        role_label=ROLE_LABELS.get(key.role, key.role),
        scopes=key.scopes,
        prefix=key.prefix,
        branch_id=key.branch_id or "",
        created=local_time(key.created_at, zone),
        revoked=key.revoked_at is not None,
        revoked_at=local_time(key.revoked_at, zone),
    )


async def all_keys(core: CoreSession) -> list[ApiKey]:
    """Every API key of the bank, newest first (keys are few; the reading is bounded)."""
    keys: list[ApiKey] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params = {"limit": PAGE_LIMIT, "cursor": cursor}
        page = await core.get_page("/api-keys", ApiKey, params=params)
        keys.extend(page.items)
        cursor = page.next_cursor
        if not page.has_more or not cursor:
            break
    return keys


async def find_key(core: CoreSession, key_id: str) -> ApiKey:
    """One API key by ID (the core has no single-key read).

    Raises:
        NotFoundException: No key of this bank has the ID.
    """
    for key in await all_keys(core):
        if key.id == key_id:
            return key
    raise NotFoundException("no such API key")


@get("/admin/api-keys", opt=VIEW, name="admin_api_keys")
async def key_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """Every API key: active ones first, revoked ones kept for the record."""
    core = CoreSession(request)
    zone = bank_zone(await core.tenant())
    rows = [key_row(k, zone) for k in await all_keys(core)]
    return render_admin(
        request,
        "admin/api_keys/index.html",
        {
            "active": [r for r in rows if not r.revoked],
            "revoked": [r for r in rows if r.revoked],
            "done": request.query_params.get("done") == "revoked",
        },
        title="API keys",
        section="api_keys",
        tenant=await core.tenant(),
    )


async def _create_form(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    values: KeyForm,
    key: str,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return render_admin(
        request,
        "admin/api_keys/new.html",
        {
            **form_values(values, key, errors, error),
            "role_options": list(ROLE_CHOICES),
            "scope_groups": [(r, ROLE_LABELS[r], SCOPES_ADDED[r]) for r in ROLES],
        },
        title="New API key",
        section="api_keys",
        tenant=await core.tenant(),
        status_code=status_code,
    )


def _create_refusal(
    error: BankingAPIError, signed_in: SignedIn, values: KeyForm
) -> tuple[FormErrors, str | None]:
    """The Admin words, with the scopes a refused role may not carry named."""
    errors, summary = admin_refusal(error, signed_in)
    if any(d.get("code") == "scope_not_in_role" for d in error.details):
        wide = beyond_role(values.role, values.scopes)
        if wide:
            errors["scopes"] = (
                f"A key with the {values.role} role can't carry {', '.join(wide)}; "
                "untick them or choose a higher role."
            )
    return errors, summary


@get("/admin/api-keys/new", opt=MANAGE, name="admin_api_key_new")
async def key_new(request: Request[Any, Any, Any]) -> Response[Any]:
    """The new-key form."""
    return await _create_form(request, CoreSession(request), values=KeyForm(), key=mint_key())


@post("/admin/api-keys", opt=MANAGE, name="admin_api_key_create")
async def key_create(request: Request[Any, Any, Any]) -> Response[Any]:
    """Create the key, keep its secret for the one page that shows it, and go there."""
    form = await request.form()
    scopes = [str(s) for s in form.getall("scopes", []) if str(s) in ALL_SCOPES]
    values = KeyForm(name=text(form, "name", 200), role=text(form, "role", 20), scopes=scopes)
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _create_form(request, core, values=values, **form_expired().as_form())
    body: WriteBody = {"name": values.name, "role": values.role}
    if scopes:
        body["scopes"] = scopes
    created = await send_write(
        request,
        core,
        core.post("/api-keys", body, idempotency_key=key, model=ApiKey),
        action="api_key.create",
        target=None,
        key=key,
        explain=lambda exc, signed_in: _create_refusal(exc, signed_in, values),
        done_target=lambda created: f"api_key:{created.id}",
    )
    if isinstance(created, Refusal):
        return await _create_form(request, core, values=values, **created.as_form())
    key_id = created.id
    await OneTimeSecrets(request, core).keep(
        SECRET_KIND,
        key_id,
        CreatedKey(
            api_key=created.api_key,
            name=created.name,
            role=created.role,
            scopes=created.scopes,
            prefix=created.prefix,
        ),
    )
    return redirect(f"/admin/api-keys/{quoted(key_id)}/created")


@get("/admin/api-keys/{key_id:str}/created", opt=MANAGE, name="admin_api_key_created")
async def key_created(request: Request[Any, Any, Any], key_id: str) -> Response[Any]:
    """The new key's secret, this once; reloading says it can't be shown again."""
    core = CoreSession(request)
    kept = await OneTimeSecrets(request, core).take(SECRET_KIND, key_id, CreatedKey)
    if kept is None:
        found = await find_key(core, key_id)
        kept = CreatedKey(
            name=found.name, role=found.role, scopes=found.scopes, prefix=found.prefix
        )
    role = kept.role
    return render_admin(
        request,
        "admin/api_keys/created.html",
        {
            "created": kept,
            "secret": kept.api_key,
            "role_label": ROLE_LABELS.get(role, role),
        },
        title="API key created",
        section="api_keys",
        tenant=await core.tenant(),
        headers={"Cache-Control": "no-store"},
    )


async def _revoke_subject(core: CoreSession, key_id: str) -> Subject:
    found = await find_key(core, key_id)
    tenant = await core.tenant()
    row = key_row(found, bank_zone(tenant))
    page = ConfirmPage(
        title=f"Revoke API key {row.name}",
        question=Markup("Revoke API key {}?").format(row.name),
        button="Revoke",
        cancel_url="/admin/api-keys",
        effect=None
        if row.revoked
        else (
            "The client using this key is cut off at once: every token issued for it stops "
            "working, and the key can't be used again."
        ),
        danger=True,
        blocked=f"This key was already revoked on {row.revoked_at}." if row.revoked else None,
        back_label="Back to API keys",
    )
    context = admin_context(
        "api_keys", tenant, title="Revoke API key", lede=row.name, eyebrow="API keys"
    )
    return Subject(context={**context, "api_key": row}, page=page)


async def _revoke(core: CoreSession, key_id: str, _reason: str, key: str) -> Any:
    """Revoke the key and every token issued for it."""
    return await core.delete(f"/api-keys/{quoted(key_id)}", idempotency_key=key)


async def _key_target(_core: CoreSession, key_id: str) -> str:
    return f"api_key:{key_id[:40]}"


REVOKE_KEY = ConfirmedAction(
    name="admin_api_key_revoke",
    path="/admin/api-keys/{key_id:str}/revoke",
    param="key_id",
    opt=MANAGE,
    log="api_key.revoke",
    head="admin/_confirm_head.html",
    facts="admin/api_keys/_revoke_facts.html",
    load=_revoke_subject,
    send=_revoke,
    target=_key_target,
    done=lambda _key_id, _answer: "/admin/api-keys?done=revoked",
    explain=admin_refusal,
    reraise_not_found=True,
)


api_key_routes: list[Any] = [
    key_list,
    key_new,
    key_create,
    key_created,
    *confirmed_routes(REVOKE_KEY),
]

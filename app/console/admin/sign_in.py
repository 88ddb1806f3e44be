"""Sign-in settings: the bank's identity provider for single sign-on (``PUT
/tenant/identity-provider``), with the addresses to register at the provider.

The client secret is write-only: the page never shows it, says only whether one is set,
and an empty secret field keeps the one the core holds. Groups map to roles one per line,
``group = role`` or ``group = role @ branch``.
"""

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post

from app.client import BankingAPIError, BankingAPINotFound, GroupMapping, IdentityProvider
from app.console.admin.common import MANAGE, VIEW, admin_refusal, form_values, render_admin
from app.console.auth.sso import forget_provider, post_logout_uri, redirect_uri
from app.console.banking import CoreSession
from app.console.writes import (
    FormErrors,
    Refusal,
    WriteBody,
    form_expired,
    key_from_form,
    mint_key,
    redirect,
    send_write,
)

ROLES = ("viewer", "teller", "officer", "manager", "admin")
DONE_MESSAGES = {
    "saved": "Sign-in settings saved. The sign-in page offers the provider from now on.",
    "removed": "Single sign-on removed. Staff sign in with their email and password.",
}
FIELDS = (
    "display_name",
    "issuer",
    "client_id",
    "scopes",
    "groups_claim",
    "email_claim",
    "default_branch",
    "group_mappings",
)


def mappings_text(mappings: list[GroupMapping]) -> str:
    return "\n".join(
        f"{m.group} = {m.role}" + (f" @ {m.branch_id}" if m.branch_id else "") for m in mappings
    )


def parse_mappings(text: str) -> tuple[list[GroupMapping], str | None]:
    """``group = role [@ branch]`` lines, or the first problem in words."""
    found: list[GroupMapping] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if "=" not in line:
            return [], f"Line {number}: write it as “group = role” or “group = role @ branch”."
        group, rest = (part.strip() for part in line.rsplit("=", 1))
        role, _, branch = (part.strip() for part in rest.partition("@"))
        if not group:
            return [], f"Line {number}: name the group before “=”."
        if role.lower() not in ROLES:
            return [], f"Line {number}: “{role}” is not a role; use one of {', '.join(ROLES)}."
        found.append(GroupMapping(group=group, role=role.lower(), branch_id=branch or None))
    if not found:
        return [], "Map at least one group to a role, or nobody can sign in through it."
    return found, None


def mapping_body(mapping: GroupMapping) -> WriteBody:
    """One mapping as the core takes it (a branch only when one is named)."""
    body: WriteBody = {"group": mapping.group, "role": mapping.role}
    if mapping.branch_id:
        body["branch_id"] = mapping.branch_id
    return body


@dataclass(frozen=True)
class ProviderForm:
    """The sign-in settings form as typed (or as the core holds them)."""

    display_name: str = ""
    issuer: str = ""
    client_id: str = ""
    scopes: str = "openid email profile"
    groups_claim: str = "groups"
    email_claim: str = "email"
    default_branch: str = ""
    group_mappings: str = ""
    require_verified_email: bool = True
    create_users: bool = False
    enabled: bool = True

    @classmethod
    def of(cls, current: IdentityProvider) -> "ProviderForm":
        return cls(
            display_name=current.display_name,
            issuer=current.issuer,
            client_id=current.client_id,
            scopes=current.scopes,
            groups_claim=current.groups_claim or "",
            email_claim=current.email_claim or "",
            default_branch=current.default_branch or "",
            group_mappings=mappings_text(current.group_mappings),
            require_verified_email=current.require_verified_email,
            create_users=current.create_users,
            enabled=current.enabled,
        )


async def _page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    values: ProviderForm | None = None,
    key: str | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    tenant = await core.tenant()
    try:
        current: IdentityProvider | None = await core.get(
            "/tenant/identity-provider", model=IdentityProvider
        )
    except BankingAPINotFound:
        current = None
    branches = await core.branches()
    shown = values or (ProviderForm.of(current) if current else ProviderForm())
    return render_admin(
        request,
        "admin/sign_in.html",
        {
            "current": current,
            "redirect_uri": redirect_uri(request),
            "post_logout_uri": post_logout_uri(request),
            "branch_options": [(b.code, f"{b.code} — {b.name}") for b in branches],
            **form_values(shown, key or mint_key(), errors, error),
            "remove_key": mint_key(),
            "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
        },
        title="Sign-in",
        section="sign_in",
        tenant=tenant,
        status_code=status_code,
    )


@get("/admin/sign-in", opt=VIEW, name="admin_sign_in")
async def sign_in_settings(request: Request[Any, Any, Any]) -> Response[Any]:
    """The identity provider staff sign in through, and how to register Branchdesk there."""
    return await _page(request, CoreSession(request))


def _refusal_errors(error: BankingAPIError) -> FormErrors:
    errors = FormErrors()
    for detail in error.details:
        field = str(detail.get("field") or "")
        base = field.split(".")[0]
        if base in {*FIELDS, "client_secret"}:
            reason = str(detail.get("reason") or "").removeprefix("Value error, ")
            errors.setdefault(base, reason[:1].upper() + reason[1:] + ".")
    return errors


@post("/admin/sign-in", opt=MANAGE, name="admin_sign_in_save")
async def save_sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()

    def typed(name: str) -> str:
        return str(form.get(name) or "").strip()

    values = ProviderForm(
        display_name=typed("display_name"),
        issuer=typed("issuer"),
        client_id=typed("client_id"),
        scopes=typed("scopes"),
        groups_claim=typed("groups_claim"),
        email_claim=typed("email_claim"),
        default_branch=typed("default_branch"),
        group_mappings=str(form.get("group_mappings") or "")[:20_000],
        require_verified_email=form.get("require_verified_email") == "on",
        create_users=form.get("create_users") == "on",
        enabled=form.get("enabled") == "on",
    )
    secret = str(form.get("client_secret") or "").strip()
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _page(request, core, values=values, **form_expired().as_form())
    errors: dict[str, str] = {}
    for field, label in (
        ("display_name", "the name staff see on the button"),
        ("issuer", "the issuer URL"),
        ("client_id", "the client ID"),
    ):
        if not getattr(values, field):
            errors[field] = f"Enter {label}."
    mappings, problem = parse_mappings(values.group_mappings)
    if problem:
        errors["group_mappings"] = problem
    if errors:
        return await _page(
            request,
            core,
            values=values,
            key=key,
            errors=errors,
            error="Some details need attention; see the messages by each field.",
            status_code=400,
        )
    body: WriteBody = {
        "display_name": values.display_name,
        "issuer": values.issuer,
        "client_id": values.client_id,
        "scopes": values.scopes or "openid email profile",
        "groups_claim": values.groups_claim or "groups",
        "email_claim": values.email_claim or "email",
        "require_verified_email": values.require_verified_email,
        "create_users": values.create_users,
        "default_branch": values.default_branch or None,
        "group_mappings": [mapping_body(m) for m in mappings],
        "enabled": values.enabled,
    }
    if secret:
        body["client_secret"] = secret

    def explain(error: BankingAPIError, signed_in: Any) -> tuple[FormErrors, str]:
        found = _refusal_errors(error)
        if found:
            return found, "Some details need attention; see the messages by each field."
        return admin_refusal(error, signed_in)

    saved = await send_write(
        request,
        core,
        core.send("PUT", "/tenant/identity-provider", json=body, idempotency_key=key),
        action="tenant.identity_provider_update",
        target=f"tenant:{core.signed_in.tenant.code}",
        key=key,
        explain=explain,
    )
    if isinstance(saved, Refusal):
        return await _page(request, core, values=values, **saved.as_form())
    forget_provider(request, core.signed_in.tenant.code)
    return redirect("/admin/sign-in?done=saved")


@post("/admin/sign-in/remove", opt=MANAGE, name="admin_sign_in_remove")
async def remove_sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _page(request, core, **form_expired().as_form())
    removed = await send_write(
        request,
        core,
        core.delete("/tenant/identity-provider", idempotency_key=key),
        action="tenant.identity_provider_remove",
        target=f"tenant:{core.signed_in.tenant.code}",
        key=key,
        explain=admin_refusal,
    )
    if isinstance(removed, Refusal):
        return await _page(request, core, **removed.as_form())
    forget_provider(request, core.signed_in.tenant.code)
    return redirect("/admin/sign-in?done=removed")


sign_in_routes: list[Any] = [sign_in_settings, save_sign_in, remove_sign_in]

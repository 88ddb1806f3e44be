"""What the Admin pages share: their permissions, the sub-navigation, core errors in the
admin's words, times in the bank's timezone, and secrets that are shown exactly once.

Every Admin page and action is for admins only (``admin.view`` to look, ``admin.manage``
to change); the core checks ``admin:full`` again on every call.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import msgspec
from litestar import Request, Response

from app.client import BankingAPIError, Tenant
from app.console.auth.session import SignedIn
from app.console.banking import CoreSession
from app.console.errors import core_message
from app.console.htmx import Context, render
from app.console.reasons import detail_words
from app.console.state import console_state
from app.console.writes import FormErrors

VIEW = {"permission": "admin.view"}
MANAGE = {"permission": "admin.manage"}

# Roles are cumulative (roles.md); staff forms choose the highest one.
ROLE_CHOICES: tuple[tuple[str, str], ...] = (
    ("viewer", "Viewer"),
    ("teller", "Teller"),
    ("officer", "Officer"),
    ("manager", "Manager"),
    ("admin", "Admin"),
)
ROLE_VALUES = frozenset(value for value, _ in ROLE_CHOICES)


@dataclass(frozen=True)
class Section:
    """One tab of the Admin area's sub-navigation."""

    key: str
    label: str
    path: str
    lede: str


SECTIONS: tuple[Section, ...] = (
    Section(
        "staff",
        "Staff",
        "/admin/staff",
        "Staff users, their roles and branches; unlock, deactivate, sign out everywhere.",
    ),
    Section("branches", "Branches", "/admin/branches", "The bank's branches; open a new one."),
    Section(
        "settings",
        "Settings",
        "/admin/settings",
        "The teller approval limit and who may approve whose work.",
    ),
    Section(
        "sign_in",
        "Sign-in",
        "/admin/sign-in",
        "Single sign-on through the bank's identity provider, and who it makes what.",
    ),
    Section(
        "api_keys",
        "API keys",
        "/admin/api-keys",
        "Keys for machine clients, each with a role and its scopes; revoke them here.",
    ),
    Section(
        "webhooks",
        "Webhooks",
        "/admin/webhooks",
        "Where the bank's events are sent, and how each delivery went.",
    ),
)


def render_admin(
    request: Request[Any, Any, Any],
    template_name: str,
    context: Mapping[str, Any],
    *,
    title: str,
    section: str,
    tenant: Tenant,
    block: str | None = None,
    **options: Any,
) -> Response[str]:
    """:func:`app.console.htmx.render` for an Admin page: its title, its tab of the Admin
    sub-navigation (``section``) and the bank (``tenant``), beside the page's own values."""
    values = {"admin_sections": SECTIONS, "page_title": title, "section": section}
    return render(
        request, template_name, {**values, "tenant": tenant, **context}, block=block, **options
    )


def admin_context(section: str, tenant: Tenant, *, title: str, lede: str, eyebrow: str) -> Context:
    """What an Admin action's confirm page (``admin/_confirm_head.html``) reads: its tab of
    the Admin sub-navigation, the bank, and its heading."""
    return {
        "admin_sections": SECTIONS,
        "section": section,
        "tenant": tenant,
        "head_title": title,
        "head_lede": lede,
        "head_eyebrow": eyebrow,
    }


def form_values(
    values: object,
    key: str,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
) -> Context:
    """What a form page's template reads: the values typed (a mapping, or the form's own
    dataclass), the form's idempotency key, the messages by control and the sentence above
    the form."""
    return {"values": values, "key": key, "errors": FormErrors(errors or {}), "error": error}


def quoted(value: str) -> str:
    """A path segment taken from a URL, quoted before it goes into a core path."""
    return quote(value, safe="")


# -- core errors in words ---------------------------------------------------------------------

# The core's field → the form control it is shown beside.
CONTROLS: dict[str, str] = {"roles": "role", "roles.0": "role"}
_LIST_ITEM = re.compile(r"^(\w+)\.\d+$")


def admin_errors(error: BankingAPIError) -> FormErrors:
    """The core error's per-field problems as ``{form control: message}``."""
    errors = FormErrors()
    for detail in error.details:
        field = str(detail.get("field") or "")
        if not field or field == "body":
            continue
        item = _LIST_ITEM.match(field)
        base = item.group(1) if item else field
        control = CONTROLS.get(field) or CONTROLS.get(base) or base
        errors.setdefault(control, detail_words(detail, control))
    return errors


def admin_summary(error: BankingAPIError) -> str:
    """One sentence above a refused admin form."""
    if error.code in {"VALIDATION_ERROR", "MISSING_FIELD"}:
        return "Some details need attention; see the messages by each field."
    if error.code in {"DUPLICATE_RESOURCE", "INVALID_STATE"} and error.message:
        return error.message  # the core's own sentence names the clash or the state
    return core_message(error)


def admin_refusal(error: BankingAPIError, signed_in: SignedIn) -> tuple[FormErrors, str]:
    """:func:`app.console.writes.send_write`'s ``explain`` for the Admin forms."""
    return admin_errors(error), admin_summary(error)


# -- secrets shown once -----------------------------------------------------------------------

SECRET_SECONDS = 10 * 60
_KeptT = TypeVar("_KeptT", bound=msgspec.Struct)


class OneTimeSecrets:
    """A new API key or webhook secret, kept server-side between the POST and the page
    that shows it (POST → redirect → GET), and forgotten the moment it is shown.

    Like money drafts, it lives in the console's session store under its own key, scoped to
    the signed-in session, so no other session can read it and it expires on its own.
    """

    def __init__(self, request: Request[Any, Any, Any], core: CoreSession) -> None:
        self._store = console_state(request.app).session_store
        self._prefix = f"admin-secret:{core.signed_in.session_id}:"

    async def keep(self, kind: str, resource_id: str, value: msgspec.Struct) -> None:
        await self._store.set(
            f"{self._prefix}{kind}:{resource_id}",
            msgspec.json.encode(value),
            expires_in=SECRET_SECONDS,
        )

    async def take(self, kind: str, resource_id: str, model: type[_KeptT]) -> _KeptT | None:
        """The kept value, removed from the store as it is read (so it is shown once)."""
        key = f"{self._prefix}{kind}:{resource_id}"
        raw = await self._store.get(key)
        if raw is None:
            return None
        await self._store.delete(key)
        try:
            return msgspec.json.decode(raw, type=model)
        except msgspec.DecodeError:
            return None


def forget_tenant(core: CoreSession) -> None:
    """Drop this process's cached ``GET /tenant`` after the settings changed."""
    core.console.tenant_cache.pop(core.signed_in.tenant.code, None)


def forget_branches(core: CoreSession) -> None:
    """Drop this process's cached ``GET /branches`` after a branch was opened."""
    core.console.branch_cache.pop(core.signed_in.tenant.code, None)

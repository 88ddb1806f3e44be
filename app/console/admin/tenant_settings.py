"""Tenant settings: the teller approval limit and the maker-checker switch (the settings
``PUT /tenant/settings`` holds), beside what the bank is (code, currency, timezone, date).

Turning ``allow_same_maker_checker`` on weakens a control (one person could make and
approve the same money movement), so it takes a second, explicit confirmation; turning it
off, or changing the limit, does not. A core in production mode refuses turning it on at
all (a sandbox's convenience only): the page says so by the switch.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request, Response, get, post

from app.client import BankingAPIError, Tenant
from app.console.admin.common import (
    MANAGE,
    VIEW,
    admin_refusal,
    forget_tenant,
    form_values,
    render_admin,
)
from app.console.auth.session import SignedIn
from app.console.banking import CoreSession
from app.console.formatting import money
from app.console.writes import (
    FormErrors,
    Refusal,
    WriteBody,
    form_expired,
    key_from_form,
    mint_key,
    normalise_amount,
    redirect,
    send_write,
)

# Who needs a second factor to sign in with a password (``PUT /tenant/settings``).
MFA_CHOICES: tuple[tuple[str, str], ...] = (
    ("officer", "Officers, managers and admins"),
    ("manager", "Managers and admins"),
    ("admin", "Admins only"),
    ("teller", "Tellers and above"),
    ("viewer", "Everyone"),
    ("none", "Nobody (password alone)"),
)
MFA_LABELS = dict(MFA_CHOICES)

DONE_MESSAGES = {
    "saved": "Settings saved. They apply to the next transaction.",
    "unchanged": "Nothing to save: the settings were already like this.",
}


PRODUCTION_REFUSAL = (
    "This bank runs in production mode: the same person may never make and approve, "
    "so this stays off."
)


def settings_refusal(error: BankingAPIError, signed_in: SignedIn) -> tuple[FormErrors, str]:
    """The admin forms' explanation, with the core's production-mode refusal in words."""
    errors, summary = admin_refusal(error, signed_in)
    if any(
        d.get("field") == "allow_same_maker_checker"
        and "production mode" in str(d.get("reason") or "")
        for d in error.details
    ):
        errors["allow_same_maker_checker"] = PRODUCTION_REFUSAL
        summary = PRODUCTION_REFUSAL
    return errors, summary


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return None


def limit_for_input(amount: Any, currency: str) -> str:
    """The limit as the input shows it: separators, no symbol (``"1,000,000.00"``)."""
    shown = money(amount, currency)
    return shown.lstrip("₦$€£").removesuffix(f" {currency}").strip()


@dataclass(frozen=True)
class SettingsForm:
    """The settings form as typed (or as the bank has them)."""

    teller_approval_limit: str
    allow_same_maker_checker: bool
    mfa_required_role: str


async def _settings_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    values: SettingsForm | None = None,
    key: str | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    confirm_weaken: bool = False,
    status_code: int = 200,
) -> Response[Any]:
    tenant = await core.get(
        "/tenant", model=Tenant
    )  # fresh, not the page cache: this page edits it
    settings = tenant.settings
    currency = tenant.base_currency
    current = SettingsForm(
        teller_approval_limit=limit_for_input(settings.teller_approval_limit, currency),
        allow_same_maker_checker=settings.allow_same_maker_checker,
        mfa_required_role=settings.mfa_required_role,
    )
    return render_admin(
        request,
        "admin/settings.html",
        {
            "currency": currency,
            "limit": money(settings.teller_approval_limit, currency),
            "same_maker_checker": settings.allow_same_maker_checker,
            "mfa_label": MFA_LABELS.get(settings.mfa_required_role, ""),
            "mfa_options": list(MFA_CHOICES),
            **form_values(values or current, key or mint_key(), errors, error),
            "confirm_weaken": confirm_weaken,
            "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
        },
        title="Settings",
        section="settings",
        tenant=tenant,
        status_code=status_code,
    )


@get("/admin/settings", opt=VIEW, name="admin_settings")
async def settings_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The bank's settings, with the form that changes them."""
    return await _settings_page(request, CoreSession(request))


@post("/admin/settings", opt=MANAGE, name="admin_settings_save")
async def settings_save(request: Request[Any, Any, Any]) -> Response[Any]:
    """Save the settings (after a confirmation when one person may make and approve)."""
    form = await request.form()
    typed_limit = str(form.get("teller_approval_limit") or "").strip()[:40]
    same_person = form.get("allow_same_maker_checker") == "on"
    typed_mfa = str(form.get("mfa_required_role") or "")
    values = SettingsForm(
        teller_approval_limit=typed_limit,
        allow_same_maker_checker=same_person,
        mfa_required_role=typed_mfa,
    )
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _settings_page(request, core, values=values, **form_expired().as_form())
    tenant = await core.get("/tenant", model=Tenant)
    settings = tenant.settings
    was_same_person = settings.allow_same_maker_checker
    limit = normalise_amount(typed_limit)
    current_limit = _amount(str(settings.teller_approval_limit))
    typed = _amount(limit)
    unchanged_limit = typed is not None and current_limit is not None and typed == current_limit
    was_mfa = settings.mfa_required_role
    new_mfa = typed_mfa if typed_mfa in MFA_LABELS else was_mfa  # left out: unchanged
    if unchanged_limit and same_person == was_same_person and new_mfa == was_mfa:
        return redirect("/admin/settings?done=unchanged")
    if same_person and not was_same_person and form.get("confirmed") != "yes":
        return await _settings_page(
            request, core, values=values, key=key, confirm_weaken=True, status_code=200
        )
    change: WriteBody = {"allow_same_maker_checker": same_person}
    if not unchanged_limit:
        change["teller_approval_limit"] = limit
    if new_mfa != was_mfa:
        change["mfa_required_role"] = new_mfa
    saved = await send_write(
        request,
        core,
        core.send("PUT", "/tenant/settings", json=change, idempotency_key=key),
        action="tenant.settings_update",
        target=f"tenant:{core.signed_in.tenant.code}",
        key=key,
        explain=settings_refusal,
    )
    if isinstance(saved, Refusal):
        return await _settings_page(request, core, values=values, **saved.as_form())
    forget_tenant(core)
    return redirect("/admin/settings?done=saved")


settings_routes: list[Any] = [settings_page, settings_save]

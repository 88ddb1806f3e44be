"""Home: what the signed-in staff member's day looks like, from real data only.

Everything shown comes from the core now (``GET /tenant``, ``GET /auth/me``,
``GET /branches``, the reports and fiscal periods) or from the permission table. A teller's
panel shows their day's totals; an officer's the approvals waiting for them and the daily
deposit / withdrawal volumes; an admin's the current period and what blocks closing it.
"""

from typing import Any

from litestar import Request, Response, get
from litestar.status_codes import HTTP_204_NO_CONTENT

from app.client import BankingAPIError
from app.console.banking import CoreSession
from app.console.concurrent import together
from app.console.formatting import money
from app.console.htmx import VARY, render, wants_fragment
from app.console.pending_count import waiting_for
from app.console.periods.readiness import close_readiness
from app.console.permissions import ROLE_LABELS, ROLE_RANK, ROLES, can, upcoming_for
from app.console.reports.tellers import home_volumes
from app.console.teller.day import my_day

# What each role adds, in roles.md's words (cumulative, like the permission table).
ROLE_ABILITIES: dict[str, list[str]] = {
    "viewer": [
        "Look up customers, accounts, statements and transactions",
        "Read the general ledger, journals, fiscal periods and reports",
    ],
    "teller": [
        "Take cash deposits and withdrawals for any account of the bank; the cash "
        "posts to your branch's teller cash account",
        "Amounts above the approval limit wait in the approvals queue for an officer",
        "Draft manual journals for approval",
    ],
    "officer": [
        "Create customers; open, freeze, unfreeze and close accounts of your branch; "
        "place and release holds",
        "Make internal transfers between accounts of your branch",
        "Approve, reject and post journals and pending teller transactions (never your own)",
        "Create and cancel standing instructions; create and edit GL accounts",
    ],
    "manager": [
        "Work across every branch of the bank",
        "Reverse posted journals (never your own) and make inter-branch transfers",
        "Approve standing instructions (never your own)",
        "Read the audit trail of the core and the console",
    ],
    "admin": [
        "Create fiscal years; close periods and the year",
        "Manage tenant settings, branches, staff users, webhooks and API keys",
    ],
}

ROLE_SUMMARIES: dict[str, str] = {
    "viewer": "You can look things up across the bank; you can't change anything.",
    "teller": "You serve customers at the counter of your branch.",
    "officer": "You look after your branch's customers and check other people's work.",
    "manager": "You oversee every branch and undo what needs undoing.",
    "admin": "You run the bank's setup: periods, settings, branches and staff.",
}


def abilities_for(role: str | None) -> list[tuple[str, list[str]]]:
    """``(role label, abilities)`` from the user's role down to viewer."""
    if role is None:
        return []
    held = [r for r in ROLES if ROLE_RANK[r] <= ROLE_RANK[role]]
    return [(ROLE_LABELS[r], ROLE_ABILITIES[r]) for r in reversed(held)]


async def _nothing() -> None:
    return None


async def _approvals_figure(request: Request[Any, Any, Any], core: CoreSession) -> Response[Any]:
    """Home's "Approvals waiting" figure alone: what the live stream asks for again."""
    if not can(core.signed_in, "approvals.view"):
        return Response("", status_code=HTTP_204_NO_CONTENT, headers=VARY)
    try:
        waiting = await waiting_for(core)
    except BankingAPIError:
        # Keep the figure the page shows (204: htmx swaps nothing) rather than an error.
        return Response("", status_code=HTTP_204_NO_CONTENT, headers=VARY)
    return render(
        request, "home/index.html", {"approvals_waiting": waiting}, block="approvals_waiting"
    )


async def _officer_and_admin_panels(core: CoreSession) -> tuple[Any, Any]:
    """The daily volumes (officers and up) and the close readiness (admins), which read the
    business date and base currency first (this process's brief copy of the tenant)."""
    signed_in = core.signed_in
    volumes_shown = can(signed_in, "approvals.view")
    readiness_shown = can(signed_in, "periods.manage")
    if not (volumes_shown or readiness_shown):
        return None, None
    tenant = await core.tenant()
    currency = tenant.base_currency
    return await together(
        home_volumes(core, tenant.business_date, currency) if volumes_shown else _nothing(),
        close_readiness(core, currency) if readiness_shown else _nothing(),
    )


@get("/", opt={"permission": "home.view"}, name="home")
async def home(request: Request[Any, Any, Any]) -> Response[Any]:
    """The role-aware home page; its one fragment is the approvals figure (live)."""
    core = CoreSession(request)
    if wants_fragment(request):
        return await _approvals_figure(request, core)
    signed_in = core.signed_in
    # Every panel's reads at once (the tenant and branches are usually this process's brief
    # copies, and who the staff member is, a copy per session).
    me, tenant, branches, teller_day, approvals_waiting, (volumes, readiness) = await together(
        core.me(),
        core.tenant(),
        core.branches(),
        my_day(core) if can(signed_in, "teller.deposit") else _nothing(),
        waiting_for(core) if can(signed_in, "approvals.view") else _nothing(),
        _officer_and_admin_panels(core),
    )
    settings = tenant.settings
    currency = tenant.base_currency
    own_branch = next((b for b in branches if b.code == me.branch_id), None)
    role = signed_in.user.role
    tenant_wide = role is not None and ROLE_RANK[role] >= ROLE_RANK["manager"]
    limit = settings.teller_approval_limit
    return render(
        request,
        "home/index.html",
        {
            "page_title": "Home",
            "tenant": tenant,
            "me": me,
            "role": role,
            "role_summary": ROLE_SUMMARIES.get(role or "", ""),
            "abilities": abilities_for(role),
            "upcoming": upcoming_for(core.signed_in),
            "approval_limit": money(limit, currency) if limit is not None else "—",
            "same_maker_checker": settings.allow_same_maker_checker,
            "currency": currency,
            "branches": branches,
            "own_branch": own_branch,
            "tenant_wide": tenant_wide,
            "teller_day": teller_day,
            "approvals_waiting": approvals_waiting,
            "volumes": volumes,
            "readiness": readiness,
        },
    )

"""The Admin area: an overview of its sections, and the router that holds them all."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, Router, get

from app.client import Tenant
from app.console.admin.api_keys import all_keys, api_key_routes
from app.console.admin.branches import branch_routes
from app.console.admin.common import SECTIONS, VIEW, render_admin
from app.console.admin.sign_in import sign_in_routes
from app.console.admin.staff import staff_routes
from app.console.admin.tenant_settings import settings_routes
from app.console.admin.webhooks import webhook_routes
from app.console.banking import CoreSession
from app.console.formatting import money, parse_time

STAFF_PAGES = 10


async def _staff_counts(core: CoreSession) -> dict[str, Any]:
    """Active, inactive and locked staff (bounded reading; ``more`` when it stopped early)."""
    counts = {"active": 0, "inactive": 0, "locked": 0, "more": False}
    now = datetime.now(UTC)
    cursor: str | None = None
    for _ in range(STAFF_PAGES):
        body = await core.get("/users", params={"limit": 200, "cursor": cursor})
        for user in body.get("users") or []:
            counts["active" if user.get("is_active") else "inactive"] += 1
            locked_until = parse_time(user.get("locked_until"))
            if user.get("is_active") and locked_until is not None and locked_until > now:
                counts["locked"] += 1
        cursor = body.get("next_cursor")
        if not body.get("has_more") or not cursor:
            return counts
    counts["more"] = True
    return counts


@get("/admin", opt=VIEW, name="admin")
async def admin_overview(request: Request[Any, Any, Any]) -> Response[Any]:
    """Each Admin section with the figure an admin looks for first."""
    core = CoreSession(request)
    staff, branches, tenant, keys, hooks = await asyncio.gather(
        _staff_counts(core),
        core.get("/branches"),
        core.get("/tenant", model=Tenant),
        all_keys(core),
        core.get("/webhooks", params={"limit": 200}),
    )
    settings = tenant.settings
    currency = tenant.base_currency
    return render_admin(
        request,
        "admin/overview.html",
        {
            "staff": staff,
            "branch_count": len(branches.get("branches") or []),
            "limit": money(settings.teller_approval_limit, currency),
            "same_maker_checker": settings.allow_same_maker_checker,
            "active_keys": sum(1 for k in keys if not k.get("revoked_at")),
            "webhook_count": len(hooks.get("webhooks") or []),
            "webhooks_more": bool(hooks.get("has_more")),
            "sections": SECTIONS,
        },
        title="Admin",
        section="",
        tenant=tenant,
    )


admin_router = Router(
    path="/",
    route_handlers=[
        admin_overview,
        *staff_routes,
        *branch_routes,
        *settings_routes,
        *sign_in_routes,
        *api_key_routes,
        *webhook_routes,
    ],
)

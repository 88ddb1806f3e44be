"""The Admin area: an overview of its sections, and the router that holds them all."""

from typing import Any

from litestar import Request, Response, Router, get

from app.client import Tenant, UsersSummary, Webhook
from app.console.admin.api_keys import all_keys, api_key_routes
from app.console.admin.branches import branch_routes
from app.console.admin.common import SECTIONS, VIEW, render_admin
from app.console.admin.sign_in import sign_in_routes
from app.console.admin.staff import staff_routes
from app.console.admin.tenant_settings import settings_routes
from app.console.admin.webhooks import webhook_routes
from app.console.banking import BranchList, CoreSession
from app.console.concurrent import together
from app.console.formatting import money


@get("/admin", opt=VIEW, name="admin")
async def admin_overview(request: Request[Any, Any, Any]) -> Response[Any]:
    """Each Admin section with the figure an admin looks for first."""
    core = CoreSession(request)
    # Fresh, not the page cache: an admin checks here what they have just changed.
    staff, branches, tenant, keys, hooks = await together(
        core.get("/users/summary", model=UsersSummary),
        core.get("/branches", model=BranchList),
        core.get("/tenant", model=Tenant),
        all_keys(core),
        core.get_page("/webhooks", Webhook, params={"limit": 200}),
    )
    settings = tenant.settings
    currency = tenant.base_currency
    return render_admin(
        request,
        "admin/overview.html",
        {
            "staff": staff,
            "branch_count": len(branches.branches),
            "limit": money(settings.teller_approval_limit, currency),
            "same_maker_checker": settings.allow_same_maker_checker,
            "active_keys": sum(1 for k in keys if k.revoked_at is None),
            "webhook_count": len(hooks.items),
            "webhooks_more": hooks.has_more,
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

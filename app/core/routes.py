"""Feature routers of the core, in the order of api.md."""

from litestar import Router

from app.core.admin.routes import admin_routers
from app.core.tenants.routes import tenant_routers

FEATURE_ROUTERS: list[Router] = [*tenant_routers, *admin_routers]

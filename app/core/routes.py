"""Feature routers of the core, in the order of api.md."""

from litestar import Router

from app.core.accounts.routes import account_router
from app.core.admin.routes import admin_routers
from app.core.audit.routes import audit_router
from app.core.customers.routes import customer_router
from app.core.jobs.routes import job_router
from app.core.journals.routes import journal_router
from app.core.ledger.routes import gl_router
from app.core.periods.routes import period_router
from app.core.reports.routes import report_router
from app.core.standing.routes import standing_router
from app.core.tenants.routes import tenant_routers
from app.core.transactions.routes import transaction_router
from app.core.views.routes import view_router
from app.core.webhooks.routes import webhook_router

FEATURE_ROUTERS: list[Router] = [
    *tenant_routers,
    *admin_routers,
    customer_router,
    account_router,
    transaction_router,
    gl_router,
    period_router,
    standing_router,
    job_router,
    report_router,
    journal_router,
    audit_router,
    webhook_router,
    view_router,
]

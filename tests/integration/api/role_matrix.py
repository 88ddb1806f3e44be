"""The permission matrix of roles.md, written out: every API route and what it needs.

The route-table test compares this with the core's real routes, so a route cannot be
added without its row here (and a row cannot outlive its route).
"""

OPEN = "open"  # no token: operational paths and the token-issuing auth routes
ANY = "any"  # any signed-in caller of the tenant

# (method, path without the /api/v1/cba prefix) -> (minimum role or OPEN/ANY, scope)
API_MATRIX: dict[tuple[str, str], tuple[str, str | None]] = {
    ("GET", "/health"): (OPEN, None),
    ("GET", "/ready"): (OPEN, None),
    ("GET", "/metrics"): (OPEN, None),
    ("GET", "/.well-known/jwks.json"): (OPEN, None),
    ("GET", "/schema"): (OPEN, None),
    ("GET", "/schema/openapi.json"): (OPEN, None),
    ("GET", "/schema/swagger"): (OPEN, None),
    ("GET", "/schema/swagger/{asset:str}"): (OPEN, None),  # the page's own files
    ("GET", "/schema/{path:str}"): (OPEN, None),
    ("POST", "/auth/login"): (OPEN, None),
    ("POST", "/auth/token"): (OPEN, None),
    ("POST", "/auth/refresh"): (OPEN, None),
    # staff identity (issue 14): the steps that lead to a token take none
    ("GET", "/auth/oidc/provider"): (OPEN, None),
    ("POST", "/auth/oidc/token"): (OPEN, None),
    ("POST", "/auth/mfa/verify"): (OPEN, None),
    ("POST", "/auth/mfa/enrol"): (OPEN, None),
    ("POST", "/auth/mfa/enrol/confirm"): (OPEN, None),
    ("POST", "/auth/logout"): (ANY, None),
    ("GET", "/auth/me"): (ANY, None),
    ("GET", "/tenant"): (ANY, None),
    ("PUT", "/tenant/settings"): ("admin", "admin:full"),
    ("GET", "/tenant/identity-provider"): ("admin", "admin:full"),
    ("PUT", "/tenant/identity-provider"): ("admin", "admin:full"),
    ("DELETE", "/tenant/identity-provider"): ("admin", "admin:full"),
    ("GET", "/branches"): (ANY, None),
    ("POST", "/branches"): ("admin", "admin:full"),
    ("GET", "/users"): ("admin", "admin:full"),
    ("GET", "/users/summary"): ("admin", "admin:full"),
    ("POST", "/users"): ("admin", "admin:full"),
    ("GET", "/users/{user_id:str}"): ("admin", "admin:full"),
    ("PATCH", "/users/{user_id:str}"): ("admin", "admin:full"),
    ("POST", "/users/{user_id:str}/unlock"): ("admin", "admin:full"),
    ("POST", "/users/{user_id:str}/revoke-sessions"): ("admin", "admin:full"),
    ("GET", "/users/{user_id:str}/second-factor"): ("admin", "admin:full"),
    ("POST", "/users/{user_id:str}/second-factor/reset"): ("admin", "admin:full"),
    ("POST", "/users/{user_id:str}/second-factor/reset/approve"): ("admin", "admin:full"),
    ("POST", "/users/{user_id:str}/second-factor/reset/cancel"): ("admin", "admin:full"),
    ("GET", "/api-keys"): ("admin", "admin:full"),
    ("POST", "/api-keys"): ("admin", "admin:full"),
    ("DELETE", "/api-keys/{key_id:str}"): ("admin", "admin:full"),
    # customers, accounts and cash (roles.md)
    ("POST", "/customers"): ("officer", "customers:write"),
    ("GET", "/customers"): ("viewer", "customers:read"),
    ("GET", "/customers/{customer_id:str}"): ("viewer", "customers:read"),
    ("POST", "/accounts"): ("officer", "accounts:write"),
    ("GET", "/accounts"): ("viewer", "accounts:read"),
    ("GET", "/accounts/by-number/{account_number:str}"): ("viewer", "accounts:read"),
    ("GET", "/accounts/{account_id:str}"): ("viewer", "accounts:read"),
    ("GET", "/accounts/{account_id:str}/transactions"): ("viewer", "transactions:read"),
    ("POST", "/accounts/{account_id:str}/freeze"): ("officer", "accounts:write"),
    ("POST", "/accounts/{account_id:str}/unfreeze"): ("officer", "accounts:write"),
    ("POST", "/accounts/{account_id:str}/close"): ("officer", "accounts:write"),
    ("POST", "/accounts/{account_id:str}/holds"): ("officer", "accounts:write"),
    ("DELETE", "/accounts/{account_id:str}/holds/{hold_id:str}"): ("officer", "accounts:write"),
    ("GET", "/products"): ("viewer", "accounts:read"),
    ("POST", "/deposits"): ("teller", "transactions:write"),
    ("POST", "/withdrawals"): ("teller", "transactions:write"),
    ("POST", "/transfers/internal"): ("officer", "transactions:write"),
    ("POST", "/transfers/inter-branch"): ("manager", "transactions:write"),
    ("POST", "/transfers/batch"): ("officer", "transactions:write"),
    ("POST", "/transactions/{transaction_id:str}/approve"): ("officer", "payments:authorize"),
    ("POST", "/transactions/{transaction_id:str}/reject"): ("officer", "payments:authorize"),
    ("GET", "/transactions"): ("viewer", "transactions:read"),
    ("GET", "/transactions/{id_or_ref:str}"): ("viewer", "transactions:read"),
    ("GET", "/gl/accounts"): ("viewer", "gl:read"),
    ("GET", "/gl/accounts/{gl_account_id:str}"): ("viewer", "gl:read"),
    ("GET", "/gl/accounts/{gl_account_id:str}/entries"): ("viewer", "gl:read"),
    # fiscal periods (roles.md: read viewer, write admin)
    ("GET", "/fiscal-periods"): ("viewer", "gl:read"),
    ("GET", "/fiscal-periods/current"): ("viewer", "gl:read"),
    ("GET", "/fiscal-periods/{period_id:str}/close-blockers"): ("viewer", "gl:read"),
    ("GET", "/fiscal-periods/{period_id:str}"): ("viewer", "gl:read"),
    ("POST", "/fiscal-periods"): ("admin", "admin:full"),
    ("POST", "/fiscal-periods/year/{year:str}"): ("admin", "admin:full"),
    ("POST", "/fiscal-periods/{period_id:str}/close"): ("admin", "admin:full"),
    ("POST", "/fiscal-periods/year/{year:str}/close"): ("admin", "admin:full"),
    # standing instructions and jobs
    ("POST", "/standing-instructions"): ("officer", "transactions:write"),
    ("GET", "/standing-instructions"): ("viewer", "transactions:read"),
    ("GET", "/standing-instructions/{instruction_id:str}"): ("viewer", "transactions:read"),
    ("GET", "/standing-instructions/{instruction_id:str}/executions"): (
        "viewer",
        "transactions:read",
    ),
    ("POST", "/standing-instructions/{instruction_id:str}/approve"): (
        "manager",
        "transactions:write",
    ),
    ("POST", "/standing-instructions/{instruction_id:str}/cancel"): (
        "officer",
        "transactions:write",
    ),
    ("POST", "/jobs/standing-instructions/trigger"): ("admin", "admin:full"),
    # reports
    ("GET", "/reports/trial-balance"): ("viewer", "gl:read"),
    ("GET", "/reports/balance-sheet"): ("viewer", "gl:read"),
    ("GET", "/reports/income-statement"): ("viewer", "gl:read"),
    ("GET", "/reports/teller-summary"): ("viewer", "transactions:read"),
    ("POST", "/gl/accounts"): ("officer", "gl:write"),
    ("PATCH", "/gl/accounts/{gl_account_id:str}"): ("officer", "gl:write"),
    # manual journals (roles.md: draft teller, decide officer, reverse manager)
    ("POST", "/journals"): ("teller", "gl:write"),
    ("GET", "/journals"): ("viewer", "gl:read"),
    ("GET", "/journals/{journal_id:str}"): ("viewer", "gl:read"),
    ("POST", "/journals/{journal_id:str}/approve"): ("officer", "gl:write"),
    ("POST", "/journals/{journal_id:str}/reject"): ("officer", "gl:write"),
    ("POST", "/journals/{journal_id:str}/post"): ("officer", "gl:write"),
    ("POST", "/journals/{journal_id:str}/reverse"): ("manager", "gl:write"),
}
# the audit trail (manager) and webhooks (admin)
API_MATRIX.update(
    {
        ("GET", "/audit-logs"): ("manager", "audit:read"),
        ("GET", "/audit-logs/verify"): ("manager", "audit:read"),
        ("POST", "/webhooks"): ("admin", "admin:full"),
        ("GET", "/webhooks"): ("admin", "admin:full"),
        ("GET", "/webhooks/{webhook_id:str}"): ("admin", "admin:full"),
        ("PATCH", "/webhooks/{webhook_id:str}"): ("admin", "admin:full"),
        ("DELETE", "/webhooks/{webhook_id:str}"): ("admin", "admin:full"),
        ("GET", "/webhooks/{webhook_id:str}/deliveries"): ("admin", "admin:full"),
        ("POST", "/webhooks/{webhook_id:str}/deliveries/{delivery_id:str}/retry"): (
            "admin",
            "admin:full",
        ),
    }
)
# composite reads for the console's pages (issue 11): the role of their parts; every
# scope of their parts is checked too (tests/integration/api/test_views.py)
API_MATRIX.update(
    {
        ("GET", "/views/accounts/{account_id:str}"): ("viewer", "transactions:read"),
        ("GET", "/views/approvals"): ("viewer", "transactions:read"),
        ("GET", "/views/approvals/waiting"): ("viewer", "transactions:read"),
        ("GET", "/views/transactions/{id_or_ref:str}"): ("viewer", "transactions:read"),
    }
)

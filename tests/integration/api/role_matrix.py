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
    ("GET", "/schema/oauth2-redirect.html"): (OPEN, None),
    ("GET", "/schema/{path:str}"): (OPEN, None),
    ("POST", "/auth/login"): (OPEN, None),
    ("POST", "/auth/token"): (OPEN, None),
    ("POST", "/auth/refresh"): (OPEN, None),
    ("POST", "/auth/logout"): (ANY, None),
    ("GET", "/auth/me"): (ANY, None),
    ("GET", "/tenant"): (ANY, None),
    ("PUT", "/tenant/settings"): ("admin", "admin:full"),
    ("GET", "/branches"): (ANY, None),
    ("POST", "/branches"): ("admin", "admin:full"),
    ("GET", "/users"): ("admin", "admin:full"),
    ("POST", "/users"): ("admin", "admin:full"),
    ("GET", "/users/{user_id:str}"): ("admin", "admin:full"),
    ("PATCH", "/users/{user_id:str}"): ("admin", "admin:full"),
    ("POST", "/users/{user_id:str}/unlock"): ("admin", "admin:full"),
    ("POST", "/users/{user_id:str}/revoke-sessions"): ("admin", "admin:full"),
    ("GET", "/api-keys"): ("admin", "admin:full"),
    ("POST", "/api-keys"): ("admin", "admin:full"),
    ("DELETE", "/api-keys/{key_id:str}"): ("admin", "admin:full"),
}

"""S2/S3 for the API: every route × every caller gives the status roles.md expects."""

import re
import uuid

import pytest

from app.core.app import create_app, route_table
from app.core.errors import API_PREFIX
from app.core.permissions import ROLE_RANK
from app.settings import get_settings
from tests.integration.api.role_matrix import ANY, API_MATRIX, OPEN
from tests.support import TENANT, headers

CALLERS = ("anonymous", "viewer", "teller", "officer", "manager", "admin", "other_tenant")


def _routes():
    return {
        (r["method"], r["path"][len(API_PREFIX) :] or "/"): r
        for r in route_table(create_app(get_settings()))
    }


ROUTES = _routes()


def test_every_route_has_its_row_and_every_row_its_route():
    assert set(ROUTES) == set(API_MATRIX), (
        f"missing rows: {sorted(set(ROUTES) - set(API_MATRIX))}; "
        f"stale rows: {sorted(set(API_MATRIX) - set(ROUTES))}"
    )


@pytest.mark.parametrize("route", sorted(API_MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_declared_role_and_scope_match_roles_md(route):
    role, scope = API_MATRIX[route]
    declared = ROUTES[route]
    if role == OPEN:
        assert declared["open"]
    elif role == ANY:
        assert not declared["open"]
        assert declared["role"] is None and declared["scope"] is None
    else:
        assert (declared["role"], declared["scope"]) == (role, scope)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path)


CASES = [
    (route, caller)
    for route, (role, _scope) in sorted(API_MATRIX.items())
    if role != OPEN and route != ("POST", "/auth/logout")
    for caller in CALLERS
]


@pytest.mark.parametrize(
    ("route", "caller"), CASES, ids=lambda v: v if isinstance(v, str) else f"{v[0]} {v[1]}"
)
async def test_route_for_caller(api, tokens, route, caller):
    method, path = route
    role, _scope = API_MATRIX[route]
    if caller == "anonymous":
        request_headers = headers(None, TENANT)
    elif caller == "other_tenant":
        # A genuine token of another tenant, presented against this tenant.
        request_headers = headers(await tokens.for_role("other_tenant"), TENANT)
    else:
        request_headers = await tokens.headers_for(caller)
    kwargs = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
    response = await api.request(method, concrete(path), headers=request_headers, **kwargs)
    code = response.json().get("code") if response.content else None
    if caller == "anonymous":
        assert (response.status_code, code) == (401, "UNAUTHORIZED")
    elif caller == "other_tenant":
        assert (response.status_code, code) == (403, "TENANT_MISMATCH")
    elif role != ANY and ROLE_RANK[caller] < ROLE_RANK[role]:
        assert (response.status_code, code) == (403, "INSUFFICIENT_ROLE")
    else:
        # Allowed: whatever the handler says of an empty body or a made-up ID, never a 401/403
        # from authorization, and never a server error.
        assert response.status_code < 500, response.text
        assert code not in {
            "UNAUTHORIZED",
            "INSUFFICIENT_ROLE",
            "INSUFFICIENT_SCOPE",
            "TENANT_MISMATCH",
        }, response.text


@pytest.mark.parametrize("caller", CALLERS)
async def test_logout_for_caller(api, tokens, caller):
    from tests.support import ROLE_USERS

    if caller == "anonymous":
        response = await api.post("/auth/logout", headers=headers(None))
        assert response.status_code == 401
        return
    email, tenant = ROLE_USERS[caller]
    pair = await tokens.login(email, tenant)  # a session of its own, not the cached one
    response = await api.post("/auth/logout", headers=headers(pair["access_token"], tenant))
    assert response.status_code == 204


async def test_api_key_scopes_narrow_the_role(api, tokens):
    """A call needs the scope as well as the role: an admin-role key without admin:full."""
    h = await tokens.headers_for("admin")
    created = await api.post(
        "/api-keys",
        json={"name": f"narrow-{uuid.uuid4().hex[:6]}", "role": "admin", "scopes": ["gl:read"]},
        headers=h,
    )
    assert created.status_code == 201, created.text
    issued = await api.post(
        "/auth/token", json={"api_key": created.json()["api_key"]}, headers=headers(None)
    )
    token = issued.json()["access_token"]
    response = await api.get("/users", headers=headers(token))
    assert (response.status_code, response.json()["code"]) == (403, "INSUFFICIENT_SCOPE")

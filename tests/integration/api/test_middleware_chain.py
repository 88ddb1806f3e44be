"""The middleware chain: its order, and each stage's behaviour."""

import dataclasses
import uuid

import httpx
import pytest

from app.core.app import CHAIN_ORDER, create_app
from app.core.middleware.auth import JWTAuthMiddleware
from app.core.middleware.rate_limit import RateLimitMiddleware
from tests.support import API, TENANT, headers


def chain_of(app):
    """The chain's stages, outermost first, down to Litestar's own router."""
    stages, current = [], app.asgi_handler
    while type(current).__module__.startswith("app.core.middleware"):
        stages.append(type(current))
        current = current.app
    return stages


def test_chain_is_in_seed_order(core_app):
    assert chain_of(core_app) == list(CHAIN_ORDER)
    names = [stage.__name__ for stage in CHAIN_ORDER]
    assert names == [
        "RequestIdMiddleware",
        "SecurityHeadersMiddleware",
        "RateLimitMiddleware",
        "JWTAuthMiddleware",
        "RevocationMiddleware",
        "TenantMiddleware",
        "IdempotencyMiddleware",
    ]


async def test_request_id_generated_and_echoed(api):
    generated = await api.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    echoed = await api.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    unsafe = await api.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


async def test_request_id_in_error_bodies(api):
    response = await api.get("/tenant", headers={"X-Request-ID": "trace-me-1"})
    assert response.status_code == 401
    assert response.json()["request_id"] == "trace-me-1"


async def test_security_headers_everywhere(api, tokens):
    for response in (
        await api.get("/health"),
        await api.get("/tenant", headers=await tokens.headers_for("viewer")),
        await api.get("/nowhere", headers=await tokens.headers_for("viewer")),
        await api.get("/tenant"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # plain HTTP here
    authed = await api.get("/tenant", headers=await tokens.headers_for("viewer"))
    assert authed.headers["cache-control"] == "no-store"


async def test_rate_limit_headers_on_every_api_response(api, tokens):
    response = await api.get("/tenant", headers=await tokens.headers_for("viewer"))
    for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
        assert int(response.headers[name]) >= 0


async def test_open_paths_need_no_headers(api):
    for path in ("/health", "/schema/openapi.json", "/.well-known/jwks.json", "/metrics"):
        response = await api.get(path)
        assert response.status_code == 200, (path, response.text)
    jwks = (await api.get("/.well-known/jwks.json")).json()
    assert jwks["keys"][0]["kty"] == "RSA"
    assert "d" not in jwks["keys"][0]  # never the private part


async def test_auth_runs_before_tenant_resolution(api):
    response = await api.get("/tenant")  # neither token nor tenant
    assert response.json()["code"] == "UNAUTHORIZED"


async def test_tenant_required_unknown_and_mismatch(api, tokens):
    token = await tokens.for_role("viewer")
    missing = await api.get("/tenant", headers=headers(token, None))
    assert (missing.status_code, missing.json()["code"]) == (400, "TENANT_REQUIRED")
    unknown = await api.get("/tenant", headers=headers(token, "no_such_bank"))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "TENANT_NOT_FOUND")
    mismatch = await api.get("/tenant", headers=headers(token, "fmfb"))
    assert (mismatch.status_code, mismatch.json()["code"]) == (403, "TENANT_MISMATCH")


async def test_tenant_by_uuid(api, tokens):
    token = await tokens.for_role("viewer")
    tenant = (await api.get("/tenant", headers=headers(token))).json()
    by_id = await api.get("/tenant", headers=headers(token, tenant["id"]))
    assert by_id.status_code == 200
    assert by_id.json()["code"] == TENANT
    assert (await api.get("/tenant", headers=headers(token, str(uuid.uuid4())))).status_code == 404


async def test_login_needs_tenant_header(api):
    response = await api.post("/auth/login", json={"email": "a@b.c", "password": "x"})
    assert (response.status_code, response.json()["code"]) == (400, "TENANT_REQUIRED")


async def test_not_found_and_method_not_allowed_shapes(api, tokens):
    h = await tokens.headers_for("viewer")
    missing = await api.get("/no/such/route", headers=h)
    assert (missing.status_code, missing.json()["code"]) == (404, "RESOURCE_NOT_FOUND")
    wrong = await api.delete("/tenant", headers=h)
    assert (wrong.status_code, wrong.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    for body in (missing.json(), wrong.json()):
        assert set(body) >= {"code", "message", "details", "request_id", "timestamp"}


async def test_unsupported_media_type(api):
    response = await api.post(
        "/auth/login", content=b"email=a", headers={**headers(), "Content-Type": "text/plain"}
    )
    assert (response.status_code, response.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


async def test_payload_too_large(api):
    body = b'{"email": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    response = await api.post(
        "/auth/login", content=body, headers={**headers(), "Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")


async def test_malformed_json(api):
    response = await api.post(
        "/auth/login",
        content=b'{"email": ',
        headers={**headers(), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_FORMAT")


async def test_validation_lists_every_bad_field(api):
    response = await api.post("/auth/login", json={"email": 5}, headers=headers())
    assert response.status_code == 400
    body = response.json()
    assert body["code"] in {"VALIDATION_ERROR", "MISSING_FIELD"}
    fields = {d["field"] for d in body["details"]}
    assert {"email", "password"} <= fields


async def test_bad_idempotency_key_refused(api, tokens):
    h = await tokens.headers_for("viewer", **{"Idempotency-Key": "x" * 256})
    response = await api.post("/auth/logout", headers=h)
    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")


@pytest.fixture
async def tight_core(settings, database_ready):
    """A core app of its own with small rate limits, sharing the database."""
    limits = dataclasses.replace(
        settings.rate_limit,
        per_ip_per_minute=5,
        per_credential_per_minute=3,
        failed_logins_per_ip=3,
    )
    app = create_app(dataclasses.replace(settings, rate_limit=limits))
    await app.state.services.limiter.reset()
    yield app
    await app.state.services.limiter.reset()
    await app.state.services.close()


def client_for(app, ip):
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=f"http://testserver{API}")


async def test_rate_limit_per_credential_then_per_ip(tight_core):
    ip = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    async with client_for(tight_core, ip) as client:
        statuses = []
        for _ in range(4):
            response = await client.get("/tenant", headers=headers("not-a-token"))
            statuses.append(response.status_code)
        # 3 per credential: the fourth is refused before the token is even looked at.
        assert statuses[:3] == [401, 401, 401]
        assert statuses[3] == 429
        assert response.json()["code"] == "RATE_LIMIT_EXCEEDED"
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["ratelimit-remaining"] == "0"
        # Another credential from the same IP still counts against the IP's 5.
        other = [await client.get("/tenant", headers=headers(f"t{i}")) for i in range(2)]
        assert [r.status_code for r in other] == [401, 429]


async def test_rate_limit_runs_before_auth(tight_core):
    stages = chain_of(tight_core)
    assert stages.index(RateLimitMiddleware) < stages.index(JWTAuthMiddleware)


async def test_failed_logins_throttled_per_ip(tight_core):
    ip = f"10.8.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    async with client_for(tight_core, ip) as client:
        body = {"email": f"nobody-{uuid.uuid4().hex}@demo.bank", "password": "wrong"}
        codes = [
            (await client.post("/auth/login", json=body, headers=headers())).json()["code"]
            for _ in range(4)
        ]
    assert codes == ["INVALID_CREDENTIALS"] * 3 + ["RATE_LIMIT_EXCEEDED"]


async def test_trusted_proxy_forwards_client_ip(tight_core):
    """Staff behind one console don't share a bucket: the console forwards their IP."""
    async with client_for(tight_core, "127.0.0.1") as client:
        for staff_ip in ("192.0.2.10", "192.0.2.11"):
            body = {"email": f"nobody-{uuid.uuid4().hex}@demo.bank", "password": "wrong"}
            for _ in range(3):
                response = await client.post(
                    "/auth/login",
                    json=body,
                    headers={**headers(), "X-Forwarded-For": staff_ip},
                )
                assert response.json()["code"] == "INVALID_CREDENTIALS"
    # An untrusted peer cannot pick its bucket by sending the header.
    async with client_for(tight_core, "203.0.113.7") as client:
        for i in range(4):
            response = await client.post(
                "/auth/login",
                json={"email": "x@y.z", "password": "bad"},
                headers={**headers(), "X-Forwarded-For": f"198.51.100.{i}"},
            )
        assert response.json()["code"] == "RATE_LIMIT_EXCEEDED"

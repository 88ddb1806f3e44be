from tests.support import headers


async def test_health_is_open(api):
    response = await api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_login_and_tenant(api, tokens):
    response = await api.get("/tenant", headers=await tokens.headers_for("viewer"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == "demo_bank"
    assert body["settings"]["teller_approval_limit"] == "1000000.00"


async def test_unknown_route_is_contract_404(api, tokens):
    response = await api.get("/no-such-thing", headers=await tokens.headers_for("viewer"))
    assert response.status_code == 404
    assert response.json()["code"] == "RESOURCE_NOT_FOUND"
    assert headers()  # helper stays importable

"""The OpenAPI document names every answer an operation can give (issue 12): each error
status in the contract's body, the headers the chain needs, the domain refusals."""

import msgspec

from app.core.contract.answers import answers, answers_no_body, operations
from app.core.contract.errors import ErrorBody
from app.core.contract.refusals import ROUTE_REFUSALS
from app.core.errors import ERROR_CODES
from tests.integration.api.ledger_helpers import expect, h

PREFIX = "/api/v1/cba"
METHODS = {"get", "post", "put", "patch", "delete"}


async def _document(api) -> dict:
    return expect(await api.get("/schema/openapi.json"), 200)


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path.removeprefix(PREFIX), method, operation


async def test_every_error_status_is_documented_in_the_contracts_body(api):
    document = await _document(api)
    assert "ErrorBody" in document["components"]["schemas"]
    assert "ErrorDetail" in document["components"]["schemas"]
    seen = 0
    for path, method, operation in _operations(document):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            if (path, status) == ("/ready", "503"):  # not ready: its own body, or the error's
                assert {"$ref": "#/components/schemas/ErrorBody"} in schema["anyOf"]
                continue
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
        if path in {"/health", "/metrics", "/.well-known/jwks.json"}:
            continue
        if path == "/ready":  # operational paths pass no rate limit, need no tenant
            assert set(errors) == {"503"}
            continue
        seen += 1
        assert {"429", "503"} <= set(errors), (method, path)
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "X-Tenant-ID" in names, (method, path)
        assert {"400", "404"} <= set(errors), (method, path)
        if "{" in path:
            assert "RESOURCE_NOT_FOUND" in errors["404"]["description"], (method, path)
    assert seen > 90


async def test_domain_refusals_and_money_headers_are_named(api):
    operation = (await _document(api))["paths"][f"{PREFIX}/deposits"]["post"]
    for code in ("INSUFFICIENT_FUNDS", "ACCOUNT_FROZEN", "LIMIT_EXCEEDED"):
        assert code in operation["responses"]["422"]["description"]
    assert "BRANCH_SCOPE" in operation["responses"]["403"]["description"]
    assert "IDEMPOTENCY_KEY_REQUIRED" in operation["responses"]["400"]["description"]
    assert {"401", "409", "413", "415"} <= set(operation["responses"])
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["Idempotency-Key"]["required"] is True
    assert headers["X-Tenant-ID"]["required"] is True
    assert operation["security"] == [{"bearer": []}]
    login = (await _document(api))["paths"][f"{PREFIX}/auth/login"]["post"]
    assert "security" not in login
    assert "INVALID_CREDENTIALS" in login["responses"]["401"]["description"]


async def test_every_refusal_row_names_a_real_route_and_known_codes(api):
    routes = {(m.upper(), p) for p, m, _ in _operations(await _document(api))}
    for (method, path), codes in ROUTE_REFUSALS.items():
        assert (method, path) in routes, (method, path)
        assert set(codes) <= ERROR_CODES, (method, path)


async def test_a_real_refusal_is_what_the_document_says(api, tokens):
    refused = await api.post(
        "/deposits",
        json={"account_id": "x", "amount": "0", "currency": "NGN"},
        headers=await h(tokens, "teller", key=True),
    )
    body = msgspec.convert(expect(refused, 400, "VALIDATION_ERROR"), ErrorBody)
    assert [d.code for d in body.details] == ["not_positive"]


async def test_every_answer_model_documents_its_routes_success(api, core_app):
    document = await _document(api)
    for (method, path), model in answers(core_app).items():
        operation = document["paths"][PREFIX + path][method.lower()]
        success = [r for s, r in operation["responses"].items() if s.startswith("2")]
        assert len(success) == 1, (method, path)
        schema = success[0]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model.__name__}"}, (method, path)
        assert document["components"]["schemas"][model.__name__]["additionalProperties"] is False


async def test_every_operation_documents_its_success(api, core_app):
    """Each operation's handler states its answer's model, or that it answers 204 with no
    body; only /metrics (Prometheus text) is neither."""
    handlers = operations(core_app)
    models = answers(core_app)
    for path, method, operation in _operations(await _document(api)):
        key = (method.upper(), path)
        success = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        if answers_no_body(handlers[key]):
            assert list(success) == ["204"] and "content" not in success["204"], key
        elif path == "/metrics":
            assert "text/plain" in success["200"]["content"]
        else:
            assert key in models, key

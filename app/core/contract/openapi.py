"""What the OpenAPI document says each operation can answer, besides its success.

Litestar documents a handler's success from its return type and, for a handler with
parameters, a 400 in its own error shape (not ours). Every error of the API leaves in the
contract's body (``app.core.errors``), and most of them come from the chain in front of
the routes, so the document is finished here, once, from facts each route already states:

- its ``opt``: a minimum role (→ a bearer token: 401, 403) and ``idempotency_required``
  (→ the ``Idempotency-Key`` header, 400 without it);
- the domain codes its rules can refuse with (``ROUTE_REFUSALS``: their statuses, the
  codes named in each description);
- its path (→ 404 for an ID that names nothing), its method (→ 409 for an Idempotency-Key
  reused, 413/415 for a body), the tenant header every tenant route needs (400/403/404);
- the chain's own: 429 (rate limits) and 503 (the database or Redis unreachable).

The answer of ``GET /schema/openapi.json`` is built once, on its first request (Litestar
caches the dict); ``document`` arranges for that dict to be finished as it is built, so
creating an app costs nothing more.
"""

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from app.core.contract.answers import answer_model, answers_no_body
from app.core.contract.errors import ErrorBody
from app.core.contract.refusals import ROUTE_REFUSALS, STATUS_OVERRIDES
from app.core.contract.requests import request_schemas
from app.core.errors import API_PREFIX, status_for
from app.core.middleware._asgi import is_open_path, is_token_exempt

WRITE_METHODS = {"post", "put", "patch", "delete"}
_PARAM_TYPE = re.compile(r"\{([^}:]+):[^}]+\}")

DESCRIPTIONS = {
    400: "The request is malformed: a bad field, query parameter or header",
    401: "No valid credentials",
    403: "Not allowed for this caller",
    404: "Nothing by that ID (or tenant) here",
    409: "In conflict with the resource's state or an earlier request",
    413: "The body is larger than 1 MiB",
    415: "The body is not application/json",
    422: "Refused by a banking rule",
    429: "Too many requests: wait Retry-After seconds",
    503: "Temporarily unavailable: try again after Retry-After seconds",
}

TENANT_HEADER = {
    "name": "X-Tenant-ID",
    "in": "header",
    "required": True,
    "description": "The tenant: its UUID or its code (e.g. demo_bank)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
}


# A key: printable ASCII, 1-255 characters; transport trims the blanks around a header's
# value, so a value of blanks only is no key at all.
_KEY = r"[\t ]*[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?[\t ]*"


_NO_KEY_OR_KEY = rf"^([\t ]*|{_KEY})$"


def _idempotency_header(required: bool) -> dict[str, Any]:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": required,
        "description": "Replays the first answer for the same key and body (24 h); "
        + ("required: this write moves money" if required else "optional"),
        "schema": {"type": "string", "pattern": f"^{_KEY}$" if required else _NO_KEY_OR_KEY},
    }


def _codes(handler: HTTPRouteHandler, method: str, path: str) -> dict[int, list[str]]:
    """The error codes the operation can answer with, by status."""
    rest = path[len(API_PREFIX) :]
    by_status: dict[int, list[str]] = defaultdict(list)

    def add(*codes: str) -> None:
        for code in codes:
            if code not in by_status[status_for(code)]:
                by_status[status_for(code)].append(code)

    if is_open_path(path, API_PREFIX):
        if rest == "/ready":
            add("SERVICE_UNAVAILABLE")
        return by_status
    add("TENANT_REQUIRED", "TENANT_NOT_FOUND", "TENANT_INACTIVE")
    if "role" in handler.opt:
        add("UNAUTHORIZED", "INVALID_TOKEN", "TOKEN_EXPIRED", "TOKEN_REVOKED")
        add("TENANT_MISMATCH", "INSUFFICIENT_ROLE", "INSUFFICIENT_SCOPE")
    elif not is_token_exempt(path, API_PREFIX):
        add("UNAUTHORIZED", "INVALID_TOKEN", "TOKEN_EXPIRED", "TOKEN_REVOKED")
    parameters = handler.parsed_fn_signature.parameters
    if any(name not in _INJECTED for name in parameters):
        add("VALIDATION_ERROR", "INVALID_FORMAT")
    if "data" in parameters:
        add("MISSING_FIELD", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE")
    if "{" in path:
        add("RESOURCE_NOT_FOUND")
    if method in WRITE_METHODS:
        add("IDEMPOTENCY_CONFLICT", "IDEMPOTENCY_IN_PROGRESS")
        if handler.opt.get("idempotency_required"):
            add("IDEMPOTENCY_KEY_REQUIRED")
    add(*ROUTE_REFUSALS.get((method.upper(), rest), ()))
    for status, codes in STATUS_OVERRIDES.get((method.upper(), rest), {}).items():
        by_status[status].extend(c for c in codes if c not in by_status[status])
    add("RATE_LIMIT_EXCEEDED", "SERVICE_UNAVAILABLE")
    return by_status


# Handler parameters the framework provides (never from the request's query or path).
_INJECTED = frozenset(
    {"session", "ctx", "tenant", "principal", "services", "unit", "request", "headers"}
)


def _responses(by_status: dict[int, list[str]]) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    return {
        str(status): {
            "description": f"{DESCRIPTIONS.get(status, 'Refused')}: {', '.join(codes)}",
            "content": {"application/json": {"schema": ref}},
        }
        for status, codes in sorted(by_status.items())
    }


def _handlers(app: Litestar) -> dict[tuple[str, str], HTTPRouteHandler]:
    """Each (OpenAPI path, method) of the API and the handler behind it."""
    found: dict[tuple[str, str], HTTPRouteHandler] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = _PARAM_TYPE.sub(r"{\1}", route.path)
        for handler in route.route_handlers:
            for method in handler.http_methods:
                found[(path, method.lower())] = handler
    return found


def _components(handlers: Iterable[HTTPRouteHandler]) -> dict[str, Any]:
    """The error body and every answer model, as component schemas."""
    models = {model for handler in handlers if (model := answer_model(handler)) is not None}
    _, components = msgspec.json.schema_components(
        [ErrorBody, *sorted(models, key=lambda model: model.__name__)],
        ref_template="#/components/schemas/{name}",
    )
    return components


class _DocumentedPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, finishing the dict it builds (no state of its own)."""

    __slots__ = ()

    def provide_openapi_schema(self) -> dict[str, Any]:
        fresh = not self._openapi_schema
        schema = super().provide_openapi_schema()
        if fresh:
            finish(self.app, schema)
        return schema


def document(app: Litestar) -> None:
    """Have the app's OpenAPI document finished when it is first built.

    Litestar makes its plugin itself (from ``openapi_config``) and its slots forbid
    replacing a method on the instance: the instance takes the subclass above instead,
    which adds behaviour and no state.
    """
    app.plugins.get(OpenAPIPlugin).__class__ = _DocumentedPlugin


def finish(app: Litestar, schema: dict[str, Any]) -> None:
    """Add the error answers, headers and security of every operation to ``schema``, and
    describe each request body as its model validates it."""
    handlers = _handlers(app)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(_components(handlers.values()))
    components["schemas"].update(request_schemas(handlers.values()))
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            handler = handlers.get((path, method))
            if handler is None or not isinstance(operation, dict):
                continue
            _finish(operation, handler, method, path)


def _finish(operation: dict[str, Any], handler: HTTPRouteHandler, method: str, path: str) -> None:
    responses = operation.setdefault("responses", {})
    # Litestar's own 400 (``{status_code, detail}``) is not what the API sends.
    responses.pop("400", None)
    responses.update(_responses(_codes(handler, method, path)))
    key = (method.upper(), path[len(API_PREFIX) :])
    answer = answer_model(handler)
    if answer is not None:
        success = responses[str(handler.status_code)]
        ref = {"$ref": f"#/components/schemas/{answer.__name__}"}
        success["content"] = {"application/json": {"schema": ref}}
    if answers_no_body(handler):
        responses[str(handler.status_code)] = {"description": "Done: no body"}
    if key == ("GET", "/ready"):
        # Not ready answers its own body (which check failed), not the error body; a
        # failure before the handler still answers the error body.
        not_ready = responses["503"]
        not_ready["description"] = "Not ready (status not_ready, the failed checks named)"
        not_ready["content"]["application/json"]["schema"] = {
            "anyOf": [
                {"$ref": "#/components/schemas/Readiness"},
                {"$ref": "#/components/schemas/ErrorBody"},
            ]
        }
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is not None and data.has_default and "requestBody" in operation:
        operation["requestBody"]["required"] = False  # ``data: X | None = None``
    if is_open_path(path, API_PREFIX):
        return
    parameters = operation.setdefault("parameters", [])
    parameters.append(TENANT_HEADER)
    if method in WRITE_METHODS:
        parameters.append(_idempotency_header(bool(handler.opt.get("idempotency_required"))))
    if "role" in handler.opt or not is_token_exempt(path, API_PREFIX):
        operation["security"] = [{"bearer": []}]

"""Request bodies as the document describes them: each model's own JSON Schema.

Litestar derives a body's schema itself and loses part of what the model checks (the
unknown-field rule of a Struct). msgspec, which validates the bodies, says it exactly: its
``schema_components`` replace Litestar's components of the same name. What it cannot say
(a body's own rule across fields, a closed set checked by hand) is added from ``RULES`` and
``FIELDS``.
"""

from collections.abc import Iterable
from typing import Any

import msgspec
from litestar.handlers import HTTPRouteHandler

from app.core.money import CURRENCY_DIGITS
from app.core.permissions import ROLES
from app.core.webhooks.events import EVENT_TYPES

STRUCT_REF = "#/components/schemas/{name}"
CURRENCIES = sorted(CURRENCY_DIGITS)
CURRENCY_FIELDS = {"currency", "currency_code", "base_currency"}

# An amount: a decimal string (the contract's form) or a JSON number exact to the cent.
AMOUNT: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": "^(?=.*[1-9])[0-9]{1,12}(\\.[0-9]{1,2})?$"},
        {"type": "integer", "minimum": 1, "maximum": 999999999999},
    ],
    "description": 'A positive amount, e.g. "1500.00" (at most the currency\'s decimals)',
}
AMOUNT_FIELDS = {"amount", "initial_deposit", "teller_approval_limit"}

_TEXT = {"type": "string"}


def _given(*fields: str) -> dict[str, Any]:
    """These fields present, as text (not null)."""
    return {"required": list(fields), "properties": dict.fromkeys(fields, _TEXT)}


def _absent_or_null(field: str) -> dict[str, Any]:
    return {"anyOf": [{"not": {"required": [field]}}, {"properties": {field: {"type": "null"}}}]}


# Rules across fields, by model: one of the sign-in forms, never both.
RULES: dict[str, dict[str, Any]] = {
    "MfaVerifyRequest": {
        "oneOf": [
            {**_given("code"), "allOf": [_absent_or_null("recovery_code")]},
            {**_given("recovery_code"), "allOf": [_absent_or_null("code")]},
        ]
    },
    "OidcTokenRequest": {
        "oneOf": [
            {**_given("id_token"), "allOf": [_absent_or_null("code")]},
            {
                **_given("code", "code_verifier", "redirect_uri"),
                "allOf": [_absent_or_null("id_token")],
            },
        ]
    },
}

SECRET = {"type": "string", "pattern": "^[\\x21-\\x7e]{16,100}$"}

# What a validator checks by hand, stated for the document: (model, field) -> schema.
FIELDS: dict[tuple[str, str], dict[str, Any]] = {
    ("BranchCreate", "code"): {"type": "string", "pattern": "^[A-Za-z0-9]{1,10}$"},
    ("GroupMapping", "role"): {"type": "string", "enum": list(ROLES)},
    ("UserCreate", "email"): {
        "type": "string",
        "maxLength": 254,
        "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
    },
    ("WebhookCreate", "url"): {
        "type": "string",
        "maxLength": 2000,
        "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\\s#]*)?$",
    },
    ("WebhookUpdate", "url"): {
        "type": "string",
        "maxLength": 2000,
        "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\\s#]*)?$",
    },
    ("WebhookUpdate", "events"): {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "enum": list(EVENT_TYPES)},
    },
    ("WebhookCreate", "secret"): SECRET,
    ("WebhookUpdate", "secret"): SECRET,
    ("WebhookCreate", "events"): {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "enum": list(EVENT_TYPES)},
    },
    ("WebhookCreate", "name"): {"type": "string", "minLength": 1, "maxLength": 200},
    ("WebhookUpdate", "name"): {"type": "string", "minLength": 1, "maxLength": 200},
}


def _models(handlers: Iterable[HTTPRouteHandler]) -> list[type[msgspec.Struct]]:
    found: set[type[msgspec.Struct]] = set()
    for handler in handlers:
        data = handler.parsed_fn_signature.parameters.get("data")
        annotation = data.annotation if data is not None else None
        if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
            found.add(annotation)
    return sorted(found, key=lambda model: model.__name__)


def request_schemas(handlers: Iterable[HTTPRouteHandler]) -> dict[str, Any]:
    """Component schemas of every request body model (and the models they nest)."""
    _, schemas = msgspec.json.schema_components(_models(handlers), ref_template=STRUCT_REF)
    for name, schema in schemas.items():
        _close_currencies(schema)
        schema.update(RULES.get(name, {}))
        for field, prop in (schema.get("properties") or {}).items():
            if (name, field) in FIELDS:
                prop.clear()
                prop.update(FIELDS[(name, field)])
    return schemas


def _close_currencies(schema: dict[str, Any]) -> None:
    """A currency field names one of the currencies the core keeps (``money.py``); an
    amount field has the money grammar (``money.parse_amount`` checks it)."""
    for field, prop in (schema.get("properties") or {}).items():
        if field in AMOUNT_FIELDS and isinstance(prop, dict):
            nullable = {"type": "null"} in prop.get("anyOf", []) or "default" in prop
            prop.clear()
            prop.update(AMOUNT)
            if nullable:
                prop["anyOf"] = [*AMOUNT["anyOf"], {"type": "null"}]
            continue
        if field not in CURRENCY_FIELDS or not isinstance(prop, dict):
            continue
        if prop.get("type") == "string":
            prop["enum"] = CURRENCIES
        for option in prop.get("anyOf", []):
            if option.get("type") == "string":
                option["enum"] = CURRENCIES

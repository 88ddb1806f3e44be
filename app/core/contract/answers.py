"""The success answer of each operation: the model its handler returns.

Every handler states its answer in its return type: a model of
``app/core/<domain>/responses.py`` (or ``Response[Model]`` where it sets a status or
headers), ``None`` for those that answer 204 with no body; ``/metrics`` answers Prometheus
text. The document names these models (``app.core.contract.openapi``), the contract tests
convert real answers into them (unknown members refused), schemathesis checks every answer
it gets against them, and the document test fails for an operation that states none.
"""

import re
import typing

import msgspec
from litestar import Litestar, Response
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from app.core.errors import API_PREFIX

Operation = tuple[str, str]  # (METHOD, path below the API prefix), like the role matrix

_PARAM_TYPE = re.compile(r"\{([^}:]+):[^}]+\}")


def answer_model(handler: HTTPRouteHandler) -> type[msgspec.Struct] | None:
    """The model of the handler's answer: its return type, or the body of its
    ``Response[...]``; None when it answers no model (no body, text)."""
    annotation = handler.parsed_fn_signature.return_type.annotation
    if typing.get_origin(annotation) is Response:
        (annotation,) = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    return None


def answers_no_body(handler: HTTPRouteHandler) -> bool:
    """The handler answers with no body (its return type is ``None``)."""
    return handler.parsed_fn_signature.return_type.annotation in (None, type(None))


def operations(app: Litestar) -> dict[Operation, HTTPRouteHandler]:
    """Each operation of the API (as the document names its path) and its handler."""
    found: dict[Operation, HTTPRouteHandler] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(API_PREFIX):
            continue
        path = _PARAM_TYPE.sub(r"{\1}", route.path)[len(API_PREFIX) :]
        for handler in route.route_handlers:
            if handler.include_in_schema:
                for method in handler.http_methods:
                    found[(method, path)] = handler
    return found


def answers(app: Litestar) -> dict[Operation, type[msgspec.Struct]]:
    """Each operation's answer model."""
    return {
        operation: model
        for operation, handler in operations(app).items()
        if (model := answer_model(handler)) is not None
    }

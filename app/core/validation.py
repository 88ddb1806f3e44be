"""Every bad field of a refused body, as api.md asks ("Validation errors list every bad
field in ``details``").

msgspec decodes a body in one pass and stops at its first error — the right trade on the
path every deposit takes. When it does stop, this module goes through the body again,
member by member and into nested bodies (``entries.1.currency_code``), to name every
problem, the bodies' own rules (their ``__post_init__``) included; it runs only for refused
requests.
"""

import types
import typing
from typing import Any

import msgspec

from app.core.contract.bodies import Body, BodyRefused
from app.core.detail_codes import DetailCode, detail
from app.core.errors import field_problem


def every_problem(struct: type[msgspec.Struct], body: bytes) -> list[dict[str, Any]] | None:
    """The problems of ``body`` against ``struct``, one per field; None when the body is not
    a JSON object (the caller keeps the first error)."""
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    if not isinstance(document, dict):
        return None
    return _body_problems(struct, document, "") or None


def _body_problems(
    struct: type[msgspec.Struct], document: dict[str, Any], where: str
) -> list[dict[str, Any]]:
    """Each member's problems; when there are none, the body's own rules'."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    annotations = typing.get_type_hints(struct, include_extras=True)
    problems: list[dict[str, Any]] = []
    fine: dict[str, Any] = {}  # the members that decoded, as sent
    for field in info.fields:
        place = f"{where}{field.encode_name}"
        if field.encode_name in document:
            found = _member_problems(document[field.encode_name], annotations[field.name], place)
            if found:
                problems += found
            else:
                fine[field.name] = document[field.encode_name]
        elif field.required:
            problems.append(detail(place, DetailCode.REQUIRED, "required"))
    if problems and issubclass(struct, Body):
        problems += [
            {**item, "field": f"{where}{item.get('field')}"}
            for item in struct.member_problems(fine)
        ]
    if struct.__struct_config__.forbid_unknown_fields:
        known = {field.encode_name for field in info.fields}
        problems += [
            detail(f"{where}{name}", DetailCode.UNKNOWN_FIELD, "unknown field")
            for name in document
            if name not in known
        ]
    return problems or _converted(document, struct, where)


def _member_problems(value: Any, annotation: Any, where: str) -> list[dict[str, Any]]:
    """A nested body member by member, a list of bodies item by item (and its own length
    limits), anything else as msgspec converts it."""
    inner = _bare(annotation)
    if _is_body(inner) and isinstance(value, dict):
        return _body_problems(inner, value, f"{where}.")
    if typing.get_origin(inner) is list and isinstance(value, list):
        (item_type,) = typing.get_args(inner)
        if _is_body(_bare(item_type)):
            problems = _length_problems(value, annotation, where)
            for index, item in enumerate(value):
                problems += _member_problems(item, item_type, f"{where}.{index}")
            return problems
    return _converted(value, annotation, where)


def _converted(value: Any, annotation: Any, where: str) -> list[dict[str, Any]]:
    try:
        msgspec.convert(value, annotation, strict=False)
    except msgspec.ValidationError as exc:
        return [field_problem(str(exc), where.rstrip(".") or None)]
    except BodyRefused as refused:  # the rules of a body whose members are all fine
        return [{**item, "field": f"{where}{item.get('field')}"} for item in refused.details]
    return []


def _length_problems(value: list[Any], annotation: Any, where: str) -> list[dict[str, Any]]:
    """The list's ``Meta`` length limits, checked without its items."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return []
    for meta in typing.get_args(annotation)[1:]:
        if isinstance(meta, msgspec.Meta):
            problems = _converted(value, typing.Annotated[list[Any], meta], where)
            if problems:
                return problems
    return []


def _is_body(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)


def _bare(annotation: Any) -> Any:
    """``T`` of ``Annotated[T, ...]`` and of ``T | None``."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(others) == 1:
            return _bare(others[0])
    return annotation

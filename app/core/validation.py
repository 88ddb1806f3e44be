"""Every bad field of a refused body, as api.md asks ("Validation errors list every bad
field in ``details``").

msgspec decodes a body in one pass and stops at its first error — the right trade on the
path every deposit takes. When it does stop, this module goes through the body again,
field by field, to name every problem (a nested body's own rules included); it runs only
for refused requests.
"""

import typing
from typing import Any

import msgspec

from app.core.contract.bodies import BodyRefused
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
    info = msgspec.inspect.type_info(struct)
    if not isinstance(info, msgspec.inspect.StructType):
        return None
    problems: list[dict[str, Any]] = []
    known: set[str] = set()
    hints = {f.name: f for f in info.fields}
    annotations = _annotations(struct)
    for name, field in hints.items():
        known.add(field.encode_name)
        if field.encode_name not in document:
            if field.required:
                problems.append(detail(field.encode_name, DetailCode.REQUIRED, "required"))
            continue
        try:
            msgspec.convert(document[field.encode_name], annotations[name], strict=False)
        except msgspec.ValidationError as exc:
            problems.append(field_problem(str(exc), field.encode_name))
        except BodyRefused as refused:  # a nested body's own rules (its __post_init__)
            problems += [
                {**item, "field": f"{field.encode_name}.{item.get('field')}"}
                for item in refused.details
            ]
    if struct.__struct_config__.forbid_unknown_fields:
        problems += [
            detail(str(name), DetailCode.UNKNOWN_FIELD, "unknown field")
            for name in document
            if name not in known
        ]
    return problems or None


def _annotations(struct: type[msgspec.Struct]) -> dict[str, Any]:
    return typing.get_type_hints(struct, include_extras=True)

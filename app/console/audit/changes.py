"""Before and after, as a person reads them: one row per field, changed ones marked."""

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldChange:
    """One field of a record's before/after."""

    field: str
    before: str
    after: str
    changed: bool


def readable(value: Any) -> str:
    """A value in words: ``—`` for nothing, yes/no, nested values as compact JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return str(value)


def field_label(name: str) -> str:
    """``available_balance`` → ``Available balance``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else name


def changes(before: Any, after: Any) -> list[FieldChange]:
    """Every field of ``before`` and ``after`` (dicts), changed fields first.

    A side that is not a dict (a bare value) is shown under the field "Value".
    """
    old = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    new = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    names = list(dict.fromkeys([*old, *new]))
    rows = [
        FieldChange(
            field=field_label(str(name)),
            before=readable(old.get(name)) if name in old else "—",
            after=readable(new.get(name)) if name in new else "—",
            changed=old.get(name) != new.get(name) or (name in old) != (name in new),
        )
        for name in names
    ]
    return sorted(rows, key=lambda row: not row.changed)


def change_kind(before: Any, after: Any) -> str:
    """``created`` (nothing before), ``removed`` (nothing after) or ``changed``."""
    if before is None and after is not None:
        return "created"
    if after is None and before is not None:
        return "removed"
    return "changed"

"""Request bodies as msgspec Structs: the building blocks every route's body uses.

A body is decoded in one pass by msgspec (Litestar does it natively). What a type and its
``Meta`` cannot say — "not blank once trimmed", a rule across fields — is checked in the
Struct's ``__post_init__``, which runs as the body is decoded: it calls :func:`refuse`
with every problem it found, and the request is refused in the contract's shape
(``VALIDATION_ERROR``, or ``MISSING_FIELD`` when only required fields are missing), each
problem a ``details`` item with its code. When msgspec itself stops at a bad field,
``app.core.validation.every_problem`` goes through the body again to name every problem,
these rules included.
"""

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import msgspec

from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: exactly these members (an unknown one is refused by name)."""

    @classmethod
    def member_problems(cls, members: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The problems of members that a type cannot state, each member judged alone (an
        amount's grammar and its codes). A body with such rules calls this from its
        ``__post_init__``; ``every_problem`` calls it with the members that did decode when
        another was refused, so the refusal still names every bad field. None by default."""
        return []


# JSON true or false, nothing else. Litestar converts a body with ``strict=False``, which
# reads 1, 0 or "true" as a bool; msgspec keeps a literal of the two strict.
Flag = Annotated[Literal[True, False], msgspec.Meta(extra_json_schema={"type": "boolean"})]


class BodyRefused(ApiError):
    """A body rule refused the body; ``details`` names each problem."""


def refuse(problems: Iterable[dict[str, Any]]) -> None:
    """Refuse the body for ``problems`` (``detail(...)`` items); no problems, no refusal."""
    items = list(problems)
    if items:
        raise refusal(items)


def refusal(items: list[dict[str, Any]]) -> BodyRefused:
    """The refusal of a body for these problems."""
    # MISSING_FIELD only when every problem is a member left out (a blank one is invalid),
    # the rule the handler of msgspec's own refusals follows (app.core.exceptions).
    missing_only = all(_is_missing(item) for item in items)
    names = ", ".join(str(item.get("field")) for item in items)
    return BodyRefused(
        "MISSING_FIELD" if missing_only else "VALIDATION_ERROR",
        f"Check these fields: {names}.",
        items,
    )


def _is_missing(item: dict[str, Any]) -> bool:
    reason = str(item.get("reason", "")).lower()
    return "required" in reason or "missing" in reason


def trimmed(field: str, value: str | None, problems: list[dict[str, Any]]) -> str | None:
    """``value`` without surrounding blanks; a blank one is a problem (``required``)."""
    if value is None:
        return None
    cleaned = value.strip()
    if not cleaned:
        problems.append(detail(field, DetailCode.REQUIRED, "must not be blank"))
    return cleaned


def text(max_length: int, *, min_length: int = 0) -> Any:
    """A string of at most ``max_length`` characters (the document says so too)."""
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length)]

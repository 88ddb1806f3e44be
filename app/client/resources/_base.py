"""The base of every typed resource, and the decoders that read them from the wire."""

import typing
from typing import Any, ClassVar, TypeVar

import msgspec

from .._parse import MONEY_MARK, MONEY_PROBLEM

__all__ = ["Resource", "decoder_for", "list_decoder_for"]


class Resource(msgspec.Struct, kw_only=True, frozen=True):
    """A resource as the core sends it: field names exactly as on the wire.

    Unknown fields are ignored (msgspec's default): the core may add fields without
    breaking a reader. A field the core always sends is required, so a renamed or dropped
    one fails loudly at the client instead of as an empty cell on a page; a field the core
    sends as ``null`` at times is ``X | None = None``.

    ``plural`` names the key holding a list of these (``{"accounts": [...]}``) for
    resources the core lists.
    """

    plural: ClassVar[str] = ""

    def __post_init__(self) -> None:
        # msgspec has read each amount from its digits, exactly; NaN and Infinity are
        # refused (they break comparisons and sums), naming the field (msgspec adds the
        # object's path). An exponent form (1E+2) is an exact value and passes: looking
        # for one costs 1.2 µs an amount (as_tuple), and the core never writes one.
        names = _MONEY_FIELDS.get(type(self))
        if names is None:
            names = _MONEY_FIELDS[type(self)] = _money_fields(type(self))
        for name in names:
            value = getattr(self, name)
            if value is not None and not value.is_finite():
                raise ValueError(f"`{name}` {MONEY_PROBLEM}")


_MONEY_FIELDS: dict[type, tuple[str, ...]] = {}


def _money_fields(model: type) -> tuple[str, ...]:
    """The fields of ``model`` typed ``Money`` or ``Money | None``."""
    hints = typing.get_type_hints(model, include_extras=True)
    return tuple(
        name for name in getattr(model, "__struct_fields__", ()) if _is_money(hints.get(name))
    )


def _is_money(hint: Any) -> bool:
    if MONEY_MARK in getattr(hint, "__metadata__", ()):
        return True
    return any(_is_money(arg) for arg in typing.get_args(hint) if arg is not type(None))


_ResourceT = TypeVar("_ResourceT")


# Decoders are built once per model (and list key): building one costs far more than a call.
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder_for(model: type[_ResourceT]) -> msgspec.json.Decoder[_ResourceT]:
    """A reusable JSON decoder straight from bytes to ``model``."""
    decoder = _DECODERS.get(model)
    if decoder is None:
        decoder = _DECODERS[model] = msgspec.json.Decoder(model)
    return decoder


def list_decoder_for(model: type[Any], field: str) -> msgspec.json.Decoder[Any]:
    """A decoder for a list envelope ``{<field>: [model…], has_more, next_cursor}``."""
    decoder = _DECODERS.get((model, field))
    if decoder is None:
        decoder = _DECODERS[model, field] = _list_decoder(model, field)
    return decoder


def _list_decoder(model: type[Any], field: str) -> msgspec.json.Decoder[Any]:
    envelope = msgspec.defstruct(
        f"{getattr(model, '__name__', 'Item')}List",
        [
            (field, list[model]),  # type: ignore[valid-type]
            ("has_more", bool, False),
            ("next_cursor", str | None, None),
        ],
        kw_only=True,
    )
    return msgspec.json.Decoder(envelope)

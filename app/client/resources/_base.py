"""The base of every typed resource, and the decoders that read them from the wire."""

from typing import Any, ClassVar, TypeVar

import msgspec

from .._parse import Money, parse_money

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


_ResourceT = TypeVar("_ResourceT")


def _decode_hook(kind: type, value: Any) -> Any:
    # msgspec calls this only for types it does not know: here, money.
    if kind is Money:
        return parse_money(value)
    raise NotImplementedError(f"no decoder for {kind.__name__}")


# Decoders are built once per model (and list key): building one costs far more than a call.
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder_for(model: type[_ResourceT]) -> msgspec.json.Decoder[_ResourceT]:
    """A reusable JSON decoder straight from bytes to ``model``."""
    decoder = _DECODERS.get(model)
    if decoder is None:
        decoder = _DECODERS[model] = msgspec.json.Decoder(model, dec_hook=_decode_hook)
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
    return msgspec.json.Decoder(envelope, dec_hook=_decode_hook)

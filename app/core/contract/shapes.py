"""Building blocks of the answer models: money and dates as the wire has them."""

from typing import Annotated

import msgspec

# Money on the wire: a decimal string with the currency's places, sign kept ("-12.50").
Money = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^-?[0-9]+(\.[0-9]+)?$",
        description='A decimal string in the currency\'s minor digits, e.g. "1500.00"',
    ),
]
Day = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="YYYY-MM-DD")
]
Instant = Annotated[str, msgspec.Meta(description="RFC 3339 time in UTC (…Z)")]
Id = Annotated[str, msgspec.Meta(description="A UUID")]
Cursor = Annotated[str, msgspec.Meta(description="Opaque: pass back as ?cursor= for the next page")]


class Model(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """An answer's model: exactly these members (the document says additionalProperties:
    false, so a member added without its model fails the contract tests)."""

"""Cash and transfer bodies (amounts are parsed by app.core.money, never as floats)."""

from typing import Annotated, Any, Literal

import msgspec

from app.core.contract.bodies import Body


class CashRequest(Body):
    """A deposit or withdrawal (msgspec: every deposit and transfer is decoded here)."""

    account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    amount: Any
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
    narration: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    depositor_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class TransferRequest(Body):
    source_account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    destination_account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    amount: Any
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
    narration: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class BatchRequest(Body):
    mode: Literal["independent", "atomic"]
    # Each item is read as a TransferRequest on its own: a bad one fails alone.
    transfers: Annotated[list[dict[str, Any]], msgspec.Meta(min_length=1, max_length=1000)]


class RejectRequest(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]

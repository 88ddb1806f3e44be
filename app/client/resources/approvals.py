"""The approvals page in one call (``GET /views/approvals``, ``/views/approvals/waiting``)."""

from typing import Generic, TypeVar

from ._base import Resource
from .journals import Journal
from .standing import StandingInstructionView
from .transactions import TransactionView

__all__ = ["ApprovalQueue", "ApprovalsView", "Waiting"]

_ItemT = TypeVar("_ItemT")


class ApprovalQueue(Resource, Generic[_ItemT], kw_only=True, frozen=True):
    """The first items of one queue and whether more wait behind them."""

    items: list[_ItemT]
    has_more: bool = False


class Waiting(Resource, kw_only=True, frozen=True):
    """How many items each maker has waiting, per queue (user ID → count)."""

    journals: dict[str, int] = {}
    transactions: dict[str, int] = {}
    standing_instructions: dict[str, int] = {}


class ApprovalsView(Resource, kw_only=True, frozen=True):
    """Every queue a checker works through, and the makers' waiting counts."""

    journals_pending: ApprovalQueue[Journal]
    journals_approved: ApprovalQueue[Journal]
    transactions_pending: ApprovalQueue[TransactionView]
    standing_instructions_pending: ApprovalQueue[StandingInstructionView]
    waiting: Waiting

"""The event types of api.md: what a subscription may name and what the core emits."""

EVENT_TYPES: tuple[str, ...] = (
    "account.opened",
    "account.frozen",
    "transaction.completed",
    "transaction.pending_approval",
    "transfer.completed",
    "transfer.failed",
    "journal.created",
    "journal.approved",
    "journal.rejected",
    "journal.posted",
    "journal.reversed",
    "period.closed",
    "standing_instruction.approved",
    "standing_instruction.executed",
    # Beyond api.md's list ("at least"): a new instruction waits in the approvals queue, and
    # a failed run, a suspension or a cancellation is something its owners want to hear.
    "standing_instruction.created",
    "standing_instruction.failed",
    "standing_instruction.suspended",
    "standing_instruction.cancelled",
    "security.login_failed",
    "security.account_locked",
)

KNOWN_EVENT_TYPES = frozenset(EVENT_TYPES)

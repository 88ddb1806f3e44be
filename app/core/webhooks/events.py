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
    "security.login_failed",
    "security.account_locked",
)

KNOWN_EVENT_TYPES = frozenset(EVENT_TYPES)

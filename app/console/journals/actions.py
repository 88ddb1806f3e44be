"""Approve, reject, post and reverse a journal through the core, and their refusals in words.

Each action carries the idempotency key minted with its form; while a first request with
that key is still running (a double click, or two tabs), the second waits for its recorded
answer instead of running again.
"""

from app.client import BankingAPIError, Journal
from app.console.banking import CoreSession
from app.console.errors import UNAVAILABLE, core_message
from app.console.journals.views import OWN_JOURNAL, OWN_POSTING, OWN_REVERSAL
from app.console.writes import WriteBody, post_once

VERBS = ("approve", "reject", "post", "reverse")

# The console action log's verbs.
ACTION_LOG = {
    "approve": "journal.approve",
    "reject": "journal.reject",
    "post": "journal.post",
    "reverse": "journal.reverse",
}

DONE = {
    "submitted": "Submitted for approval. An officer other than you must approve it; "
    "nothing moves until it is posted.",
    "approved": "Approved. It can be posted now; nothing has moved yet.",
    "rejected": "Rejected. The reason is kept with the journal; nothing moved.",
    "posted": "Posted: the balances have changed.",
    "reversed": "This is the reversal: it was posted at once, dated today's business date.",
}

ACTION_ERRORS: dict[str, str] = {
    "REASON_REQUIRED": "Give a reason; it is kept with the journal and in the audit trail.",
    "INVALID_STATE": "This journal is no longer in that state: someone acted on it in the "
    "meantime. The page shows where it stands now.",
    "ALREADY_REVERSED": "This journal has already been reversed.",
    "INSUFFICIENT_FUNDS": "A customer account on this journal no longer has the funds for "
    "its debit, so it can't be posted.",
    "ACCOUNT_FROZEN": "An account on this journal is frozen, so it can't be posted.",
    "ACCOUNT_NOT_ACTIVE": "An account on this journal is not active, so it can't be posted.",
    "PERIOD_CLOSED": "The journal's fiscal period is closed, so it can't be posted there. "
    "Reject it and make a new one in the open period.",
    "NO_OPEN_PERIOD": "There is no open fiscal period for today's business date; ask an admin.",
    "JOURNAL_NOT_FOUND": "We could not find that journal.",
    "RESOURCE_NOT_FOUND": "We could not find that journal.",
    "UNAVAILABLE": UNAVAILABLE,
}


# Refusals that read differently when the journal was being reversed.
REVERSE_ERRORS: dict[str, str] = {
    "INSUFFICIENT_FUNDS": "A customer account on this journal no longer holds the money it "
    "was credited, so the reversal can't take it back.",
    "ACCOUNT_FROZEN": "An account on this journal is frozen, so it can't be reversed now.",
    "ACCOUNT_NOT_ACTIVE": "An account on this journal is no longer active (closed?), so it "
    "can't be reversed.",
    "NO_OPEN_PERIOD": "There is no open fiscal period for today's business date, so the "
    "reversal has nowhere to post; ask an admin.",
    "INVALID_STATE": "This journal can't be reversed: only a posted journal that is not "
    "itself a reversal or a year-end closing can.",
}


def action_error(code: str, verb: str = "approve") -> str:
    """Plain words for an action's refusal code (``verb``: what was being done)."""
    if code == "SELF_APPROVAL_FORBIDDEN":
        return {"reverse": OWN_REVERSAL, "post": OWN_POSTING}.get(verb, OWN_JOURNAL)
    if verb == "reverse" and code in REVERSE_ERRORS:
        return REVERSE_ERRORS[code]
    if code in ACTION_ERRORS:
        return ACTION_ERRORS[code]
    return core_message(BankingAPIError(code, ""))


async def journal_action(
    core: CoreSession, journal_id: str, verb: str, key: str, reason: str | None = None
) -> Journal:
    """``POST /journals/{id}/{verb}``: the journal in its new state.

    Raises:
        BankingAPIError: The core refused it, or did not answer.
    """
    if verb not in VERBS:
        raise ValueError(f"unknown journal action {verb!r}")
    body: WriteBody = {"reason": reason} if reason is not None else {}
    path = f"/journals/{journal_id}/{verb}"
    result: Journal = await post_once(core, path, body, key, model=Journal)
    return result

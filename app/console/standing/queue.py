"""The approvals queue's "Standing instructions" section: instructions awaiting a manager.

Officers see the section (they check other people's work) but only managers approve
standing instructions, and never their own.
"""

from typing import Any

from app.console.banking import CoreSession
from app.console.permissions import can
from app.console.standing.instructions import accounts_of, instruction_of, list_instructions
from app.console.teller.day import local_time

QUEUE_LIMIT = 200
OWN_INSTRUCTION = "You created this instruction; another manager must approve it."


async def standing_section(core: CoreSession, timezone: str) -> dict[str, Any]:
    """The section as the queue template draws it (see ``approvals/queue.html``)."""
    items, following = await list_instructions(core, "PENDING_APPROVAL", None, QUEUE_LIMIT)
    accounts = await accounts_of(core, items)
    me = core.signed_in.user.id
    rows = []
    for raw in items:
        si = instruction_of(raw, accounts)
        rows.append(
            {
                "id": si.id,
                "url": si.url,
                "ref": si.ref,
                "type": f"Standing instruction, {si.frequency_label.lower()}",
                "account_number": si.source_number,
                "holder": si.source_name,
                "to_account_number": si.destination_number,
                "amount": si.amount_shown,
                "maker": si.created_by_email,
                "made_by_me": si.created_by == me,
                "own_note": OWN_INSTRUCTION,
                "branch": "",
                "time": local_time(si.created_at, timezone),
            }
        )
    can_approve = can(core.signed_in, "standing.approve")
    return {
        "key": "standing",
        "title": "Standing instructions",
        "lede": "New standing instructions wait for a manager before the daily job pays them."
        + ("" if can_approve else " A manager approves them."),
        "items": rows,
        "more": following is not None,
        "bulk_action": "/standing/approve-selected",
        "empty": "No standing instructions are waiting.",
        "can_decide": can_approve,
    }

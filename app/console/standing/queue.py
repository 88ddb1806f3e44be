"""The approvals queue's "Standing instructions" section: instructions awaiting a manager.

Officers see the section (they check other people's work) but only managers approve
standing instructions, and never their own.
"""

from dataclasses import dataclass

from app.client import StandingInstructionView
from app.console.formatting import local_time
from app.console.standing.instructions import instruction_of

QUEUE_LIMIT = 200
OWN_INSTRUCTION = "You created this instruction; another manager must approve it."


@dataclass(frozen=True)
class StandingItem:
    """An instruction awaiting approval as the queue's table draws it."""

    id: str
    url: str
    ref: str
    frequency: str
    start_date: str
    account_number: str
    holder: str
    to_account_number: str
    to_holder: str
    amount: str
    narration: str
    maker: str
    made_by_me: bool
    time: str


def standing_rows(
    items: list[StandingInstructionView], me: str, timezone: str
) -> list[StandingItem]:
    """Instructions awaiting approval as the queue's table draws them (the core's view
    carries each one's account numbers and holders)."""
    rows = []
    for item in items:
        si = instruction_of(item)
        rows.append(
            StandingItem(
                id=si.id,
                url=si.url,
                ref=si.ref,
                frequency=si.frequency_label,
                start_date=si.start_date,
                account_number=si.source_number,
                holder=si.source_name,
                to_account_number=si.destination_number,
                to_holder=si.destination_name,
                amount=si.amount_shown,
                narration=si.narration,
                maker=si.created_by_email,
                made_by_me=si.created_by == me,
                time=local_time(si.created_at, timezone),
            )
        )
    return rows

"""``branchdesk ledger verify`` (the ledger arrives with the customers-and-cash work)."""

from app.settings import Settings


def verify_command(settings: Settings) -> int:
    print("ledger verify: no ledger tables yet; nothing to check")
    return 0

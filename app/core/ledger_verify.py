"""``branchdesk ledger verify``: recompute every balance from the postings and compare.

Exits 0 when every invariant holds, 1 (listing the breaches) when one does not.
"""

import asyncio
import sys

from app.settings import Settings


async def run_verify(settings: Settings) -> tuple[bool, str]:
    from app.core.ledger.verify import verify_ledger
    from app.db import Database

    db = Database(settings.database)
    try:
        async with db.session() as session:
            report = await verify_ledger(session)
    finally:
        await db.dispose()
    return report.ok, report.text()


def verify_command(settings: Settings) -> int:
    try:
        ok, text = asyncio.run(run_verify(settings))
    except Exception as exc:  # an unreachable or unmigrated database is not a clean ledger
        print(f"ledger verify: could not run: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0 if ok else 1

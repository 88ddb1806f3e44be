"""The backup drill (issue 13, "Backups that restore"): base backup + WAL, point-in-time restore.

Runs ``tests.faults.backup_drill`` end to end on throwaway clusters of its own (never the
shared PostgreSQL): the restored copy holds exactly the transfers acknowledged before the
target time, the balances as they were then, and ``branchdesk ledger verify`` and
``branchdesk audit verify`` pass on it. Part of ``make soak``; needs PostgreSQL's server
binaries (``FAULTS_PG_BIN``, default ``/usr/lib/postgresql/15/bin``) and ``redis-server``.
"""

import time

from tests.faults.backup_drill import run_drill
from tests.faults.cluster import require_binaries

BOUND_SECONDS = 120.0


def test_backup_restores_to_a_point_in_time() -> None:
    # In make soak a missing binary is a failure, not a skip: the drill is the evidence.
    require_binaries()
    started = time.monotonic()
    report = run_drill()
    elapsed = time.monotonic() - started
    print(f"\nbackup drill: {report.text()}\nin {elapsed:.1f} s")

    assert report.before_backup and report.before_target and report.after_target
    assert report.restored_transfers >= len(report.before_backup + report.before_target)
    assert report.ledger_verify.startswith("ledger verify: OK"), report.ledger_verify
    assert "BROKEN" not in report.audit_verify, report.audit_verify
    assert report.restored_seals > 0
    assert elapsed < BOUND_SECONDS, f"the drill took {elapsed:.1f} s"

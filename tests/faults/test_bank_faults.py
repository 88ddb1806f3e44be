"""R1 + R2: the bank test while processes die and dependencies restart (issue 13).

Its own PostgreSQL cluster, Redis server, two core processes (``core --workers 2``), a
supervised ``worker`` delivering webhooks to a local receiver: see ``bank.py`` for the
run, the faults and the checks. CI size by default; ``make soak`` sets ``FAULTS_SOAK=1``.
Replay a run with ``FAULTS_SEED=<the seed printed>``.
"""

import asyncio
import json
import os
import random
import tempfile
import time
from pathlib import Path

from tests.faults.bank import DEPENDENCY_FAULTS, Size, run_bank_under_faults, write_results
from tests.faults.cluster import FaultStack, require_binaries
from tests.faults.receiver import WebhookReceiver

WEBHOOK_SECRET = "faults-suite-webhook-secret"


def _undelivered(stack: FaultStack) -> int:
    return int(
        stack.pg.psql(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'DELIVERED'",
            database=stack.database,
        )
        or 0
    ) + int(
        stack.pg.psql(
            "SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL",
            database=stack.database,
        )
        or 0
    )


def test_bank_under_faults() -> None:
    require_binaries()
    size = Size.from_env()
    seed = int(os.environ.get("FAULTS_SEED") or random.randrange(1 << 30))
    print(f"\nfaults run: seed {seed} (replay with FAULTS_SEED={seed}), {size}")
    env = {
        "CONSOLE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        # Seals and deliveries often, so a kill lands in the middle of one.
        "WORKER_SEAL_INTERVAL_SECONDS": "0.3",
        "AUDIT_SEAL_RECORDS": "50",
        "WORKER_DELIVERY_POLL_SECONDS": "0.2",
        "WEBHOOK_BACKOFF_BASE_SECONDS": "0.2",
        "WEBHOOK_TIMEOUT_SECONDS": "3",
        # A delivery leased by the killed worker is taken over after 2 × 3 + 5 s, not 70 s.
        "WEBHOOK_LEASE_MARGIN_SECONDS": "5",
    }
    with WebhookReceiver(WEBHOOK_SECRET) as receiver:
        env["CONSOLE_WEBHOOK_URL"] = receiver.url
        with FaultStack(core_workers=2, env=env) as stack:
            summary_started = time.monotonic()
            worker = stack.supervise("worker")
            summary = asyncio.run(run_bank_under_faults(stack, worker, receiver, size, seed))

            # Webhooks: every event reaches the receiver at least once, stored once.
            drain_started = time.monotonic()
            deadline = drain_started + 180
            while _undelivered(stack) and time.monotonic() < deadline:
                time.sleep(0.5)
            summary["webhook_drain_s"] = round(time.monotonic() - drain_started, 1)
            events = set(
                stack.pg.psql(
                    "SELECT event_id FROM webhook_deliveries", database=stack.database
                ).split()
            )
            summary["webhooks"] = {
                "events": len(events),
                "undelivered": _undelivered(stack),
                "stored_once": len(receiver.stored),
                "arrivals": sum(receiver.arrivals.values()),
                "redelivered": sum(n - 1 for n in receiver.arrivals.values()),
                "missing_at_receiver": len(events - set(receiver.stored)),
                "bad_signatures": receiver.bad_signatures,
                "worker_starts": worker.starts,
            }
            # The processes' own words, kept for a failure's post-mortem.
            logs = Path(tempfile.gettempdir()) / f"branchdesk-faults-{seed}"
            assert stack.core is not None
            logs.with_suffix(".core.log").write_text(stack.core.output())
            logs.with_suffix(".worker.log").write_text(worker.output())
            worker.close()
            ledger = stack.branchdesk("ledger", "verify")
            audit = stack.branchdesk("audit", "verify")
            summary["ledger_verify"] = (ledger.returncode, ledger.stdout.strip()[-300:])
            summary["audit_verify"] = (audit.returncode, audit.stdout.strip()[-300:])
            summary["total_s"] = round(time.monotonic() - summary_started, 1)
            results = write_results(summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "fault_log"}, indent=1))
    print(f"results: {results}.json / .md; logs: {logs}.core.log / .worker.log")
    note = f"(seed {seed}; replay with FAULTS_SEED={seed})"

    t = summary["transfers"]
    assert summary["problems"] == [], (summary["problems"], note)
    assert t["answered"] == t["sent"], note
    assert t["lost"] == 0 and t["duplicated"] == 0, (t, note)
    assert t["acknowledged"] > 0 and t["refused_insufficient_funds"] > 0, (t, note)
    assert t["given_up"] == 0, (t, note)  # every fault is over long before a client's budget
    assert summary["other_final_answers"] == {}, (summary["other_final_answers"], note)
    # While a dependency is down: 503 with Retry-After, never a 500, never a hang.
    assert summary["server_errors"] == 0, (summary["server_error_samples"], note)
    assert summary["without_retry_after"] == [], note
    assert summary["timeouts"] == 0, note
    for answer in summary["outage_answers"]:
        assert answer["status"] in (200, 503), (answer, note)
        if answer["status"] == 503:
            assert answer["retry_after"], (answer, note)
    # Every fault happened, and the API came back after each by itself.
    for kind in (*DEPENDENCY_FAULTS, "core_worker_kill_9"):
        assert summary["faults"].get(kind, 0) >= 1, (kind, summary["faults"], note)
    for kind in ("redis_restart", "redis_unreachable", "pg_terminate_backends", "pg_restart"):
        assert len(summary["recoveries"].get(kind, [])) == summary["faults"][kind], (kind, note)
    # Snapshot reads all along: R1's invariants held at every read.
    assert summary["snapshots"] > 0 and summary["snapshot_problems"] == [], (
        summary["snapshot_problems"],
        note,
    )
    replayed, _, sampled = summary["replays_byte_for_byte"].split()
    assert replayed == sampled, (summary["replays_byte_for_byte"], note)
    w = summary["webhooks"]
    assert w["undelivered"] == 0 and w["missing_at_receiver"] == 0, (w, note)
    assert w["stored_once"] == w["events"] and w["bad_signatures"] == 0, (w, note)
    assert summary["ledger_verify"][0] == 0, (summary["ledger_verify"], note)
    assert summary["audit_verify"][0] == 0, (summary["audit_verify"], note)

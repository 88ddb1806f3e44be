"""The backup drill (issue 13): a base backup plus archived WAL restores to a point in time.

What it does, in order, on this machine only, and within a bounded time:

1. a throwaway PostgreSQL cluster (``wal_level=replica``, ``archive_mode=on``, an
   ``archive_command`` copying each WAL segment into an archive folder);
2. ``branchdesk db upgrade`` and ``branchdesk seed demo`` against it, then a core process
   and a worker (the worker seals the audit trail, so the restored copy has seals to check);
3. transfers; ``pg_basebackup``; more transfers; the *target time* (the server's clock),
   with every transfer and balance as they stand then; more transfers after it;
4. the WAL switched and archived; the base backup copied into a fresh data folder with
   ``restore_command``, ``recovery_target_time`` and ``recovery.signal``, started on
   another port and promoted when it reaches the target;
5. checks on the restored copy: exactly the transfers before the target (no later one),
   the balances as they were at the target, ``branchdesk ledger verify`` and
   ``branchdesk audit verify`` clean, and at least one audit seal restored.

Everything it starts is stopped, and its folder removed, even on failure.

Run it alone (prints what it restored and how long each step took)::

    python -m tests.faults.backup_drill [--record]

(``--record`` writes the run to ``bench/results/<UTC stamp>-backup-drill.md``)
or through ``tests/faults/test_backup_drill.py`` (``make soak``). The primary is the fault
suite's :class:`~tests.faults.cluster.FaultStack` (its own PostgreSQL, Redis, core and
worker; binaries from ``FAULTS_PG_BIN``, run as ``postgres`` when we are root); the
restored copy is a :class:`RestoredCluster`, the same kind of cluster started from the
base backup instead of ``initdb``.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx

from tests.faults.cluster import _REGISTRY, ROOT, FaultStack, PostgresCluster
from tests.support import API, SANDBOX_PASSWORD, TENANT

BRANCH = "001"
CURRENCY = "NGN"
TRANSFERS_PER_PHASE = 20
STEP_TIMEOUT = 60.0  # seconds for any one wait
# The primary archives every WAL segment; full-page writes on, as in production (the
# fault suite's clusters turn them off for speed).
ARCHIVING = {
    "wal_level": "replica",
    "archive_mode": "on",
    "full_page_writes": "on",
    "max_wal_senders": "4",
}


class DrillFailed(AssertionError):
    """The restored copy is not what the primary held at the target time."""


class RestoredCluster(PostgresCluster):
    """A cluster started from a base backup (a copy of it: the backup stays as it was).

    ``recovery`` goes into ``postgresql.auto.conf`` (read last, so it wins over the
    primary's settings the backup carries), with ``recovery.signal`` beside it: the server
    replays archived WAL up to the target, then does what ``recovery_target_action`` says.
    """

    def __init__(self, backup: Path, recovery: Mapping[str, str]) -> None:
        super().__init__(recovery)
        self.backup = backup

    def start(self) -> Self:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="branchdesk-restored-pg-"))
            self.root.chmod(0o755)
            self.data_dir = self.root / "data"
            self.log_path = self.root / "postgres.log"
            _REGISTRY.add(self)  # closed at exit even if the drill is interrupted
            shutil.copytree(self.backup, self.data_dir, symlinks=True)
            conf = {
                "port": str(self.port),
                "unix_socket_directories": f"'{self.root}'",
                # The copy must never write into the archive it restores from.
                "archive_mode": "off",
                **self.settings,
            }
            with (self.data_dir / "postgresql.auto.conf").open("a") as file:
                file.write("".join(f"{key} = {value}\n" for key, value in conf.items()))
            (self.data_dir / "recovery.signal").touch()
            if os.geteuid() == 0:
                subprocess.run(
                    ["chown", "-R", "postgres:postgres", str(self.root)], check=True, timeout=60
                )
        self._pg_ctl_start()
        return self

    def log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-3000:]


@dataclass
class DrillReport:
    """What was restored and how long each step took (seconds)."""

    timings: dict[str, float] = field(default_factory=dict)
    before_backup: list[str] = field(default_factory=list)  # transfer refs
    before_target: list[str] = field(default_factory=list)
    after_target: list[str] = field(default_factory=list)
    target_time: str = ""
    restored_transfers: int = 0
    restored_seals: int = 0
    archived_segments: int = 0
    ledger_verify: str = ""
    audit_verify: str = ""

    def text(self) -> str:
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.timings.items())
        return (
            f"target time {self.target_time}; transfers: {len(self.before_backup)} before the "
            f"base backup, {len(self.before_target)} after it and before the target, "
            f"{len(self.after_target)} after the target (not restored); restored copy holds "
            f"{self.restored_transfers} transfers and "
            f"{self.restored_seals} audit seals; {self.archived_segments} WAL segments "
            f"archived\nsteps: {steps}\nledger verify: {self.ledger_verify}\n"
            f"audit verify: {self.audit_verify}"
        )


class Clock:
    """Times each step of the drill."""

    def __init__(self, report: DrillReport) -> None:
        self.report = report

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.report.timings[name] = time.monotonic() - started


def _branchdesk(stack: FaultStack, *args: str, database_url: str | None = None) -> str:
    """``branchdesk <args>`` on the stack (or on another database); its output."""
    env = stack.env if database_url is None else {**stack.env, "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        raise DrillFailed(
            f"branchdesk {' '.join(args)} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


class Teller:
    """Posts internal transfers among branch 001's seeded NGN accounts, as the officer."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url + API, timeout=30.0)
        response = self.client.post(
            "/auth/login",
            json={"email": "officer@demo.bank", "password": SANDBOX_PASSWORD},
            headers={"X-Tenant-ID": TENANT},
        )
        if response.status_code != 200:
            raise DrillFailed(f"sign-in refused: {response.status_code} {response.text}")
        self.headers = {
            "Authorization": f"Bearer {response.json()['access_token']}",
            "X-Tenant-ID": TENANT,
        }
        listed = self.client.get(
            "/accounts", params={"branch_code": BRANCH, "limit": 200}, headers=self.headers
        )
        if listed.status_code != 200:
            raise DrillFailed(f"accounts not listed: {listed.status_code} {listed.text}")
        self.accounts = [a["id"] for a in listed.json()["accounts"] if a["currency"] == CURRENCY]
        if len(self.accounts) < 2:
            raise DrillFailed(f"the seed gave branch {BRANCH} fewer than two NGN accounts")
        self.sent = 0

    def transfers(self, count: int) -> list[str]:
        """``count`` small transfers (each acknowledged 201); their references."""
        refs = []
        for _ in range(count):
            self.sent += 1
            source = self.accounts[self.sent % len(self.accounts)]
            destination = self.accounts[(self.sent + 1) % len(self.accounts)]
            response = self.client.post(
                "/transfers/internal",
                json={
                    "source_account_id": source,
                    "destination_account_id": destination,
                    "amount": f"{100 + self.sent}.{self.sent % 100:02d}",
                    "currency": CURRENCY,
                    "narration": f"backup drill {self.sent}",
                },
                headers={**self.headers, "Idempotency-Key": f"drill-{uuid.uuid4().hex}"},
            )
            if response.status_code != 201:
                raise DrillFailed(f"transfer refused: {response.status_code} {response.text}")
            refs.append(response.json()["transaction_ref"])
        return refs

    def close(self) -> None:
        self.client.close()


TRANSFERS_SQL = "SELECT transaction_ref FROM transactions WHERE type = 'TRANSFER' ORDER BY 1"
BALANCES_SQL = "SELECT id, ledger_balance FROM accounts ORDER BY id"


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


def _wait_promoted(cluster: RestoredCluster, deadline: float) -> None:
    """Recovery replays to the target, then promotes; until then the copy is read-only."""
    while time.monotonic() < deadline:
        with contextlib.suppress(RuntimeError):  # not accepting connections yet
            if cluster.psql("SELECT pg_is_in_recovery()") == "f":
                return
        time.sleep(0.2)
    raise DrillFailed(f"the restored copy did not reach its target in time:\n{cluster.log_tail()}")


def _wait_archived(primary: PostgresCluster, segment: str, deadline: float) -> None:
    """Wait until ``segment`` (and so every one before it) is in the archive."""
    while time.monotonic() < deadline:
        last = primary.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        if last and last[8:] >= segment[8:]:  # same timeline; the rest orders by position
            return
        time.sleep(0.1)
    raise DrillFailed(f"WAL segment {segment} was not archived in time")


def run_drill() -> DrillReport:
    """The whole drill; raises :class:`DrillFailed` when the restored copy is wrong."""
    report = DrillReport()
    clock = Clock(report)
    with ExitStack() as cleanup:
        # Two core processes (uvicorn supervises N > 1 only); sealing every half second, so
        # the restored copy has seals made after the backup.
        stack = FaultStack(
            core_workers=2, env={"WORKER_SEAL_INTERVAL_SECONDS": "0.5"}, pg_settings=ARCHIVING
        )
        cleanup.callback(stack.close)
        with clock.step("cluster, migrate and seed"):
            stack.start()
            primary = stack.pg
            archive = primary.owned_dir("wal-archive")
            # archive_command is read on reload; until it is set, WAL waits in pg_wal.
            # Never overwrite a segment already archived (the PostgreSQL manual's advice).
            command = f"test ! -f {archive}/%f && cp %p {archive}/%f"
            primary.psql(f"ALTER SYSTEM SET archive_command = '{command}'")
            primary.psql("SELECT pg_reload_conf()")

        with clock.step("worker up, signed in"):
            assert stack.core is not None
            core = stack.core
            worker = stack.supervise("worker")
            teller = Teller(core.base_url)
            cleanup.callback(teller.close)

        with clock.step("transfers before the backup"):
            report.before_backup = teller.transfers(TRANSFERS_PER_PHASE)

        backup = primary.owned_dir("base-backup")
        with clock.step("pg_basebackup"):
            primary.run(
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                backup,
                "-X",
                "stream",
                "-c",
                "fast",
            )

        with clock.step("transfers to the target"):
            report.before_target = teller.transfers(TRANSFERS_PER_PHASE)
            time.sleep(1.0)  # the worker seals some of them, on the primary's side of the target
            # The target and the worker's seals so far in one statement (one snapshot): the
            # worker keeps sealing, the teller waits. A seal committed in the microseconds
            # between the snapshot and the clock reading would be restored but not counted.
            target, seals = primary.psql(
                "SELECT clock_timestamp(), (SELECT count(*) FROM audit_seals)",
                database=stack.database,
            ).split("|")
            report.target_time, expected_seals = target, int(seals)
            expected_transfers = _rows(primary.psql(TRANSFERS_SQL, database=stack.database))
            expected_balances = _rows(primary.psql(BALANCES_SQL, database=stack.database))
            time.sleep(0.2)  # the next commit is clearly after the target
            report.after_target = teller.transfers(TRANSFERS_PER_PHASE)

        with clock.step("WAL archived"):
            segment = primary.psql("SELECT pg_walfile_name(pg_switch_wal())")
            _wait_archived(primary, segment, time.monotonic() + STEP_TIMEOUT)
            report.archived_segments = len(list(archive.iterdir()))

        # The primary is lost: its server, the core and the worker stop; only the base
        # backup and the archive (kept in its folder until the end) remain.
        teller.close()
        worker.close()
        core.stop()
        primary.stop("immediate")

        restored = RestoredCluster(
            backup,
            {
                "restore_command": f"'cp {archive}/%f %p'",
                "recovery_target_time": f"'{report.target_time}'",
                "recovery_target_action": "'promote'",
            },
        )
        cleanup.callback(restored.close)
        with clock.step("restore to the target"):
            restored.start()
            _wait_promoted(restored, time.monotonic() + STEP_TIMEOUT)

        with clock.step("checks on the restored copy"):
            transfers = _rows(restored.psql(TRANSFERS_SQL, database=stack.database))
            report.restored_transfers = len(transfers)
            if transfers != expected_transfers:
                raise DrillFailed(
                    f"restored transfers differ from the target's: {len(transfers)} restored, "
                    f"{len(expected_transfers)} expected; missing "
                    f"{sorted(set(expected_transfers) - set(transfers))}, extra "
                    f"{sorted(set(transfers) - set(expected_transfers))}"
                )
            if not set(report.before_backup + report.before_target) <= set(transfers):
                raise DrillFailed("a transfer acknowledged before the target was not restored")
            if set(report.after_target) & set(transfers):
                raise DrillFailed("a transfer made after the target was restored")
            if _rows(restored.psql(BALANCES_SQL, database=stack.database)) != expected_balances:
                raise DrillFailed("restored balances differ from the balances at the target")
            seals = restored.psql("SELECT count(*) FROM audit_seals", database=stack.database)
            report.restored_seals = int(seals)
            if report.restored_seals != expected_seals:
                raise DrillFailed(
                    f"{report.restored_seals} audit seals restored, {expected_seals} at the target"
                )
            if report.restored_seals == 0:
                raise DrillFailed("no audit seal restored: audit verify would prove little")
            url = restored.url(stack.database)
            report.ledger_verify = _branchdesk(stack, "ledger", "verify", database_url=url).strip()
            report.audit_verify = _branchdesk(stack, "audit", "verify", database_url=url).strip()
    return report


def record(report: DrillReport, total: float, load_before: tuple[float, ...]) -> Path:
    """Write the run to ``bench/results/<UTC stamp>-backup-drill.md``; its path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    load = " / ".join(f"{value:.1f}" for value in load_before)
    path = ROOT / "bench" / "results" / f"{stamp}-backup-drill.md"
    steps = "\n".join(f"| {name} | {seconds:.1f} |" for name, seconds in report.timings.items())
    path.write_text(
        f"# Backup drill, {stamp}\n\n"
        "`python -m tests.faults.backup_drill --record` (the drill of "
        "`tests/faults/test_backup_drill.py`): base backup + archived WAL, restored to a "
        "point in time into a fresh cluster on another port.\n\n"
        f"- target time: {report.target_time}\n"
        f"- transfers acknowledged: {len(report.before_backup)} before the base backup, "
        f"{len(report.before_target)} between the backup and the target, "
        f"{len(report.after_target)} after the target\n"
        f"- restored: {report.restored_transfers} transfers (exactly the primary's at the "
        f"target; none of the {len(report.after_target)} later ones), balances equal to "
        f"the target's, {report.restored_seals} audit seals\n"
        f"- WAL segments archived: {report.archived_segments}\n"
        f"- whole drill: {total:.1f} s (load average before the run: {load})\n\n"
        f"| step | seconds |\n|---|---|\n{steps}\n\n"
        f"```\n{report.ledger_verify}\n{report.audit_verify}\n```\n"
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    load = os.getloadavg()
    started = time.monotonic()
    report = run_drill()
    total = time.monotonic() - started
    print(report.text())
    print(f"drill passed in {total:.1f} s")
    if "--record" in args:
        print(f"recorded in {record(report, total, load)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

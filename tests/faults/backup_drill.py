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
or through ``tests/faults/test_backup_drill.py`` (``make soak``). The PostgreSQL binaries
come from ``PG_BIN`` (default Debian's ``/usr/lib/postgresql/15/bin``); as root the server
runs as the ``postgres`` user.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.live_server import ROOT, LiveServer, free_port
from tests.support import API, SANDBOX_PASSWORD, TENANT

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "branchdesk"
BRANCH = "001"
CURRENCY = "NGN"
TRANSFERS_PER_PHASE = 6
STEP_TIMEOUT = 60.0  # seconds for any one command
RECOVERY_TIMEOUT = 60.0


class DrillFailed(AssertionError):
    """The restored copy is not what the primary held at the target time."""


def _as_postgres(args: Sequence[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its binaries as ``postgres``."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return list(args)


def _run(args: Sequence[str], *, timeout: float = STEP_TIMEOUT, **kwargs: Any) -> str:
    """Run a command; its output, or a failure that quotes it."""
    done = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    if done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise DrillFailed(f"{' '.join(args)} exited {done.returncode}:\n{output}")
    return done.stdout


@dataclass
class Cluster:
    """One PostgreSQL data folder served on a port of 127.0.0.1 (socket in the drill's folder)."""

    data: Path
    port: int
    socket_dir: Path
    started: bool = False

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.data.name}.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def configure(self, **settings: str) -> None:
        """Append settings to ``postgresql.auto.conf`` (read last, so they win)."""
        lines = [f"{name} = '{value}'" for name, value in settings.items()]
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.write("\n".join(lines) + "\n")

    def start(self) -> None:
        self.started = True
        _run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    str(int(STEP_TIMEOUT)),
                    "start",
                ]
            )
        )

    def stop(self) -> None:
        """Stop at once (the drill keeps nothing); kill the postmaster if that fails."""
        if not self.started:
            return
        self.started = False
        try:
            _run(
                _as_postgres(
                    [
                        str(PG_BIN / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        "20",
                        "stop",
                    ]
                ),
                timeout=30,
            )
        except (DrillFailed, subprocess.TimeoutExpired):
            pid_file = self.data / "postmaster.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().split()[0]), 9)
                except (ValueError, ProcessLookupError):
                    pass

    def sql(self, statement: str, database: str = DATABASE) -> str:
        """One statement through psql; its rows, one a line, fields split by ``|``."""
        return _run(
            [
                str(PG_BIN / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                statement,
            ]
        ).strip()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


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
            f"{self.restored_transfers} transfers (seeded ones included) and "
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


def _environment(var_dir: Path, url: str) -> dict[str, str]:
    """The drill's processes: its database, in-process stores (no shared Redis), its var/."""
    env = {**os.environ, "DATABASE_URL": url, "BRANCHDESK_VAR_DIR": str(var_dir)}
    env.pop("REDIS_URL", None)
    env.setdefault("RATE_LIMIT_PER_IP", "1000000")
    env.setdefault("RATE_LIMIT_PER_CREDENTIAL", "1000000")
    env["WORKER_SEAL_INTERVAL_SECONDS"] = "0.5"
    # The sandbox's webhook subscription points at a closed port: nothing leaves the machine.
    env["CONSOLE_WEBHOOK_URL"] = "http://127.0.0.1:9/webhooks/cba"
    return env


def _branchdesk(env: dict[str, str], *args: str) -> str:
    return _run([sys.executable, "-m", "app", *args], env=env, cwd=ROOT, timeout=120)


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


def _wait_promoted(cluster: Cluster, deadline: float) -> None:
    """Recovery replays to the target, then promotes; until then the copy is read-only."""
    while time.monotonic() < deadline:
        try:
            if cluster.sql("SELECT pg_is_in_recovery()", database="postgres") == "f":
                return
        except DrillFailed:
            pass  # not accepting connections yet (still replaying to consistency)
        time.sleep(0.2)
    raise DrillFailed(f"the restored copy did not reach its target in time:\n{cluster.log_tail()}")


def _wait_archived(primary: Cluster, segment: str, deadline: float) -> None:
    """Wait until ``segment`` (and so every one before it) is in the archive."""
    while time.monotonic() < deadline:
        last = primary.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        if last and last[8:] >= segment[8:]:  # same timeline; the rest orders by position
            return
        time.sleep(0.1)
    raise DrillFailed(f"WAL segment {segment} was not archived in time:\n{primary.log_tail()}")


def run_drill(workdir: Path | None = None) -> DrillReport:
    """The whole drill; raises :class:`DrillFailed` when the restored copy is wrong."""
    report = DrillReport()
    clock = Clock(report)
    with ExitStack() as stack:
        root = Path(workdir or tempfile.mkdtemp(prefix="branchdesk-backup-drill-"))
        stack.callback(shutil.rmtree, root, True)
        socket_dir, archive, var_dir = root / "run", root / "wal-archive", root / "var"
        for folder in (socket_dir, archive, var_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            for folder in (socket_dir, archive):
                shutil.chown(folder, "postgres")

        primary = Cluster(root / "primary", free_port(), socket_dir)
        with clock.step("primary cluster"):
            _run(
                _as_postgres(
                    [
                        str(PG_BIN / "initdb"),
                        "-D",
                        str(primary.data),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--no-sync",
                    ]
                )
            )
            primary.configure(
                port=str(primary.port),
                listen_addresses="127.0.0.1",
                unix_socket_directories=str(socket_dir),
                wal_level="replica",
                archive_mode="on",
                # Never overwrite a segment already archived (the PostgreSQL manual's advice).
                archive_command=f"test ! -f {archive}/%f && cp %p {archive}/%f",
                shared_buffers="32MB",
                max_connections="60",
            )
            stack.callback(primary.stop)
            primary.start()
            primary.sql(f"CREATE DATABASE {DATABASE}", database="postgres")

        env = _environment(var_dir, primary.url)
        with clock.step("migrate and seed"):
            _branchdesk(env, "db", "upgrade")
            _branchdesk(env, "seed", "demo")

        with clock.step("core and worker up"):
            core = LiveServer(env=env, command="core")
            stack.callback(core.stop)
            core.start()
            worker = subprocess.Popen(
                [sys.executable, "-m", "app", "worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(_stop_process, worker)
            teller = Teller(core.base_url)
            stack.callback(teller.close)

        with clock.step("transfers before the backup"):
            report.before_backup = teller.transfers(TRANSFERS_PER_PHASE)

        backup = root / "base-backup"
        with clock.step("pg_basebackup"):
            _run(
                _as_postgres(
                    [
                        str(PG_BIN / "pg_basebackup"),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(primary.port),
                        "-U",
                        "postgres",
                        "-D",
                        str(backup),
                        "-X",
                        "stream",
                        "-c",
                        "fast",
                    ]
                )
            )

        with clock.step("transfers to the target"):
            report.before_target = teller.transfers(TRANSFERS_PER_PHASE)
            time.sleep(1.0)  # the worker seals some of them, on the primary's side of the target
            report.target_time = primary.sql("SELECT clock_timestamp()")
            expected_transfers = _rows(primary.sql(TRANSFERS_SQL))
            expected_balances = _rows(primary.sql(BALANCES_SQL))
            time.sleep(0.2)  # the next commit is clearly after the target
            report.after_target = teller.transfers(TRANSFERS_PER_PHASE)

        with clock.step("WAL archived"):
            segment = primary.sql("SELECT pg_walfile_name(pg_switch_wal())")
            _wait_archived(primary, segment, time.monotonic() + STEP_TIMEOUT)
            report.archived_segments = len(list(archive.iterdir()))

        # The primary could be gone now; stop it, the core and the worker, as after a loss.
        teller.close()
        _stop_process(worker)
        core.stop()
        primary.stop()

        restored = Cluster(root / "restored", free_port(), socket_dir)
        with clock.step("restore to the target"):
            shutil.copytree(backup, restored.data, symlinks=True)
            if os.geteuid() == 0:
                _run(["chown", "-R", "postgres:postgres", str(restored.data)])
            restored.configure(
                port=str(restored.port),
                # The copy must not write into the archive it restores from.
                archive_mode="off",
                restore_command=f"cp {archive}/%f %p",
                recovery_target_time=report.target_time,
                recovery_target_action="promote",
            )
            (restored.data / "recovery.signal").touch()
            if os.geteuid() == 0:
                shutil.chown(restored.data / "recovery.signal", "postgres", "postgres")
            stack.callback(restored.stop)
            restored.start()
            _wait_promoted(restored, time.monotonic() + RECOVERY_TIMEOUT)

        with clock.step("checks on the restored copy"):
            transfers = _rows(restored.sql(TRANSFERS_SQL))
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
            if _rows(restored.sql(BALANCES_SQL)) != expected_balances:
                raise DrillFailed("restored balances differ from the balances at the target")
            report.restored_seals = int(restored.sql("SELECT count(*) FROM audit_seals"))
            if report.restored_seals == 0:
                raise DrillFailed("no audit seal restored: audit verify would prove little")
            restored_env = _environment(var_dir, restored.url)
            report.ledger_verify = _branchdesk(restored_env, "ledger", "verify").strip()
            report.audit_verify = _branchdesk(restored_env, "audit", "verify").strip()
    return report


def _stop_process(process: "subprocess.Popen[bytes]") -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def record(report: DrillReport, total: float) -> Path:
    """Write the run to ``bench/results/<UTC stamp>-backup-drill.md``; its path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
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
        f"- whole drill: {total:.1f} s\n\n"
        f"| step | seconds |\n|---|---|\n{steps}\n\n"
        f"```\n{report.ledger_verify}\n{report.audit_verify}\n```\n"
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    report = run_drill()
    total = time.monotonic() - started
    print(report.text())
    print(f"drill passed in {total:.1f} s")
    if "--record" in args:
        print(f"recorded in {record(report, total)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

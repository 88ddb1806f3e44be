"""Issue 11: a webhook backlog of 1,135 events reaches the console in ≤ 3 s.

One run, on the PostgreSQL server of ``BENCH_PG`` and Redis db 13 (``BENCH_WEBHOOKS_REDIS``):

1. creates its own database ``bd_whbench_<random>``, migrates and seeds it (the sandbox,
   whose subscription sends every event type to this run's console, as in production),
   and opens ``BENCH_ACCOUNTS`` (200) funded accounts with the transfers benchmark's helper;
2. starts a real core, console and worker in production mode (``python -m app core``,
   ``console``, ``worker``; PostgreSQL + Redis), and waits until the worker has delivered
   the set-up's own events (so connections are open and code is warm, as in a running
   bank);
3. stops the worker (``SIGSTOP``), makes the backlog the real way: ``BENCH_EVENTS``
   (1,135) transfers through ``POST /transfers/batch`` (one ``transfer.completed`` event
   each, written in the transfer's own transaction), and checks the outbox holds exactly
   that many undelivered events;
4. resumes the worker (``SIGCONT``, the clock starts) and polls the console's table every
   20 ms until it has stored every event (the drain time, judged: ≤ 3 s), then until the
   worker has recorded every delivery as delivered;
5. records each process's CPU over the drain (``/proc``; PostgreSQL: the backends
   connected to this run's database), per event, and the attempts the worker logged;
6. with the worker running, ``BENCH_P1_SECONDS`` (10) of P1's load (``BENCH_CLIENTS``
   clients posting ``POST /transfers/internal``, the transfers benchmark's httpx driver):
   how long each event took from the outbox to the console (p50, p95, p99, max) and how
   long after the load the last one arrived.

``BENCH_BASELINE=<git ref>`` first runs steps 2–5 with the worker and console of that
commit (``git archive`` into a temporary folder; the same database, Redis, core and
backlog size), so the before and after are measured in the same run, the same way.
Writes ``bench/results/<UTC>-webhooks.json`` and ``.md`` and drops the database
(``BENCH_KEEP_DB=1`` keeps it).
"""

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import console as cb
from bench import transfers as tb

ROOT = tb.ROOT
RESULTS = tb.RESULTS
API = tb.API
EVENTS = int(os.environ.get("BENCH_EVENTS", "1135"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "200"))
REDIS_URL = os.environ.get("BENCH_WEBHOOKS_REDIS", "redis://127.0.0.1:6379/13")
BASELINE = os.environ.get("BENCH_BASELINE") or None
DRAIN_LIMIT_SECONDS = float(os.environ.get("BENCH_DRAIN_LIMIT", "240"))
TARGET_SECONDS = 3.0
BATCH_CHUNK = 500  # transfers per POST /transfers/batch (the API takes up to 1,000)
POLL_SECONDS = 0.02
P1_SECONDS = float(os.environ.get("BENCH_P1_SECONDS", "10"))  # 0: no P1 part
KEEP_LOGS = os.environ.get("BENCH_KEEP_LOGS")  # a folder for each process's log
# A folder for py-spy profiles of the worker and the console during the drain (collapsed
# stacks); their CPU figures are then not comparable.
PROFILE_TO = os.environ.get("BENCH_PROFILE")


class Process:
    """``python -m app <command>`` from ``tree`` (this checkout or a baseline's), logged."""

    def __init__(self, command: str, env: dict[str, str], tree: Path, health: str | None) -> None:
        self.command = command
        self.log = tempfile.NamedTemporaryFile(prefix=f"branchdesk-whbench-{command}-")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", command],
            cwd=tree,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {command} exited early:\n{self.output()[-3000:]}")
            if health is None:
                if "worker.started" in self.output():
                    return
            else:
                try:
                    if httpx.get(health, timeout=1).status_code < 500:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the {command} did not start:\n{self.output()[-3000:]}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return sum(tb.proc_cpu_seconds(pid) for pid in tb.process_tree(self.pid))

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a stopped process cannot stop
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def profile(process: Process, phase: "Phase") -> subprocess.Popen[bytes]:
    """py-spy sampling ``process`` until interrupted (collapsed stacks, for reading)."""
    assert PROFILE_TO is not None
    out = Path(PROFILE_TO) / f"{phase.tree.name}-{process.command}.txt"
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--format",
            "raw",
            "-r",
            "200",
            "-o",
            str(out),
            "-p",
            str(process.pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def baseline_tree(ref: str) -> Path:
    """The files of ``ref`` in a temporary folder (``git archive``), to run its processes."""
    folder = Path(tempfile.mkdtemp(prefix="branchdesk-whbench-baseline-"))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


# ---- the database, read by the bench --------------------------------------------------------

UNDISPATCHED = "SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL"
BACKLOG = (
    "SELECT (SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL)"
    " + (SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING')"
)
STORED = "SELECT count(*) FROM console_webhook_events"


async def backend_pids(db: asyncpg.Connection, database: str) -> set[int]:
    """The PostgreSQL backends of this run's processes (not the bench's own connection)."""
    rows = await db.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )
    return {int(r["pid"]) for r in rows}


class Backends:
    """CPU of this run's PostgreSQL backends over a phase. Pools open and close
    connections as they go, so the backends are looked up again every few polls and each
    one's last reading kept (a backend that ends between two looks loses that bit)."""

    def __init__(self, db: asyncpg.Connection, database: str) -> None:
        self.db, self.database = db, database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    async def start(self) -> None:
        for pid in await backend_pids(self.db, self.database):
            self.first[pid] = self.last[pid] = tb.proc_cpu_seconds(pid)

    async def look(self) -> None:
        for pid in await backend_pids(self.db, self.database):
            self.first.setdefault(pid, 0.0)  # born during the phase: all of its CPU
            self.last[pid] = max(self.last.get(pid, 0.0), tb.proc_cpu_seconds(pid))

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


async def wait_idle(db: asyncpg.Connection, limit: float = 120.0) -> float:
    """Wait until nothing waits for delivery; how long it took."""
    started = time.monotonic()
    while await db.fetchval(BACKLOG):
        if time.monotonic() - started > limit:
            raise RuntimeError("the worker did not deliver the set-up's events in time")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def make_backlog(core: httpx.AsyncClient, accounts: list[str], count: int) -> None:
    """``count`` internal transfers through ``POST /transfers/batch``: one event each."""
    officer = await tb.sign_in(core, "officer@demo.bank")
    rng = random.Random(11)
    left = count
    while left:
        size = min(left, BATCH_CHUNK)
        transfers = []
        for _ in range(size):
            source, destination = rng.sample(accounts, 2)
            transfers.append(
                {
                    "source_account_id": source,
                    "destination_account_id": destination,
                    "amount": tb.money(rng.randint(1_00, 5_000_00)),
                    "currency": "NGN",
                    "narration": "webhook bench",
                }
            )
        response = await core.post(
            "/transfers/batch",
            json={"mode": "independent", "transfers": transfers},
            headers=tb.headers(officer, f"whbench-{uuid.uuid4().hex}"),
            timeout=600,
        )
        response.raise_for_status()
        left -= size


@dataclass
class Phase:
    name: str  # "baseline (<ref>)" or "this checkout"
    tree: Path


async def measure_phase(
    phase: Phase,
    env: dict[str, str],
    database: str,
    core_url: str,
    console_port: int,
    accounts: list[str],
) -> dict[str, Any]:
    """One drain: this phase's console and worker, a fresh backlog of ``EVENTS``."""
    console_url = f"http://127.0.0.1:{console_port}"
    db = await asyncpg.connect(tb.psql_url(database))
    console = worker = None
    try:
        print(f"[{phase.name}] console and worker ...", flush=True)
        console = Process(
            "console", {**env, "PORT": str(console_port)}, phase.tree, f"{console_url}/login"
        )
        worker = Process("worker", env, phase.tree, None)
        warm_up = await wait_idle(db)
        worker.process.send_signal(signal.SIGSTOP)
        await asyncio.sleep(0.2)
        print(f"[{phase.name}] worker stopped; {EVENTS} transfers through the core ...", flush=True)
        async with httpx.AsyncClient(base_url=core_url + API, timeout=600) as core:
            await make_backlog(core, accounts, EVENTS)
        waiting = int(await db.fetchval(UNDISPATCHED))
        if waiting != EVENTS:
            raise RuntimeError(f"the outbox holds {waiting} undelivered events, not {EVENTS}")
        stored_before = int(await db.fetchval(STORED))
        resumed_at = datetime.now(UTC)
        backends = Backends(db, database)
        await backends.start()
        cpu_before = {"worker": worker.cpu_seconds(), "console": console.cpu_seconds()}

        profilers = [profile(p, phase) for p in (worker, console)] if PROFILE_TO else []
        print(f"[{phase.name}] worker resumed: draining ...", flush=True)
        worker.process.send_signal(signal.SIGCONT)
        started = time.monotonic()
        marks: dict[str, float] = {}
        stored = 0
        polls = 0
        while stored < EVENTS:
            elapsed = time.monotonic() - started
            if elapsed > DRAIN_LIMIT_SECONDS:
                break
            polls += 1
            if polls % 5 == 0:
                await backends.look()
            stored = int(await db.fetchval(STORED)) - stored_before
            for share in (0.01, 0.5, 0.9):
                key = f"{round(share * 100)}%"
                if key not in marks and stored >= share * EVENTS:
                    marks[key] = round(elapsed, 2)
            await asyncio.sleep(POLL_SECONDS)
        drain = time.monotonic() - started
        while time.monotonic() - started < DRAIN_LIMIT_SECONDS:
            if not await db.fetchval(BACKLOG):
                break
            polls += 1
            if polls % 5 == 0:
                await backends.look()
            await asyncio.sleep(POLL_SECONDS)
        recorded = time.monotonic() - started
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        cpu = {
            "worker": worker.cpu_seconds() - cpu_before["worker"],
            "console": console.cpu_seconds() - cpu_before["console"],
        }
        await backends.look()
        cpu["postgres"] = backends.seconds
        attempts = await db.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE error IS NOT NULL) AS failed,"
            " array_agg(DISTINCT error) FILTER (WHERE error IS NOT NULL) AS errors"
            " FROM webhook_attempts WHERE attempted_at >= $1",
            resumed_at,
        )
        statuses = {
            r["status"]: int(r["n"])
            for r in await db.fetch(
                "SELECT status, count(*) AS n FROM webhook_deliveries WHERE created_at >= $1"
                " GROUP BY status",
                resumed_at,
            )
        }
        per_event = {k: round(v / EVENTS * 1000, 3) for k, v in cpu.items()}
        result = {
            "phase": phase.name,
            "events": EVENTS,
            "stored_by_console": stored,
            "drain_seconds": round(drain, 2),
            "events_per_second": round(stored / drain, 1) if drain else None,
            "delivered_and_recorded_seconds": round(recorded, 2),
            "stored_by": marks,
            "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
            "cpu_ms_per_event": per_event,
            "attempts": int(attempts["n"]),
            "failed_attempts": int(attempts["failed"]),
            "attempt_errors": list(attempts["errors"] or []),
            "deliveries_by_status": statuses,
            "warm_up_seconds": round(warm_up, 1),
            "target_seconds": TARGET_SECONDS,
            "pass": stored == EVENTS and drain <= TARGET_SECONDS,
        }
        print(
            f"[{phase.name}] {stored}/{EVENTS} stored in {drain:.2f} s "
            f"({result['events_per_second']}/s); CPU ms/event {per_event}",
            flush=True,
        )
        if P1_SECONDS > 0:
            result["under_p1"] = await under_load(phase, db, core_url, accounts)
        return result
    except BaseException:
        for process in (console, worker):
            if process is not None:
                print(f"---- {process.command} log (tail) ----\n{process.output()[-4000:]}")
        raise
    finally:
        for process in (worker, console):
            if process is not None:
                if KEEP_LOGS:
                    kept = Path(KEEP_LOGS) / f"{phase.tree.name}-{process.command}.log"
                    kept.write_text(process.output())
                process.stop()
        await db.close()


async def under_load(
    phase: Phase, db: asyncpg.Connection, core_url: str, accounts: list[str]
) -> dict[str, Any]:
    """P1's load (``tb.CLIENTS`` clients posting internal transfers) for ``P1_SECONDS``
    with the worker running: how long each event took from the outbox to the console."""
    print(f"[{phase.name}] P1 load for {P1_SECONDS:.0f} s, worker running ...", flush=True)
    since = datetime.now(UTC)
    scenario = tb.Scenario("P1 load, webhooks live")
    limits = httpx.Limits(max_connections=tb.CLIENTS, max_keepalive_connections=tb.CLIENTS)
    async with httpx.AsyncClient(base_url=core_url + API, limits=limits, timeout=60) as core:
        tokens = [
            await tb.sign_in(core, "officer@demo.bank"),
            await tb.sign_in(core, "manager@demo.bank"),
        ]
        started = time.monotonic()
        await tb.drive(core, tokens, lambda rng: rng.sample(accounts, 2), P1_SECONDS, scenario)
        scenario.seconds = time.monotonic() - started
    load_ended = time.monotonic()
    while time.monotonic() - load_ended < DRAIN_LIMIT_SECONDS:
        if not await db.fetchval(BACKLOG):
            break
        await asyncio.sleep(0.1)
    caught_up = time.monotonic() - load_ended
    lag = await db.fetchrow(
        "SELECT count(*) AS n,"
        " percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY s) AS p,"
        " max(s) AS worst"
        " FROM (SELECT extract(epoch FROM c.received_at - o.created_at) AS s"
        " FROM outbox_events o JOIN console_webhook_events c ON c.event_id = o.id"
        " WHERE o.created_at >= $1) lags",
        since,
    )
    made = int(
        await db.fetchval("SELECT count(*) FROM outbox_events WHERE created_at >= $1", since)
    )
    p50, p95, p99 = (round(float(x), 2) for x in (lag["p"] or [0.0, 0.0, 0.0]))
    result = {
        "seconds": round(scenario.seconds, 1),
        "transfers_per_second": scenario.summary()["tps"],
        "events": made,
        "stored_by_console": int(lag["n"]),
        "lag_seconds": {
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "max": round(float(lag["worst"] or 0), 2),
        },
        "caught_up_seconds_after_the_load": round(caught_up, 1),
    }
    print(f"[{phase.name}] under P1: {result}", flush=True)
    return result


def markdown(report: dict[str, Any]) -> str:
    m, c = report["machine"], report["config"]
    lines = [
        f"# Webhook backlog to the console, {report['started_at']}",
        "",
        f"{m['cpus']} × {m['cpu_model']}, {m['memory']}, PostgreSQL {m['postgresql']}, "
        f"Python {m['python']}; load average at the start {c['load_average']}. Production "
        f"mode: one core, one console, one worker process (PostgreSQL + Redis). A backlog of "
        f"{c['events']} `transfer.completed` events (made by `POST /transfers/batch` while the "
        "worker was stopped) is drained to the console's receiver, which verifies, stores "
        "and pushes each one. Target: every event stored by the console within "
        f"{TARGET_SECONDS:.0f} s.",
        "",
        "| phase | stored | drain s | events/s | 1 % / 50 % / 90 % stored by (s) | all recorded s "
        "| worker CPU ms/event | console CPU ms/event | PostgreSQL CPU ms/event | attempts "
        "(failed) | pass |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["phases"]:
        marks = " / ".join(str(r["stored_by"].get(k, "–")) for k in ("1%", "50%", "90%"))
        per = r["cpu_ms_per_event"]
        lines.append(
            f"| {r['phase']} | {r['stored_by_console']}/{r['events']} | {r['drain_seconds']} | "
            f"{r['events_per_second']} | {marks} | {r['delivered_and_recorded_seconds']} | "
            f"{per['worker']} | {per['console']} | {per['postgres']} | "
            f"{r['attempts']} ({r['failed_attempts']}) | {'PASS' if r['pass'] else 'FAIL'} |"
        )
    if len(report["phases"]) == 2:
        before, after = report["phases"]
        ratio = {
            k: round(before["cpu_ms_per_event"][k] / after["cpu_ms_per_event"][k], 1)
            for k in ("worker", "console", "postgres")
            if after["cpu_ms_per_event"][k]
        }
        lines += [
            "",
            f"Same run: drain {before['drain_seconds']} s → {after['drain_seconds']} s "
            f"(× {round(before['drain_seconds'] / after['drain_seconds'], 1)} faster); CPU per "
            "event, before ÷ after: " + ", ".join(f"{k} × {v}" for k, v in ratio.items()) + ".",
        ]
    live = [r for r in report["phases"] if "under_p1" in r]
    if live:
        lines += [
            "",
            f"## Under P1's load ({tb.CLIENTS} clients posting internal transfers, worker "
            "running): from the outbox to the console",
            "",
            "| phase | seconds | transfers/s | events | stored | lag p50 s | p95 s | p99 s | max s "
            "| caught up after the load, s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in live:
            u = r["under_p1"]
            lag = u["lag_seconds"]
            lines.append(
                f"| {r['phase']} | {u['seconds']} | {u['transfers_per_second']} | {u['events']} "
                f"| {u['stored_by_console']} | {lag['p50']} | {lag['p95']} | {lag['p99']} "
                f"| {lag['max']} | {u['caught_up_seconds_after_the_load']} |"
            )
    errors = sorted({e for r in report["phases"] for e in r["attempt_errors"]})
    if errors:
        lines += ["", "Failed attempts' categories: " + ", ".join(errors) + "."]
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    database = f"bd_whbench_{uuid.uuid4().hex[:8]}"
    var_dir = Path(tempfile.mkdtemp(prefix="branchdesk-whbench-"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_average = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"webhooks benchmark: database {database}, Redis {REDIS_URL}", flush=True)
    tb.admin_sql(f'CREATE DATABASE "{database}"')
    trees: list[Path] = []
    core: Process | None = None
    cb.REDIS_URL = REDIS_URL  # the console bench's helpers flush and use this Redis db
    try:
        core_port, console_port = tb.free_port(), tb.free_port()
        env = cb.production_env(var_dir, database, core_port, console_port)
        env["REDIS_URL"] = REDIS_URL
        # The console's receiver is always an allowed target; this older switch is refused.
        env.pop("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", None)
        t0 = time.monotonic()
        settings = cb.migrate_and_seed(env)
        accounts, _hot = asyncio.run(tb.open_accounts(settings, ACCOUNTS))
        setup_seconds = time.monotonic() - t0
        core_url = f"http://127.0.0.1:{core_port}"
        core = Process("core", {**env, "PORT": str(core_port)}, ROOT, f"{core_url}{API}/health")
        phases = []
        if BASELINE:
            trees.append(baseline_tree(BASELINE))
            phases.append(Phase(f"before ({BASELINE})", trees[-1]))
        phases.append(Phase("this checkout", ROOT))
        results = [
            asyncio.run(measure_phase(p, env, database, core_url, console_port, accounts))
            for p in phases
        ]
        report = {
            "benchmark": "webhooks",
            "started_at": started_at.isoformat(timespec="seconds"),
            "machine": tb.machine(),
            "config": {
                "events": EVENTS,
                "accounts": ACCOUNTS,
                "p1_seconds": P1_SECONDS,
                "p1_clients": tb.CLIENTS,
                "baseline": BASELINE,
                "processes": "python -m app core | console | worker, BRANCHDESK_PRODUCTION=true",
                "redis": REDIS_URL,
                "load_average": load_average,
                "setup_seconds": round(setup_seconds, 1),
                "settings": {
                    k: os.environ[k]
                    for k in sorted(os.environ)
                    if k.startswith(("WEBHOOK_", "WORKER_", "DATABASE_POOL"))
                },
            },
            "phases": results,
            "pass": results[-1]["pass"],
        }
        json_path = RESULTS / f"{stamp}-webhooks.json"
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        md_path = RESULTS / f"{stamp}-webhooks.md"
        md_path.write_text(markdown(report))
        print(md_path.read_text())
        print(f"wrote {json_path.relative_to(ROOT)} and {md_path.relative_to(ROOT)}")
        return 0
    finally:
        if core is not None:
            core.stop()
        if not os.environ.get("BENCH_KEEP_DB"):
            tb.admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)
        for tree in trees:
            shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""P1, P2 and P3 of quality.md: transfer throughput of the real core, against pgbench.

One run, on the PostgreSQL server of ``BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432``) and Redis db 12:

1. creates its own database ``bd_bench_<random>``, migrates and seeds it (the sandbox);
2. opens 10,000 accounts in branch 001 directly in SQL (one customer per 100 accounts)
   and funds them with ONE balanced journal posted through the core's own posting
   service (Dr teller cash 001, Cr each account), so ``branchdesk ledger verify`` stays
   clean; one of them is the hot "settlement" account of P2;
3. starts ``python -m app core --workers N`` for each N of ``BENCH_WORKERS`` (``1,2``) in
   turn, with ``REDIS_URL`` = ``BENCH_REDIS`` (``redis://127.0.0.1:6379/12``) and rate
   limits raised out of the way, and runs steps 4 and 6 against each;
4. P1: ``wrk`` with ``BENCH_CLIENTS`` (32) connections and ``bench/wrk_transfers.lua``
   (a fresh Idempotency-Key per request, uniformly random accounts) posts
   ``POST /transfers/internal`` for ``BENCH_SECONDS`` (20) after a short warm-up; P2: the
   same with every transfer to or from the hot account. Without wrk (or with
   ``BENCH_LOADGEN=httpx``) 32 asyncio clients on one pooled ``httpx.AsyncClient`` do it;
5. the pgbench reference: ``bench/pgbench_transfer.sql`` on its own tables (acct 10,000
   rows, jrnl, post, idem, audit) in the same database,
   ``pgbench -n -c 32 -j 2 -T <seconds> -f bench/pgbench_transfer.sql``;
6. P3: ``POST /transfers/batch`` of 1,000 independent transfers, ``BENCH_BATCHES`` (3)
   requests one after another: transfers per second;
7. runs the ledger check, writes ``bench/results/<UTC>-transfers.json`` and ``.md``,
   drops the database (``BENCH_KEEP_DB=1`` keeps it).

On a 2-core machine the load generator competes for CPU with the server and PostgreSQL:
the CPU seconds of each (wrk's from its own rusage) are recorded in the results, per
transfer too. ``BENCH_CORE_CPUS`` / ``BENCH_WRK_CPUS`` pin the core and wrk with taskset.
``BENCH_PROFILE=1`` runs the server under cProfile and stores its top functions beside the
results.
"""

import asyncio
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PGBENCH_SCRIPT = ROOT / "bench" / "pgbench_transfer.sql"
API = "/api/v1/cba"
TENANT = "demo_bank"
PASSWORD = "Sandbox#2026"
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "3"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "3"))
WORKERS = [int(n) for n in os.environ.get("BENCH_WORKERS", "1,2").split(",") if n.strip()]
BATCH_SIZE = 1000
OPENING = 10_000_000_00  # minor units per account: no uniform transfer runs dry
HOT_OPENING = 1_000_000_000_00
PG_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")
PGBENCH = shutil.which("pgbench") or "/usr/bin/pgbench"
WRK = shutil.which("wrk")
WRK_SCRIPT = ROOT / "bench" / "wrk_transfers.lua"
# The load generator: wrk (compiled, a Lua script for unique keys and random accounts) when
# installed, so P1 measures the server rather than a Python client; httpx otherwise.
LOADGEN = os.environ.get("BENCH_LOADGEN") or ("wrk" if WRK else "httpx")
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
# Optional CPU pinning (taskset lists such as "0" or "1"), to keep the load generator and
# the server off each other's cores when showing how processes scale.
WRK_CPUS = os.environ.get("BENCH_WRK_CPUS")
CORE_CPUS = os.environ.get("BENCH_CORE_CPUS")


# ---- the database and the server ------------------------------------------------------


def psql_url(database: str) -> str:
    return f"{PG_SERVER.rstrip('/')}/{database}"


def admin_sql(statement: str) -> None:
    subprocess.run(
        ["psql", psql_url("postgres"), "-v", "ON_ERROR_STOP=1", "-qAtc", statement],
        check=True,
        capture_output=True,
    )


def prepare_environment(database: str, var_dir: Path) -> None:
    """Point this process's settings at the bench database (before app.settings is read)."""
    os.environ.update(
        {
            "DATABASE_URL": psql_url(database),
            "REDIS_URL": REDIS_URL,
            "BRANCHDESK_VAR_DIR": str(var_dir),
            "RATE_LIMIT_PER_IP": "100000000",
            "RATE_LIMIT_PER_CREDENTIAL": "100000000",
            "RATE_LIMIT_FAILED_LOGINS": "100000",
        }
    )
    os.environ.pop("BANKING_API_URL", None)


def migrate_and_seed() -> Any:
    import redis

    from app.__main__ import db_upgrade, seed_demo
    from app.settings import reload_settings

    settings = reload_settings()
    redis.Redis.from_url(REDIS_URL).flushdb()
    db_upgrade(settings)
    seed_demo(settings)
    return settings


async def open_accounts(settings: Any, count: int) -> tuple[list[str], str]:
    """``count`` funded accounts in branch 001 (the last one hot), ledger-consistent."""
    import sqlalchemy as sa
    from sqlmodel import col

    from app.core.accounts.models import Account
    from app.core.accounts.service import product_of
    from app.core.auth.models import StaffUser
    from app.core.customers.models import Customer
    from app.core.ledger.chart import system_account_id, teller_cash_code
    from app.core.ledger.models import Journal, NumberSequence
    from app.core.ledger.numbers import journal_number, luhn_check_digit
    from app.core.ledger.posting import CREDIT, DEBIT, Leg, lock_accounts, post_journal
    from app.core.tenants.models import Tenant
    from app.core.tenants.service import business_date
    from app.db import Database, utcnow

    db = Database(settings.database)
    try:
        async with db.session() as session:
            tenant = (
                await session.execute(sa.select(Tenant).where(col(Tenant.code) == TENANT))
            ).scalar_one()
            teller = (
                await session.execute(
                    sa.select(StaffUser).where(
                        col(StaffUser.tenant_id) == tenant.id,
                        col(StaffUser.email) == "teller@demo.bank",
                    )
                )
            ).scalar_one()
            product = await product_of(session, tenant.id, "SAV001")
            assert product is not None

            async def reserve(name: str, n: int) -> int:
                row = (
                    await session.execute(
                        sa.select(NumberSequence)
                        .where(
                            col(NumberSequence.tenant_id) == tenant.id,
                            col(NumberSequence.name) == name,
                        )
                        .with_for_update()
                    )
                ).scalar_one_or_none()
                if row is None:
                    row = NumberSequence(tenant_id=tenant.id, name=name, next_value=1)
                first = row.next_value
                row.next_value = first + n
                session.add(row)
                await session.flush()
                return first

            now = utcnow()
            customers = []
            first_customer = await reserve("customer_number", (count + 99) // 100)
            for i in range((count + 99) // 100):
                name = f"Bench Customer {i}"
                customers.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant.id,
                        "customer_number": f"CUS{first_customer + i:07d}",
                        "customer_type": "INDIVIDUAL",
                        "first_name": "Bench",
                        "last_name": f"Customer {i}",
                        "display_name": name,
                        "search_name": name.lower(),
                        "phone": f"+2348{50000000 + i}",
                        "branch_code": "001",
                        "created_by": teller.id,
                        "created_at": now,
                    }
                )
            await session.execute(sa.insert(Customer), customers)
            first_account = await reserve("account_number", count)
            rows = []
            for i in range(count):
                base = f"{first_account + i:09d}"
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant.id,
                        "account_number": base + luhn_check_digit(base),
                        "customer_id": customers[i // 100]["id"],
                        "product_code": product.code,
                        "account_type": product.account_type,
                        "currency": "NGN",
                        "branch_code": "001",
                        "alias": "settlement (hot)" if i == count - 1 else None,
                        "status": "ACTIVE",
                        "control_gl_account_id": product.control_gl_account_id,
                        "ledger_balance": 0,
                        "hold_amount": 0,
                        "overdraft_limit": 0,
                        "daily_withdrawal_limit": product.daily_withdrawal_limit,
                        "opened_by": teller.id,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            await session.execute(sa.insert(Account), rows)
            ids = [r["id"] for r in rows]
            amounts = {i: OPENING for i in ids[:-1]} | {ids[-1]: HOT_OPENING}
            today = business_date(tenant)
            journal = Journal(
                tenant_id=tenant.id,
                journal_number=journal_number(today),
                journal_type="CASH",
                status="APPROVED",
                description=f"Benchmark opening deposits ({count} accounts)",
                transaction_date=today,
                effective_date=today,
                branch_code="001",
                source_reference="BENCH-OPENING",
                created_by=teller.id,
                created_by_email=teller.email,
                posted_by=teller.id,
            )
            session.add(journal)
            cash = await system_account_id(session, tenant.id, teller_cash_code("001"))
            legs = [Leg(cash, DEBIT, sum(amounts.values()), "NGN", branch_code="001")]
            legs += [
                Leg(product.control_gl_account_id, CREDIT, amount, "NGN", account_id=account)
                for account, amount in amounts.items()
            ]
            locked = await lock_accounts(session, tenant.id, ids)
            await post_journal(session, journal, legs, locked, effective_date=today)
            await session.commit()
    finally:
        await db.dispose()
    return [str(i) for i in ids[:-1]], str(ids[-1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``python -m app core --workers N`` on a free port (under cProfile when asked)."""

    def __init__(self, profile_to: Path | None = None, workers: int = 1) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.profile_to = profile_to
        self.log = tempfile.NamedTemporaryFile(prefix="branchdesk-bench-", suffix=".log")
        command = ["taskset", "-c", CORE_CPUS] if CORE_CPUS else []
        command += [sys.executable]
        if profile_to is not None:
            command += ["-m", "cProfile", "-o", str(profile_to)]
        command += ["-m", "app", "core", "--workers", str(workers)]
        self.workers = workers
        # A pool as large as the requests one process has in flight: SQLAlchemy closes an
        # overflow connection when it is returned, so a smaller pool opens and closes
        # connections all through the run (each a backend fork, a handshake and an empty
        # statement cache; measured: ~150 in 20 s with the default of 10).
        pool = os.environ.get("BENCH_POOL_SIZE") or str(max(10, -(-CLIENTS // workers) + 4))
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_POOL_SIZE": pool,
        }
        self.pool_size = int(pool)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the core exited early:\n" + self.output())
            try:
                if httpx.get(f"{self.base_url}{API}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the core did not start:\n" + self.output())

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """The supervisor and its worker processes (uvicorn forks one per worker)."""
        return sum(proc_cpu_seconds(pid) for pid in process_tree(self.process.pid))

    def stop(self) -> None:
        if self.process.poll() is None:
            # uvicorn re-raises SIGTERM after shutting down (no profile written); SIGINT
            # surfaces as KeyboardInterrupt, which lets cProfile write its file.
            self.process.send_signal(signal.SIGINT if self.profile_to else signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[1])
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def postgres_cpu_seconds() -> float:
    """CPU seconds of every postgres process (backends come and go: a lower bound)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += proc_cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# ---- the load ---------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of 2xx, in seconds
    errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    load_generator: str = "httpx"
    # Percentiles reported by the load generator itself (wrk keeps no per-request list).
    percentiles_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return sum(v for k, v in self.statuses.items() if 200 <= k < 300)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if self.percentiles_ms:
                return self.percentiles_ms.get(f"p{round(p * 100)}")
            if not lat:
                return None
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2)

        def per_transfer(who: str) -> float | None:
            if not self.ok or who not in self.cpu:
                return None
            return round(self.cpu[who] / self.ok * 1000, 2)

        return {
            "scenario": self.name,
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "succeeded": self.ok,
            "tps": round(self.ok / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "mean_ms": (
                self.percentiles_ms.get("mean")
                if self.percentiles_ms
                else (round(statistics.fmean(lat) * 1000, 2) if lat else None)
            ),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(sorted(self.errors.items())),
            "cpu_seconds": {k: round(v, 1) for k, v in self.cpu.items()},
            # What the machine's other load does not change much: the core's own CPU.
            "core_cpu_ms_per_transfer": per_transfer("core"),
            "postgres_cpu_ms_per_transfer": per_transfer("postgres"),
            "load_generator_cpu_ms_per_transfer": per_transfer("load_generator"),
            "load_generator": self.load_generator,
        }


def money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


async def sign_in(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post(
        "/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"X-Tenant-ID": TENANT},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def headers(token: str, key: str | None = None) -> dict[str, str]:
    result = {"Authorization": f"Bearer {token}", "X-Tenant-ID": TENANT}
    if key is not None:
        result["Idempotency-Key"] = key
    return result


async def drive(
    client: httpx.AsyncClient,
    tokens: list[str],
    pick: Any,
    seconds: float,
    scenario: Scenario | None,
) -> None:
    """CLIENTS workers posting transfers back to back until the time is up."""
    deadline = time.monotonic() + seconds
    rng = random.Random()

    async def worker(n: int) -> None:
        token = tokens[n % len(tokens)]
        while time.monotonic() < deadline:
            source, destination = pick(rng)
            body = {
                "source_account_id": source,
                "destination_account_id": destination,
                "amount": money(rng.randint(1_00, 1_000_00)),
                "currency": "NGN",
                "narration": "bench",
            }
            started = time.perf_counter()
            try:
                response = await client.post(
                    "/transfers/internal",
                    json=body,
                    headers=headers(token, f"bench-{uuid.uuid4().hex}"),
                )
            except httpx.TransportError as exc:
                if scenario is not None:
                    scenario.requests += 1
                    key = f"transport:{type(exc).__name__}"
                    scenario.errors[key] = scenario.errors.get(key, 0) + 1
                continue
            elapsed = time.perf_counter() - started
            if scenario is None:
                continue
            scenario.requests += 1
            status = response.status_code
            scenario.statuses[status] = scenario.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                scenario.latencies.append(elapsed)
            else:
                try:
                    code = str(response.json().get("code"))
                except ValueError:
                    code = "?"
                key = f"{status} {code}"
                scenario.errors[key] = scenario.errors.get(key, 0) + 1

    await asyncio.gather(*(worker(n) for n in range(CLIENTS)))


async def run_load(
    server: Server, name: str, tokens: list[str], pick: Any, client: httpx.AsyncClient
) -> Scenario:
    await drive(client, tokens, pick, WARMUP, None)
    scenario = Scenario(name)
    cpu = (server.cpu_seconds(), postgres_cpu_seconds(), own_cpu_seconds())
    started = time.monotonic()
    await drive(client, tokens, pick, SECONDS, scenario)
    scenario.seconds = time.monotonic() - started
    scenario.cpu = {
        "core": server.cpu_seconds() - cpu[0],
        "postgres": postgres_cpu_seconds() - cpu[1],
        "load_generator": own_cpu_seconds() - cpu[2],
        "wall": scenario.seconds,
    }
    return scenario


def wrk_load(
    server: Server,
    name: str,
    tokens: list[str],
    accounts_file: Path,
    hot: str | None,
    seconds: float,
) -> Scenario:
    """One wrk run of ``seconds`` (``CLIENTS`` connections); its CPU from its own rusage."""
    command = ["taskset", "-c", WRK_CPUS] if WRK_CPUS else []
    command += [
        str(WRK),
        f"-t{WRK_THREADS}",
        f"-c{CLIENTS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        server.base_url,
    ]
    env = {
        **os.environ,
        "BENCH_ACCOUNTS_FILE": str(accounts_file),
        "BENCH_HOT_ACCOUNT": hot or "",
        "BENCH_TOKENS": ",".join(tokens),
        "BENCH_TENANT": TENANT,
        "BENCH_PATH": f"{API}/transfers/internal",
    }
    scenario = Scenario(name, load_generator="wrk")
    before = (server.cpu_seconds(), postgres_cpu_seconds())
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        scenario.seconds = time.monotonic() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    scenario.cpu = {
        "core": server.cpu_seconds() - before[0],
        "postgres": postgres_cpu_seconds() - before[1],
        "load_generator": usage.ru_utime + usage.ru_stime,
        "wall": scenario.seconds,
    }
    line = next((x for x in text.splitlines() if x.startswith("WRK_JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{text[-2000:]}")
    result = json.loads(line.removeprefix("WRK_JSON "))
    scenario.seconds = result["duration_us"] / 1e6
    scenario.cpu["wall"] = scenario.seconds
    scenario.statuses = {int(k): v for k, v in result["statuses"].items()}
    scenario.errors = dict(result["errors"])
    for kind, count in result["socket_errors"].items():
        if count and kind != "status":
            scenario.errors[f"socket:{kind}"] = count
    scenario.requests = sum(scenario.statuses.values()) + sum(
        v for k, v in result["socket_errors"].items() if k != "status"
    )
    latency = result["latency_us"]
    scenario.percentiles_ms = {
        "p50": round(latency["p50"] / 1000, 2),
        "p90": round(latency["p90"] / 1000, 2),
        "p99": round(latency["p99"] / 1000, 2),
        "mean": round(latency["mean"] / 1000, 2),
    }
    return scenario


async def run_batches(
    client: httpx.AsyncClient, token: str, accounts: list[str], rng: random.Random
) -> Scenario:
    scenario = Scenario(f"P3 batch of {BATCH_SIZE} (independent), {BATCHES} sequential")
    for _ in range(BATCHES):
        transfers = []
        for _ in range(BATCH_SIZE):
            source, destination = rng.sample(accounts, 2)
            transfers.append(
                {
                    "source_account_id": source,
                    "destination_account_id": destination,
                    "amount": money(rng.randint(1_00, 1_000_00)),
                    "currency": "NGN",
                    "narration": "bench batch",
                }
            )
        started = time.perf_counter()
        response = await client.post(
            "/transfers/batch",
            json={"mode": "independent", "transfers": transfers},
            headers=headers(token, f"bench-batch-{uuid.uuid4().hex}"),
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        scenario.seconds += elapsed
        scenario.requests += BATCH_SIZE
        if response.status_code != 200:
            key = f"{response.status_code} {response.text[:80]}"
            scenario.errors[key] = scenario.errors.get(key, 0) + BATCH_SIZE
            continue
        scenario.latencies.append(elapsed)
        for item in response.json()["results"]:
            if item["status"] == "COMPLETED":
                scenario.statuses[201] = scenario.statuses.get(201, 0) + 1
            else:
                key = f"item {item.get('error', {}).get('code')}"
                scenario.errors[key] = scenario.errors.get(key, 0) + 1
    return scenario


# ---- pgbench --------------------------------------------------------------------------

PGBENCH_TABLES = """
DROP TABLE IF EXISTS acct, jrnl, post, idem, audit;
CREATE TABLE acct (id integer PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO acct SELECT g, 1000000000000 FROM generate_series(1, 10000) AS g;
CREATE TABLE jrnl (id bigserial PRIMARY KEY, src integer NOT NULL, dst integer NOT NULL,
                   amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE post (id bigserial PRIMARY KEY, jrnl_id bigint NOT NULL, acct_id integer NOT NULL,
                   side char(1) NOT NULL, amount bigint NOT NULL);
CREATE TABLE idem (key text PRIMARY KEY, status integer NOT NULL,
                   created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE audit (id bigserial PRIMARY KEY, action text NOT NULL, entity bigint,
                    at timestamptz NOT NULL DEFAULT now());
VACUUM ANALYZE acct;
"""


def run_pgbench(database: str, seconds: int) -> dict[str, Any]:
    subprocess.run(
        ["psql", psql_url(database), "-v", "ON_ERROR_STOP=1", "-q"],
        input=PGBENCH_TABLES,
        text=True,
        check=True,
        capture_output=True,
    )
    command = [
        PGBENCH,
        "-n",
        "-c",
        str(CLIENTS),
        "-j",
        "2",
        "-T",
        str(seconds),
        "-f",
        str(PGBENCH_SCRIPT),
        psql_url(database),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    out = done.stdout + done.stderr
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    return {
        "scenario": "pgbench reference (bench/pgbench_transfer.sql)",
        "command": " ".join([*command[:-1], database]),
        "seconds": seconds,
        "tps": round(float(tps.group(1)), 1) if tps else 0.0,
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "failed_transactions": int(failed.group(1)) if failed else None,
        "exit_code": done.returncode,
        "output_tail": out.strip().splitlines()[-12:],
    }


# ---- the run --------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    pg = subprocess.run(
        ["psql", psql_url("postgres"), "-qAtc", "show server_version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory": memory,
        "python": platform.python_version(),
        "postgresql": pg,
        "platform": platform.platform(),
    }


def git_head() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()[:120]


def verdicts(p1: dict[str, Any], p2: dict[str, Any], p3: dict[str, Any], ref: float) -> None:
    p1["ratio_vs_pgbench"] = round(p1["tps"] / ref, 3) if ref else None
    p1["target"] = "≥ 0.5 × pgbench; p99 ≤ 50 ms"
    p1["pass"] = bool(ref) and p1["tps"] >= 0.5 * ref and (p1["p99_ms"] or 1e9) <= 50
    p2["ratio_vs_pgbench"] = round(p2["tps"] / ref, 3) if ref else None
    p2["ratio_vs_p1"] = round(p2["tps"] / p1["tps"], 3) if p1["tps"] else None
    p2["target"] = "≥ 0.4 × P1; no errors but 409/422"
    undocumented = [k for k in p2["errors"] if not k.startswith(("409", "422"))]
    p2["pass"] = bool(p1["tps"]) and p2["tps"] >= 0.4 * p1["tps"] and not undocumented
    p3["ratio_vs_pgbench"] = round(p3["tps"] / ref, 3) if ref else None
    p3["ratio_vs_p1"] = round(p3["tps"] / p1["tps"], 3) if p1["tps"] else None
    p3["target"] = "≥ 10 × P1 (transfers/s)"
    p3["pass"] = bool(p1["tps"]) and p3["tps"] >= 10 * p1["tps"]


def markdown(report: dict[str, Any]) -> str:
    def cell(value: Any) -> str:
        return "–" if value is None else str(value)

    rows = [
        "| scenario | tps | p50 ms | p99 ms | errors | ratio vs pgbench | target | pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in report["scenarios"]:
        errors = ", ".join(f"{k}: {v}" for k, v in s.get("errors", {}).items()) or "0"
        if "failed_transactions" in s:
            errors = str(s["failed_transactions"] or 0)
        verdict = {True: "PASS", False: "FAIL"}.get(s.get("pass"), "–")
        rows.append(
            f"| {s['scenario']} | {s['tps']} | {cell(s.get('p50_ms'))} | "
            f"{cell(s.get('p99_ms', s.get('latency_avg_ms')))} | {errors} | "
            f"{cell(s.get('ratio_vs_pgbench'))} | {s.get('target', 'reference')} | {verdict} |"
        )
    m = report["machine"]
    cpu_lines = [
        f"- {s['scenario']}: "
        + ", ".join(f"{k} {v}" for k, v in s["cpu_seconds"].items())
        + f"; CPU per transfer: core {s.get('core_cpu_ms_per_transfer')} ms, "
        + f"PostgreSQL {s.get('postgres_cpu_ms_per_transfer')} ms, "
        + f"load generator ({s.get('load_generator')}) "
        + f"{s.get('load_generator_cpu_ms_per_transfer')} ms"
        for s in report["scenarios"]
        if s.get("cpu_seconds")
    ]
    return "\n".join(
        [
            f"# Transfers benchmark, {report['started_at']}",
            "",
            f"Code: {report.get('label')}; load average before: "
            f"{report.get('load_average_before')}.",
            "",
            f"{m['cpus']} × {m['cpu_model']}, {m['memory']}, PostgreSQL {m['postgresql']}, "
            f"Python {m['python']}; {report['config']['clients']} clients, "
            f"{report['config']['seconds']} s per scenario, "
            f"{report['config']['accounts']} accounts; core processes: "
            f"{', '.join(str(n) for n in report['config']['workers'])} (one run each).",
            "",
            *rows,
            "",
            "pgbench's p99 column is its average latency (pgbench reports no percentile).",
            "",
            "CPU seconds used during each scenario (the load generator shares the machine):",
            "",
            *cpu_lines,
            "",
            f"Ledger check after the run: {report['ledger_verify']}",
            "",
        ]
    )


async def measure(server: Server, accounts: list[str], hot: str) -> list[Scenario]:
    of = f", {server.workers} core process{'es' if server.workers > 1 else ''}"
    limits = httpx.Limits(max_connections=CLIENTS + 4, max_keepalive_connections=CLIENTS + 4)
    async with httpx.AsyncClient(
        base_url=server.base_url + API, limits=limits, timeout=60
    ) as client:
        tokens = [
            await sign_in(client, "officer@demo.bank"),
            await sign_in(client, "manager@demo.bank"),
        ]

        def uniform(rng: random.Random) -> tuple[str, str]:
            a, b = rng.sample(accounts, 2)
            return a, b

        def hot_spot(rng: random.Random) -> tuple[str, str]:
            other = rng.choice(accounts)
            return (hot, other) if rng.random() < 0.5 else (other, hot)

        p1_name = "P1 internal transfers, uniform" + of
        p2_name = "P2 internal transfers, one hot account" + of
        print(f"P1: uniform, {CLIENTS} clients, {SECONDS:.0f} s ({LOADGEN}) ...", flush=True)
        if LOADGEN == "wrk":
            with tempfile.NamedTemporaryFile("w", suffix=".accounts") as listing:
                listing.write("\n".join(accounts) + "\n")
                listing.flush()
                path = Path(listing.name)
                await asyncio.to_thread(wrk_load, server, "warm-up", tokens, path, None, WARMUP)
                p1 = await asyncio.to_thread(wrk_load, server, p1_name, tokens, path, None, SECONDS)
                print(f"    {p1.summary()['tps']} tps", flush=True)
                print(f"P2: one hot account, {CLIENTS} clients, {SECONDS:.0f} s ...", flush=True)
                p2 = await asyncio.to_thread(wrk_load, server, p2_name, tokens, path, hot, SECONDS)
        else:
            p1 = await run_load(server, p1_name, tokens, uniform, client)
            print(f"    {p1.summary()['tps']} tps", flush=True)
            print(f"P2: one hot account, {CLIENTS} clients, {SECONDS:.0f} s ...", flush=True)
            p2 = await run_load(server, p2_name, tokens, hot_spot, client)
        print(f"    {p2.summary()['tps']} tps", flush=True)
        print(f"P3: {BATCHES} batches of {BATCH_SIZE} ...", flush=True)
        p3 = await run_batches(client, tokens[0], accounts, random.Random())
        p3.name += of
        print(f"    {p3.summary()['tps']} transfers/s", flush=True)
        return [p1, p2, p3]


async def ledger_verify(settings: Any) -> str:
    from app.core.ledger.verify import verify_ledger
    from app.db import Database

    db = Database(settings.database)
    try:
        async with db.session() as session:
            report = await verify_ledger(session)
    finally:
        await db.dispose()
    text: str = report.text()
    return text.splitlines()[0] if report.ok else text[:2000]


def main() -> int:
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    database = f"bd_bench_{uuid.uuid4().hex[:8]}"
    var_dir = Path(tempfile.mkdtemp(prefix="branchdesk-bench-"))
    profile_to = RESULTS / f"{stamp}-transfers.prof" if os.environ.get("BENCH_PROFILE") else None
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"transfers benchmark: database {database}", flush=True)
    admin_sql(f'CREATE DATABASE "{database}"')
    server: Server | None = None
    try:
        prepare_environment(database, var_dir)
        t0 = time.monotonic()
        settings = migrate_and_seed()
        # Sign in with the password this run seeded (another benchmark imported beside
        # this one may have set the module's PASSWORD for its own runs).
        global PASSWORD
        PASSWORD = settings.sandbox_password
        accounts, hot = asyncio.run(open_accounts(settings, ACCOUNTS))
        setup_seconds = time.monotonic() - t0
        print(f"setup: {ACCOUNTS} accounts in {setup_seconds:.1f} s", flush=True)
        runs: list[list[dict[str, Any]]] = []
        for workers in WORKERS:
            print(f"core: {workers} process(es)", flush=True)
            server = Server(profile_to if workers == WORKERS[0] else None, workers)
            p1, p2, p3 = asyncio.run(measure(server, accounts, hot))
            server.stop()
            server = None
            runs.append([p1.summary(), p2.summary(), p3.summary()])
        print(f"pgbench: {CLIENTS} clients, {SECONDS:.0f} s ...", flush=True)
        reference = run_pgbench(database, round(SECONDS))
        print(f"    {reference['tps']} tps", flush=True)
        verify = asyncio.run(ledger_verify(settings))
        print(verify, flush=True)
        scenarios: list[dict[str, Any]] = []
        for summaries in runs:
            verdicts(*summaries, ref=reference["tps"])
            scenarios += summaries
        scenarios.append(reference)
        report = {
            "benchmark": "transfers",
            "started_at": started_at.isoformat(timespec="seconds"),
            # What was measured, when it is not the checkout's own HEAD (a "before" run).
            "label": os.environ.get("BENCH_LABEL") or git_head(),
            "machine": machine(),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
            "config": {
                "accounts": ACCOUNTS,
                "clients": CLIENTS,
                "seconds": SECONDS,
                "warmup_seconds": WARMUP,
                "batches": BATCHES,
                "batch_size": BATCH_SIZE,
                "core": "python -m app core --workers N (uvicorn)",
                "load_generator": (
                    f"wrk -t{WRK_THREADS} -c{CLIENTS} -s bench/wrk_transfers.lua"
                    if LOADGEN == "wrk"
                    else "httpx (this process)"
                ),
                "pinning": {"core": CORE_CPUS, "load_generator": WRK_CPUS},
                "workers": WORKERS,
                "database_pool_size": {
                    str(n): int(os.environ.get("BENCH_POOL_SIZE") or max(10, -(-CLIENTS // n) + 4))
                    for n in WORKERS
                },
                "redis": REDIS_URL,
                "setup_seconds": round(setup_seconds, 1),
            },
            "scenarios": scenarios,
            "ledger_verify": verify,
        }
        if profile_to is not None:
            report["profile"] = str(profile_to.relative_to(ROOT))
        json_path = RESULTS / f"{stamp}-transfers.json"
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        md_path = RESULTS / f"{stamp}-transfers.md"
        md_path.write_text(markdown(report))
        print(md_path.read_text())
        print(f"wrote {json_path.relative_to(ROOT)} and {md_path.relative_to(ROOT)}")
        return 0
    finally:
        if server is not None:
            server.stop()
        if not os.environ.get("BENCH_KEEP_DB"):
            admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""P4 and P7 of quality.md: console pages under 50 signed-in staff, and each process's memory.

One run, on the PostgreSQL server of ``BENCH_PG`` and Redis db 10 (``BENCH_CONSOLE_REDIS``):

1. creates its own database ``bd_cbench_<random>``, migrates and seeds it (the sandbox, with
   its webhook subscription pointing at this run's console), and opens ``BENCH_ACCOUNTS``
   (10,000) funded accounts with the transfers benchmark's helper;
2. starts three real processes in production mode (``BRANCHDESK_PRODUCTION=true``, Redis
   for sessions, rate limits, revocations and live updates): ``python -m app core``,
   ``python -m app worker`` and ``python -m app console`` (pointed at the core through
   ``BANKING_API_URL``); rate limits are raised out of the way, since every simulated staff
   member comes from 127.0.0.1;
3. **P7 under P1**: ``BENCH_P1_SECONDS`` (10) of the transfers benchmark's P1 load (32
   clients posting ``POST /transfers/internal``), imported from ``bench.transfers``;
4. gives the pages something to show: one ``POST /transfers/batch`` of 1,000 transfers
   among 20 "busy" accounts (≈ 100 statement lines each), 20 manual journals (10 approved
   and posted, 10 left pending), 10 teller deposits above the approval limit (pending);
5. creates ``BENCH_STAFF`` (50) staff users through the core's admin API (tellers,
   officers, managers, viewers, admins), waits until the worker has delivered the webhook
   backlog to the console (the sandbox subscribes it to every event type), then signs all
   of them in at once through the console's real ``GET /login`` + ``POST /login`` (CSRF
   token and cookies, as a browser does; the core's memory peak);
6. **P4**: every staff member loads a mix of whole pages and htmx fragments that their
   role may see, for ``BENCH_SECONDS`` (30) after ``BENCH_WARMUP`` (5) — paced, with
   ``BENCH_THINK`` (1.0) s mean think time between one person's requests (exponential),
   then ``BENCH_BURST_SECONDS`` (15) with no think time at all (saturation, reported,
   not judged), then each kind of request of the mix ``BENCH_KIND_RUNS`` (20) times, one
   at a time, with the CPU the console and the core spent on that kind alone. Each
   answer's ``Server-Timing: app;dur=…`` (the console's own time) is the figure judged;
   the client's round trip is recorded beside it. The reference, in the same mix: the
   anonymous sign-in page and a static file. CPU per console request: each process's CPU
   counters over a phase divided by the requests answered in it (PostgreSQL: the backends
   of this run's database only);
7. throughout, samples ``VmRSS`` of every process of the core, the worker and the console
   (and their children) from ``/proc`` every 0.2 s, and reads ``VmHWM`` at the end;
8. counts each request's calls to the core from the console's ``banking_api.call`` log
   lines (by request ID), writes ``bench/results/<UTC>-console.json`` and ``.md`` and
   drops the database (``BENCH_KEEP_DB=1`` keeps it). ``BENCH_PROFILE=1`` runs the console
   under cProfile (``<UTC>-console.prof``; its figures are then not comparable).
   ``BENCH_PYSPY=1`` samples the core and the console with py-spy (100 Hz, without pausing
   them) through the paced phase: the folded stacks go to ``<UTC>-console-<process>.folded.gz``
   and a summary of where the time goes (by own-code function, inclusive) into the report.
"""

import asyncio
import gzip
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import transfers as tb

ROOT = tb.ROOT
RESULTS = tb.RESULTS
API = tb.API
TENANT = tb.TENANT
# Production mode refuses sandbox staff on the public sandbox password (issue 10): this
# run seeds its sandbox with a password of its own, which every sign-in of the run uses
# (``tb.sign_in`` reads ``tb.PASSWORD``).
PASSWORD = tb.PASSWORD = f"Bench-{uuid.uuid4().hex}"
REDIS_URL = os.environ.get("BENCH_CONSOLE_REDIS", "redis://127.0.0.1:6379/10")
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10000"))
STAFF = int(os.environ.get("BENCH_STAFF", "50"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "5"))
THINK = float(os.environ.get("BENCH_THINK", "1.0"))
BURST_SECONDS = float(os.environ.get("BENCH_BURST_SECONDS", "15"))
P1_SECONDS = float(os.environ.get("BENCH_P1_SECONDS", "10"))
KIND_RUNS = int(os.environ.get("BENCH_KIND_RUNS", "20"))
PAGE_TARGET_MS = 100.0
FRAGMENT_TARGET_MS = 50.0
RSS_TARGET_MB = 250.0
BUSY_ACCOUNTS = 20
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
# Role mix of the simulated staff, repeated: a branch-heavy day.
ROLE_CYCLE = ("teller", "officer", "teller", "manager", "officer", "viewer", "teller", "admin")
ROLE_RANK = {
    role: rank for rank, role in enumerate(("viewer", "teller", "officer", "manager", "admin"))
}


# ---- the processes ----------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and every descendant (uvicorn workers, if any), from /proc."""
    found = [pid]
    for current in found:
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            found.extend(int(c) for c in children if int(c) not in found)
    return found


def status_kb(pid: int, key: str) -> int | None:
    """A ``kB`` figure of /proc/<pid>/status (``VmRSS``, ``VmHWM``)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class Service:
    """``python -m app <command>`` in production mode, with its own log."""

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        health: str | None = None,
        profile_to: Path | None = None,
    ) -> None:
        self.name = name
        self.profile_to = profile_to
        command = [sys.executable]
        if profile_to is not None:
            command += ["-m", "cProfile", "-o", str(profile_to)]
        self.log = tempfile.NamedTemporaryFile(prefix=f"branchdesk-cbench-{name}-", suffix=".log")
        self.process = subprocess.Popen(
            [*command, "-m", "app", name],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if health is None:
            time.sleep(1.0)
            if self.process.poll() is not None:
                raise RuntimeError(f"the {name} exited early:\n{self.output()}")
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {name} exited early:\n{self.output()}")
            try:
                if httpx.get(health, timeout=1).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the {name} did not start:\n{self.output()}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def peak_kb(self) -> dict[int, int]:
        """``VmHWM`` (the kernel's own peak RSS) of each process of the tree, now."""
        peaks = {}
        for pid in process_tree(self.pid):
            value = status_kb(pid, "VmHWM")
            if value is not None:
                peaks[pid] = value
        return peaks

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGINT lets cProfile write its file (uvicorn re-raises SIGTERM unprofiled).
            self.process.send_signal(signal.SIGINT if self.profile_to else signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


class RssSampler:
    """Samples VmRSS of each service's processes every ``interval`` s, per named phase."""

    def __init__(self, services: list[Service], interval: float = 0.2) -> None:
        self.services = services
        self.interval = interval
        self.phase = "start-up"
        # phase → service → {"max_process_kb", "max_tree_kb", "samples"}
        self.figures: dict[str, dict[str, dict[str, int]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> None:
        phase = self.figures.setdefault(self.phase, {})
        for service in self.services:
            sizes = [status_kb(pid, "VmRSS") or 0 for pid in process_tree(service.pid)]
            entry = phase.setdefault(
                service.name, {"max_process_kb": 0, "max_tree_kb": 0, "processes": 0, "samples": 0}
            )
            entry["max_process_kb"] = max(entry["max_process_kb"], max(sizes, default=0))
            entry["max_tree_kb"] = max(entry["max_tree_kb"], sum(sizes))
            entry["processes"] = max(entry["processes"], len(sizes))
            entry["samples"] += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def production_env(
    var_dir: Path, database: str, core_port: int, console_port: int
) -> dict[str, str]:
    """What every process of the run gets: production mode on this run's database and Redis."""
    return {
        **os.environ,
        "DATABASE_URL": tb.psql_url(database),
        "REDIS_URL": REDIS_URL,
        "BRANCHDESK_VAR_DIR": str(var_dir),
        "BRANCHDESK_PRODUCTION": "true",
        "HOST": "127.0.0.1",
        "BANKING_API_URL": f"http://127.0.0.1:{core_port}{API}",
        "CONSOLE_WEBHOOK_URL": f"http://127.0.0.1:{console_port}/webhooks/cba",
        # The sandbox's subscription is the console on loopback over plain HTTP.
        "WEBHOOK_REQUIRE_HTTPS": "false",
        # The console's own receiver (CONSOLE_WEBHOOK_URL) is admitted without an entry of
        # WEBHOOK_ALLOWED_TARGETS (WEBHOOK_ALLOW_PRIVATE_ADDRESSES is gone, issue 10).
        # Every simulated staff member (and the P1 load) comes from 127.0.0.1.
        "RATE_LIMIT_PER_IP": "100000000",
        "RATE_LIMIT_PER_CREDENTIAL": "100000000",
        "RATE_LIMIT_FAILED_LOGINS": "100000",
        # Production mode generates nothing: the run's own secrets and signing key.
        "CONSOLE_SECRET_KEY": secrets.token_urlsafe(32),
        "CONSOLE_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "WEBHOOK_SECRETS_KEY": secrets.token_urlsafe(32),
        "IDENTITY_SECRETS_KEY": secrets.token_urlsafe(32),
        "JWT_PRIVATE_KEY_PATH": str(var_dir / "keys" / "jwt_private.pem"),
    }


# What the seeding step shares with the processes of the run.
SEED_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "BRANCHDESK_VAR_DIR",
    "CONSOLE_WEBHOOK_URL",
    "CONSOLE_WEBHOOK_SECRET",
    "WEBHOOK_SECRETS_KEY",
    "IDENTITY_SECRETS_KEY",
    "CONSOLE_SECRET_KEY",
    "JWT_PRIVATE_KEY_PATH",
)


def migrate_and_seed(env: dict[str, str]) -> Any:
    """Migrate and seed in this process (the seed refuses production mode, so it is off
    here), with the run's sandbox password, and make the run's signing key."""
    import redis

    from app.__main__ import db_upgrade, seed_demo
    from app.core.auth.keys import SigningKeys
    from app.settings import reload_settings

    for key in SEED_SETTINGS:
        os.environ[key] = env[key]
    os.environ.pop("BRANCHDESK_PRODUCTION", None)
    os.environ.pop("BANKING_API_URL", None)
    os.environ["SANDBOX_PASSWORD"] = PASSWORD
    try:
        settings = reload_settings()
    finally:
        os.environ.pop("SANDBOX_PASSWORD")
    SigningKeys.load_or_create(settings.auth.private_key_path)
    redis.Redis.from_url(REDIS_URL).flushdb()
    db_upgrade(settings)
    seed_demo(settings)
    return settings


def sql_value(database: str, statement: str, attempts: int = 10) -> int:
    """One figure from the run's database; a full server (``too many clients``, when other
    work shares the PostgreSQL server) is waited out rather than losing the run."""
    for attempt in range(attempts):
        done = subprocess.run(
            ["psql", tb.psql_url(database), "-qAtc", statement],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return int(done.stdout.strip() or 0)
        if attempt == attempts - 1:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        time.sleep(1.0)
    raise AssertionError("unreachable")


WEBHOOK_BACKLOG = (
    "SELECT (SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL)"
    " + (SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING')"
)
WEBHOOKS_STORED = "SELECT count(*) FROM console_webhook_events"


async def drain_webhooks(database: str, limit: float = 180.0) -> dict[str, Any]:
    """Wait until the worker has delivered every event so far to the console's receiver
    (the sandbox subscribes it to every event type), so P4 is not measured beside the
    P1 load's backlog; how long that took is a finding of its own."""
    started = time.monotonic()
    backlog = sql_value(database, WEBHOOK_BACKLOG)
    first = backlog
    while backlog and time.monotonic() - started < limit:
        await asyncio.sleep(1.0)
        backlog = sql_value(database, WEBHOOK_BACKLOG)
    return {
        "backlog_at_start": first,
        "backlog_left": backlog,
        "seconds": round(time.monotonic() - started, 1),
        "stored_by_console": sql_value(database, WEBHOOKS_STORED),
    }


# ---- the data the pages show -------------------------------------------------------------


@dataclass
class Fixtures:
    busy_accounts: list[str]
    customers: list[str]
    journals: list[str]
    search_terms: list[str] = field(default_factory=lambda: ["Bench", "Customer 1", "Ada", "00"])


def _key() -> str:
    return f"cbench-{uuid.uuid4().hex}"


async def make_fixtures(core: httpx.AsyncClient, accounts: list[str]) -> Fixtures:
    """Statement lines, journals (posted and pending) and pending teller deposits."""
    officer = await tb.sign_in(core, "officer@demo.bank")
    manager = await tb.sign_in(core, "manager@demo.bank")
    teller = await tb.sign_in(core, "teller@demo.bank")
    busy = accounts[:BUSY_ACCOUNTS]
    rng = random.Random(7)
    transfers = []
    for _ in range(1000):
        source, destination = rng.sample(busy, 2)
        transfers.append(
            {
                "source_account_id": source,
                "destination_account_id": destination,
                "amount": tb.money(rng.randint(1_00, 50_000_00)),
                "currency": "NGN",
                "narration": f"cbench statement line {rng.randint(1, 9999)}",
            }
        )
    response = await core.post(
        "/transfers/batch",
        json={"mode": "independent", "transfers": transfers},
        headers=tb.headers(officer, _key()),
        timeout=600,
    )
    response.raise_for_status()
    journals = []
    today = datetime.now(UTC).date().isoformat()
    for n in range(20):
        debit, credit = rng.sample(busy, 2)
        amount = tb.money(rng.randint(1_000_00, 90_000_00))
        body = {
            "journal_type": "GENERAL",
            "description": f"cbench adjustment {n}",
            "transaction_date": today,
            "effective_date": today,
            "entries": [
                {
                    "account_id": debit,
                    "amount": amount,
                    "entry_type": "debit",
                    "currency_code": "NGN",
                },
                {
                    "account_id": credit,
                    "amount": amount,
                    "entry_type": "credit",
                    "currency_code": "NGN",
                },
            ],
        }
        created = await core.post("/journals", json=body, headers=tb.headers(officer, _key()))
        created.raise_for_status()
        journal = created.json()
        journal_id = str(journal.get("id") or journal.get("data", {}).get("id"))
        journals.append(journal_id)
        if n % 2 == 0:
            for action in ("approve", "post"):
                done = await core.post(
                    f"/journals/{journal_id}/{action}", json={}, headers=tb.headers(manager, _key())
                )
                done.raise_for_status()
    for n in range(10):
        deposit = await core.post(
            "/deposits",
            json={
                "account_id": busy[n],
                "amount": "2000000.00",
                "currency": "NGN",
                "narration": f"cbench large deposit {n}",
            },
            headers=tb.headers(teller, _key()),
        )
        deposit.raise_for_status()
    listed = await core.get("/customers", params={"limit": 50}, headers=tb.headers(officer))
    listed.raise_for_status()
    customers = [str(c["id"]) for c in listed.json()["customers"]]
    return Fixtures(busy_accounts=busy, customers=customers, journals=journals)


async def create_staff(core: httpx.AsyncClient, count: int) -> list[tuple[str, str]]:
    """``count`` staff users through ``POST /users`` (as the sandbox admin): (email, role)."""
    admin = await tb.sign_in(core, "admin@demo.bank")
    staff = []
    for n in range(count):
        role = ROLE_CYCLE[n % len(ROLE_CYCLE)]
        email = f"cbench{n:03d}@demo.bank"
        response = await core.post(
            "/users",
            json={
                "email": email,
                "name": f"Bench {role.title()} {n}",
                "password": PASSWORD,
                "roles": [role],
                "branch_id": "001" if n % 3 else "002",
            },
            headers=tb.headers(admin),
        )
        response.raise_for_status()
        staff.append((email, role))
    return staff


# ---- a signed-in browser ---------------------------------------------------------------------


class Browser:
    """One staff member's cookies (set by hand: production cookies are ``Secure``, which a
    cookie jar keeps off plain HTTP) over the run's shared connection pool."""

    def __init__(self, client: httpx.AsyncClient, email: str = "", role: str = "") -> None:
        self.client = client
        self.email = email
        self.role = role
        self.cookies: dict[str, str] = {}

    def _remember(self, response: httpx.Response) -> None:
        for raw in response.headers.get_list("set-cookie"):
            pair = raw.split(";", 1)[0]
            name, _, value = pair.partition("=")
            expired = "max-age=0" in raw.lower() or not value
            if expired:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()

    def _cookie_header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    async def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        response = await self.client.get(path, headers={**self._cookie_header(), **(headers or {})})
        self._remember(response)
        return response

    async def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        response = await self.client.post(path, data=data, headers=self._cookie_header())
        self._remember(response)
        return response

    async def sign_in(self) -> None:
        form = await self.get("/login")
        match = CSRF_FIELD.search(form.text)
        if form.status_code != 200 or match is None:
            raise RuntimeError(f"no sign-in form for {self.email}: {form.status_code}")
        done = await self.post_form(
            "/login",
            {
                "_csrf_token": match.group(1),
                "email": self.email,
                "password": PASSWORD,
                "tenant": TENANT,
            },
        )
        if done.status_code != 303 or done.headers.get("location") != "/":
            raise RuntimeError(
                f"sign-in of {self.email} failed: {done.status_code} {done.text[:200]}"
            )


# ---- the mix -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One kind of request of the mix: a whole page, an htmx fragment, or the reference."""

    name: str
    kind: str  # "page" | "fragment" | "reference"
    min_role: str | None  # None: anonymous
    weight: float
    path: Callable[[random.Random, Fixtures], str]


def _one(items: list[str]) -> Callable[[random.Random, Fixtures], str]:
    return lambda rng, fx: rng.choice(items)


MIX: tuple[Request, ...] = (
    Request("home", "page", "viewer", 3, lambda r, f: "/"),
    Request(
        "customers search",
        "page",
        "viewer",
        2,
        lambda r, f: f"/customers?q={r.choice(f.search_terms)}",
    ),
    Request(
        "customer detail", "page", "viewer", 2, lambda r, f: f"/customers/{r.choice(f.customers)}"
    ),
    Request("accounts list", "page", "viewer", 1, lambda r, f: "/accounts"),
    Request(
        "account detail", "page", "viewer", 3, lambda r, f: f"/accounts/{r.choice(f.busy_accounts)}"
    ),
    Request(
        "statement",
        "page",
        "viewer",
        3,
        lambda r, f: f"/accounts/{r.choice(f.busy_accounts)}/statement",
    ),
    Request("journals list", "page", "viewer", 2, lambda r, f: "/journals"),
    Request(
        "journal detail", "page", "viewer", 1, lambda r, f: f"/journals/{r.choice(f.journals)}"
    ),
    Request("approvals", "page", "officer", 2, lambda r, f: "/approvals"),
    Request("reports", "page", "viewer", 1, lambda r, f: "/reports"),
    Request("trial balance", "page", "viewer", 1, lambda r, f: "/reports/trial-balance"),
    Request("teller: deposit form", "page", "teller", 1, lambda r, f: "/teller/deposit"),
    Request("teller: my day", "page", "teller", 1, lambda r, f: "/teller/my-day"),
    Request("approvals badge", "fragment", "officer", 3, lambda r, f: "/approvals/badge"),
    Request("home approvals figure", "fragment", "officer", 1, lambda r, f: "/"),
    Request(
        "composer account search",
        "fragment",
        "teller",
        3,
        lambda r, f: f"/journals/accounts?line=0&q={r.choice(f.search_terms)}",
    ),
    Request(
        "teller account search",
        "fragment",
        "teller",
        3,
        lambda r, f: f"/teller/accounts?field=account&q={r.choice(f.search_terms)}",
    ),
    Request(
        "customers search (live)",
        "fragment",
        "viewer",
        2,
        lambda r, f: f"/customers?q={r.choice(f.search_terms)}",
    ),
    Request(
        "journals filter (live)", "fragment", "viewer", 1, lambda r, f: "/journals?status=PENDING"
    ),
    Request("reference: sign-in page (anonymous)", "reference", None, 1, lambda r, f: "/login"),
    Request("reference: static file", "reference", None, 1, lambda r, f: "/static/css/app.css"),
)


@dataclass
class Samples:
    server_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)


# The console's own line per call to the core (``app.client._transport``). Production mode
# writes JSON lines (one object per line); a developer's console renderer writes
# ``banking_api.call  key=value …``. Both are read: counting only the second made the
# production run's "core calls" column read 0.
CONSOLE_CALL = re.compile(
    r"banking_api\.call\s.*?duration_ms=([0-9.]+).*?path=(\S+).*?request_id=([0-9a-f]+)"
)
ID_IN_PATH = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def call_lines(console_log: str) -> list[tuple[float, str, str]]:
    """``(duration_ms, path, request_id)`` of each ``banking_api.call`` line (one per attempt)."""
    found: list[tuple[float, str, str]] = []
    for line in console_log.splitlines():
        if "banking_api.call" not in line:
            continue
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") != "banking_api.call":
                continue
            duration = entry.get("duration_ms")
            if not isinstance(duration, int | float):
                continue
            found.append(
                (float(duration), str(entry.get("path") or ""), str(entry.get("request_id") or ""))
            )
            continue
        match = CONSOLE_CALL.search(line)
        if match:
            found.append((float(match.group(1)), match.group(2), match.group(3)))
    return found


def core_paths(console_log: str) -> list[dict[str, Any]]:
    """The console's calls to the core by path (IDs folded): count, p50, p95 of duration."""
    by_path: dict[str, list[float]] = {}
    for duration, raw_path, _ in call_lines(console_log):
        path = ID_IN_PATH.sub("/{id}", raw_path).removeprefix(API)
        by_path.setdefault(path, []).append(duration)
    rows = [
        {"path": path, "calls": len(v), "p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95)}
        for path, v in by_path.items()
    ]
    return sorted(rows, key=lambda r: -r["calls"] * (r["p50_ms"] or 0))


def core_calls(console_log: str) -> dict[str, list[float]]:
    """The console's calls to the core, by console request ID (its ``banking_api.call``
    log lines: one per attempt, with the attempt's duration)."""
    calls: dict[str, list[float]] = {}
    for duration, _, request_id in call_lines(console_log):
        calls.setdefault(request_id, []).append(duration)
    return calls


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)


async def drive_console(
    browsers: list[Browser],
    anonymous: Browser,
    fixtures: Fixtures,
    seconds: float,
    think: float,
    results: dict[str, Samples] | None,
) -> int:
    """Every signed-in staff member loads the mix until the time is up; returns the count."""
    deadline = time.monotonic() + seconds
    sent = 0

    async def staff(browser: Browser, seed: int) -> None:
        nonlocal sent
        rng = random.Random(seed)
        rank = ROLE_RANK[browser.role]
        mine = [m for m in MIX if m.min_role is None or ROLE_RANK[m.min_role] <= rank]
        weights = [m.weight for m in mine]
        if think:
            await asyncio.sleep(rng.uniform(0, think))
        while time.monotonic() < deadline:
            kind = rng.choices(mine, weights)[0]
            path = kind.path(rng, fixtures)
            headers = {"HX-Request": "true"} if kind.kind == "fragment" else {}
            who = anonymous if kind.min_role is None else browser
            started = time.perf_counter()
            try:
                response = await who.get(path, headers)
            except httpx.TransportError as exc:
                if results is not None:
                    entry = results.setdefault(kind.name, Samples())
                    entry.statuses[-1] = entry.statuses.get(-1, 0) + 1
                    print(f"    transport error on {path}: {exc!r}", flush=True)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            sent += 1
            if results is not None:
                entry = results.setdefault(kind.name, Samples())
                entry.statuses[response.status_code] = (
                    entry.statuses.get(response.status_code, 0) + 1
                )
                timing = SERVER_TIMING.search(response.headers.get("server-timing", ""))
                if response.status_code < 400 and timing:
                    entry.server_ms.append(float(timing.group(1)))
                    entry.client_ms.append(elapsed)
                    entry.request_ids.append(response.headers.get("x-request-id", ""))
            if think:
                await asyncio.sleep(rng.expovariate(1 / think))

    await asyncio.gather(*(staff(b, n) for n, b in enumerate(browsers)))
    return sent


def summarize(
    results: dict[str, Samples], seconds: float, sent: int, calls: dict[str, list[float]]
) -> dict[str, Any]:
    kinds = {m.name: m.kind for m in MIX}
    reference = [
        v for name, s in results.items() if kinds[name] == "reference" for v in s.server_ms
    ]
    ref_p50 = pct(reference, 0.5)
    ref_p95 = pct(reference, 0.95)
    rows = []
    total_calls = 0
    for request in MIX:
        s = results.get(request.name)
        if s is None:
            continue
        p95 = pct(s.server_ms, 0.95)
        target = {"page": PAGE_TARGET_MS, "fragment": FRAGMENT_TARGET_MS}.get(request.kind)
        errors = {str(k): v for k, v in sorted(s.statuses.items()) if k >= 400 or k < 0}
        per_request = [calls.get(rid, []) for rid in s.request_ids]
        counts = [len(c) for c in per_request]
        core_ms = [sum(c) for c in per_request]
        total_calls += sum(counts)
        rows.append(
            {
                "name": request.name,
                "kind": request.kind,
                "requests": sum(s.statuses.values()),
                "server_p50_ms": pct(s.server_ms, 0.5),
                "server_p95_ms": p95,
                "client_p50_ms": pct(s.client_ms, 0.5),
                "client_p95_ms": pct(s.client_ms, 0.95),
                "p95_vs_reference_p95": round(p95 / ref_p95, 1) if p95 and ref_p95 else None,
                "core_calls_mean": round(sum(counts) / len(counts), 1) if counts else None,
                "core_calls_max": max(counts, default=None),
                "core_ms_p50": pct(core_ms, 0.5),
                "statuses": {str(k): v for k, v in sorted(s.statuses.items())},
                "target_p95_ms": target,
                "pass": None
                if target is None
                else bool(p95 is not None and p95 <= target and not errors),
            }
        )

    def pooled(kind: str) -> dict[str, Any]:
        values = [v for name, s in results.items() if kinds[name] == kind for v in s.server_ms]
        return {
            "requests": len(values),
            "server_p50_ms": pct(values, 0.5),
            "server_p95_ms": pct(values, 0.95),
        }

    return {
        "seconds": round(seconds, 1),
        "requests": sent,
        "requests_per_second": round(sent / seconds, 1) if seconds else None,
        "reference_server_p50_ms": ref_p50,
        "reference_server_p95_ms": ref_p95,
        "all_pages": pooled("page"),
        "all_fragments": pooled("fragment"),
        "rows": rows,
        # Calls to the core made by the answered requests of the phase (by request ID).
        "core_calls": total_calls,
        "core_calls_per_request": round(total_calls / sent, 2) if sent else None,
        "pass": all(r["pass"] for r in rows if r["pass"] is not None),
    }


# ---- the run ---------------------------------------------------------------------------------


PYSPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


class Sampler:
    """``py-spy record --format raw`` of one process for ``seconds`` (BENCH_PYSPY)."""

    def __init__(self, service: Service, seconds: float, to: Path) -> None:
        self.to = to
        self.process = subprocess.Popen(
            [PYSPY, "record", "--pid", str(service.pid), "--format", "raw", "--rate", "100",
             "--nonblocking", "--duration", str(max(1, int(seconds))), "--output", str(to)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip

    def finish(self) -> dict[str, Any]:
        try:
            _, err = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return {"error": "py-spy did not finish"}
        if not self.to.exists():
            return {"error": err.decode(errors="replace")[-300:]}
        summary = folded_summary(self.to.read_text())
        # Kept beside the results, compressed (a raw file is about a megabyte).
        packed = self.to.with_name(self.to.name + ".gz")
        packed.write_bytes(gzip.compress(self.to.read_bytes()))
        self.to.unlink()
        summary["file"] = packed.name
        return summary


# py-spy names each frame ``function (path:line)``, the path relative to its sys.path
# entry: ``app/…`` is ours, ``sqlalchemy/…`` a library's, ``asyncio/…`` the standard one's.
_FRAME_PATH = re.compile(r"\(([^():]*)(?::\d+)?\)$")
_LINE = re.compile(r":\d+\)$")
# Only the event loop's thread serves requests; the others (logging's queue listener,
# anyio's worker threads) wait, and a sampler without pausing sees them as running.
MAIN_THREAD = "(app/__main__.py"


def _package(frame: str) -> str | None:
    match = _FRAME_PATH.search(frame)
    if match is None:
        return None
    return match.group(1).split("/", 1)[0].removesuffix(".py") or None


def folded_summary(folded: str, top: int = 25) -> dict[str, Any]:
    """Where the event loop thread's samples of a ``py-spy --format raw`` file went: by the
    package running at the sample (``leaf``), by package anywhere on the stack
    (``packages``, inclusive) and by the innermost of our own functions on the stack
    (``own_functions``: the code that asked for the work)."""
    total = 0
    leaf: dict[str, int] = {}
    packages: dict[str, int] = {}
    own: dict[str, int] = {}
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if MAIN_THREAD not in stack:
            continue
        try:
            count = int(count_text)
        except ValueError:
            continue
        total += count
        frames = stack.split(";")
        name = _package(frames[-1]) or "?"
        leaf[name] = leaf.get(name, 0) + count
        for package in {p for p in map(_package, frames) if p}:
            packages[package] = packages.get(package, 0) + count
        ours = [f for f in frames if "(app/" in f]
        innermost = _LINE.sub(")", ours[-1]) if ours else "?"
        own[innermost] = own.get(innermost, 0) + count

    def share(counts: dict[str, int]) -> list[dict[str, Any]]:
        ordered = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [{"frame": k, "share": round(v / total, 3)} for k, v in ordered if total]

    return {
        "samples": total,
        "leaf": share(leaf),
        "packages": share(packages),
        "own_functions": share(own),
        # Kept under its first name: inclusive shares by package.
        "libraries": share(packages),
    }


# The run's own database: the PostgreSQL figure is its backends' CPU, not every postgres
# process of the machine (other work shares the server).
RUN_DATABASE: dict[str, str] = {}


def postgres_cpu_seconds() -> float:
    """CPU seconds of the backends connected to this run's database now (the pools'
    connections live through a phase; a backend that ended meanwhile is missed)."""
    database = RUN_DATABASE.get("name")
    if not database:
        return tb.postgres_cpu_seconds()
    done = subprocess.run(
        ["psql", tb.psql_url("postgres"), "-qAtc",
         f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if done.returncode != 0:
        return 0.0
    return sum(tb.proc_cpu_seconds(int(pid)) for pid in done.stdout.split())


def cpu_of(services: list[Service]) -> dict[str, float]:
    figures = {s.name: tb.proc_cpu_seconds(s.pid) for s in services}
    figures["postgres"] = postgres_cpu_seconds()
    figures["load_generator"] = tb.own_cpu_seconds()
    return figures


async def cpu_by_kind(
    browsers: list[Browser],
    anonymous: Browser,
    fixtures: Fixtures,
    services: list[Service],
    console: Service,
    runs: int,
) -> list[dict[str, Any]]:
    """Each kind of request of the mix ``runs`` times, one at a time, by a staff member whose
    role may make it: the console's and the core's CPU per request of that kind alone, and
    its calls to the core. Read the CPU per kind from here, the latencies from the paced
    phase (nothing else runs meanwhile, so these are uncontended)."""
    rng = random.Random(11)
    rows: list[dict[str, Any]] = []
    for kind in MIX:
        if kind.min_role is None:
            who = anonymous
        else:
            who = next((b for b in browsers if ROLE_RANK[b.role] >= ROLE_RANK[kind.min_role]), None)
            if who is None:
                continue
        headers = {"HX-Request": "true"} if kind.kind == "fragment" else {}
        samples = Samples()
        before = cpu_of(services)
        for _ in range(runs):
            started = time.perf_counter()
            response = await who.get(kind.path(rng, fixtures), headers)
            elapsed = (time.perf_counter() - started) * 1000
            samples.statuses[response.status_code] = (
                samples.statuses.get(response.status_code, 0) + 1
            )
            timing = SERVER_TIMING.search(response.headers.get("server-timing", ""))
            if timing:
                samples.server_ms.append(float(timing.group(1)))
            samples.client_ms.append(elapsed)
            samples.request_ids.append(response.headers.get("x-request-id", ""))
        after = cpu_of(services)
        calls = core_calls(console.output())
        counts = [len(calls.get(rid, [])) for rid in samples.request_ids]
        rows.append(
            {
                "name": kind.name,
                "kind": kind.kind,
                "as": who.role or "anonymous",
                "requests": runs,
                "console_cpu_ms": round((after["console"] - before["console"]) * 1000 / runs, 2),
                "core_cpu_ms": round((after["core"] - before["core"]) * 1000 / runs, 2),
                "postgres_cpu_ms": round((after["postgres"] - before["postgres"]) * 1000 / runs, 2),
                "core_calls_mean": round(sum(counts) / len(counts), 2) if counts else None,
                "server_p50_ms": pct(samples.server_ms, 0.5),
                "statuses": {str(k): v for k, v in sorted(samples.statuses.items())},
            }
        )
    return rows


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before[k], 1) for k in before}


CPU_TARGET_MS = 3.0  # quality.md P4 / issue 11: console + core CPU per console request


def cpu_per_request(
    before: dict[str, float], after: dict[str, float], summary: dict[str, Any]
) -> dict[str, Any]:
    """Each process's CPU over the phase divided by the console requests answered in it
    (every request of the mix, the reference ones included), in milliseconds; and the core's
    CPU per call the console made to it."""
    requests = summary["requests"] or 0
    spent = {k: after[k] - before[k] for k in before}

    def per(seconds: float, count: int) -> float | None:
        return round(seconds * 1000 / count, 2) if count else None

    figures: dict[str, Any] = {k: per(v, requests) for k, v in spent.items()}
    both = per(spent["console"] + spent["core"], requests)
    figures["console_plus_core"] = both
    figures["servers"] = per(
        spent["console"] + spent["core"] + spent["worker"] + spent["postgres"], requests
    )
    figures["core_per_core_call"] = per(spent["core"], summary.get("core_calls") or 0)
    figures["target_console_plus_core_ms"] = CPU_TARGET_MS
    figures["pass"] = both is not None and both <= CPU_TARGET_MS
    return figures


async def measure(
    database: str,
    core_url: str,
    console_url: str,
    services: list[Service],
    sampler: RssSampler,
    accounts: list[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    console = next(s for s in services if s.name == "console")
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=core_url + API, limits=limits, timeout=120) as core:
        tokens = [
            await tb.sign_in(core, "officer@demo.bank"),
            await tb.sign_in(core, "manager@demo.bank"),
        ]

        def uniform(rng: random.Random) -> tuple[str, str]:
            a, b = rng.sample(accounts, 2)
            return a, b

        print(
            f"P7 under P1: {tb.CLIENTS} clients, {P1_SECONDS:.0f} s of internal transfers ...",
            flush=True,
        )
        sampler.phase = "P1 load (transfers)"
        scenario = tb.Scenario("P1-style load for P7")
        cpu = cpu_of(services)
        started = time.monotonic()
        await tb.drive(core, tokens, uniform, P1_SECONDS, scenario)
        scenario.seconds = time.monotonic() - started
        summary = scenario.summary()
        summary["cpu_seconds"] = cpu_delta(cpu, cpu_of(services))
        out["p1_load"] = summary
        print(f"    {summary['tps']} tps", flush=True)
        sampler.phase = "fixtures"
        print(
            "fixtures: a batch of 1,000, 20 journals, 10 pending deposits; staff users ...",
            flush=True,
        )
        fixtures = await make_fixtures(core, accounts)
        staff = await create_staff(core, STAFF)
        sampler.phase = "webhook drain"
        print("waiting for the worker to deliver the webhook backlog to the console ...")
        out["webhook_drain"] = await drain_webhooks(database)
        print(f"    {out['webhook_drain']}", flush=True)

    limits = httpx.Limits(max_connections=STAFF + 8, max_keepalive_connections=STAFF + 8)
    async with httpx.AsyncClient(base_url=console_url, limits=limits, timeout=120) as client:
        # Everyone at once, as at opening time: each sign-in is an Argon2id check (64 MiB)
        # in the core, so this is the core's memory peak (P7).
        sampler.phase = "sign-in (all at once)"
        browsers = [Browser(client, email, role) for email, role in staff]
        t0 = time.monotonic()
        rush = await asyncio.gather(
            *(browser.sign_in() for browser in browsers), return_exceptions=True
        )
        out["sign_in_seconds"] = round(time.monotonic() - t0, 1)
        refused = [(b, r) for b, r in zip(browsers, rush, strict=True) if r is not None]
        out["sign_in_refused"] = [str(r).split(" <", 1)[0][:120] for _, r in refused]
        for browser, _ in refused:  # they try again, one at a time
            browser.cookies.clear()
            await browser.sign_in()
        out["staff_signed_in"] = len(browsers)
        print(
            f"signed in {len(browsers)} staff through the console in {out['sign_in_seconds']} s",
            flush=True,
        )
        anonymous = Browser(client)

        sampler.phase = "P4 load (console)"
        stored_before = sql_value(database, WEBHOOKS_STORED)
        print(f"P4 warm-up {WARMUP:.0f} s ...", flush=True)
        await drive_console(browsers, anonymous, fixtures, WARMUP, THINK, None)
        print(
            f"P4 paced: {STAFF} staff, {THINK} s mean think time, {SECONDS:.0f} s ...", flush=True
        )
        paced: dict[str, Samples] = {}
        samplers: dict[str, Sampler] = {}
        if os.environ.get("BENCH_PYSPY"):
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            for service in services:
                if service.name in {"core", "console"}:
                    to = RESULTS / f"{stamp}-console-{service.name}.folded"
                    samplers[service.name] = Sampler(service, SECONDS, to)
        cpu = cpu_of(services)
        started = time.monotonic()
        sent = await drive_console(browsers, anonymous, fixtures, SECONDS, THINK, paced)
        paced_seconds = time.monotonic() - started
        out["p4_paced"] = summarize(paced, paced_seconds, sent, core_calls(console.output()))
        cpu_after = cpu_of(services)
        out["p4_paced"]["cpu_seconds"] = cpu_delta(cpu, cpu_after)
        out["p4_paced"]["cpu_ms_per_request"] = cpu_per_request(cpu, cpu_after, out["p4_paced"])
        if samplers:
            out["p4_paced"]["profile"] = {name: s.finish() for name, s in samplers.items()}
        print(f"    {out['p4_paced']['requests_per_second']} req/s", flush=True)
        if BURST_SECONDS > 0:
            print(
                f"P4 saturation: {STAFF} staff, no think time, {BURST_SECONDS:.0f} s ...",
                flush=True,
            )
            burst: dict[str, Samples] = {}
            cpu = cpu_of(services)
            started = time.monotonic()
            sent = await drive_console(browsers, anonymous, fixtures, BURST_SECONDS, 0.0, burst)
            burst_seconds = time.monotonic() - started
            out["p4_saturation"] = summarize(
                burst, burst_seconds, sent, core_calls(console.output())
            )
            cpu_after = cpu_of(services)
            out["p4_saturation"]["cpu_seconds"] = cpu_delta(cpu, cpu_after)
            out["p4_saturation"]["cpu_ms_per_request"] = cpu_per_request(
                cpu, cpu_after, out["p4_saturation"]
            )
            print(f"    {out['p4_saturation']['requests_per_second']} req/s", flush=True)
        if KIND_RUNS > 0:
            print(f"CPU by kind of request: each {KIND_RUNS} times, one at a time ...", flush=True)
            sampler.phase = "CPU by kind"
            out["cpu_by_kind"] = await cpu_by_kind(
                browsers, anonymous, fixtures, services, console, KIND_RUNS
            )
        sampler.phase = "after"
        out["webhooks_during_p4"] = sql_value(database, WEBHOOKS_STORED) - stored_before
        out["core_calls_by_path"] = core_paths(console.output())
    return out


def memory_report(sampler: RssSampler, peaks: dict[str, dict[int, int]]) -> dict[str, Any]:
    per_service: dict[str, Any] = {}
    for name, pids in peaks.items():
        by_phase = {
            phase: round(services[name]["max_process_kb"] / 1024, 1)
            for phase, services in sampler.figures.items()
            if name in services
        }
        peak_mb = round(max(pids.values(), default=0) / 1024, 1)
        per_service[name] = {
            "max_rss_mb_by_phase": by_phase,
            "vmhwm_mb": peak_mb,
            "processes": max(
                (s[name]["processes"] for s in sampler.figures.values() if name in s), default=1
            ),
            "target_mb": RSS_TARGET_MB,
            "pass": peak_mb <= RSS_TARGET_MB,
        }
    return per_service


def table(summary: dict[str, Any]) -> list[str]:
    def cell(value: Any) -> str:
        return "–" if value is None else str(value)

    rows = [
        "| request | kind | n | server p50 ms | server p95 ms | × reference p95 | client p95 ms "
        "| core calls (mean/max) | errors | target | pass |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["rows"]:
        errors = (
            ", ".join(f"{k}: {v}" for k, v in r["statuses"].items() if int(k) >= 400 or int(k) < 0)
            or "0"
        )
        verdict = {True: "PASS", False: "FAIL"}.get(r["pass"], "–")
        target = f"p95 ≤ {r['target_p95_ms']:.0f} ms" if r["target_p95_ms"] else "reference"
        rows.append(
            f"| {r['name']} | {r['kind']} | {r['requests']} | {cell(r['server_p50_ms'])} | "
            f"{cell(r['server_p95_ms'])} | {cell(r['p95_vs_reference_p95'])} | "
            f"{cell(r['client_p95_ms'])} | "
            f"{cell(r['core_calls_mean'])}/{cell(r['core_calls_max'])} | "
            f"{errors} | {target} | {verdict} |"
        )
    pages, fragments = summary["all_pages"], summary["all_fragments"]
    rows.append(
        f"| **all pages** | page | {pages['requests']} | {cell(pages['server_p50_ms'])} | "
        f"{cell(pages['server_p95_ms'])} | – | – | – | – | p95 ≤ 100 ms | – |"
    )
    rows.append(
        f"| **all fragments** | fragment | {fragments['requests']} | "
        f"{cell(fragments['server_p50_ms'])} | "
        f"{cell(fragments['server_p95_ms'])} | – | – | – | – | p95 ≤ 50 ms | – |"
    )
    return rows


def cpu_lines(phase: dict[str, Any]) -> list[str]:
    """CPU per console request (process counters over the phase / requests answered)."""
    cpu = phase.get("cpu_ms_per_request")
    if not cpu:
        return []
    verdict = "PASS" if cpu["pass"] else "FAIL"
    return [
        f"CPU per console request: console {cpu['console']} ms + core {cpu['core']} ms = "
        f"**{cpu['console_plus_core']} ms** (target ≤ {cpu['target_console_plus_core_ms']:.0f} "
        f"ms: {verdict}); PostgreSQL {cpu['postgres']} ms, worker {cpu['worker']} ms "
        f"(all servers {cpu['servers']} ms); the load generator {cpu['load_generator']} ms. "
        f"{phase['core_calls']} calls to the core "
        f"({phase['core_calls_per_request']} per console request, "
        f"core CPU {cpu['core_per_core_call']} ms per call).",
        "",
    ]


def profile_lines(phase: dict[str, Any], top: int = 12) -> list[str]:
    """The py-spy summary (BENCH_PYSPY) of each sampled process."""
    lines: list[str] = []
    for name, summary in (phase.get("profile") or {}).items():
        if "error" in summary:
            lines += [f"py-spy of the {name}: {summary['error']}", ""]
            continue
        columns = [summary.get("leaf", []), summary["libraries"], summary["own_functions"]]
        lines += [
            f"### Where the {name}'s time went (py-spy, {summary['samples']} samples of its "
            "event loop thread)",
            "",
            "| running now (package) | share | on the stack (package) | share | "
            "innermost own function | share |",
            "|---|---|---|---|---|---|",
        ]
        for n in range(min(top, max(len(c) for c in columns))):
            cells = []
            for column in columns:
                item = column[n] if n < len(column) else {"frame": "", "share": ""}
                cells += [f"`{item['frame']}`" if item["frame"] else "", str(item["share"])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    c = report["config"]
    lines = [
        f"# Console benchmark (P4, P7), {report['started_at']}",
        "",
        f"{m['cpus']} × {m['cpu_model']}, {m['memory']}, PostgreSQL {m['postgresql']}, "
        f"Python {m['python']}; production mode, one core, one console and one worker "
        f"process; {c['staff']} signed-in staff; "
        f"{c['accounts']} accounts. Server time = the console's `Server-Timing: app;dur`.",
        "",
    ]
    paced = report["p4_paced"]
    lines += [
        f"## P4, paced: {c['think_seconds']} s mean think time per person, {paced['seconds']} s, "
        f"{paced['requests']} requests ({paced['requests_per_second']} req/s) — "
        f"{'PASS' if paced['pass'] else 'FAIL'}",
        "",
        f"Reference (same run, same clients): sign-in page + static file, server p50 "
        f"{paced['reference_server_p50_ms']} ms, p95 {paced['reference_server_p95_ms']} ms.",
        "",
        *table(paced),
        "",
        "CPU seconds during the phase: "
        + ", ".join(f"{k} {v}" for k, v in paced["cpu_seconds"].items()),
        "",
        *cpu_lines(paced),
        *profile_lines(paced),
    ]
    if "p4_saturation" in report:
        burst = report["p4_saturation"]
        lines += [
            f"## P4, saturation (no think time; reported, not judged): {burst['seconds']} s, "
            f"{burst['requests']} requests ({burst['requests_per_second']} req/s)",
            "",
            f"Reference: server p50 {burst['reference_server_p50_ms']} ms, "
            f"p95 {burst['reference_server_p95_ms']} ms.",
            "",
            *table(burst),
            "",
            "CPU seconds during the phase: "
            + ", ".join(f"{k} {v}" for k, v in burst["cpu_seconds"].items()),
            "",
            *cpu_lines(burst),
        ]
    if report.get("cpu_by_kind"):
        lines += [
            "## CPU by kind of request (each alone, one at a time; ms per request)",
            "",
            "| request | kind | as | n | console CPU | core CPU | console + core | "
            "PostgreSQL CPU | core calls | server p50 ms |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *(
                f"| {r['name']} | {r['kind']} | {r['as']} | {r['requests']} | "
                f"{r['console_cpu_ms']} | {r['core_cpu_ms']} | "
                f"{round(r['console_cpu_ms'] + r['core_cpu_ms'], 2)} | {r['postgres_cpu_ms']} | "
                f"{r['core_calls_mean']} | {r['server_p50_ms']} |"
                for r in report["cpu_by_kind"]
            ),
            "",
        ]
    lines += [
        "## The console's calls to the core during the whole console load (by path)",
        "",
        "| path | calls | p50 ms | p95 ms |",
        "|---|---|---|---|",
        *(
            f"| `{r['path']}` | {r['calls']} | {r['p50_ms']} | {r['p95_ms']} |"
            for r in report["core_calls_by_path"][:15]
        ),
        "",
    ]
    drain = report["webhook_drain"]
    lines += [
        "## Webhooks to the console",
        "",
        f"Before P4: a backlog of {drain['backlog_at_start']} undelivered events/deliveries "
        f"(the P1 load and the fixtures) took {drain['seconds']} s to drain "
        f"({drain['backlog_left']} left); the console had stored {drain['stored_by_console']} "
        f"events by then. During P4: {report['webhooks_during_p4']} more. "
        f"{report['staff_signed_in']} staff signed in all at once in "
        f"{report['sign_in_seconds']} s; refused at the first try (then signed in one by "
        f"one): {len(report['sign_in_refused'])} "
        f"({', '.join(sorted({r.rsplit(': ', 1)[-1] for r in report['sign_in_refused']}))}).",
        "",
    ]
    p1 = report["p1_load"]
    lines += [
        "## P7: memory (max VmRSS of any one process, MB, by phase; VmHWM = the kernel's peak)",
        "",
        f"P1-style load for P7: {p1['tps']} transfers/s over {p1['seconds']} s, "
        f"p99 {p1['p99_ms']} ms "
        f"(the P1 verdict is the transfers benchmark's).",
        "",
    ]
    phases = list(next(iter(report["memory"].values()))["max_rss_mb_by_phase"])
    lines.append("| process | " + " | ".join(phases) + " | VmHWM | target | pass |")
    lines.append("|---|" + "---|" * (len(phases) + 3))
    for name, entry in report["memory"].items():
        values = " | ".join(str(entry["max_rss_mb_by_phase"].get(p, "–")) for p in phases)
        lines.append(
            f"| {name} | {values} | {entry['vmhwm_mb']} | ≤ {entry['target_mb']:.0f} MB | "
            f"{'PASS' if entry['pass'] else 'FAIL'} |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    database = f"bd_cbench_{uuid.uuid4().hex[:8]}"
    var_dir = Path(tempfile.mkdtemp(prefix="branchdesk-cbench-"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"console benchmark: database {database}, Redis {REDIS_URL}", flush=True)
    tb.admin_sql(f'CREATE DATABASE "{database}"')
    RUN_DATABASE["name"] = database
    services: list[Service] = []
    sampler: RssSampler | None = None
    try:
        core_port, console_port = tb.free_port(), tb.free_port()
        env = production_env(var_dir, database, core_port, console_port)
        t0 = time.monotonic()
        settings = migrate_and_seed(env)
        accounts, _hot = asyncio.run(tb.open_accounts(settings, ACCOUNTS))
        setup_seconds = time.monotonic() - t0
        print(f"setup: {ACCOUNTS} accounts in {setup_seconds:.1f} s", flush=True)
        core_url = f"http://127.0.0.1:{core_port}"
        console_url = f"http://127.0.0.1:{console_port}"
        services.append(Service("core", {**env, "PORT": str(core_port)}, f"{core_url}{API}/health"))
        services.append(Service("worker", env))
        profile_to = RESULTS / f"{stamp}-console.prof" if os.environ.get("BENCH_PROFILE") else None
        services.append(
            Service(
                "console", {**env, "PORT": str(console_port)}, f"{console_url}/login", profile_to
            )
        )
        sampler = RssSampler(services)
        sampler.sample()
        sampler.start()
        figures = asyncio.run(measure(database, core_url, console_url, services, sampler, accounts))
        sampler.sample()
        sampler.stop()
        peaks = {s.name: s.peak_kb() for s in services}
        for service in services:
            if service.process.poll() is not None:
                raise RuntimeError(
                    f"the {service.name} died during the run:\n{service.output()[-3000:]}"
                )
        report = {
            "benchmark": "console",
            "started_at": started_at.isoformat(timespec="seconds"),
            "machine": tb.machine(),
            "config": {
                "staff": STAFF,
                "accounts": ACCOUNTS,
                "seconds": SECONDS,
                "warmup_seconds": WARMUP,
                "think_seconds": THINK,
                "burst_seconds": BURST_SECONDS,
                "p1_seconds": P1_SECONDS,
                "p1_clients": tb.CLIENTS,
                "kind_runs": KIND_RUNS,
                "processes": "python -m app core | worker | console, BRANCHDESK_PRODUCTION=true",
                "redis": REDIS_URL,
                "setup_seconds": round(setup_seconds, 1),
                "roles": {
                    r: sum(1 for n in range(STAFF) if ROLE_CYCLE[n % len(ROLE_CYCLE)] == r)
                    for r in ROLE_RANK
                },
            },
            **figures,
            "memory": memory_report(sampler, peaks),
        }
        report["pass"] = {
            "P4": report["p4_paced"]["pass"],
            "P7": all(e["pass"] for e in report["memory"].values()),
        }
        json_path = RESULTS / f"{stamp}-console.json"
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        md_path = RESULTS / f"{stamp}-console.md"
        md_path.write_text(markdown(report))
        print(md_path.read_text())
        print(f"wrote {json_path.relative_to(ROOT)} and {md_path.relative_to(ROOT)}")
        return 0
    except BaseException:
        for service in services:
            print(f"---- {service.name} log (tail) ----\n{service.output()[-4000:]}")
        raise
    finally:
        if sampler is not None:
            sampler.stop()
        for service in reversed(services):
            service.stop()
        if not os.environ.get("BENCH_KEEP_DB"):
            tb.admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

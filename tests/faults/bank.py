"""The bank test under faults (quality.md R1 at full size, R2): what runs, what is checked.

The transfers, accounts and snapshot checks are the load suite's (``tests/load/test_bank``);
this module adds clients that retry through faults, the scripted faults themselves, and
the checks an auditor asks for afterwards. ``test_bank_faults.py`` runs it at CI size,
``make soak`` at full size (``FAULTS_SOAK=1``).

Faults come from one seed (``FAULTS_SEED``, printed at the start): the order and the
moment (by progress through the transfers) of each dependency fault, the core worker
killed and the pause between two kills.
"""

import asyncio
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.faults.cluster import FaultStack, Supervised
from tests.faults.receiver import WebhookReceiver
from tests.load.test_bank import (
    BRANCH,
    Job,
    auth,
    minor,
    open_accounts,
    plan,
    sign_in,
    snapshot_problems,
)
from tests.support import API

ROOT = Path(__file__).resolve().parents[2]
# Seconds without an answer that count as a hang. Not 10: with a core worker killed, the
# other one carries every client until its replacement has imported the app (5-17 s on
# this 2-core machine under load), and answers then take up to ~13 s (latency_ms records
# them). The console's own client waits 15 s (BANKING_API_TIMEOUT_SECONDS).
CLIENT_TIMEOUT = float(os.environ.get("FAULTS_CLIENT_TIMEOUT") or 30.0)
TRANSFER_BUDGET = 150.0  # seconds a client keeps retrying one transfer before giving up
DEPENDENCY_FAULTS = (
    "redis_restart",
    "redis_unreachable",
    "pg_terminate_backends",
    "pg_restart",
    "worker_killed_mid_delivery",
    "worker_killed_mid_seal",
)
# The sealer's advisory lock (app/core/audit/sealing.py SEAL_LOCK_KEY), as pg_locks shows
# a bigint key: its high and low 32 bits.
_SEAL_LOCK = (0x6175_6469_7473 >> 32, 0x6175_6469_7473 & 0xFFFF_FFFF)


@dataclass(frozen=True)
class Size:
    clients: int
    transfers: int
    accounts: int
    soak: bool
    kill_every: tuple[float, float]  # seconds between two kill -9 of a core worker

    @classmethod
    def from_env(cls) -> "Size":
        soak = os.environ.get("FAULTS_SOAK") == "1"
        return cls(
            clients=int(os.environ.get("FAULTS_CLIENTS") or (64 if soak else 16)),
            transfers=int(os.environ.get("FAULTS_TRANSFERS") or (10_000 if soak else 800)),
            accounts=int(os.environ.get("FAULTS_ACCOUNTS") or 100),
            soak=soak,
            kill_every=(2.0, 5.0) if soak else (3.0, 6.0),
        )


@dataclass
class Outcome:
    job: Job
    status: int | None  # None: the client gave up
    body: dict[str, Any]
    raw: bytes
    tries: int
    token: str


@dataclass
class Record:
    """What the clients saw and what the faults did: the run's evidence."""

    statuses: Counter[int] = field(default_factory=Counter)  # every answer, retries too
    codes: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0
    timeouts: int = 0  # no answer within CLIENT_TIMEOUT: a hang
    timeout_log: list[str] = field(default_factory=list)  # when, and what hung
    latencies: list[float] = field(default_factory=list)  # seconds per answered attempt
    without_retry_after: list[str] = field(default_factory=list)  # 503s lacking Retry-After
    server_errors: list[str] = field(default_factory=list)  # 500s (and other 5xx but 503)
    snapshots: int = 0
    snapshot_problems: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    fault_log: list[dict[str, Any]] = field(default_factory=list)
    outage_answers: list[dict[str, Any]] = field(default_factory=list)
    recoveries: dict[str, list[float]] = field(default_factory=dict)

    def answer(self, response: httpx.Response, what: str) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code == 503 and not response.headers.get("retry-after"):
            self.without_retry_after.append(f"{what}: {response.text[:200]}")
        if response.status_code >= 500 and response.status_code != 503:
            self.server_errors.append(f"{what} -> {response.status_code}: {response.text[:300]}")

    def latency_summary(self) -> dict[str, float]:
        """Milliseconds per answered transfer attempt: how loaded the machine was."""
        ordered = sorted(self.latencies)
        if not ordered:
            return {}

        def pick(q: float) -> float:
            return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        slow = sum(1 for t in ordered if t > 10.0)
        return {
            "p50": pick(0.5),
            "p90": pick(0.9),
            "p99": pick(0.99),
            "max": pick(1.0),
            "over_10_s": slow,
        }

    def hung(self, what: str) -> None:
        self.timeouts += 1
        self.timeout_log.append(f"{datetime.now(UTC).isoformat(timespec='milliseconds')} {what}")

    def recovered(self, kind: str, seconds: float) -> None:
        self.recoveries.setdefault(kind, []).append(round(seconds, 3))


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


class Clients:
    """Transfers with an Idempotency-Key each, retried with the SAME key on a transport
    error, a timeout, a 503 or 409 IDEMPOTENCY_IN_PROGRESS (backoff with jitter, Retry-After
    honoured up to 2 s), for at most TRANSFER_BUDGET seconds."""

    def __init__(self, client: httpx.AsyncClient, record: Record, rng: random.Random) -> None:
        self.client = client
        self.record = record
        self.rng = rng

    async def send(self, token: str, job: Job) -> Outcome:
        deadline = time.monotonic() + TRANSFER_BUDGET
        attempt = 0
        while True:
            attempt += 1
            wait = min(2.0, 0.05 * 2 ** min(attempt, 6)) * (0.5 + self.rng.random())
            sent = time.monotonic()
            try:
                response = await self.client.post(
                    "/transfers/internal", json=job.body(), headers=auth(token, job.key)
                )
                self.record.latencies.append(time.monotonic() - sent)
            except httpx.TimeoutException:
                self.record.hung(f"transfer {job.index} try {attempt}")
                response = None
            except httpx.TransportError:
                self.record.transport_errors += 1
                response = None
            if response is not None:
                self.record.answer(response, f"transfer {job.index} try {attempt}")
                body = response.json() if response.content else {}
                if response.status_code >= 400:
                    self.record.codes[str(body.get("code"))] += 1
                retry = response.status_code >= 500 or (
                    response.status_code == 409 and body.get("code") == "IDEMPOTENCY_IN_PROGRESS"
                )
                if not retry:
                    return Outcome(
                        job, response.status_code, body, response.content, attempt, token
                    )
                asked = _retry_after(response)
                if asked is not None:
                    wait = min(asked, 2.0) * (0.75 + 0.5 * self.rng.random())
            if time.monotonic() + wait > deadline:
                return Outcome(job, None, {}, b"", attempt, token)
            await asyncio.sleep(wait)


class Faults:
    """The scripted faults: dependency faults at seeded points of progress, one at a time,
    and kill -9 of a core worker every few seconds beside them."""

    def __init__(
        self,
        stack: FaultStack,
        worker: Supervised,
        receiver: WebhookReceiver,
        client: httpx.AsyncClient,
        viewer: str,
        record: Record,
        rng: random.Random,
        size: Size,
    ) -> None:
        self.stack = stack
        self.worker = worker
        self.receiver = receiver
        self.client = client
        self.viewer = viewer
        self.record = record
        self.rng = rng
        self.size = size
        self.started = time.monotonic()
        self.schedule = self._schedule()

    def _schedule(self) -> list[tuple[int, str]]:
        """(after how many finished transfers, which fault): each once at CI size, a
        reshuffled round every 1,500 transfers at full size."""
        points: list[tuple[int, str]] = []
        rounds = max(1, self.size.transfers // 1500) if self.size.soak else 1
        span = self.size.transfers / rounds
        for r in range(rounds):
            kinds = list(DEPENDENCY_FAULTS)
            self.rng.shuffle(kinds)
            for i, kind in enumerate(kinds):
                at = r * span + span * (0.08 + 0.8 * i / len(kinds)) + self.rng.uniform(0, 20)
                points.append((int(at), kind))
        return sorted(points)

    def _log(self, kind: str, **detail: Any) -> None:
        self.record.faults[kind] += 1
        self.record.fault_log.append(
            {
                "kind": kind,
                "at_s": round(time.monotonic() - self.started, 2),
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                **detail,
            }
        )

    async def probe(self, within: float = CLIENT_TIMEOUT) -> httpx.Response | None:
        try:
            return await self.client.get(
                "/accounts",
                params={"limit": 1, "branch_code": BRANCH},
                headers=auth(self.viewer),
                timeout=within,
            )
        except httpx.TimeoutException:
            self.record.hung("probe")
            return None
        except httpx.TransportError:
            return None

    async def outage_answer(self, kind: str, delay: float) -> None:
        """While the dependency is down: the API answers 503 + Retry-After, in time."""
        await asyncio.sleep(delay)
        started = time.monotonic()
        response = await self.probe()
        while response is None and time.monotonic() - started < 3.0:
            # A reset, not a hang (those are counted): a core worker killed at the same
            # moment. Ask again on a fresh connection while the dependency is still down.
            await asyncio.sleep(0.05)
            response = await self.probe()
        answer = {
            "kind": kind,
            "status": response.status_code if response is not None else None,
            "retry_after": response.headers.get("retry-after") if response is not None else None,
            "seconds": round(time.monotonic() - started, 3),
        }
        if response is not None:
            self.record.answer(response, f"probe during {kind}")
        self.record.outage_answers.append(answer)

    async def wait_recovered(self, kind: str, since: float, within: float = 60.0) -> None:
        """Until a read answers 200 again: the recovery time after the dependency is back."""
        deadline = since + within
        while time.monotonic() < deadline:
            response = await self.probe()
            if response is not None:
                self.record.answer(response, f"recovery probe after {kind}")
                if response.status_code == 200:
                    self.record.recovered(kind, time.monotonic() - since)
                    return
            await asyncio.sleep(0.05)
        self.record.server_errors.append(f"no recovery within {within:.0f} s after {kind}")

    async def inject(self, kind: str) -> None:
        self.record.fault_log.append(
            {"starting": kind, "at": datetime.now(UTC).isoformat(timespec="milliseconds")}
        )
        if kind == "redis_restart":
            down = asyncio.create_task(self.outage_answer(kind, 0.3))
            await asyncio.to_thread(self.stack.redis.restart, 1.5)
            await down
        elif kind == "redis_unreachable":
            down = asyncio.create_task(self.outage_answer(kind, 0.3))
            await asyncio.to_thread(self.stack.redis.make_unreachable, 6.0)
            await down
        elif kind == "pg_terminate_backends":
            killed = await asyncio.to_thread(self.stack.pg.terminate_backends)
            self._log(kind, backends=killed)
            await self.wait_recovered(kind, time.monotonic())
            return
        elif kind == "pg_restart":
            down = asyncio.create_task(self.outage_answer(kind, 0.8))
            await asyncio.to_thread(self.stack.pg.restart, "fast", 2.0)
            await down
        elif kind == "worker_killed_mid_delivery":
            caught = await self._wait_for(lambda: self.receiver.in_flight > 0, 10.0)
            self._log(kind, pid=self.worker.kill(), caught_in_flight=caught)
            return
        elif kind == "worker_killed_mid_seal":
            caught = await self._wait_for(self._sealing, 15.0, blocking=True)
            self._log(kind, pid=self.worker.kill(), caught_in_flight=caught)
            return
        self._log(kind)
        await self.wait_recovered(kind, time.monotonic())

    def _sealing(self) -> bool:
        high, low = _SEAL_LOCK
        held = self.stack.pg.psql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            f"AND classid = {high} AND objid = {low}"
        )
        return held not in ("", "0")

    async def _wait_for(self, check: Any, within: float, *, blocking: bool = False) -> bool:
        """Poll ``check`` (in a thread when ``blocking``) until true, for ``within`` s."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if await asyncio.to_thread(check) if blocking else check():
                    return True
            except Exception:  # the database restarting: keep looking
                pass
            await asyncio.sleep(0.005)
        return False

    async def dependency_faults(self, done: list[Outcome], stop: asyncio.Event) -> None:
        """Each fault when the clients have finished its share of the transfers. The faults
        take turns, each some seconds with its recovery, while the transfers go on: on a
        fast run the clients can finish before the last fault's turn comes. That fault
        still happens, at once, after the load (marked ``after_load`` in the log): every
        kind is injected and recovered from on every run."""
        for at, kind in self.schedule:
            while len(done) < at and not stop.is_set():  # noqa: ASYNC110 - progress, not an event
                await asyncio.sleep(0.05)
            if stop.is_set():
                self.record.fault_log.append({"after_load": kind})
            await self.inject(kind)

    async def core_kills(self, stop: asyncio.Event) -> None:
        core = self.stack.core
        assert core is not None
        while True:
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(*self.size.kill_every))
                return
            except TimeoutError:
                pass
            pid = core.kill_worker(pick=self.rng.choice)
            since = time.monotonic()
            took = await asyncio.to_thread(core.wait_ready, 60.0)
            self._log("core_worker_kill_9", pid=pid, restarted_in_s=round(took, 3))
            self.record.recovered("core_worker_kill_9", time.monotonic() - since)


async def snapshot_reader(
    client: httpx.AsyncClient,
    token: str,
    ids: set[str],
    opening_total: int,
    stop: asyncio.Event,
    record: Record,
) -> None:
    """R1's snapshot reads all along (tests/load/test_bank's checks); a 503 or a dropped
    connection while a fault is on is expected, anything else is not."""
    while not stop.is_set():
        try:
            response = await client.get(
                "/accounts", params={"limit": 200, "branch_code": BRANCH}, headers=auth(token)
            )
        except httpx.TimeoutException:
            record.hung("snapshot read")
            continue
        except httpx.TransportError:
            await asyncio.sleep(0.1)
            continue
        record.answer(response, "snapshot read")
        if response.status_code == 200:
            record.snapshots += 1
            record.snapshot_problems += snapshot_problems(response.json(), ids, opening_total)
        elif response.status_code != 503:
            record.snapshot_problems.append(f"GET /accounts -> {response.status_code}")
        await asyncio.sleep(0.05)


def stored_transfers(stack: FaultStack) -> dict[str, list[dict[str, Any]]]:
    """Every TRANSFER in the database by narration (``load <index>``, one per job)."""
    rows = stack.pg.psql(
        "SELECT coalesce(json_agg(json_build_object('narration', narration, 'ref', "
        "transaction_ref, 'amount', amount, 'source', account_id, 'destination', "
        "counterparty_account_id, 'status', status)), '[]') FROM transactions "
        "WHERE type = 'TRANSFER'",
        database=stack.database,
        timeout=120,
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in json.loads(rows):
        found.setdefault(row["narration"] or "", []).append(row)
    return found


def write_results(summary: dict[str, Any]) -> Path:
    """bench/results/<UTC stamp>-faults.json + .md."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = ROOT / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"{stamp}-faults{'-soak' if summary['size']['soak'] else ''}"
    base.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    t = summary["transfers"]
    lines = [
        f"# Faults run {stamp} ({'soak, full size' if summary['size']['soak'] else 'CI size'})",
        "",
        f"Seed {summary['seed']} (replay: `FAULTS_SEED={summary['seed']}`), "
        f"{summary['size']['clients']} clients, {summary['size']['transfers']} transfers "
        f"among {summary['size']['accounts']} accounts (one hot), two core processes, "
        f"{summary['elapsed_s']} s.",
        "",
        "| transfers | count |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in t.items()),
        "",
        "| fault | injected | recovery (s): median / max |",
        "|---|---|---|",
    ]
    for kind, count in sorted(summary["faults"].items()):
        times = sorted(summary["recoveries"].get(kind, []))
        shown = f"{times[len(times) // 2]} / {times[-1]}" if times else "-"
        lines.append(f"| {kind} | {count} | {shown} |")
    lines += [
        "",
        f"Transfer answer times (ms): {summary['latency_ms']}.",
        f"503s seen: {summary['answers'].get('503', 0)}; 500s: {summary['server_errors']}; "
        f"hangs (no answer in {CLIENT_TIMEOUT:.0f} s): {summary['timeouts']}; "
        f"snapshots checked: {summary['snapshots']}.",
        f"Webhooks: {summary['webhooks']}.",
        f"`branchdesk ledger verify`: exit {summary['ledger_verify'][0]}, "
        f"{summary['ledger_verify'][1]}",
        f"`branchdesk audit verify`: exit {summary['audit_verify'][0]}, "
        f"{summary['audit_verify'][1]}".replace("\n", "; "),
        "",
        "While a dependency was down: "
        + ", ".join(
            f"{a['kind']} -> {a['status']} (Retry-After {a['retry_after']}, {a['seconds']} s)"
            for a in summary["outage_answers"]
        ),
        "",
    ]
    base.with_suffix(".md").write_text("\n".join(lines))
    return base


async def run_bank_under_faults(
    stack: FaultStack, worker: Supervised, receiver: WebhookReceiver, size: Size, seed: int
) -> dict[str, Any]:
    """The whole run; returns the summary the test asserts on (and writes to results)."""
    core = stack.core
    assert core is not None
    rng = random.Random(seed)
    fault_rng = random.Random(seed ^ 0x5EED)
    record = Record()
    limits = httpx.Limits(max_connections=size.clients + 16, max_keepalive_connections=size.clients)
    async with httpx.AsyncClient(
        base_url=core.base_url + API, limits=limits, timeout=CLIENT_TIMEOUT
    ) as client:
        officer = await sign_in(client, "officer@demo.bank")
        manager = await sign_in(client, "manager@demo.bank")
        viewer = await sign_in(client, "viewer@demo.bank")
        ids, openings = await open_accounts(client, officer, rng, size.accounts)
        opening_total = sum(openings.values())
        jobs = plan(ids, size.transfers, rng)

        clients = Clients(client, record, random.Random(seed + 1))
        faults = Faults(stack, worker, receiver, client, viewer, record, fault_rng, size)
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        outcomes: list[Outcome] = []

        async def one_client(token: str) -> None:
            while True:
                try:
                    job = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                outcomes.append(await clients.send(token, job))

        stop = asyncio.Event()
        side = [
            asyncio.create_task(
                snapshot_reader(client, viewer, set(ids), opening_total, stop, record)
            ),
            asyncio.create_task(faults.dependency_faults(outcomes, stop)),
            asyncio.create_task(faults.core_kills(stop)),
        ]
        started = time.monotonic()
        try:
            await asyncio.gather(
                *(one_client((officer, manager)[i % 2]) for i in range(size.clients))
            )
        finally:
            stop.set()
            await asyncio.gather(*side)
        elapsed = time.monotonic() - started

        # After the storm: everything back, and the answers the clients got checked
        # against the database itself.
        await asyncio.to_thread(core.wait_ready, 60.0)
        final = await client.get(
            "/accounts", params={"limit": 200, "branch_code": BRANCH}, headers=auth(viewer)
        )
        assert final.status_code == 200, final.text
        balances = {
            a["id"]: minor(a["ledger_balance"])
            for a in final.json()["accounts"]
            if a["id"] in openings
        }
        replays = []
        acknowledged = [o for o in outcomes if o.status == 201]
        for o in rng.sample(acknowledged, min(10, len(acknowledged))):
            replay = await client.post(
                "/transfers/internal", json=o.job.body(), headers=auth(o.token, o.job.key)
            )
            replays.append(
                (replay.status_code == 201)
                and replay.headers.get("idempotent-replayed") == "true"
                and replay.content == o.raw
            )

    stored = await asyncio.to_thread(stored_transfers, stack)
    problems: list[str] = []
    expected = dict(openings)
    counts = Counter[str]()
    for o in outcomes:
        rows = stored.get(f"load {o.job.index}", [])
        if len(rows) > 1:
            counts["duplicated"] += 1
            problems.append(f"transfer {o.job.index} stored {len(rows)} times")
        if o.status == 201:
            counts["acknowledged"] += 1
            if not rows:
                counts["lost"] += 1
                problems.append(f"acknowledged transfer {o.job.index} is not stored")
            elif rows[0]["ref"] != o.body.get("transaction_ref"):
                problems.append(f"transfer {o.job.index}: stored {rows[0]['ref']}, told {o.body}")
        elif o.status is None:
            counts["given_up"] += 1
            counts["given_up_but_stored"] += 1 if rows else 0
        elif o.status == 422 and o.body.get("code") == "INSUFFICIENT_FUNDS":
            counts["refused_insufficient_funds"] += 1
            if rows:
                problems.append(f"refused transfer {o.job.index} was stored: {rows}")
        else:
            counts[f"final_{o.status}_{o.body.get('code')}"] += 1
            problems.append(f"transfer {o.job.index} ended {o.status}: {o.body}")
        if o.tries > 1:
            counts["retried"] += 1
        for row in rows[:1]:  # what moved money: the stored row, whole
            if (row["amount"], row["source"], row["destination"]) != (
                o.job.amount,
                o.job.source,
                o.job.destination,
            ):
                problems.append(f"transfer {o.job.index} stored as {row}")
            if row["status"] != "COMPLETED":
                problems.append(f"transfer {o.job.index} stored {row['status']}")
            expected[o.job.source] -= o.job.amount
            expected[o.job.destination] += o.job.amount
    strays = set(stored) - {f"load {o.job.index}" for o in outcomes}
    if strays:
        problems.append(f"transfers nobody asked for: {sorted(strays)[:5]}")
    if balances != expected:
        wrong = {k: (balances.get(k), v) for k, v in expected.items() if balances.get(k) != v}
        problems.append(f"balances off what the stored transfers moved: {list(wrong.items())[:5]}")
    if sum(balances.values()) != opening_total:
        problems.append("money not conserved")

    transfers = {
        "sent": len(jobs),
        "answered": len(outcomes),
        "acknowledged": counts["acknowledged"],
        "refused_insufficient_funds": counts["refused_insufficient_funds"],
        "retried": counts["retried"],
        "given_up": counts["given_up"],
        "given_up_but_stored": counts["given_up_but_stored"],
        "lost": counts["lost"],
        "duplicated": counts["duplicated"],
    }
    return {
        "seed": seed,
        "size": {
            "clients": size.clients,
            "transfers": size.transfers,
            "accounts": size.accounts,
            "soak": size.soak,
        },
        "elapsed_s": round(elapsed, 1),
        "transfers": transfers,
        "other_final_answers": {k: v for k, v in counts.items() if k.startswith("final_")},
        "faults": dict(record.faults),
        "fault_log": record.fault_log,
        "recoveries": record.recoveries,
        "outage_answers": record.outage_answers,
        "answers": {str(k): v for k, v in sorted(record.statuses.items())},
        "codes": dict(record.codes),
        "transport_errors": record.transport_errors,
        "timeouts": record.timeouts,
        "timeout_samples": record.timeout_log[:500],
        "latency_ms": record.latency_summary(),
        "server_errors": len(record.server_errors),
        "server_error_samples": record.server_errors[:10],
        "without_retry_after": record.without_retry_after[:10],
        "snapshots": record.snapshots,
        "snapshot_problems": record.snapshot_problems[:10],
        "replays_byte_for_byte": f"{sum(replays)} of {len(replays)}",
        "problems": problems[:20],
    }

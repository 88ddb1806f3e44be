"""P8 of quality.md: the shared client's overhead per call over a raw pooled httpx call.

One run:

1. creates ``bd_cbench_<random>``, migrates and seeds it (Redis db 10), starts one real
   ``python -m app core`` in production mode (as the console benchmark does);
2. signs ``officer@demo.bank`` in, then calls the same endpoint, ``GET /tenant`` (the call
   every console page may make), ``BENCH_CALLS`` (2,000) times through each of:

   - **raw**: one ``httpx.AsyncClient`` with the pool limits the shared client uses
     (keep-alive), the same headers (``Authorization``, ``X-Tenant-ID``, ``X-Request-ID``,
     ``X-Forwarded-For``, ``Accept``, ``User-Agent``), ``raise_for_status()`` and
     ``response.json()``;
   - **shared**: ``app.client.BankingClient.get("/tenant", token=…, tenant=…, …)`` (the
     retrying, pacing, logging transport; the envelope and error checks; JSON with
     ``Decimal``).

   - **typed**: the same call with ``model=Tenant`` (issue 12): msgspec decodes the bytes
     straight into the model (``business_date`` a ``date``, the limit a ``Decimal``).

   One call at a time, alternating (blocks of ``BENCH_BLOCK``, 1) so that drift in the
   machine's load falls on both alike; after ``BENCH_WARMUP_CALLS`` (200) of each;
3. the same two clients over ``httpx.MockTransport`` (no network, no server): the client's
   own CPU per call, without the noise of a shared machine;
4. overhead = shared − raw: of the medians, of the 95th percentiles, and the median of the
   paired differences (call i of one against call i of the other, which cancels most of
   the drift on a shared machine); P8 passes when that paired median is ≤ 1 ms against
   the real core. Writes ``bench/results/<UTC>-client.json`` / ``.md``.
"""

import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import console as cb
from bench import transfers as tb

CALLS = int(os.environ.get("BENCH_CALLS", "2000"))
BLOCK = int(os.environ.get("BENCH_BLOCK", "1"))
WARMUP_CALLS = int(os.environ.get("BENCH_WARMUP_CALLS", "200"))
TARGET_MS = 1.0
PATH = "/tenant"


@contextlib.contextmanager
def log_to_file() -> Iterator[Path]:
    """Send this process's stdout (where the client's per-call log lines go, structlog's
    default) to a file while measuring, as a service's log would; progress goes to stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.NamedTemporaryFile(prefix="branchdesk-cbench-client-", suffix=".log") as log:
        os.dup2(log.fileno(), 1)
        try:
            yield Path(log.name)
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def stats(values: list[float]) -> dict[str, float | None]:
    return {
        "p50_ms": cb.pct(values, 0.5),
        "p95_ms": cb.pct(values, 0.95),
        "p99_ms": cb.pct(values, 0.99),
        "mean_ms": round(sum(values) / len(values), 3) if values else None,
    }


async def timed(call: Callable[[], Awaitable[Any]], n: int, into: list[float] | None) -> None:
    for _ in range(n):
        started = time.perf_counter()
        await call()
        if into is not None:
            into.append((time.perf_counter() - started) * 1000)


async def compare(
    raw: Callable[[], Awaitable[Any]], shared: Callable[[], Awaitable[Any]]
) -> dict[str, Any]:
    await timed(raw, WARMUP_CALLS, None)
    await timed(shared, WARMUP_CALLS, None)
    raw_ms: list[float] = []
    shared_ms: list[float] = []
    done = 0
    while done < CALLS:
        block = min(BLOCK, CALLS - done)
        await timed(raw, block, raw_ms)
        await timed(shared, block, shared_ms)
        done += block
    raw_stats, shared_stats = stats(raw_ms), stats(shared_ms)
    # Block i of one client against block i of the other, call by call: drift in the
    # machine's load between blocks cancels out of these differences.
    paired = sorted(b - a for a, b in zip(raw_ms, shared_ms, strict=True))
    return {
        "calls_each": CALLS,
        "paired_difference_p50_ms": cb.pct(paired, 0.5),
        "raw": raw_stats,
        "shared": shared_stats,
        "overhead_p50_ms": round((shared_stats["p50_ms"] or 0) - (raw_stats["p50_ms"] or 0), 3),
        "overhead_p95_ms": round((shared_stats["p95_ms"] or 0) - (raw_stats["p95_ms"] or 0), 3),
        "overhead_mean_ms": round((shared_stats["mean_ms"] or 0) - (raw_stats["mean_ms"] or 0), 3),
    }


def clients(
    base_url: str, token: str, transport: httpx.AsyncBaseTransport | None, *, typed: bool = False
) -> tuple[httpx.AsyncClient, Any, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]:
    from app.client import BankingClient, Tenant
    from app.client._client import DEFAULT_LIMITS

    raw = httpx.AsyncClient(
        base_url=base_url,
        limits=DEFAULT_LIMITS,
        transport=transport,
        timeout=15.0,
        headers={"Accept": "application/json", "User-Agent": "branchdesk-client"},
    )
    shared = BankingClient(base_url, tb.TENANT, transport=transport)

    async def raw_call() -> Any:
        response = await raw.get(
            PATH,
            headers={
                "X-Request-ID": uuid.uuid4().hex,
                "X-Tenant-ID": tb.TENANT,
                "Authorization": f"Bearer {token}",
                "X-Forwarded-For": "127.0.0.1",
            },
        )
        response.raise_for_status()
        return response.json()

    async def shared_call() -> Any:
        return await shared.get(
            PATH,
            model=Tenant if typed else None,
            token=token,
            tenant=tb.TENANT,
            request_id=uuid.uuid4().hex,
            forwarded_for="127.0.0.1",
        )

    return raw, shared, raw_call, shared_call


async def measure(core_url: str) -> dict[str, Any]:
    base_url = core_url + tb.API
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as login:
        token = await tb.sign_in(login, "officer@demo.bank")
        body = (await login.get(PATH, headers=tb.headers(token))).content

    raw, shared, raw_call, shared_call = clients(base_url, token, None)
    try:
        say(f"P8 against the real core: {CALLS} calls each ...")
        real = await compare(raw_call, shared_call)
    finally:
        await raw.aclose()
        await shared.aclose()
    say(f"    overhead p50 {real['overhead_p50_ms']} ms")

    raw, shared, raw_call, shared_call = clients(base_url, token, None, typed=True)
    try:
        say(f"P8 against the real core, typed (model=Tenant): {CALLS} calls each ...")
        typed = await compare(raw_call, shared_call)
    finally:
        await raw.aclose()
        await shared.aclose()
    say(f"    overhead p50 {typed['overhead_p50_ms']} ms")

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    raw, shared, raw_call, shared_call = clients(
        base_url, token, httpx.MockTransport(answer), typed=True
    )
    try:
        say(f"P8 over a mock transport, typed: {CALLS} calls each ...")
        mock_typed = await compare(raw_call, shared_call)
    finally:
        await raw.aclose()
        await shared.aclose()
    say(f"    overhead p50 {mock_typed['overhead_p50_ms']} ms")

    raw, shared, raw_call, shared_call = clients(base_url, token, httpx.MockTransport(answer))
    try:
        say(f"P8 over a mock transport: {CALLS} calls each ...")
        mock = await compare(raw_call, shared_call)
    finally:
        await raw.aclose()
        await shared.aclose()
    say(f"    overhead p50 {mock['overhead_p50_ms']} ms")

    # Where the client's own time goes: the same over the mock with its per-call
    # ``banking_api.call`` info line filtered out (structlog configured for warnings only).
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    raw, shared, raw_call, shared_call = clients(base_url, token, httpx.MockTransport(answer))
    try:
        say(f"P8 over a mock transport, client logging off: {CALLS} calls each ...")
        quiet = await compare(raw_call, shared_call)
    finally:
        await raw.aclose()
        await shared.aclose()
        structlog.reset_defaults()
    say(f"    overhead p50 {quiet['overhead_p50_ms']} ms")
    return {
        "real_core": real,
        "real_core_typed": typed,
        "mock_transport": mock,
        "mock_transport_typed": mock_typed,
        "mock_transport_quiet": quiet,
        "response_bytes": len(body),
    }


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    rows = [
        "| transport | raw p50 ms | shared p50 ms | raw p95 ms | shared p95 ms | "
        "overhead p50 ms | overhead p95 ms | paired difference p50 ms | target | pass |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    labels = (
        ("real_core", "real core, loopback"),
        ("real_core_typed", "real core, typed (model=Tenant)"),
        ("mock_transport", "mock (no network)"),
        ("mock_transport_typed", "mock, typed (model=Tenant)"),
        ("mock_transport_quiet", "mock, client's info log off"),
    )
    for name, label in labels:
        r = report[name]
        verdict = "–"
        real = name.startswith("real_core")
        if real:
            verdict = "PASS" if (r["paired_difference_p50_ms"] or 0) <= TARGET_MS else "FAIL"
        rows.append(
            f"| {label} | {r['raw']['p50_ms']} | {r['shared']['p50_ms']} | {r['raw']['p95_ms']} | "
            f"{r['shared']['p95_ms']} | {r['overhead_p50_ms']} | {r['overhead_p95_ms']} | "
            f"{r['paired_difference_p50_ms']} | "
            f"{'≤ 1 ms (paired p50)' if real else 'the client CPU alone'} | "
            f"{verdict} |"
        )
    return "\n".join(
        [
            f"# Shared client benchmark (P8), {report['started_at']}",
            "",
            f"{m['cpus']} × {m['cpu_model']}, PostgreSQL {m['postgresql']}, Python {m['python']}; "
            f"`GET {PATH}`, {report['config']['calls']} calls each, one at a time, alternating "
            f"(blocks of {report['config']['block']}); answer {report['response_bytes']} bytes.",
            "",
            *rows,
            "",
        ]
    )


def main() -> int:
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    database = f"bd_cbench_{uuid.uuid4().hex[:8]}"
    var_dir = Path(tempfile.mkdtemp(prefix="branchdesk-cbench-"))
    tb.RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"client benchmark: database {database}", flush=True)
    tb.admin_sql(f'CREATE DATABASE "{database}"')
    core: cb.Service | None = None
    try:
        core_port = tb.free_port()
        env = cb.production_env(var_dir, database, core_port, tb.free_port())
        cb.migrate_and_seed(env)
        core_url = f"http://127.0.0.1:{core_port}"
        core = cb.Service("core", {**env, "PORT": str(core_port)}, f"{core_url}{tb.API}/health")
        with log_to_file():
            figures = asyncio.run(measure(core_url))
        report = {
            "benchmark": "client",
            "started_at": started_at.isoformat(timespec="seconds"),
            "machine": tb.machine(),
            "config": {
                "calls": CALLS,
                "block": BLOCK,
                "warmup_calls": WARMUP_CALLS,
                "path": PATH,
                "core": "python -m app core, BRANCHDESK_PRODUCTION=true",
            },
            **figures,
        }
        report["pass"] = all(
            (figures[run]["paired_difference_p50_ms"] or 0) <= TARGET_MS
            for run in ("real_core", "real_core_typed")
        )
        json_path = tb.RESULTS / f"{stamp}-client.json"
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        md_path = tb.RESULTS / f"{stamp}-client.md"
        md_path.write_text(markdown(report))
        print(md_path.read_text())
        print(f"wrote {json_path.relative_to(tb.ROOT)} and {md_path.relative_to(tb.ROOT)}")
        return 0
    finally:
        if core is not None:
            core.stop()
        if not os.environ.get("BENCH_KEEP_DB"):
            tb.admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""P6 (the trial-balance part) of quality.md: GET /reports/trial-balance at scale.

One run, on the PostgreSQL server of ``BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432``):

1. creates its own database ``bd_bench_tb_<random>``, migrates and seeds it (the sandbox);
2. inserts ``BENCH_POSTINGS`` (default 2,000,000) postings for ``demo_bank`` in SQL —
   balanced pairs on the general GL leaves (receivables, payables, equity, revenue,
   expenses), dated evenly from 1 January to today — under one posted journal, then
   ``VACUUM ANALYZE`` (index-only scans need the visibility map);
3. times the trial balance through the whole core (middleware chain, JWT, tenant, the
   report) in this process over ``httpx.ASGITransport``: ``BENCH_REPEAT`` (10) requests
   after one warm-up, with every period open — one aggregate over all postings;
4. closes every month before the current one through the API (each close stores its
   snapshot; the time of each is recorded) and times the trial balance again — now the
   snapshot of last month plus this month's postings;
5. writes ``bench/results/<UTC>-trial-balance.json`` and ``.md`` and drops the database
   (``BENCH_KEEP_DB=1`` keeps it).

Not a test of correctness (the report tests do that): the synthetic postings do not keep
the control accounts equal to customer accounts, so the ledger check is not run here.
"""

import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.transfers import RESULTS, admin_sql, machine, prepare_environment, psql_url

API = "/api/v1/cba"
POSTINGS = int(os.environ.get("BENCH_POSTINGS", "2000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "10"))
TARGET_MS = 500.0
PASSWORD = "Sandbox#2026"

SEED_SQL = """
WITH t AS (SELECT id FROM tenants WHERE code = 'demo_bank'),
j AS (
  INSERT INTO journals (id, tenant_id, journal_number, journal_type, status, description,
                        transaction_date, effective_date, created_by, created_by_email,
                        created_at, posted_at)
  SELECT '{journal}'::uuid, t.id, 'JVBENCH{stamp}', 'GENERAL', 'POSTED',
         'P6 benchmark postings', CURRENT_DATE, CURRENT_DATE, '{journal}'::uuid,
         'bench@system', now(), now() FROM t
  RETURNING id, tenant_id
),
gl AS (
  SELECT array_agg(g.id ORDER BY g.code) AS ids, count(*) AS n
  FROM gl_accounts g, t
  WHERE g.tenant_id = t.id AND NOT g.is_header AND g.role IN ('general', 'retained_earnings')
)
INSERT INTO postings (tenant_id, journal_id, gl_account_id, branch_code, side, amount,
                      currency, effective_date, description, posted_at)
SELECT j.tenant_id, j.id,
       CASE s.side WHEN 'D' THEN gl.ids[1 + (i * 7) % gl.n]
                   ELSE gl.ids[1 + (i * 13 + 1) % gl.n] END,
       CASE WHEN i % 3 = 0 THEN '002' ELSE '001' END,
       s.side, 100 + (i % 100000) * 37, 'NGN',
       DATE '{start}' + (i % {days}), NULL, now()
FROM j, gl, generate_series(0, {pairs} - 1) AS i, (VALUES ('D'), ('C')) AS s(side);
"""


def psql(database: str, sql: str) -> None:
    subprocess.run(
        ["psql", psql_url(database), "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True,
        capture_output=True,
    )


def seed_postings(database: str, today: date) -> float:
    start = date(today.year, 1, 1)
    days = max((today - start).days + 1, 1)
    began = time.perf_counter()
    psql(
        database,
        SEED_SQL.format(
            journal=uuid.uuid4(),
            stamp=uuid.uuid4().hex[:8].upper(),
            start=start.isoformat(),
            days=days,
            pairs=POSTINGS // 2,
        ),
    )
    psql(database, "VACUUM ANALYZE postings")
    return time.perf_counter() - began


async def time_trial_balance(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": "demo_bank"}
    first = await client.get("/reports/trial-balance", headers=headers)
    assert first.status_code == 200, first.text
    times = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        response = await client.get("/reports/trial-balance", headers=headers)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    body = response.json()
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(times[-1], 1),
        "balanced": body["balanced"],
        "lines": len(body["lines"]),
        "from_snapshot_of": body["from_snapshot_of"],
        "pass": p95 <= TARGET_MS,
    }


async def measure() -> dict[str, Any]:
    from app.core.app import create_app
    from app.settings import get_settings

    app = create_app(get_settings())
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://bench{API}", timeout=600
    ) as client:

        async def sign_in(email: str) -> str:
            response = await client.post(
                "/auth/login",
                json={"email": email, "password": PASSWORD},
                headers={"X-Tenant-ID": "demo_bank"},
            )
            response.raise_for_status()
            token: str = response.json()["access_token"]
            return token

        viewer, admin = await sign_in("viewer@demo.bank"), await sign_in("admin@demo.bank")
        tenant = (
            await client.get(
                "/tenant", headers={"Authorization": f"Bearer {viewer}", "X-Tenant-ID": "demo_bank"}
            )
        ).json()
        today = date.fromisoformat(tenant["business_date"])
        open_periods = await time_trial_balance(client, viewer)
        listed = (
            await client.get(
                "/fiscal-periods",
                params={"fiscal_year": str(today.year), "limit": 20},
                headers={"Authorization": f"Bearer {viewer}", "X-Tenant-ID": "demo_bank"},
            )
        ).json()["fiscal_periods"]
        closes = []
        for period in sorted(listed, key=lambda p: p["period_number"]):
            if period["period_number"] >= today.month:
                continue
            began = time.perf_counter()
            response = await client.post(
                f"/fiscal-periods/{period['id']}/close",
                headers={"Authorization": f"Bearer {admin}", "X-Tenant-ID": "demo_bank"},
            )
            assert response.status_code == 200, response.text
            closes.append(round((time.perf_counter() - began) * 1000, 1))
        closed_months = await time_trial_balance(client, viewer) if closes else None
        await app.state.services.close()
    return {
        "business_date": today.isoformat(),
        "all_periods_open": open_periods,
        "months_closed": len(closes),
        "close_ms": closes,
        "after_closing_earlier_months": closed_months,
    }


def markdown(report: dict[str, Any]) -> str:
    rows = [
        "| scenario | p50 ms | p95 ms | max ms | target | pass |",
        "|---|---|---|---|---|---|",
    ]
    for name, key in (
        ("every period open (one aggregate over all postings)", "all_periods_open"),
        ("months before this one closed (snapshot + this month)", "after_closing_earlier_months"),
    ):
        r = report[key]
        if r:
            rows.append(
                f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | ≤ 500 ms | "
                f"{'PASS' if r['pass'] else 'FAIL'} |"
            )
    closes = report["close_ms"]
    return "\n".join(
        [
            f"# Trial balance at {report['postings']:,} postings ({report['at']})",
            "",
            f"Machine: {report['machine']['cpus']} × {report['machine']['cpu_model']}, "
            f"PostgreSQL {report['machine']['postgresql']}. Seeding took "
            f"{report['seed_seconds']:.0f} s. Business date {report['business_date']}.",
            "",
            *rows,
            "",
            f"Closing {report['months_closed']} months (each stores its snapshot): "
            + (f"{min(closes)}–{max(closes)} ms each." if closes else "none to close."),
            "",
        ]
    )


def main() -> int:
    database = f"bd_bench_tb_{uuid.uuid4().hex[:8]}"
    admin_sql(f"CREATE DATABASE {database}")
    try:
        prepare_environment(database, Path(tempfile.mkdtemp(prefix="bd-bench-tb-")))
        from app.core.tenants.models import Tenant
        from app.core.tenants.service import business_date
        from bench.transfers import migrate_and_seed

        migrate_and_seed()
        today = business_date(
            Tenant(
                code="x",
                name="x",
                base_currency="NGN",
                timezone="Africa/Lagos",
                teller_approval_limit=0,
            )
        )
        seed_seconds = seed_postings(database, today)
        result = asyncio.run(measure())
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        report = {
            "at": stamp,
            "postings": POSTINGS,
            "seed_seconds": round(seed_seconds, 1),
            "machine": machine(),
            **result,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{stamp}-trial-balance.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / f"{stamp}-trial-balance.md").write_text(markdown(report))
        print(markdown(report))
        return 0
    finally:
        if not os.environ.get("BENCH_KEEP_DB"):
            admin_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    raise SystemExit(main())

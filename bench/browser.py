"""P5 of quality.md in a real browser: largest contentful paint and the deposit flow.

One run, on its own PostgreSQL database (``<BENCH_DB_PREFIX>_<random>``, default prefix
``bd_bench_browser``, on ``BENCH_PG``) and the Redis db of ``BENCH_REDIS``:

1. migrates and seeds the sandbox, starts a real core (``python -m app core``) and a
   console in front of it (``python -m app console``), each its own process on a free
   port, as ``tests/live_server.py`` does for the tests;
2. opens Chromium (headless, Playwright's sync API; the system ``/usr/bin/chromium``
   unless Playwright has its own), signs in as the sandbox teller and keeps the session;
3. **LCP**: for each of the teller's main pages, ``BENCH_RUNS`` (10) loads in a fresh
   browser context (an empty HTTP cache, the teller's session cookie) and as many again
   in one context (a warm cache: what a teller's browser does all day); each load reads
   the last ``largest-contentful-paint`` entry (``PerformanceObserver``, buffered) after
   the page's ``load`` event and two animation frames, and the navigation timing (time to
   first byte, DOMContentLoaded). The same-run references: the sign-in page (no core
   call) and a static file served by the console;
4. **the deposit flow** (console.md flow 1), ``BENCH_RUNS`` times: the deposit form, the
   account found by number, amount and narration, "Continue" → the confirmation; then the
   time from the click on "Deposit" until the heading "Receipt" is visible, measured by
   this process around Playwright's click and wait (so it includes the Chrome DevTools
   protocol round trips) and in the page itself (the click event to the first animation
   frame after the receipt's heading is in the document: htmx boosts the form, so it is
   one document throughout), and, from the browser's request timing, how long the POST and
   the receipt page each waited for their first byte. The reference: the click on
   "Continue" until the confirmation shows (the console and core read the account,
   nothing is posted);
5. writes ``bench/results/<UTC>-browser.json`` and ``.md``, stops the servers and drops the
   database (``BENCH_KEEP_DB=1`` keeps it).
"""

import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.seeding import percentiles
from bench.transfers import (
    PASSWORD,
    RESULTS,
    admin_sql,
    machine,
    migrate_and_seed,
    prepare_environment,
)

RUNS = int(os.environ.get("BENCH_RUNS", "10"))
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "bd_bench_browser")
LCP_TARGET_MS = 1000.0
DEPOSIT_TARGET_MS = 300.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TELLER = "teller@demo.bank"

# The last LCP candidate so far, and the navigation's own timing (ms from its start).
PAINT_JS = """
() => new Promise(resolve => {
  requestAnimationFrame(() => requestAnimationFrame(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    new PerformanceObserver(list => {
      const entries = list.getEntries();
      const last = entries[entries.length - 1];
      resolve({lcp: last.startTime, element: last.element ? last.element.tagName : null,
               ttfb: nav.responseStart, dcl: nav.domContentLoadedEventEnd,
               load: nav.loadEventEnd});
    }).observe({type: 'largest-contentful-paint', buffered: true});
  }));
})
"""


# In the page: from the click (capture phase) to the first animation frame after the
# receipt's heading is in the document (htmx boosts the form: one document throughout).
CLICK_TO_RECEIPT_JS = """
() => {
  window.__receiptMs = null;
  let clicked = null;
  document.addEventListener('click', () => { clicked = performance.now(); },
                            {capture: true, once: true});
  const watch = new MutationObserver(() => {
    if (clicked !== null && document.querySelector('#receipt-title')) {
      watch.disconnect();
      requestAnimationFrame(() => { window.__receiptMs = performance.now() - clicked; });
    }
  });
  watch.observe(document.documentElement, {childList: true, subtree: true});
}
"""


def open_account(api_url: str) -> str:
    """A fresh current account with money in it (the core, as the sandbox manager)."""
    with httpx.Client(base_url=api_url, timeout=30) as http:
        login = http.post(
            "/auth/login",
            json={"email": "manager@demo.bank", "password": PASSWORD},
            headers={"X-Tenant-ID": "demo_bank"},
        )
        login.raise_for_status()
        auth = {
            "Authorization": f"Bearer {login.json()['access_token']}",
            "X-Tenant-ID": "demo_bank",
        }
        customer = http.post(
            "/customers",
            headers=auth,
            json={
                "customer_type": "INDIVIDUAL",
                "first_name": "Amaka",
                "last_name": "Bench",
                "phone": f"+23481{uuid.uuid4().int % 10**8:08d}",
            },
        )
        customer.raise_for_status()
        account = http.post(
            "/accounts",
            headers=auth,
            json={
                "customer_id": customer.json()["id"],
                "account_type": "CURRENT",
                "currency": "NGN",
                "product_code": "CUR001",
                "branch_code": "001",
                "initial_deposit": "1000.00",
            },
        )
        account.raise_for_status()
        number: str = account.json()["account_number"]
        return number


def measure(console_url: str, api_url: str) -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)
    number = open_account(api_url)
    pages = ["/", "/accounts", "/customers", "/teller/deposit", "/teller/my-day"]
    lcp: dict[str, Any] = {}
    flow: dict[str, Any] = {}
    with sync_playwright() as playwright:
        launch: dict[str, Any] = {"headless": True, "args": CHROMIUM_ARGS}
        if not Path(playwright.chromium.executable_path).exists():
            launch["executable_path"] = CHROMIUM
        browser = playwright.chromium.launch(**launch)
        context = browser.new_context(base_url=console_url)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email").fill(TELLER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()
        session = context.storage_state()

        def load(target: Any, path: str) -> dict[str, Any]:
            response = target.goto(path, wait_until="load")
            assert response is not None and response.ok, f"{path}: {response and response.status}"
            figures: dict[str, Any] = target.evaluate(PAINT_JS)
            return figures

        def series(path: str, signed_in: bool) -> dict[str, Any]:
            cold, warm = [], []
            for _ in range(RUNS):
                fresh = browser.new_context(
                    base_url=console_url, storage_state=session if signed_in else None
                )
                cold.append(load(fresh.new_page(), path))
                fresh.close()
            for _ in range(RUNS + 1):
                warm.append(load(page, path))
            warm = warm[1:]  # the first fills the cache
            result = {}
            for name, runs in (("cold", cold), ("warm", warm)):
                result[name] = {
                    "lcp": percentiles([r["lcp"] for r in runs]),
                    "ttfb": percentiles([r["ttfb"] for r in runs]),
                    "dcl": percentiles([r["dcl"] for r in runs]),
                    "element": runs[-1]["element"],
                }
                result[name]["pass"] = result[name]["lcp"]["p95_ms"] <= LCP_TARGET_MS
            return result

        for path in pages:
            lcp[path] = series(path, signed_in=True)
        lcp["/static/css/finance.css (reference)"] = series("/static/css/finance.css", True)
        lcp["/login (reference, signed out)"] = series("/login", signed_in=False)

        # the deposit flow; what each document request of it waited for its first byte
        continue_ms, deposit_ms, in_page_ms = [], [], []
        waits: dict[str, list[float]] = {"submit": [], "receipt": []}
        seen: list[tuple[str, float]] = []

        def waited(request: Any) -> None:
            timing = request.timing
            if "/teller/" in request.url and timing["responseStart"] >= 0:
                seen.append((request.url, timing["responseStart"] - timing["requestStart"]))

        page.on("requestfinished", waited)
        for run in range(RUNS + 1):
            page.goto("/teller/deposit")
            page.get_by_label("Account", exact=True).fill(number)
            expect(page.locator(".match").get_by_role("radio")).to_be_checked()
            page.get_by_label("Amount").fill(f"{10 + run}.00")
            page.get_by_label("Narration").fill("Benchmark deposit")
            started = time.perf_counter()
            page.get_by_role("button", name="Continue").click()
            expect(page.get_by_role("heading", name="Confirm the deposit")).to_be_visible()
            continued = (time.perf_counter() - started) * 1000
            seen.clear()
            page.evaluate(CLICK_TO_RECEIPT_JS)
            started = time.perf_counter()
            page.get_by_role("button", name="Deposit").click()
            expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
            deposited = (time.perf_counter() - started) * 1000
            page.wait_for_load_state("load")
            in_page = page.wait_for_function("() => window.__receiptMs", timeout=5000)
            if run:  # the first warms the console's and core's code paths
                continue_ms.append(continued)
                deposit_ms.append(deposited)
                in_page_ms.append(float(in_page.json_value()))
                for url, ms in seen:
                    if "/teller/receipts/" in url:
                        waits["receipt"].append(ms)
                    elif url.endswith("/teller/deposit/submit"):
                        waits["submit"].append(ms)
        flow = {
            "deposit": percentiles(deposit_ms),
            "continue": percentiles(continue_ms),
            "deposit_in_page": percentiles(in_page_ms),
            # time to first byte of the POST (the console posts to the core, then redirects)
            # and of the receipt page it redirects to (the console reads the core)
            "submit_wait": percentiles(waits["submit"]) if waits["submit"] else None,
            "receipt_wait": percentiles(waits["receipt"]) if waits["receipt"] else None,
        }
        flow["deposit"]["pass"] = flow["deposit"]["p95_ms"] <= DEPOSIT_TARGET_MS
        flow["deposit_in_page"]["pass"] = flow["deposit_in_page"]["p95_ms"] <= DEPOSIT_TARGET_MS
        flow["deposit"]["ratio_vs_continue"] = round(
            flow["deposit"]["p50_ms"] / flow["continue"]["p50_ms"], 2
        )
        browser.close()
    return {"lcp": lcp, "flow": flow}


def markdown(report: dict[str, Any]) -> str:
    rows = [
        "| page | cache | LCP p50 ms | LCP p95 ms | TTFB p50 ms | DCL p50 ms | LCP element "
        "| target | pass |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for path, result in report["lcp"].items():
        for cache in ("cold", "warm"):
            r = result[cache]
            reference = "reference" in path
            verdict = "–" if reference else ("PASS" if r["pass"] else "FAIL")
            rows.append(
                f"| `{path}` | {cache} | {r['lcp']['p50_ms']} | {r['lcp']['p95_ms']} | "
                f"{r['ttfb']['p50_ms']} | {r['dcl']['p50_ms']} | {r['element']} | "
                f"{'–' if reference else '≤ 1,000 ms'} | {verdict} |"
            )
    deposit, cont = report["flow"]["deposit"], report["flow"]["continue"]
    in_page = report["flow"]["deposit_in_page"]
    return "\n".join(
        [
            f"# Browser (P5) ({report['at']})",
            "",
            f"Machine: {report['machine']['cpus']} × {report['machine']['cpu_model']}; "
            f"headless Chromium, core and console each one process on loopback, PostgreSQL "
            f"and Redis. {report['runs']} runs each. Load average at the start: "
            f"{report['load_average']}.",
            "",
            *rows,
            "",
            "| flow | n | p50 ms | p95 ms | max ms | × reference | target | pass |",
            "|---|---|---|---|---|---|---|---|",
            f'| reference: click "Continue" → confirmation visible | {cont["n"]} | '
            f"{cont['p50_ms']} | {cont['p95_ms']} | {cont['max_ms']} | 1 | – | – |",
            f'| **click "Deposit" → receipt visible** | {deposit["n"]} | {deposit["p50_ms"]} | '
            f"{deposit['p95_ms']} | {deposit['max_ms']} | {deposit['ratio_vs_continue']} | "
            f"≤ 300 ms | {'PASS' if deposit['pass'] else 'FAIL'} |",
            f"| **the same, timed in the page** (click event → first frame with the receipt) | "
            f"{in_page['n']} | {in_page['p50_ms']} | {in_page['p95_ms']} | {in_page['max_ms']} | "
            f"– | ≤ 300 ms | {'PASS' if in_page['pass'] else 'FAIL'} |",
            "",
            "Where the deposit's time goes (the browser's request timing, request sent → "
            "first byte; htmx sends both): the POST that posts it (console → core "
            "`POST /deposits`, then a redirect) "
            + wait(report["flow"]["submit_wait"])
            + "; the receipt page it redirects to "
            + wait(report["flow"]["receipt_wait"])
            + ". The rest is the browser: htmx's swap, styles and paint, and the DevTools "
            "protocol round trips of the measurement.",
            "",
        ]
    )


def wait(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "not seen"
    return f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms"


def main() -> int:
    from tests.live_server import LiveServer

    database = f"{DB_PREFIX}_{uuid.uuid4().hex[:8]}"
    admin_sql(f"CREATE DATABASE {database}")
    servers: list[LiveServer] = []
    try:
        prepare_environment(database, Path(tempfile.mkdtemp(prefix="bd-bench-browser-")))
        migrate_and_seed()
        core = LiveServer(command="core").start()
        servers.append(core)
        console = LiveServer(command="console", banking_api_url=core.api_url).start()
        servers.append(console)
        load_average = " ".join(f"{x:.1f}" for x in os.getloadavg())
        result = measure(console.base_url, core.api_url)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        report = {
            "at": stamp,
            "runs": RUNS,
            "load_average": load_average,
            "machine": machine(),
            **result,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{stamp}-browser.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / f"{stamp}-browser.md").write_text(markdown(report))
        print(markdown(report))
        return 0
    finally:
        for server in reversed(servers):
            server.stop()
        if not os.environ.get("BENCH_KEEP_DB"):
            admin_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    raise SystemExit(main())

"""Runs every benchmark in bench/ (each writes JSON + Markdown to bench/results/).

``python -m bench`` (``make bench``) runs them all; ``python -m bench transfers`` one.
"""

import sys
from collections.abc import Callable

from bench import (
    browser,
    client,
    console,
    request_path,
    scale,
    transfers,
    trial_balance,
    webhooks,
)

BENCHMARKS: dict[str, Callable[[], int]] = {
    "transfers": transfers.main,  # P1, P2, P3 of quality.md, with the pgbench reference
    "path": request_path.main,  # where a transfer's CPU goes, stage by stage (in-process)
    "trial-balance": trial_balance.main,  # P6's trial balance at BENCH_POSTINGS postings
    "scale": scale.main,  # P6's statements and account lookup at 1 M accounts
    "browser": browser.main,  # P5: largest contentful paint and the deposit flow
    "client": client.main,  # P8: the shared client's overhead over raw httpx
    "console": console.main,  # P4 (console pages, 50 staff) and P7 (memory of each process)
    "webhooks": webhooks.main,  # issue 11: a backlog of 1,135 events drained to the console
}


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(BENCHMARKS)}")
        return 2
    status = 0
    for name in names:
        status = max(status, BENCHMARKS[name]())
    return status


if __name__ == "__main__":
    raise SystemExit(main())

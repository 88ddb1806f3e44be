"""Runs every benchmark in bench/ (each writes JSON + Markdown to bench/results/)."""

import sys


def main() -> int:
    print("No benchmarks yet: P1/P2 (transfers) arrive with the ledger.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

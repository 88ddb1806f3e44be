"""The ``branchdesk`` command: run, core, console, worker, db upgrade, seed demo, ledger verify,
audit verify."""

import argparse
import asyncio
import sys
from collections.abc import Sequence

from app.settings import ImproperlyConfigured, Settings, get_settings

SANDBOX_NOTE = """
Branchdesk is running at http://{host}:{port}/  (core API: http://{host}:{port}/api/v1/cba)

Sandbox sign-ins (password: {password}):
  tenant demo_bank: viewer@demo.bank  teller@demo.bank  teller2@demo.bank  officer@demo.bank
                    manager@demo.bank  manager2@demo.bank  admin@demo.bank
  tenant fmfb:      teller@fmfb.bank  admin@fmfb.bank
"""


SERVER_KEEP_ALIVE_SECONDS = 75


def _serve(app_path: str, settings: Settings, *, workers: int = 1) -> None:
    import uvicorn

    uvicorn.run(
        app_path,
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,  # the core reads X-Forwarded-For itself, from trusted proxies only
        access_log=False,
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
        # Longer than any client's idle keep-alive (httpx: 5 s; a load balancer's: 60 s), so
        # the server never closes an idle connection at the moment a client reuses it, which
        # the client sees as a transport error on a request that may have been sent.
        timeout_keep_alive=SERVER_KEEP_ALIVE_SECONDS,
    )


def db_upgrade(settings: Settings) -> None:
    from alembic import command
    from alembic.config import Config

    from app.migrations_state import ROOT

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = settings.database.url
    command.upgrade(config, "heads")


def seed_demo(settings: Settings) -> dict[str, int]:
    from app.core.seed import seed_demo as seed
    from app.db import Database

    async def run() -> dict[str, int]:
        db = Database(settings.database)
        try:
            return await seed(db, settings)
        finally:
            await db.dispose()

    return asyncio.run(run())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="branchdesk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="one process: core at /api/v1/cba, console at /, worker inside")
    core = sub.add_parser("core", help="the core API only")
    console = sub.add_parser("console", help="the console only (BANKING_API_URL points at a core)")
    for served in (core, console):
        served.add_argument(
            "--workers",
            type=int,
            default=None,
            help="worker processes (default WEB_CONCURRENCY, 1); > 1 needs PostgreSQL + Redis",
        )
    sub.add_parser("worker", help="webhook delivery, audit sealing, schedules, purges")
    db = sub.add_parser("db", help="database tasks")
    db.add_argument("action", choices=["upgrade"])
    seed = sub.add_parser("seed", help="sandbox data")
    seed.add_argument("what", choices=["demo"])
    ledger = sub.add_parser("ledger", help="ledger tasks")
    ledger.add_argument("action", choices=["verify"])
    audit = sub.add_parser("audit", help="audit trail tasks")
    audit.add_argument("action", choices=["verify"])
    args = parser.parse_args(argv)

    try:
        settings = get_settings()
    except ImproperlyConfigured as exc:
        print(f"branchdesk: configuration error: {exc}", file=sys.stderr)
        return 2

    workers = getattr(args, "workers", None)
    if workers is not None:
        from app.settings import check_workers

        try:
            if workers < 1:
                raise ImproperlyConfigured("--workers must be at least 1")
            check_workers(workers, redis_url=settings.redis.url, database_url=settings.database.url)
        except ImproperlyConfigured as exc:
            print(f"branchdesk: configuration error: {exc}", file=sys.stderr)
            return 2
    else:
        workers = settings.server.workers

    if args.command in {"run", "core"}:
        from app.settings import check_signing_key

        try:
            # Said here, plainly, rather than as a traceback from inside the server.
            check_signing_key(settings)
        except ImproperlyConfigured as exc:
            print(f"branchdesk: configuration error: {exc}", file=sys.stderr)
            return 2

    if args.command == "run":
        if not settings.server.production:  # production never has the sandbox
            print(
                SANDBOX_NOTE.format(
                    host=settings.server.host,
                    port=settings.server.port,
                    password=settings.sandbox_password,
                ),
                flush=True,
            )
        _serve("app.server:embedded_process", settings)
    elif args.command == "core":
        _serve("app.server:core_process", settings, workers=workers)
    elif args.command == "console":
        _serve("app.server:console_process", settings, workers=workers)
    elif args.command == "worker":
        from app.logging_setup import configure_logging
        from app.worker import run_worker

        configure_logging(settings.logging)
        try:
            asyncio.run(run_worker(settings))
        except KeyboardInterrupt:  # Ctrl-C or SIGINT: the jobs have closed
            print("worker stopped", file=sys.stderr)
    elif args.command == "db":
        db_upgrade(settings)
        print("database is at the latest revision")
    elif args.command == "seed":
        from app.core.seed import SeedRefused

        try:
            created = seed_demo(settings)
        except SeedRefused as exc:
            print(f"branchdesk: {exc}", file=sys.stderr)
            return 1
        print("sandbox seeded: " + ", ".join(f"{v} {k}" for k, v in created.items()))
    elif args.command == "ledger":
        from app.core.ledger_verify import verify_command

        return verify_command(settings)
    elif args.command == "audit":
        from app.core.audit_verify import verify_command as verify_audit

        return verify_audit(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

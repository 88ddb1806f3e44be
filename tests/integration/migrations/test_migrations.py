"""R7: upgrade from empty, `alembic check` clean, downgrade of the last revisions."""

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from app.migrations_state import ROOT


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def backends() -> list[str]:
    """SQLite always; PostgreSQL as well wherever the suite runs on it (CI)."""
    found = ["sqlite"]
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        found.append("postgresql")
    return found


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


@pytest.fixture(params=backends())
def empty_database(request, tmp_path: Path, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    base = settings.database.url
    name = f"bd_mig_{uuid.uuid4().hex[:12]}"
    admin_url = base.rsplit("/", 1)[0] + "/postgres"
    asyncio.run(_admin(admin_url, f"CREATE DATABASE {name}"))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    await engine.dispose()
    return names


def test_upgrade_from_empty_then_check_is_clean(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "heads")
    command.check(config)  # raises if the models and the migrations disagree
    tables = asyncio.run(_tables(empty_database))
    assert {
        "tenants",
        "staff_users",
        "audit_logs",
        "idempotency_records",
        "console_action_log",
    } <= tables


def test_every_revision_downgrades_and_upgrades_again(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "heads")
    script = ScriptDirectory.from_config(config)
    for branch in ("core", "console"):
        for _revision in script.iterate_revisions(f"{branch}@head", "base"):
            command.downgrade(config, f"{branch}@-1")
    assert asyncio.run(_tables(empty_database)) <= {"alembic_version"}
    command.upgrade(config, "heads")
    command.check(config)


def test_console_branch_stands_alone(empty_database: str) -> None:
    """The console's tables migrate without the core's (its own branch)."""
    config = alembic_config(empty_database)
    command.upgrade(config, "console@head")
    tables = asyncio.run(_tables(empty_database))
    assert "console_action_log" in tables
    assert "tenants" not in tables

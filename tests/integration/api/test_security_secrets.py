"""Security review, finding 7: secrets shown once are kept nowhere in the clear.

An API key and a webhook's signing secret are shown once, in the creating response. The
idempotency record must not keep them for a replay (a replay says the secret was shown
once), the subscription keeps its secret sealed, and every file under the var directory
(database, WAL, keys, secrets) is private to the server's user from the moment it exists.

The end-to-end test runs a real server process, as ``make run`` does, in a var directory of
its own, then reads every byte under it.
"""

import os
import secrets
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.integration.api.ledger_helpers import h
from tests.live_server import ROOT, LiveServer
from tests.support import SANDBOX_PASSWORD, TENANT, new_key

QUIET_URL = "http://127.0.0.1:9/webhooks/cba"  # the suite's closed console port


# -- replays through the in-process core (SQLite and PostgreSQL) ---------------------------


async def test_a_replayed_api_key_creation_does_not_show_the_key_again(api, tokens, core_app):
    from app.core.idempotency.shown_once import REDACTED, REDACTED_HEADER

    admin = await h(tokens, "admin", key=True)
    body = {"name": f"replay-{uuid.uuid4().hex[:6]}", "role": "viewer"}
    first = await api.post("/api-keys", json=body, headers=admin)
    assert first.status_code == 201, first.text
    key = first.json()["api_key"]
    assert key.startswith("bdk")

    replay = await api.post("/api-keys", json=body, headers=admin)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers[REDACTED_HEADER] == "api_key"
    assert replay.json()["api_key"] == REDACTED
    assert {k: v for k, v in replay.json().items() if k != "api_key"} == {
        k: v for k, v in first.json().items() if k != "api_key"
    }
    assert key not in replay.text
    assert REDACTED_HEADER not in first.headers  # the first answer is the real one
    await assert_not_stored(core_app, key)

    # The key shown once still works.
    token = await api.post("/auth/token", json={"api_key": key}, headers={"X-Tenant-ID": TENANT})
    assert token.status_code == 200, token.text


async def test_a_replayed_webhook_creation_does_not_show_the_secret_again(api, tokens, core_app):
    from app.core.idempotency.shown_once import REDACTED, REDACTED_HEADER

    chosen = "whsec_" + secrets.token_urlsafe(24)
    for body, secret_of in (
        (
            {"name": "sealed", "url": QUIET_URL, "events": ["account.opened"], "secret": chosen},
            lambda created: chosen,
        ),
        (
            {"name": "generated", "url": QUIET_URL, "events": ["account.opened"]},
            lambda created: created["secret"],
        ),
    ):
        admin = await h(tokens, "admin", key=True)
        first = await api.post("/webhooks", json=body, headers=admin)
        assert first.status_code == 201, first.text
        secret = secret_of(first.json())
        assert first.json()["secret"] == secret
        replay = await api.post("/webhooks", json=body, headers=admin)
        assert (replay.status_code, replay.headers["idempotent-replayed"]) == (201, "true")
        assert replay.headers[REDACTED_HEADER] == "secret"
        assert replay.json()["secret"] == REDACTED and replay.json()["id"] == first.json()["id"]
        assert secret not in replay.text
        await assert_not_stored(core_app, secret)
        # Gone afterwards: later events must not queue up deliveries to a closed port.
        deleted = await api.delete(
            f"/webhooks/{first.json()['id']}", headers=await h(tokens, "admin")
        )
        assert deleted.status_code == 204


async def assert_not_stored(core_app: Any, *needles: str) -> None:
    """No row of any table holds the strings (as text or as bytes)."""
    from sqlmodel import SQLModel

    db = core_app.state.services.db
    async with db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(sa.select(table))).all():
                text = " ".join(
                    value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    for value in row
                )
                for needle in needles:
                    assert needle not in text, f"{needle[:8]}… found in {table.name}"


# -- end to end: a real server and every byte under its var directory ----------------------


def private_modes(var_dir: Path) -> list[str]:
    """Every file 0600 and every folder 0700, the var directory itself included."""
    wrong = []
    for path in [var_dir, *sorted(var_dir.rglob("*"))]:
        mode = stat.S_IMODE(path.stat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            wrong.append(f"{path.relative_to(var_dir.parent)}: {mode:o}")
    return wrong


def files_holding(var_dir: Path, needles: list[str]) -> list[str]:
    found = []
    for path in sorted(p for p in var_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for needle in needles:
            if needle.encode() in data:
                found.append(f"{path.name} holds {needle[:8]}…")
    return found


@pytest.fixture(scope="module")
def own_server(settings, tmp_path_factory, database_ready) -> Iterator[tuple[LiveServer, Path]]:  # type: ignore[no-untyped-def]
    """``branchdesk db upgrade`` + ``seed demo`` + ``run`` in a var directory of their own
    (on PostgreSQL the suite's database, with the suite's sealing key)."""
    var_dir = tmp_path_factory.mktemp("secrets") / "var"
    env = {**os.environ, "BRANCHDESK_VAR_DIR": str(var_dir)}
    for name in ("CONSOLE_SECRET_KEY", "CONSOLE_WEBHOOK_SECRET", "JWT_PRIVATE_KEY_PATH"):
        env.pop(name, None)
    if settings.database.is_sqlite:
        env.pop("DATABASE_URL", None)
        for command in (["db", "upgrade"], ["seed", "demo"]):
            subprocess.run(
                [sys.executable, "-m", "app", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
    else:
        env["WEBHOOK_SECRETS_KEY"] = settings.webhooks.secrets_key
    server = LiveServer(env=env).start()
    try:
        yield server, var_dir
    finally:
        server.stop()


async def test_no_secret_is_kept_in_the_clear_and_every_file_is_private(
    own_server, settings, core_app
):
    server, var_dir = own_server
    async with httpx.AsyncClient(base_url=server.api_url, timeout=30) as client:
        login = await client.post(
            "/auth/login",
            json={"email": "admin@demo.bank", "password": SANDBOX_PASSWORD},
            headers={"X-Tenant-ID": TENANT},
        )
        assert login.status_code == 200, login.text
        admin = {
            "Authorization": f"Bearer {login.json()['access_token']}",
            "X-Tenant-ID": TENANT,
        }
        key_body = {"name": "e2e", "role": "viewer"}
        key_headers = {**admin, "Idempotency-Key": new_key()}
        created = await client.post("/api-keys", json=key_body, headers=key_headers)
        assert created.status_code == 201, created.text
        api_key = created.json()["api_key"]
        replay = await client.post("/api-keys", json=key_body, headers=key_headers)
        assert replay.headers["idempotent-replayed"] == "true"
        assert api_key not in replay.text

        chosen = "whsec_" + secrets.token_urlsafe(24)
        hook_headers = {**admin, "Idempotency-Key": new_key()}
        hook_body = {"name": "e2e", "url": QUIET_URL, "events": ["account.opened"]}
        made = await client.post(
            "/webhooks", json={**hook_body, "secret": chosen}, headers=hook_headers
        )
        assert made.status_code == 201, made.text
        generated = await client.post(
            "/webhooks", json=hook_body, headers={**admin, "Idempotency-Key": new_key()}
        )
        assert generated.status_code == 201, generated.text
        rotated = "whsec_" + secrets.token_urlsafe(24)
        patched = await client.patch(
            f"/webhooks/{made.json()['id']}",
            json={"secret": rotated},
            headers=hook_headers | {"Idempotency-Key": new_key()},
        )
        assert patched.status_code == 200, patched.text
        # The key works: it was kept as a hash, not lost.
        token = await client.post(
            "/auth/token", json={"api_key": api_key}, headers={"X-Tenant-ID": TENANT}
        )
        assert token.status_code == 200, token.text

        for hook_id in (made.json()["id"], generated.json()["id"]):
            deleted = await client.delete(f"/webhooks/{hook_id}", headers=admin)
            assert deleted.status_code == 204, deleted.text
        needles = [api_key, chosen, generated.json()["secret"], rotated]
        # While the server runs (the WAL holds the latest pages) ...
        assert files_holding(var_dir, needles) == []
        assert private_modes(var_dir) == []
    log = server.output()
    server.stop()
    # ... and after it stopped (the WAL checkpointed into the database file).
    assert files_holding(var_dir, needles) == []
    assert private_modes(var_dir) == []
    names = {p.name for p in var_dir.rglob("*")}
    assert {"keys", "secrets", "jwt_private.pem"} <= names
    if settings.database.is_sqlite:
        assert "branchdesk.sqlite3" in names
    assert not any(needle in log for needle in needles)
    if not settings.database.is_sqlite:  # the database is not under var/ there
        await assert_not_stored(core_app, *needles)

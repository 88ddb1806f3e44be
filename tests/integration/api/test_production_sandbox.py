"""Security review (issue 10), finding 12: production mode refuses the sandbox's sign-ins.

The sandbox's staff (``admin@demo.bank``, …) and their password are printed in the docs
and on every ``branchdesk run``: a production core whose database still lets them sign in
with it must not start. A sandbox account given a password of its own, or deactivated,
is no longer that door.
"""

import asyncio
import contextlib
import dataclasses
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.auth.models import StaffUser
from app.core.auth.passwords import hash_password
from app.core.production import (
    DEFAULT_SANDBOX_PASSWORD,
    refuse_sandbox_passwords,
    sandbox_staff_on_known_passwords,
)
from app.core.seed import USERS
from app.db import Database
from app.settings import ImproperlyConfigured

SANDBOX_EMAILS = sorted({user.email for user in USERS})


@pytest.fixture
def production(settings):  # type: ignore[no-untyped-def]
    return dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, production=True)
    )


async def test_a_seeded_sandbox_refuses_to_start_in_production(production, database_ready):
    db = Database(production.database)
    try:
        with pytest.raises(ImproperlyConfigured) as refused:
            await refuse_sandbox_passwords(db, production)
    finally:
        await db.dispose()
    message = str(refused.value)
    assert "BRANCHDESK_PRODUCTION" in message
    assert "admin@demo.bank (demo_bank)" in message
    assert "Deactivate them" in message and "DATABASE_URL" in message


async def start_up(app: Any) -> dict[str, Any]:
    """Drive ``app``'s ASGI lifespan as a server does; the answer to ``lifespan.startup``."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    running = asyncio.create_task(app(scope, inbox.get, answers.put))
    answered = asyncio.create_task(answers.get())
    await asyncio.wait({running, answered}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if not answered.done():
        answered.cancel()
        # Raised without a word: a server takes that for "no lifespan support" and serves.
        return {"type": "raised", "message": repr(running.exception()) if running.done() else ""}
    answer = answered.result()
    if answer["type"] == "lifespan.startup.complete":
        await inbox.put({"type": "lifespan.shutdown"})
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(running, 30)
    return answer


@pytest.mark.parametrize("command", ["core", "run"])
async def test_the_server_does_not_start_on_it(production, core_app, command):
    """As ``branchdesk core`` (the core alone) and ``branchdesk run`` (core + console) start
    under uvicorn: a start-up that raises instead of saying "failed" would be taken for
    an app without lifespan support, and served anyway."""
    from app.console.app import create_app as create_console
    from app.core.app import create_app as create_core
    from app.server import Server

    core = create_core(production)
    console = create_console(production) if command == "run" else None
    app = core if console is None else Server(core, console, with_worker=False)
    try:
        answer = await start_up(app)
    finally:
        await core.state.services.close()
        if console is not None:
            from app.console.state import console_state

            await console_state(console).close()
    assert answer["type"] == "lifespan.startup.failed"
    assert "sandbox staff still sign in" in answer["message"]


async def test_sandbox_staff_with_passwords_of_their_own_pass(production, database_ready):
    """Checked inside a transaction that is rolled back: the suite's sandbox is untouched."""
    db = Database(production.database)
    try:
        async with db.session() as session:
            found = await sandbox_staff_on_known_passwords(session, production)
            assert ("admin@demo.bank", "demo_bank") in found

            # Half get passwords of their own, the others are deactivated.
            own = hash_password("a-password-of-their-own-2026")
            changed = SANDBOX_EMAILS[::2]
            await session.execute(
                sa.update(StaffUser)
                .where(col(StaffUser.email).in_(changed))
                .values(password_hash=own)
            )
            await session.execute(
                sa.update(StaffUser)
                .where(col(StaffUser.email).in_(SANDBOX_EMAILS[1::2]))
                .values(is_active=False)
            )
            assert await sandbox_staff_on_known_passwords(session, production) == []

            # One left on the public password is enough to refuse.
            await session.execute(
                sa.update(StaffUser)
                .where(col(StaffUser.email) == "teller@fmfb.bank")
                .values(password_hash=hash_password(DEFAULT_SANDBOX_PASSWORD), is_active=True)
            )
            assert await sandbox_staff_on_known_passwords(session, production) == [
                ("teller@fmfb.bank", "fmfb")
            ]
            await session.rollback()
    finally:
        await db.dispose()


async def test_a_configured_sandbox_password_counts_too(production, database_ready):
    """Whatever SANDBOX_PASSWORD the sandbox was seeded with is as known as the default."""
    configured = dataclasses.replace(production, sandbox_password="Another#Sandbox1")
    db = Database(production.database)
    try:
        async with db.session() as session:
            await session.execute(
                sa.update(StaffUser)
                .where(col(StaffUser.email) == "viewer@demo.bank")
                .values(password_hash=hash_password("Another#Sandbox1"))
            )
            found = await sandbox_staff_on_known_passwords(session, configured)
            assert ("viewer@demo.bank", "demo_bank") in found
            await session.rollback()
    finally:
        await db.dispose()

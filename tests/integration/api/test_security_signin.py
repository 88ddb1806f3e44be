"""Security review (issue 10), findings 3-5: the sign-in throttle, the lockout, the writer.

3. The failed-sign-in bucket is reserved atomically before the password is checked, and
   every spelling of the sign-in path lands in it.
4. The lockout counter is one atomic ``UPDATE``: concurrent wrong passwords all count.
5. Password checks run outside the embedded mode's single writer: money keeps moving
   while a burst of bad sign-ins is being checked.
"""

import asyncio
import dataclasses
import statistics
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.app import create_app
from app.core.audit.models import AuditLog
from app.core.auth.models import StaffUser
from tests.integration.api.ledger_helpers import deposit, expect, open_account
from tests.integration.api.test_auth_flows import make_user
from tests.support import API, headers

LIMIT = 5


@pytest.fixture
async def login_throttled_core(settings, database_ready):  # type: ignore[no-untyped-def]
    """A core app of its own allowing 5 failed sign-ins per address, sharing the database."""
    limits = dataclasses.replace(settings.rate_limit, failed_logins_per_ip=LIMIT)
    # The buckets are clock-aligned windows: a test that straddled a window's end would
    # see its count restart halfway. Start well inside one.
    window = limits.failed_login_window_seconds
    left = window - time.time() % window
    if left < 60:
        await asyncio.sleep(left + 0.5)
    app = create_app(dataclasses.replace(settings, rate_limit=limits))
    await app.state.services.limiter.reset()
    yield app
    await app.state.services.limiter.reset()
    await app.state.services.close()


def client_for(app, ip: str) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def fresh_ip() -> str:
    return f"10.77.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


async def login_failures_audited(core_app, email: str) -> int:  # type: ignore[no-untyped-def]
    async with core_app.state.services.db.session() as session:
        count = await session.execute(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .where(col(AuditLog.actor_email) == email, col(AuditLog.action) == "auth.login_failed")
        )
        return int(count.scalar_one())


# -- 3: the throttle ----------------------------------------------------------------------


async def test_concurrent_bad_sign_ins_never_pass_the_limit(login_throttled_core):
    """Twenty bad sign-ins at once from one address: at most 5 reach the password check."""
    email = f"nobody-{uuid.uuid4().hex}@demo.bank"
    async with client_for(login_throttled_core, fresh_ip()) as client:
        responses = await asyncio.gather(
            *[
                client.post(
                    f"{API}/auth/login",
                    json={"email": email, "password": f"guess-{i}"},
                    headers=headers(),
                )
                for i in range(20)
            ]
        )
    codes = [r.json()["code"] for r in responses]
    assert codes.count("INVALID_CREDENTIALS") == LIMIT, codes
    assert codes.count("RATE_LIMIT_EXCEEDED") == 20 - LIMIT, codes
    assert await login_failures_audited(login_throttled_core, email) == LIMIT


SIGN_IN_SPELLINGS = [
    f"{API}/auth/login/",
    f"{API}//auth/login",
    f"{API}/auth//login",
    f"{API}/auth/login//",
    "/api/v1//cba/auth/login",
    f"//{API.lstrip('/')}/auth/login",
    f"{API}/auth/%2E%2E/auth/login",
    f"{API}/schema/%2E%2E/auth/login",
    f"{API}/auth/./login",
    "/API/v1/cba/auth/login",
]


@pytest.mark.parametrize("bearer", [False, True], ids=["anonymous", "with-a-token"])
async def test_no_spelling_of_the_sign_in_path_escapes_the_bucket(
    login_throttled_core, tokens, bearer
):
    """Once the address's bucket is full, every path that reaches sign-in is refused.

    The attacker holds a token of their own (any staff member's) in the second case: the
    token-exempt check once matched only the exact path, so a bearer token carried the
    other spellings through authentication to the handler, past the sign-in bucket.
    """
    token = await tokens.for_role("viewer") if bearer else None
    email = f"nobody-{uuid.uuid4().hex}@demo.bank"
    body = {"email": email, "password": "guess"}
    async with client_for(login_throttled_core, fresh_ip()) as client:
        answers = []
        for path in [f"{API}/auth/login", *SIGN_IN_SPELLINGS] * 2:
            # Absolute, or httpx would read "//api/..." as a host name.
            url = f"http://testserver{path}"
            response = await client.post(url, json=body, headers=headers(token))
            answers.append((path, response.status_code, response.json()["code"]))
    checked = [a for a in answers if a[2] == "INVALID_CREDENTIALS"]
    assert len(checked) == LIMIT, answers
    after_full = answers[answers.index(checked[-1]) + 1 :]
    # Refused by the bucket, or no route at all ("/API/..."; anonymous, that is refused
    # for want of a token first): never a password check.
    stopped = {
        (429, "RATE_LIMIT_EXCEEDED"),
        (404, "RESOURCE_NOT_FOUND"),
        (401, "UNAUTHORIZED"),
    }
    for path, status, code in after_full:
        assert (status, code) in stopped, (path, status, code)
    assert any(code == "RATE_LIMIT_EXCEEDED" for _, _, code in after_full)
    assert await login_failures_audited(login_throttled_core, email) == LIMIT


async def test_successful_sign_ins_are_not_counted(login_throttled_core, core_app):
    email, password = await make_user(core_app)
    async with client_for(login_throttled_core, fresh_ip()) as client:

        async def sign_in(secret: str) -> str:
            response = await client.post(
                f"{API}/auth/login", json={"email": email, "password": secret}, headers=headers()
            )
            code: str = response.json().get("code", "OK")
            return code

        assert [await sign_in("wrong") for _ in range(LIMIT - 1)] == ["INVALID_CREDENTIALS"] * 4
        # Reset the account's own lockout count between rounds (success does).
        assert [await sign_in(password) for _ in range(3)] == ["OK"] * 3
        assert await sign_in("wrong") == "INVALID_CREDENTIALS"
        assert await sign_in("wrong") == "RATE_LIMIT_EXCEEDED"
        assert await sign_in(password) == "RATE_LIMIT_EXCEEDED"


async def test_open_and_token_exempt_checks_see_the_canonical_path(api):
    """An operational path with a trailing slash is still open, not a 401 or a bypass."""
    for path in ("/health/", "//health", "/.well-known//jwks.json"):
        response = await api.get(f"http://testserver{API}{path}")
        assert response.status_code == 200, (path, response.text)
    # A protected route reached through an open prefix is still protected.
    response = await api.get(f"http://testserver{API}/schema/%2E%2E/tenant")
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHORIZED")


# -- 4: the lockout counter ---------------------------------------------------------------


async def test_concurrent_wrong_passwords_all_count_and_lock(api, core_app, settings):
    email, password = await make_user(core_app)
    responses = await asyncio.gather(
        *[
            api.post(
                "/auth/login",
                json={"email": email, "password": f"wrong-{i}"},
                headers=headers(),
            )
            for i in range(20)
        ]
    )
    codes = [r.json()["code"] for r in responses]
    assert set(codes) <= {"INVALID_CREDENTIALS", "ACCOUNT_LOCKED"}, codes
    async with core_app.state.services.db.session() as session:
        user = (
            await session.execute(sa.select(StaffUser).where(col(StaffUser.email) == email))
        ).scalar_one()
        locks = await session.execute(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .where(
                col(AuditLog.actor_email) == email, col(AuditLog.action) == "auth.account_locked"
            )
        )
    # Every wrong password that was checked counted: no update was lost.
    assert user.failed_login_count == codes.count("INVALID_CREDENTIALS")
    assert user.failed_login_count >= settings.auth.lockout_threshold
    assert user.locked_until is not None
    assert locks.scalar_one() == 1  # one lock, announced once
    locked = await api.post(
        "/auth/login", json={"email": email, "password": password}, headers=headers()
    )
    assert (locked.status_code, locked.json()["code"]) == (403, "ACCOUNT_LOCKED")


# -- 5: password checks and the writer ----------------------------------------------------


async def test_a_deposit_is_not_held_up_by_a_burst_of_bad_sign_ins(api, tokens):
    account = await open_account(api, tokens)

    async def timed_deposit() -> float:
        started = time.perf_counter()
        expect(await deposit(api, tokens, account["id"], "10.00"), 201)
        return time.perf_counter() - started

    await timed_deposit()  # warm the path (token, caches)
    alone = statistics.median([await timed_deposit() for _ in range(3)])

    async def bad_sign_in(i: int) -> str:
        response = await api.post(
            "/auth/login",
            json={"email": f"burst-{uuid.uuid4().hex}@demo.bank", "password": f"guess-{i}"},
            headers=headers(),
        )
        code: str = response.json()["code"]
        return code

    burst = [asyncio.create_task(bad_sign_in(i)) for i in range(30)]
    await asyncio.sleep(0.3)  # the burst is under way: its checks queue one after another
    during = await timed_deposit()
    codes = await asyncio.gather(*burst)
    assert codes == ["INVALID_CREDENTIALS"] * 30
    # Alone a deposit takes tens of milliseconds; behind the burst's 30 Argon2 checks
    # (~0.2 s each here) it took seconds. A generous bound for a loaded 2-core machine.
    assert during <= 5 * alone + 0.75, (during, alone)

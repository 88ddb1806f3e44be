"""Test helpers shared by the suites (no fixtures here: conftest owns those)."""

import asyncio
import uuid
from typing import Any

import httpx

API = "/api/v1/cba"
SANDBOX_PASSWORD = "Sandbox#2026"
TENANT = "demo_bank"
OTHER_TENANT = "fmfb"

ROLE_USERS = {
    "viewer": ("viewer@demo.bank", TENANT),
    "teller": ("teller@demo.bank", TENANT),
    "officer": ("officer@demo.bank", TENANT),
    "manager": ("manager@demo.bank", TENANT),
    "admin": ("admin@demo.bank", TENANT),
    "other_tenant": ("admin@fmfb.bank", OTHER_TENANT),
}


def prepare_database(settings: Any) -> None:
    """Empty the test database, migrate it to the heads and seed the sandbox."""
    import sqlalchemy as sa

    from app.__main__ import db_upgrade, seed_demo

    url = settings.database.url
    if url.startswith("postgresql"):

        async def reset() -> None:
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(url)
            async with engine.begin() as conn:
                await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                await conn.execute(sa.text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(reset())
    if settings.redis.url:
        import redis

        redis.Redis.from_url(settings.redis.url).flushdb()
    db_upgrade(settings)
    seed_demo(settings)


def headers(token: str | None = None, tenant: str | None = TENANT, **extra: str) -> dict[str, str]:
    result: dict[str, str] = {}
    if token:
        result["Authorization"] = f"Bearer {token}"
    if tenant:
        result["X-Tenant-ID"] = tenant
    result.update(extra)
    return result


def new_key() -> str:
    return f"test-{uuid.uuid4().hex}"


class TokenCache:
    """Signs each sandbox user in once per run (Argon2 is deliberately slow)."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api
        self._tokens: dict[str, dict[str, Any]] = {}

    async def login(
        self, email: str, tenant: str = TENANT, password: str = SANDBOX_PASSWORD
    ) -> dict[str, Any]:
        response = await self.api.post(
            "/auth/login",
            json={"email": email, "password": password},
            headers=headers(None, tenant),
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def for_role(self, role: str) -> str:
        if role not in self._tokens:
            email, tenant = ROLE_USERS[role]
            self._tokens[role] = await self.login(email, tenant)
        token: str = self._tokens[role]["access_token"]
        return token

    async def headers_for(self, role: str, **extra: str) -> dict[str, str]:
        tenant = OTHER_TENANT if role == "other_tenant" else TENANT
        return headers(await self.for_role(role), tenant, **extra)

"""Fixtures for the client tests: a mock transport, a fake clock and a recording sleep."""

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from client_fakes import BASE_URL, FakeTime, Handler

from app.client import BankingClient


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def make_client(fake_time: FakeTime) -> AsyncIterator[Callable[..., BankingClient]]:
    clients: list[BankingClient] = []

    def build(handler: Handler, **kwargs: Any) -> BankingClient:
        options: dict[str, Any] = {
            "tenant_id": "demo_bank",
            "transport": httpx.MockTransport(handler),
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            "rng": random.Random(7),
            **kwargs,
        }
        client = BankingClient(BASE_URL, **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()

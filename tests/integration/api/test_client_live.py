"""The typed client over a real socket: ``python -m app core`` and the client's own transport.

The contract tests (``test_client_contract``) run in process; this one sends every read
through the keep-alive wire transport the console uses in production, so the bytes the
models decode are the bytes a real core writes.
"""

from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal

import pytest

from app.client import (
    Account,
    ApprovalsView,
    BankingClient,
    Chart,
    Customer,
    Journal,
    Tenant,
    TrialBalance,
    User,
)
from tests.live_server import LiveServer
from tests.support import SANDBOX_PASSWORD, TENANT


@pytest.fixture(scope="module")
def core_server(database_ready) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer(command="core").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def live(core_server) -> AsyncIterator[BankingClient]:  # type: ignore[no-untyped-def]
    async with BankingClient(core_server.api_url, TENANT) as client:
        yield client


async def test_each_page_family_reads_through_its_model_over_http(live):
    admin = (await live.login("admin@demo.bank", SANDBOX_PASSWORD)).access_token
    tenant = await live.get("/tenant", model=Tenant, token=admin)
    assert isinstance(tenant.business_date, date)
    assert isinstance(tenant.settings.teller_approval_limit, Decimal)

    accounts = [a async for a in live.paginate("/accounts", model=Account, token=admin)]
    raw = [a async for a in live.paginate("/accounts", "accounts", token=admin)]
    assert [a.id for a in accounts] == [a["id"] for a in raw]
    assert [format(a.available_balance, "f") for a in accounts] == [
        a["available_balance"] for a in raw
    ]
    customer = await live.get(f"/customers/{accounts[0].customer_id}", model=Customer, token=admin)
    assert accounts[0].id in {a.id for a in customer.accounts}

    queue = await live.get("/views/approvals", model=ApprovalsView, token=admin)
    assert isinstance(queue.transactions_pending.has_more, bool)
    journals = await live.get_page("/journals", model=Journal, token=admin, page_size=5)
    assert all(j.created_at.tzinfo is not None for j in journals.items)

    trial = await live.get("/reports/trial-balance", model=TrialBalance, token=admin)
    assert trial.balanced and trial.total_debit == trial.total_credit
    chart = await live.get("/gl/accounts", model=Chart, token=admin)
    assert {node.category for node in chart.gl_accounts} >= {"ASSET", "LIABILITY"}
    users = await live.get_page("/users", model=User, token=admin)
    assert "admin@demo.bank" in {u.email for u in users.items}

"""R5: a Hypothesis state machine drives the real API beside an in-memory ledger model.

Each example opens four fresh accounts of one customer, then deposits, withdraws,
transfers, places and releases holds, freezes and unfreezes, and after every step
compares every account's ledger, hold and available balance with the model, and
expects the very refusals the model predicts (``INSUFFICIENT_FUNDS``,
``ACCOUNT_FROZEN``, ``INVALID_STATE``). After each example the statements' running
balances and the whole ledger's invariants are checked.

The machine is synchronous; the API client and the database engine belong to the
test session's event loop. So the machine runs in a worker thread and hands each
request to that loop (which keeps running while the test awaits the thread): every
coroutine runs on the loop that owns the client, the engine and the Redis pool.

Size: ``HYPOTHESIS_PROFILE`` picks ``default`` (25 examples × 8 steps, for
``make test``), ``ci`` (200 examples, R5's target) or ``soak`` (1,000 × 30).
"""

import asyncio
import os
from collections.abc import Coroutine
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.core.ledger.verify import verify_ledger
from tests.integration.api.ledger_helpers import (
    APPROVAL_LIMIT,
    assert_running_balances,
    h,
    make_customer,
    minor,
    money,
    open_account,
    statement,
    token,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")

PROFILES = {
    "default": {"max_examples": 25, "stateful_step_count": 8},
    "ci": {"max_examples": 200, "stateful_step_count": 10},
    "soak": {"max_examples": 1000, "stateful_step_count": 30},
}
SIZE = PROFILES.get(os.environ.get("HYPOTHESIS_PROFILE", "default"), PROFILES["default"])
SETTINGS = settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
    **SIZE,  # type: ignore[arg-type]
)
ACCOUNTS = 4
# Within the approval limit, so nothing waits for a checker.
AMOUNTS = st.one_of(
    st.integers(min_value=1, max_value=500),
    st.integers(min_value=1, max_value=200_000_00),
).filter(lambda v: v <= minor(APPROVAL_LIMIT))
INDEX = st.integers(min_value=0, max_value=ACCOUNTS - 1)


def machine_for(api: Any, tokens: Any, core_app: Any, loop: asyncio.AbstractEventLoop) -> type:
    def call(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    async def post(path: str, body: dict[str, Any], who: str, key: bool = False) -> Any:
        return await api.post(path, json=body, headers=await h(tokens, who, key=key))

    class LedgerModel(RuleBasedStateMachine):
        """The model: balance, holds and frozen flag per account (no overdrafts)."""

        @initialize(opening=st.lists(st.none() | AMOUNTS, min_size=ACCOUNTS, max_size=ACCOUNTS))
        def open_accounts(self, opening: list[int | None]) -> None:
            async def open_all() -> tuple[str, list[str]]:
                customer = await make_customer(api, tokens)
                ids = []
                for amount in opening:
                    initial = money(amount) if amount else None
                    opened = await open_account(
                        api, tokens, customer_id=customer["id"], initial_deposit=initial
                    )
                    ids.append(opened["id"])
                return customer["id"], ids

            self.customer_id, self.ids = call(open_all())
            self.ledger = [amount or 0 for amount in opening]
            self.holds: list[dict[str, int]] = [{} for _ in range(ACCOUNTS)]
            self.frozen = [False] * ACCOUNTS

        def available(self, i: int) -> int:
            return self.ledger[i] - sum(self.holds[i].values())

        def expected_debit(self, i: int, amount: int) -> str | None:
            if self.frozen[i]:
                return "ACCOUNT_FROZEN"
            if amount > self.available(i):
                return "INSUFFICIENT_FUNDS"
            return None

        def check(self, response: Any, refusal: str | None, status: int = 201) -> Any:
            body = response.json()
            if refusal is None:
                assert response.status_code == status, response.text
            else:
                assert (response.status_code, body.get("code")) == (
                    422 if refusal != "INVALID_STATE" else 409,
                    refusal,
                ), response.text
            return body

        # ---- rules -------------------------------------------------------------------

        @rule(i=INDEX, amount=AMOUNTS)
        def deposit(self, i: int, amount: int) -> None:
            body = {"account_id": self.ids[i], "amount": money(amount), "currency": "NGN"}
            made = self.check(call(post("/deposits", body, "teller", key=True)), None)
            self.ledger[i] += amount  # credits reach a frozen account too
            assert minor(made["balance_after"]) == self.ledger[i]

        def richest(self) -> int:
            return max(range(ACCOUNTS), key=self.available)

        @rule(i=INDEX, amount=AMOUNTS, whole=st.booleans())
        def withdraw(self, i: int, amount: int, whole: bool) -> None:
            if whole and self.available(self.richest()) > 0:
                i = self.richest()  # all that is available, to the last kobo
                amount = min(self.available(i), minor(APPROVAL_LIMIT))
            body = {"account_id": self.ids[i], "amount": money(amount), "currency": "NGN"}
            refusal = self.expected_debit(i, amount)
            made = self.check(call(post("/withdrawals", body, "teller", key=True)), refusal)
            if refusal is None:
                self.ledger[i] -= amount
                assert minor(made["balance_after"]) == self.ledger[i]

        @rule(i=INDEX, j=INDEX, amount=AMOUNTS, whole=st.booleans())
        def transfer(self, i: int, j: int, amount: int, whole: bool) -> None:
            if whole and self.available(self.richest()) > 0:
                i = self.richest()
                amount = min(self.available(i) + 1, minor(APPROVAL_LIMIT))  # a kobo too many
            if i == j:
                j = (i + 1) % ACCOUNTS
            body = {
                "source_account_id": self.ids[i],
                "destination_account_id": self.ids[j],
                "amount": money(amount),
                "currency": "NGN",
                "narration": "model",
            }
            refusal = self.expected_debit(i, amount)
            made = self.check(call(post("/transfers/internal", body, "officer", key=True)), refusal)
            if refusal is None:
                self.ledger[i] -= amount
                self.ledger[j] += amount
                assert minor(made["balance_after"]) == self.ledger[i]

        @rule(i=INDEX, amount=AMOUNTS)
        def place_hold(self, i: int, amount: int) -> None:
            body = {"amount": money(amount), "reason": "model hold"}
            hold = self.check(call(post(f"/accounts/{self.ids[i]}/holds", body, "officer")), None)
            self.holds[i][hold["id"]] = amount

        @precondition(lambda self: any(self.holds))
        @rule(data=st.data())
        def release_hold(self, data: st.DataObject) -> None:
            i = data.draw(st.sampled_from([k for k in range(ACCOUNTS) if self.holds[k]]))
            hold_id = data.draw(st.sampled_from(sorted(self.holds[i])))

            async def release() -> Any:
                return await api.delete(
                    f"/accounts/{self.ids[i]}/holds/{hold_id}", headers=await h(tokens, "officer")
                )

            released = self.check(call(release()), None, status=200)
            assert released["status"] == "RELEASED"
            del self.holds[i][hold_id]

        @rule(i=INDEX)
        def freeze(self, i: int) -> None:
            refusal = "INVALID_STATE" if self.frozen[i] else None
            path = f"/accounts/{self.ids[i]}/freeze"
            self.check(call(post(path, {"reason": "model"}, "officer")), refusal, status=200)
            self.frozen[i] = True

        @rule(i=INDEX)
        def unfreeze(self, i: int) -> None:
            refusal = None if self.frozen[i] else "INVALID_STATE"
            path = f"/accounts/{self.ids[i]}/unfreeze"
            self.check(call(post(path, {"reason": "model"}, "officer")), refusal, status=200)
            self.frozen[i] = False

        # ---- after every step ----------------------------------------------------------

        @invariant()
        def balances_match(self) -> None:
            if not hasattr(self, "ids"):
                return

            async def listing() -> Any:
                return await api.get(
                    "/accounts",
                    params={"customer_id": self.customer_id},
                    headers=await h(tokens, "viewer"),
                )

            response = call(listing())
            assert response.status_code == 200, response.text
            seen = {a["id"]: a for a in response.json()["accounts"]}
            for i, account_id in enumerate(self.ids):
                real = seen[account_id]
                expected = (
                    self.ledger[i],
                    sum(self.holds[i].values()),
                    self.available(i),
                    "FROZEN" if self.frozen[i] else "ACTIVE",
                )
                actual = (
                    minor(real["ledger_balance"]),
                    minor(real["hold_amount"]),
                    minor(real["available_balance"]),
                    real["status"],
                )
                assert actual == expected, (i, actual, expected)
                assert self.ledger[i] >= 0

        def teardown(self) -> None:
            if not hasattr(self, "ids"):
                return

            async def final_checks() -> None:
                for account_id in self.ids:
                    assert_running_balances(await statement(api, tokens, account_id))
                async with core_app.state.services.db.session() as session:
                    report = await verify_ledger(session)
                assert report.ok, report.breaches

            call(final_checks())

    return LedgerModel


async def test_api_agrees_with_the_ledger_model(api, tokens, core_app):
    for who in ("viewer", "teller", "officer"):  # sign in once, on this loop
        await token(tokens, who)
    machine = machine_for(api, tokens, core_app, asyncio.get_running_loop())
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=SETTINGS)

"""``post_once``: a key still in progress is waited for, but only within a budget.

A key can stay "in progress" for a minute when the core process running its first request
died (the claim stands until it is stale). Each call already waits out the core's
Retry-After inside the shared client, so the console's own pauses between calls stop at
``IN_PROGRESS_BUDGET_SECONDS`` and the teller is told, instead of a button spinning for
ten calls.
"""

import asyncio
import time
from typing import Any

import pytest

from app.client import BankingAPIConflict
from app.console import writes


class SlowCore:
    """Answers ``409 IDEMPOTENCY_IN_PROGRESS`` ``busy`` times (each after ``delay`` s, as
    the client's own retries take), then the recorded answer."""

    def __init__(
        self, busy: int, delay: float = 0.0, code: str = "IDEMPOTENCY_IN_PROGRESS"
    ) -> None:
        self.busy = busy
        self.delay = delay
        self.code = code  # the conflict it answers while busy
        self.calls = 0

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any],
        idempotency_key: str,
        model: type[Any] | None = None,
    ) -> Any:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.calls <= self.busy:
            raise BankingAPIConflict(self.code, "still running", 409, retry_after=1.0)
        return {"transaction_ref": "TX1", "key": idempotency_key}


async def test_waits_for_a_first_request_that_finishes() -> None:
    core = SlowCore(busy=2)
    answer = await writes.post_once(core, "/deposits", {}, "console-k")  # type: ignore[arg-type]
    assert answer == {"transaction_ref": "TX1", "key": "console-k"}
    assert core.calls == 3


async def test_gives_up_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writes, "IN_PROGRESS_BUDGET_SECONDS", 0.5)
    core = SlowCore(busy=100, delay=0.2)
    started = time.monotonic()
    with pytest.raises(BankingAPIConflict) as raised:
        await writes.post_once(core, "/deposits", {}, "console-k")  # type: ignore[arg-type]
    assert raised.value.code == "IDEMPOTENCY_IN_PROGRESS"
    # 0.2 s call, 0.1 s pause, 0.2 s call; a 0.2 s pause would pass the budget: told.
    assert core.calls == 2
    assert time.monotonic() - started < 1.0


async def test_other_conflicts_are_not_waited_for() -> None:
    core = SlowCore(busy=100, code="IDEMPOTENCY_CONFLICT")
    with pytest.raises(BankingAPIConflict):
        await writes.post_once(core, "/deposits", {}, "console-k")  # type: ignore[arg-type]
    assert core.calls == 1

"""The processes' log lines: JSON with level, UTC time and the request's ID; quiet below
LOG_LEVEL."""

import json
from collections.abc import Iterator

import pytest
import structlog

from app.logging_setup import configure_logging
from app.settings import LoggingSettings


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    yield
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def test_json_lines_carry_level_time_and_the_bound_request_id(capsys) -> None:
    configure_logging(LoggingSettings(format="json", level="info"))
    structlog.contextvars.bind_contextvars(request_id="req-123")
    structlog.get_logger("test").info("teller.deposit", amount="5000.00")
    [line] = capsys.readouterr().out.splitlines()
    entry = json.loads(line)
    assert entry["event"] == "teller.deposit"
    assert entry["amount"] == "5000.00"
    assert entry["level"] == "info"
    assert entry["request_id"] == "req-123"
    assert entry["timestamp"].endswith("Z")


def test_lines_below_the_level_are_dropped(capsys) -> None:
    configure_logging(LoggingSettings(format="json", level="warning"))
    log = structlog.get_logger("test")
    log.info("not.shown")
    log.warning("shown")
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["shown"]

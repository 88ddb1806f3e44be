"""One structlog set-up for every process (core, console, worker, the embedded ``run``).

Production logs are one JSON object per line on stdout, for a log shipper; on a developer's
machine they are coloured console lines. Every line carries its level, a UTC timestamp and
what the request bound (``request_id``), so a line can be joined to the audit trail. Lines
below ``LOG_LEVEL`` are dropped before any work is done on them.
"""

import logging
import sys

import structlog

from app.settings import LoggingSettings

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(config: LoggingSettings) -> None:
    """Set structlog up for this process (idempotent: the last call wins)."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if config.format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[config.level]),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    # The shared client logs every core call itself (with request ID, tenant and attempt);
    # httpx's own line per request would say the same thing again, less usefully.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

"""The console action log: who did what from the console, joined to the core by request ID.

Rows are written through the console's own SQLModel session (``app.db.Database``), never
through the core: the log must survive, and make sense, even when the core refused the
call. A failure to write is logged loudly but does not turn a finished action into an error
page: the core's own audit trail still holds the action.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import structlog
from litestar import Request
from sqlmodel import col

from app.console.models import ConsoleActionLog
from app.console.security import client_ip, request_id, user_agent
from app.db import Database

logger = structlog.get_logger("branchdesk.console")

SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
SIGN_OUT = "auth.sign_out"


@dataclass(frozen=True)
class Actor:
    """Who acted, as far as the console knows (a failed sign-in knows only the email)."""

    user_id: str | None = None
    email: str | None = None
    role: str | None = None
    tenant: str | None = None


class ActionLog:
    """Writes :class:`ConsoleActionLog` rows."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(
        self,
        request: Request,  # type: ignore[type-arg]
        *,
        action: str,
        actor: Actor,
        outcome: str,
        target: str | None = None,
        error_code: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Append one row for ``action`` taken during ``request``."""
        row = ConsoleActionLog(
            user_id=actor.user_id,
            user_email=actor.email[:254] if actor.email else None,
            role=actor.role,
            tenant=actor.tenant[:64] if actor.tenant else None,
            action=action,
            target=target[:200] if target else None,
            request_id=request_id(request.scope),
            idempotency_key=idempotency_key,
            outcome=outcome,
            error_code=error_code[:60] if error_code else None,
            ip=client_ip(request.scope),
            user_agent=user_agent(request.scope),
        )
        try:
            async with self._database.writer(), self._database.session() as session:
                session.add(row)
                await session.commit()
        except Exception:
            logger.exception("console.action_log_failed", action=action, request_id=row.request_id)

    async def last_sent(
        self, *, tenant: str, user_id: str, key: str, since: datetime
    ) -> ConsoleActionLog | None:
        """The newest row of a write ``user_id`` sent under idempotency ``key`` since
        ``since``: the console's lasting record that it went out (the draft that held the
        key lives in Redis, and goes when Redis restarts). The tenant and time bound keep
        it on the log's (tenant, at) index."""
        query = (
            sa.select(ConsoleActionLog)
            .where(
                col(ConsoleActionLog.tenant) == tenant,
                col(ConsoleActionLog.at) >= since,
                col(ConsoleActionLog.user_id) == user_id,
                col(ConsoleActionLog.idempotency_key) == key,
            )
            .order_by(col(ConsoleActionLog.at).desc())
            .limit(1)
        )
        async with self._database.session() as session:
            row: ConsoleActionLog | None = (await session.execute(query)).scalars().first()
        return row

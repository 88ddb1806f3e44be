"""Appending audit records in the caller's transaction, and reading the trail."""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit.models import AuditLog
from app.core.audit.responses import AuditRecord
from app.core.common import iso
from app.core.context import RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.db import utcnow

# What a record keeps of an entity before and after: its answer model, or plain members.
Snapshot = dict[str, Any] | msgspec.Struct


def record(
    session: AsyncSession,
    ctx: RequestContext,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: object | None = None,
    outcome: str = "success",
    before: Snapshot | None = None,
    after: Snapshot | None = None,
    tenant_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    actor_email: str | None = None,
) -> AuditLog:
    """Append one record: who (from the token unless given), what, to what, and how it went."""
    entry = AuditLog(
        **record_values(
            ctx,
            action,
            entity_type=entity_type,
            entity_id=entity_id,
            outcome=outcome,
            before=before,
            after=after,
            tenant_id=tenant_id,
            actor_id=actor_id,
            actor_email=actor_email,
        )
    )
    session.add(entry)
    return entry


def record_values(
    ctx: RequestContext,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: object | None = None,
    outcome: str = "success",
    before: Snapshot | None = None,
    after: Snapshot | None = None,
    tenant_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    actor_email: str | None = None,
) -> dict[str, Any]:
    """The column values of one record, for callers that insert many at once (the
    transfer path's ``LedgerWrites``): exactly what :func:`record` stores."""
    principal = ctx.principal
    return {
        "tenant_id": tenant_id or (ctx.tenant.id if ctx.tenant else None),
        "at": utcnow(),
        "actor_id": actor_id or (principal.user_id if principal else None),
        "actor_email": actor_email or (principal.email if principal else None),
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id) if entity_id is not None else None,
        "request_id": ctx.request_id,
        "ip": ctx.client_ip,
        "outcome": outcome,
        "before": _plain(before),
        "after": _plain(after),
    }


def _plain(snapshot: Snapshot | None) -> dict[str, Any] | None:
    """A snapshot as the JSON column stores it (an answer model as its wire members)."""
    if isinstance(snapshot, msgspec.Struct):
        plain: dict[str, Any] = msgspec.to_builtins(snapshot)
        return plain
    return snapshot


# -- reading the trail ------------------------------------------------------------------

_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?$")
_ENTITY_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
OUTCOMES = ("success", "failure", "locked", "revoked")


@dataclass(frozen=True)
class AuditFilters:
    """The query of ``GET /audit-logs``, checked: every field narrows the tenant's trail."""

    actor_id: uuid.UUID | None = None
    actor_email: str | None = None
    action: str | None = None
    action_prefix: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    request_id: str | None = None
    outcome: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def _bad(
    field: str, reason: str, value: str, code: DetailCode = DetailCode.INVALID_FORMAT
) -> dict[str, Any]:
    return detail(field, code, reason, value[:80])


def _instant(raw: str, field: str, *, end_of_day: bool, zone: tzinfo) -> datetime | dict[str, Any]:
    """An RFC 3339 time, or a date: the first instant of that day in ``zone`` (for ``to``,
    the last), in UTC."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if end_of_day:
                after = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
                return after.astimezone(UTC) - timedelta(microseconds=1)
            return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is None:
            return _bad(field, "an RFC 3339 time needs its offset (Z or ±hh:mm)", raw)
        return moment.astimezone(UTC)
    except ValueError:
        return _bad(field, "not a YYYY-MM-DD date or an RFC 3339 time", raw)
    except OverflowError:  # year 1 (or 9999) moved across the zone's offset
        return _bad(field, "outside the years 1-9999 in UTC", raw, DetailCode.OUT_OF_RANGE)


def parse_filters(
    *,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    request_id: str | None = None,
    outcome: str | None = None,
    from_: str | None = None,
    to: str | None = None,
    zone: tzinfo = UTC,
) -> AuditFilters:
    """Check every filter at once; ``VALIDATION_ERROR`` lists each bad one.

    ``actor`` is a staff user's (or API key's) ID, or an email address matched exactly
    (case-insensitively). ``action`` is a dotted verb, or a family ending in ``.*``
    (``journal.*``). ``from``/``to`` are dates (whole days in ``zone``, the tenant's
    timezone, as its business date) or RFC 3339 times, both inclusive.
    """
    errors: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    if actor:
        actor = actor.strip()
        try:
            values["actor_id"] = uuid.UUID(actor)
        except ValueError:
            if len(actor) > 254 or any(c.isspace() for c in actor):
                errors.append(_bad("actor", "a user ID or an email address", actor))
            else:
                values["actor_email"] = actor.lower()
    if action:
        if len(action) > 80 or not _ACTION.match(action):
            errors.append(_bad("action", "a dotted verb like journal.posted, or journal.*", action))
        elif action.endswith(".*"):
            values["action_prefix"] = action[:-1]
        else:
            values["action"] = action
    if entity_type:
        if not _ENTITY_TYPE.match(entity_type):
            errors.append(_bad("entity_type", "lower-case letters, digits and _", entity_type))
        else:
            values["entity_type"] = entity_type
    for field, raw, limit in (("entity_id", entity_id, 80), ("request_id", request_id, 128)):
        if raw:
            if len(raw) > limit:
                errors.append(_bad(field, f"at most {limit} characters", raw, DetailCode.TOO_LONG))
            else:
                values[field] = raw
    if outcome:
        if outcome not in OUTCOMES:
            errors.append(
                _bad("outcome", f"one of {', '.join(OUTCOMES)}", outcome, DetailCode.INVALID_CHOICE)
            )
        else:
            values["outcome"] = outcome
    for field, raw, key, end_of_day in (("from", from_, "start", False), ("to", to, "end", True)):
        if raw:
            parsed = _instant(raw.strip(), field, end_of_day=end_of_day, zone=zone)
            if isinstance(parsed, dict):
                errors.append(parsed)
            else:
                values[key] = parsed
    if not errors and values.get("start") and values.get("end") and values["start"] > values["end"]:
        errors.append(_bad("to", "must not be before from", to or "", DetailCode.INVALID))
    if errors:
        names = ", ".join(e["field"] for e in errors)
        raise ApiError("VALIDATION_ERROR", f"Check the filters: {names}.", errors)
    return AuditFilters(**values)


def trail_query(tenant_id: uuid.UUID, filters: AuditFilters) -> sa.Select[Any]:
    """The tenant's records matching ``filters`` (unordered; the page orders by ID)."""
    query = sa.select(AuditLog).where(col(AuditLog.tenant_id) == tenant_id)
    if filters.actor_id is not None:
        query = query.where(col(AuditLog.actor_id) == filters.actor_id)
    if filters.actor_email is not None:
        query = query.where(sa.func.lower(col(AuditLog.actor_email)) == filters.actor_email)
    if filters.action is not None:
        query = query.where(col(AuditLog.action) == filters.action)
    if filters.action_prefix is not None:
        query = query.where(col(AuditLog.action).startswith(filters.action_prefix, autoescape=True))
    if filters.entity_type is not None:
        query = query.where(col(AuditLog.entity_type) == filters.entity_type)
    if filters.entity_id is not None:
        query = query.where(col(AuditLog.entity_id) == filters.entity_id)
    if filters.request_id is not None:
        query = query.where(col(AuditLog.request_id) == filters.request_id)
    if filters.outcome is not None:
        query = query.where(col(AuditLog.outcome) == filters.outcome)
    if filters.start is not None:
        query = query.where(col(AuditLog.at) >= filters.start)
    if filters.end is not None:
        query = query.where(col(AuditLog.at) <= filters.end)
    return query


def audit_log_body(entry: AuditLog) -> AuditRecord:
    """One record as ``GET /audit-logs`` shows it; ``before``/``after`` are null when absent."""
    assert entry.id is not None  # a stored record
    return AuditRecord(
        id=entry.id,
        at=iso(entry.at),
        actor_id=str(entry.actor_id) if entry.actor_id else None,
        actor_email=entry.actor_email,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        request_id=entry.request_id,
        ip=entry.ip,
        outcome=entry.outcome,
        before=entry.before,
        after=entry.after,
    )

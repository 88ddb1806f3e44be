"""Webhook subscriptions and their delivery log: the admin's rules, each write audited."""

import secrets
import uuid
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.common import iso, parse_id
from app.core.context import Principal, RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.pagination import keyset_slice
from app.core.webhooks import responses as answers
from app.core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from app.core.webhooks.schemas import WebhookCreate, WebhookUpdate
from app.core.webhooks.sealing import SecretUnreadable as SealedElsewhere
from app.core.webhooks.sealing import open_secret, seal_secret
from app.core.webhooks.targets import (
    INTERNAL,
    Resolver,
    Target,
    TargetRefused,
    checked_address,
    is_allowed,
    refuse_internal_host,
    system_resolver,
)
from app.db import new_id, utcnow
from app.settings import WebhookSettings

Sent = TypeVar("Sent")

SECRET_PREFIX = "whsec_"
PENDING, DELIVERED, FAILED, CANCELLED = "PENDING", "DELIVERED", "FAILED", "CANCELLED"
DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED, CANCELLED)


def new_webhook_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


# -- the deployment's URL policy ---------------------------------------------------------


async def check_url_policy(
    url: str, settings: WebhookSettings, field: str = "url", resolver: Resolver | None = None
) -> None:
    """Public addresses only, in every mode, unless the allow-list names the target (the
    console's receiver); HTTPS only when the deployment says so (production)."""
    try:
        target = Target.parse(url)
    except TargetRefused as exc:
        # The HTTP client cannot use it, but a resolver could (``0177.0.0.1``): say why.
        try:
            refuse_internal_host(urlsplit(url).hostname or "")
        except TargetRefused as internal:
            raise _refused(
                "Webhook URLs must point at a public address.",
                field,
                DetailCode.PRIVATE_ADDRESS,
                internal.reason,
                url,
                status=422,
            ) from None
        raise _refused(
            "Webhook URLs must be http or https URLs.",
            field,
            DetailCode.INVALID_FORMAT,
            exc.reason,
            url,
        ) from None
    listed = is_allowed(target, settings.allowed_targets)
    if settings.require_https and target.scheme != "https" and not listed:
        raise _refused(
            "Webhook URLs must use https here.",
            field,
            DetailCode.HTTPS_REQUIRED,
            "https is required",
            url,
        )
    if listed:
        return  # an explicit exception of the deployment: resolved and pinned at delivery
    try:
        await checked_address(target, settings.allowed_targets, resolver or system_resolver)
    except TargetRefused as exc:
        # api.md, "Webhooks": an internal target is refused with 422 VALIDATION_ERROR.
        code = DetailCode.PRIVATE_ADDRESS if exc.category == INTERNAL else DetailCode.INVALID
        raise _refused(
            "Webhook URLs must point at a public address.",
            field,
            code,
            exc.reason,
            url,
            status=422,
        ) from None


def _refused(
    message: str,
    field: str,
    code: DetailCode,
    reason: str,
    url: str,
    *,
    status: int | None = None,
) -> ApiError:
    return ApiError(
        "VALIDATION_ERROR", message, [detail(field, code, reason, url[:200])], status=status
    )


# -- subscriptions ------------------------------------------------------------------------


def webhook_body(
    subscription: WebhookSubscription, secret: str | msgspec.UnsetType = msgspec.UNSET
) -> answers.Webhook:
    """A subscription as the API shows it: its secret only in the creation's answer."""
    return answers.Webhook(
        id=str(subscription.id),
        name=subscription.name,
        url=subscription.url,
        events=list(subscription.events),
        is_active=subscription.is_active,
        created_by=str(subscription.created_by) if subscription.created_by else None,
        created_at=iso(subscription.created_at),
        updated_at=iso(subscription.updated_at),
        secret=secret,
    )


def _state(subscription: WebhookSubscription) -> dict[str, Any]:
    """What an update can change, for the audit record (the secret only as a flag)."""
    return {
        "name": subscription.name,
        "url": subscription.url,
        "events": list(subscription.events),
        "is_active": subscription.is_active,
    }


async def list_webhooks(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, cursor: str | None
) -> answers.WebhookPage:
    """One page of the tenant's subscriptions, newest first."""
    query = sa.select(WebhookSubscription).where(
        col(WebhookSubscription.tenant_id) == tenant_id,
        col(WebhookSubscription.deleted_at).is_(None),
    )
    page = await keyset_slice(
        session,
        query,
        [(col(WebhookSubscription.created_at), "datetime"), (col(WebhookSubscription.id), "uuid")],
        limit=limit,
        cursor=cursor,
        render=webhook_body,
        value_of=lambda s: (s.created_at, s.id),
    )
    return answers.WebhookPage(
        webhooks=page.items, has_more=page.has_more, next_cursor=page.next_cursor
    )


async def get_webhook(
    session: AsyncSession, tenant_id: uuid.UUID, raw_id: str, *, for_update: bool = False
) -> WebhookSubscription:
    """The tenant's live subscription; another tenant's or a deleted one is a 404."""
    subscription = await session.get(
        WebhookSubscription,
        parse_id(raw_id, what="webhook"),
        with_for_update=for_update,
        populate_existing=for_update,
    )
    if (
        subscription is None
        or subscription.tenant_id != tenant_id
        or subscription.deleted_at is not None
    ):
        raise ApiError("RESOURCE_NOT_FOUND", "No such webhook.")
    return subscription


async def create_webhook(
    session: AsyncSession,
    ctx: RequestContext,
    principal: Principal,
    tenant_id: uuid.UUID,
    data: WebhookCreate,
    settings: WebhookSettings,
) -> tuple[WebhookSubscription, str]:
    """A new subscription; returns it and its secret (generated when none was sent)."""
    await check_url_policy(data.url, settings)
    secret = data.secret or new_webhook_secret()
    subscription_id = new_id()
    subscription = WebhookSubscription(
        id=subscription_id,
        tenant_id=tenant_id,
        name=data.name,
        url=data.url,
        secret=seal_secret(secret, settings.secrets_key, subscription_id),
        events=list(data.events),
        is_active=data.is_active,
        created_by=principal.user_id,
    )
    session.add(subscription)
    await session.flush()
    audit.record(
        session,
        ctx,
        "webhook.created",
        entity_type="webhook",
        entity_id=subscription.id,
        after={**_state(subscription), "secret_generated": data.secret is None},
    )
    return subscription, secret


async def update_webhook(
    session: AsyncSession,
    ctx: RequestContext,
    tenant_id: uuid.UUID,
    raw_id: str,
    data: WebhookUpdate,
    settings: WebhookSettings,
) -> WebhookSubscription:
    """Change what was sent; a new secret takes effect from the next attempt."""
    name, url, events, is_active, secret = (
        _sent(data.name),
        _sent(data.url),
        _sent(data.events),
        _sent(data.is_active),
        _sent(data.secret),
    )
    if url is not None:
        await check_url_policy(url, settings)
    subscription = await get_webhook(session, tenant_id, raw_id, for_update=True)
    before = _state(subscription)
    if name is not None:
        subscription.name = name
    if url is not None:
        subscription.url = url
    if events is not None:
        subscription.events = list(events)
    if is_active is not None:
        subscription.is_active = is_active
    secret_rotated = secret is not None and secret != _current_secret(subscription, settings)
    if secret is not None and secret_rotated:
        subscription.secret = seal_secret(secret, settings.secrets_key, subscription.id)
    after = _state(subscription)
    if after == before and not secret_rotated:
        return subscription
    subscription.updated_at = utcnow()
    session.add(subscription)
    audit.record(
        session,
        ctx,
        "webhook.updated",
        entity_type="webhook",
        entity_id=subscription.id,
        before=before,
        after={**after, "secret_rotated": secret_rotated},
    )
    return subscription


def _sent(value: Sent | msgspec.UnsetType) -> Sent | None:
    """A member of a PATCH body, or None when it was left out (none may be null)."""
    return None if isinstance(value, msgspec.UnsetType) else value


def _current_secret(subscription: WebhookSubscription, settings: WebhookSettings) -> str | None:
    try:
        return open_secret(subscription.secret, settings.secrets_key, subscription.id)
    except SealedElsewhere:
        return None  # sealed under another key: any new secret is a rotation


async def delete_webhook(
    session: AsyncSession, ctx: RequestContext, tenant_id: uuid.UUID, raw_id: str
) -> None:
    """Remove the subscription; its pending deliveries are cancelled, its log kept."""
    subscription = await get_webhook(session, tenant_id, raw_id, for_update=True)
    before = _state(subscription)
    now = utcnow()
    subscription.deleted_at = now
    subscription.is_active = False
    subscription.updated_at = now
    session.add(subscription)
    cancelled = await session.execute(
        sa.update(WebhookDelivery)
        .where(
            col(WebhookDelivery.subscription_id) == subscription.id,
            col(WebhookDelivery.status) == PENDING,
        )
        .values(status=CANCELLED, claim_token=None)
    )
    audit.record(
        session,
        ctx,
        "webhook.deleted",
        entity_type="webhook",
        entity_id=subscription.id,
        before=before,
        after={"deleted_at": iso(now), "deliveries_cancelled": int(cancelled.rowcount)},  # type: ignore[attr-defined]
    )


# -- deliveries ---------------------------------------------------------------------------


def attempt_body(attempt: WebhookAttempt) -> answers.Attempt:
    return answers.Attempt(
        number=attempt.number,
        attempted_at=iso(attempt.attempted_at),
        status_code=attempt.status_code,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
    )


def delivery_body(
    delivery: WebhookDelivery, attempts: list[WebhookAttempt] | None = None
) -> answers.Delivery:
    """A delivery with its attempts, oldest first."""
    return answers.Delivery(
        id=str(delivery.id),
        webhook_id=str(delivery.subscription_id),
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempt_count=delivery.attempt_count,
        next_attempt_at=iso(delivery.next_attempt_at) if delivery.status == PENDING else None,
        last_attempt_at=iso(delivery.last_attempt_at),
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered_at=iso(delivery.delivered_at),
        created_at=iso(delivery.created_at),
        attempts=[attempt_body(a) for a in attempts or []],
    )


async def attempts_of(
    session: AsyncSession, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    """Each delivery's attempts, oldest first (one query for a page)."""
    found: dict[uuid.UUID, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    if not delivery_ids:
        return found
    rows = (
        await session.execute(
            sa.select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_(delivery_ids))
            .order_by(col(WebhookAttempt.delivery_id), col(WebhookAttempt.number))
        )
    ).scalars()
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found


async def list_deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    raw_id: str,
    *,
    limit: int,
    cursor: str | None,
    status: str | None = None,
) -> answers.DeliveryPage:
    """One page of a subscription's deliveries, newest first, each with its attempts."""
    if status and status.upper() not in DELIVERY_STATUSES:  # empty: no filter
        raise ApiError(
            "VALIDATION_ERROR",
            f"status must be one of {', '.join(DELIVERY_STATUSES)}.",
            [detail("status", DetailCode.INVALID_CHOICE, "unknown status", status[:40])],
        )
    subscription = await get_webhook(session, tenant_id, raw_id)
    query = sa.select(WebhookDelivery).where(
        col(WebhookDelivery.subscription_id) == subscription.id
    )
    if status:
        query = query.where(col(WebhookDelivery.status) == status.upper())
    page = await keyset_slice(
        session,
        query,
        [(col(WebhookDelivery.created_at), "datetime"), (col(WebhookDelivery.id), "uuid")],
        limit=limit,
        cursor=cursor,
        render=lambda d: d,
        value_of=lambda d: (d.created_at, d.id),
    )
    deliveries: list[WebhookDelivery] = page.items
    attempts = await attempts_of(session, [d.id for d in deliveries])
    return answers.DeliveryPage(
        deliveries=[delivery_body(d, attempts[d.id]) for d in deliveries],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


async def retry_delivery(
    session: AsyncSession,
    ctx: RequestContext,
    tenant_id: uuid.UUID,
    raw_id: str,
    raw_delivery_id: str,
) -> answers.Delivery:
    """Make the delivery due now (delivered, failed or waiting alike): one more attempt.

    An attempt that is running right now is left to finish (409), so one delivery is
    never sent twice at once. If the attempt fails, the delivery goes back to its
    backoff while it has attempts left, else to FAILED again.
    """
    subscription = await get_webhook(session, tenant_id, raw_id)
    delivery = await session.get(
        WebhookDelivery,
        parse_id(raw_delivery_id, what="delivery"),
        with_for_update=True,
        populate_existing=True,
    )
    if delivery is None or delivery.subscription_id != subscription.id:
        raise ApiError("RESOURCE_NOT_FOUND", "No such delivery.")
    if not subscription.is_active:
        raise ApiError(
            "INVALID_STATE",
            "This webhook is inactive: activate it before retrying its deliveries.",
            [detail("is_active", DetailCode.INVALID_STATE, "webhook inactive")],
        )
    now = utcnow()
    if delivery.claim_token is not None and delivery.next_attempt_at > now:
        raise ApiError(
            "INVALID_STATE",
            "An attempt of this delivery is running right now; look again in a moment.",
            [detail("status", DetailCode.INVALID_STATE, "attempt in progress")],
        )
    before = {"status": delivery.status, "attempt_count": delivery.attempt_count}
    delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.claim_token = None
    session.add(delivery)
    audit.record(
        session,
        ctx,
        "webhook.delivery_retried",
        entity_type="webhook_delivery",
        entity_id=delivery.id,
        before=before,
        after={"status": PENDING, "webhook_id": str(subscription.id)},
    )
    attempts = await attempts_of(session, [delivery.id])
    return delivery_body(delivery, attempts[delivery.id])

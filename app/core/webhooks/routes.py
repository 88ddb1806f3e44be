"""/webhooks: the tenant's subscriptions and their delivery log (admins only)."""

from typing import Annotated

from litestar import Router, delete, get, patch, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.context import Principal, RequestContext, TenantRef
from app.core.http import PageLimit, one_of, page_limit
from app.core.idempotency.shown_once import shown_once
from app.core.permissions import requires
from app.core.services import CoreServices
from app.core.webhooks import service
from app.core.webhooks.responses import Delivery, DeliveryPage, Webhook, WebhookPage
from app.core.webhooks.schemas import WebhookCreate, WebhookUpdate
from app.core.webhooks.service import DELIVERY_STATUSES

ADMIN = requires("admin", "admin:full")


@post(
    "/webhooks",
    opt=ADMIN,
    status_code=HTTP_201_CREATED,
    summary="Subscribe a URL to event types (the secret is shown once)",
)
async def post_webhook(
    data: WebhookCreate,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    principal: Principal,
    tenant: TenantRef,
) -> Webhook:
    subscription, secret = await service.create_webhook(
        session, ctx, principal, tenant.id, data, services.settings.webhooks
    )
    shown_once(ctx, "secret")  # never kept for an idempotent replay
    return service.webhook_body(subscription, secret)


@get("/webhooks", opt=ADMIN, summary="The tenant's webhook subscriptions")
async def get_webhooks(
    session: AsyncSession, tenant: TenantRef, limit: PageLimit = None, cursor: str | None = None
) -> WebhookPage:
    return await service.list_webhooks(session, tenant.id, limit=page_limit(limit), cursor=cursor)


@get("/webhooks/{webhook_id:str}", opt=ADMIN, summary="One webhook subscription")
async def get_webhook(webhook_id: str, session: AsyncSession, tenant: TenantRef) -> Webhook:
    return service.webhook_body(await service.get_webhook(session, tenant.id, webhook_id))


@patch(
    "/webhooks/{webhook_id:str}",
    opt=ADMIN,
    summary="Change a subscription's name, URL, events, secret or active flag",
)
async def patch_webhook(
    webhook_id: str,
    data: WebhookUpdate,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> Webhook:
    subscription = await service.update_webhook(
        session, ctx, tenant.id, webhook_id, data, services.settings.webhooks
    )
    return service.webhook_body(subscription)


@delete(
    "/webhooks/{webhook_id:str}",
    opt=ADMIN,
    status_code=HTTP_204_NO_CONTENT,
    summary="Remove a subscription (its pending deliveries are cancelled)",
)
async def delete_webhook(
    webhook_id: str, ctx: RequestContext, session: AsyncSession, tenant: TenantRef
) -> None:
    await service.delete_webhook(session, ctx, tenant.id, webhook_id)


@get(
    "/webhooks/{webhook_id:str}/deliveries",
    opt=ADMIN,
    summary="A subscription's deliveries, newest first, each with its attempts",
)
async def get_deliveries(
    webhook_id: str,
    session: AsyncSession,
    tenant: TenantRef,
    status: Annotated[str | None, one_of(*DELIVERY_STATUSES)] = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> DeliveryPage:
    return await service.list_deliveries(
        session, tenant.id, webhook_id, limit=page_limit(limit), cursor=cursor, status=status
    )


@post(
    "/webhooks/{webhook_id:str}/deliveries/{delivery_id:str}/retry",
    opt=ADMIN,
    status_code=HTTP_200_OK,
    summary="Attempt a delivery again now",
)
async def retry_delivery(
    webhook_id: str,
    delivery_id: str,
    ctx: RequestContext,
    session: AsyncSession,
    tenant: TenantRef,
) -> Delivery:
    return await service.retry_delivery(session, ctx, tenant.id, webhook_id, delivery_id)


webhook_router = Router(
    path="/",
    route_handlers=[
        post_webhook,
        get_webhooks,
        get_webhook,
        patch_webhook,
        delete_webhook,
        get_deliveries,
        retry_delivery,
    ],
    tags=["webhooks"],
)

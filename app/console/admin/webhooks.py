"""Webhooks: the bank's subscriptions (a URL and the event types it wants), create with the
signing secret shown once, edit name / URL / events / active, delete behind a
confirmation, and each subscription's deliveries with their attempts and "Retry".

The core checks every rule (known event types, URL policy, the secret's form, that an
inactive subscription is not retried, that a running attempt is left to finish); its
refusals are shown next to the field or the delivery they concern.
"""

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from markupsafe import Markup

from app.client import Webhook, WebhookDelivery
from app.console.admin.common import (
    MANAGE,
    VIEW,
    OneTimeSecrets,
    admin_context,
    admin_refusal,
    form_values,
    quoted,
    render_admin,
)
from app.console.banking import CoreSession
from app.console.concurrent import together
from app.console.confirm import ConfirmedAction, ConfirmPage, Subject, confirmed_routes
from app.console.formatting import bank_zone, local_time
from app.console.htmx import wants_fragment
from app.console.writes import (
    FORM_EXPIRED,
    FormErrors,
    Refusal,
    WriteBody,
    form_expired,
    key_from_form,
    mint_key,
    redirect,
    send_write,
    text,
)

SECRET_KIND = "webhook"
PAGE_SIZE = 25
DELIVERIES_PAGE = 25

# api.md "Webhooks": the event types, grouped and said in words for the form.
EVENT_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Accounts",
        (
            ("account.opened", "An account was opened"),
            ("account.frozen", "An account was frozen"),
        ),
    ),
    (
        "Cash and transfers",
        (
            ("transaction.completed", "A deposit or withdrawal was posted"),
            ("transaction.pending_approval", "A teller transaction waits for approval"),
            ("transfer.completed", "A transfer was posted"),
            ("transfer.failed", "A transfer failed"),
        ),
    ),
    (
        "Journals",
        (
            ("journal.created", "A journal was made"),
            ("journal.approved", "A journal was approved"),
            ("journal.rejected", "A journal was rejected"),
            ("journal.posted", "A journal was posted"),
            ("journal.reversed", "A journal was reversed"),
        ),
    ),
    (
        "Periods and standing instructions",
        (
            ("period.closed", "A fiscal period was closed"),
            ("standing_instruction.approved", "A standing instruction was approved"),
            ("standing_instruction.executed", "A standing instruction ran"),
        ),
    ),
    (
        "Security",
        (
            ("security.login_failed", "A staff sign-in failed"),
            ("security.account_locked", "A staff account was locked"),
        ),
    ),
)
EVENT_TYPES: tuple[str, ...] = tuple(e for _, events in EVENT_GROUPS for e, _ in events)
DELIVERY_STATUSES = (
    ("PENDING", "Waiting"),
    ("DELIVERED", "Delivered"),
    ("FAILED", "Failed"),
    ("CANCELLED", "Cancelled"),
)
STATUS_LABELS = dict(DELIVERY_STATUSES)

DONE_MESSAGES = {
    "saved": "Changes saved. They apply to the next event.",
    "unchanged": "Nothing to save: the webhook was already like this.",
    "retried": "Delivery queued again: the next attempt starts within seconds.",
}


def webhook_path(webhook_id: str) -> str:
    return f"/webhooks/{quoted(webhook_id)}"


def page_url(webhook_id: str) -> str:
    return f"/admin/webhooks/{quoted(webhook_id)}"


@dataclass(frozen=True)
class WebhookRow:
    """A subscription as the pages show it."""

    id: str
    name: str
    url: str
    events: list[str]
    all_events: bool
    active: bool
    created: str
    updated: str


@dataclass(frozen=True)
class AttemptRow:
    """One attempt of a delivery."""

    number: int
    at: str
    status_code: int | None
    error: str
    duration_ms: int | None


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery with its attempts (oldest first), times in the bank's timezone."""

    id: str
    event_id: str
    event_type: str
    status: str
    status_label: str
    attempt_count: int
    created: str
    next_attempt: str
    delivered: str
    last_status_code: int | None
    last_error: str
    attempts: list[AttemptRow]


@dataclass(frozen=True)
class WebhookForm:
    """The create / edit form as typed."""

    name: str = ""
    url: str = ""
    secret: str = ""
    events: list[str] = field(default_factory=list)
    active: bool = True


class CreatedWebhook(msgspec.Struct, kw_only=True, frozen=True):
    """A new subscription as its one page shows it (the secret only straight after)."""

    name: str
    url: str
    secret: str | None = None


def webhook_row(hook: Webhook, zone: Any) -> WebhookRow:
    """A subscription as the pages show it."""
    return WebhookRow(
        id=hook.id,
        name=hook.name,
        url=hook.url,
        events=hook.events,
        all_events=set(hook.events) >= set(EVENT_TYPES),
        active=hook.is_active,
        created=local_time(hook.created_at, zone),
        updated=local_time(hook.updated_at, zone),
    )


def delivery_row(delivery: WebhookDelivery, zone: Any) -> DeliveryRow:
    """A delivery with its attempts (oldest first), times in the bank's timezone."""
    status = delivery.status
    return DeliveryRow(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=status.lower(),
        status_label=STATUS_LABELS.get(status, status.capitalize()),
        attempt_count=delivery.attempt_count,
        created=local_time(delivery.created_at, zone),
        next_attempt=local_time(delivery.next_attempt_at, zone),
        delivered=local_time(delivery.delivered_at, zone),
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error or "",
        attempts=[
            AttemptRow(
                number=a.number,
                at=local_time(a.attempted_at, zone),
                status_code=a.status_code,
                error=a.error or "",
                duration_ms=a.duration_ms,
            )
            for a in delivery.attempts
        ],
    )


def chosen_events(form: Any) -> list[str]:
    """The ticked event types, in the contract's order (anything else is dropped)."""
    ticked = {str(e) for e in form.getall("events", [])}
    return [e for e in EVENT_TYPES if e in ticked]


# -- the list ---------------------------------------------------------------------------------


@get("/admin/webhooks", opt=VIEW, name="admin_webhooks")
async def webhook_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """Every subscription: where it sends, which events, whether it is active."""
    cursor = request.query_params.get("cursor") or None
    core = CoreSession(request)
    page, tenant = await asyncio.gather(
        core.get_page("/webhooks", Webhook, params={"cursor": cursor, "limit": PAGE_SIZE}),
        core.tenant(),
    )
    zone = bank_zone(tenant)
    next_url = None
    if page.has_more and page.next_cursor:
        next_url = "/admin/webhooks?" + urlencode({"cursor": page.next_cursor})
    return render_admin(
        request,
        "admin/webhooks/index.html",
        {
            "webhooks": [webhook_row(h, zone) for h in page.items],
            "cursor": cursor,
            "next_url": next_url,
            "event_count": len(EVENT_TYPES),
            "deleted": request.query_params.get("done") == "deleted",
        },
        title="Webhooks",
        section="webhooks",
        tenant=tenant,
        block="rows" if cursor and wants_fragment(request) else None,
    )


# -- create -----------------------------------------------------------------------------------


async def _create_form(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    values: WebhookForm,
    key: str,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return render_admin(
        request,
        "admin/webhooks/new.html",
        {
            **form_values(values, key, errors, error),
            "event_groups": EVENT_GROUPS,
        },
        title="New webhook",
        section="webhooks",
        tenant=await core.tenant(),
        status_code=status_code,
    )


@get("/admin/webhooks/new", opt=MANAGE, name="admin_webhook_new")
async def webhook_new(request: Request[Any, Any, Any]) -> Response[Any]:
    """The new-webhook form."""
    return await _create_form(request, CoreSession(request), values=WebhookForm(), key=mint_key())


@post("/admin/webhooks", opt=MANAGE, name="admin_webhook_create")
async def webhook_create(request: Request[Any, Any, Any]) -> Response[Any]:
    """Subscribe, keep the secret for the one page that shows it, and go there."""
    form = await request.form()
    values = WebhookForm(
        name=text(form, "name", 2000),
        url=text(form, "url", 2000),
        secret=text(form, "secret", 2000),
        events=chosen_events(form),
        active=form.get("is_active") == "on",
    )
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _create_form(request, core, values=values, **form_expired().as_form())
    body: WriteBody = {
        "name": values.name,
        "url": values.url,
        "events": values.events,
        "is_active": values.active,
    }
    if values.secret:
        body["secret"] = values.secret
    created = await send_write(
        request,
        core,
        core.post("/webhooks", body, idempotency_key=key, model=Webhook),
        action="webhook.create",
        target=None,
        key=key,
        explain=admin_refusal,
        done_target=lambda created: f"webhook:{created.id}",
    )
    if isinstance(created, Refusal):
        # A refused secret is not written back into the page.
        return await _create_form(
            request, core, values=replace(values, secret=""), **created.as_form()
        )
    webhook_id = created.id
    await OneTimeSecrets(request, core).keep(
        SECRET_KIND,
        webhook_id,
        CreatedWebhook(secret=created.secret, name=created.name, url=created.url),
    )
    return redirect(f"{page_url(webhook_id)}/created")


@get("/admin/webhooks/{webhook_id:str}/created", opt=MANAGE, name="admin_webhook_created")
async def webhook_created(request: Request[Any, Any, Any], webhook_id: str) -> Response[Any]:
    """The new subscription's signing secret, this once."""
    core = CoreSession(request)
    kept = await OneTimeSecrets(request, core).take(SECRET_KIND, webhook_id, CreatedWebhook)
    if kept is None:
        # A 404 page for an unknown ID.
        hook = await core.get(webhook_path(webhook_id), model=Webhook)
        kept = CreatedWebhook(name=hook.name, url=hook.url)
    return render_admin(
        request,
        "admin/webhooks/created.html",
        {
            "webhook_id": webhook_id,
            "created": kept,
            "secret": kept.secret,
        },
        title="Webhook created",
        section="webhooks",
        tenant=await core.tenant(),
        headers={"Cache-Control": "no-store"},
    )


# -- one subscription: edit -------------------------------------------------------------------


async def _detail_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    webhook_id: str,
    *,
    values: WebhookForm | None = None,
    key: str | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    hook, tenant = await together(core.get(webhook_path(webhook_id), model=Webhook), core.tenant())
    row = webhook_row(hook, bank_zone(tenant))
    return render_admin(
        request,
        "admin/webhooks/detail.html",
        {
            "webhook": row,
            "values": values
            or WebhookForm(name=row.name, url=row.url, events=row.events, active=row.active),
            "key": key or mint_key(),
            "errors": FormErrors(errors or {}),
            "error": error,
            "event_groups": EVENT_GROUPS,
            "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
        },
        title=f"Webhook {row.name}",
        section="webhooks",
        tenant=tenant,
        status_code=status_code,
    )


@get("/admin/webhooks/{webhook_id:str}", opt=VIEW, name="admin_webhook")
async def webhook_detail(request: Request[Any, Any, Any], webhook_id: str) -> Response[Any]:
    """A subscription and the form that changes its name, URL, events and state."""
    return await _detail_page(request, CoreSession(request), webhook_id)


@post("/admin/webhooks/{webhook_id:str}", opt=MANAGE, name="admin_webhook_update")
async def webhook_update(request: Request[Any, Any, Any], webhook_id: str) -> Response[Any]:
    """Send what changed (name, URL, events, active) to the core."""
    form = await request.form()
    values = WebhookForm(
        name=text(form, "name", 200),
        url=text(form, "url", 2000),
        events=chosen_events(form),
        active=form.get("is_active") == "on",
    )
    key = key_from_form(form)
    core = CoreSession(request)
    # A missing webhook is a 404 page.
    hook = await core.get(webhook_path(webhook_id), model=Webhook)
    if key is None:
        return await _detail_page(
            request, core, webhook_id, values=values, **form_expired().as_form()
        )
    change: WriteBody = {}
    if values.name != hook.name:
        change["name"] = values.name
    if values.url != hook.url:
        change["url"] = values.url
    if set(values.events) != set(hook.events) or not values.events:
        change["events"] = values.events
    if values.active != hook.is_active:
        change["is_active"] = values.active
    if not change:
        return redirect(f"{page_url(webhook_id)}?done=unchanged")
    updated = await send_write(
        request,
        core,
        core.send("PATCH", webhook_path(webhook_id), json=change, idempotency_key=key),
        action="webhook.update",
        target=f"webhook:{hook.id}",
        key=key,
        explain=admin_refusal,
    )
    if isinstance(updated, Refusal):
        return await _detail_page(request, core, webhook_id, values=values, **updated.as_form())
    return redirect(f"{page_url(webhook_id)}?done=saved")


# -- delete (confirmed) -----------------------------------------------------------------------


async def _delete_subject(core: CoreSession, webhook_id: str) -> Subject:
    hook, tenant = await together(core.get(webhook_path(webhook_id), model=Webhook), core.tenant())
    row = webhook_row(hook, bank_zone(tenant))
    page = ConfirmPage(
        title=f"Delete webhook {row.name}",
        question=Markup("Delete webhook {}?").format(row.name),
        button="Delete webhook",
        cancel_url=f"/admin/webhooks/{row.id}",
        effect=(
            "The receiver gets no more events from this subscription, and deliveries still "
            "waiting are cancelled. This can't be undone; to stop events for a while, pause "
            "it instead."
        ),
        danger=True,
    )
    context = admin_context(
        "webhooks", tenant, title="Delete webhook", lede=row.name, eyebrow="Webhooks"
    )
    return Subject(context={**context, "webhook": row}, page=page)


async def _delete(core: CoreSession, webhook_id: str, _reason: str, key: str) -> Any:
    """Delete the subscription; its waiting deliveries are cancelled, its log kept."""
    return await core.delete(webhook_path(webhook_id), idempotency_key=key)


async def _webhook_target(_core: CoreSession, webhook_id: str) -> str:
    return f"webhook:{webhook_id[:40]}"


DELETE_WEBHOOK = ConfirmedAction(
    name="admin_webhook_delete",
    path="/admin/webhooks/{webhook_id:str}/delete",
    param="webhook_id",
    opt=MANAGE,
    log="webhook.delete",
    head="admin/_confirm_head.html",
    facts="admin/webhooks/_delete_facts.html",
    load=_delete_subject,
    send=_delete,
    target=_webhook_target,
    done=lambda _webhook_id, _answer: "/admin/webhooks?done=deleted",
    explain=admin_refusal,
    reraise_not_found=True,
)


# -- deliveries and retry ---------------------------------------------------------------------


async def _deliveries_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    webhook_id: str,
    *,
    retry_error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    params = request.query_params
    status = params.get("status", "").upper()
    status = status if status in STATUS_LABELS else ""
    cursor = params.get("cursor") or None
    hook, page, tenant = await asyncio.gather(
        core.get(webhook_path(webhook_id), model=Webhook),
        core.get_page(
            webhook_path(webhook_id) + "/deliveries",
            WebhookDelivery,
            params={"status": status or None, "cursor": cursor, "limit": DELIVERIES_PAGE},
        ),
        core.tenant(),
    )
    zone = bank_zone(tenant)
    deliveries = [delivery_row(d, zone) for d in page.items]
    base = f"{page_url(webhook_id)}/deliveries"
    next_url = None
    if page.has_more and page.next_cursor:
        query = {k: v for k, v in {"status": status, "cursor": page.next_cursor}.items() if v}
        next_url = f"{base}?{urlencode(query)}"
    return render_admin(
        request,
        "admin/webhooks/deliveries.html",
        {
            "webhook": webhook_row(hook, zone),
            "deliveries": deliveries,
            "retry_keys": {d.id: mint_key() for d in deliveries},
            "retry_error": retry_error,
            "status": status,
            "status_options": list(DELIVERY_STATUSES),
            "cursor": cursor,
            "next_url": next_url,
            "first_url": base + (f"?{urlencode({'status': status})}" if status else ""),
            "done": DONE_MESSAGES.get(params.get("done", "")),
        },
        title=f"Deliveries of {hook.name}",
        section="webhooks",
        tenant=tenant,
        block="rows" if cursor and wants_fragment(request) else None,
        status_code=status_code,
    )


@get("/admin/webhooks/{webhook_id:str}/deliveries", opt=VIEW, name="admin_webhook_deliveries")
async def webhook_deliveries(request: Request[Any, Any, Any], webhook_id: str) -> Response[Any]:
    """The subscription's deliveries, newest first, each with its attempts."""
    return await _deliveries_page(request, CoreSession(request), webhook_id)


@post(
    "/admin/webhooks/{webhook_id:str}/deliveries/{delivery_id:str}/retry",
    opt=MANAGE,
    name="admin_webhook_delivery_retry",
)
async def delivery_retry(
    request: Request[Any, Any, Any], webhook_id: str, delivery_id: str
) -> Response[Any]:
    """Make the delivery due now; the worker attempts it within seconds."""
    form = await request.form()
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _deliveries_page(
            request, core, webhook_id, retry_error=(delivery_id, FORM_EXPIRED), status_code=400
        )
    retried = await send_write(
        request,
        core,
        core.post(
            webhook_path(webhook_id) + f"/deliveries/{quoted(delivery_id)}/retry",
            {},
            idempotency_key=key,
        ),
        action="webhook.retry",
        target=f"webhook:{webhook_id[:40]}:delivery:{delivery_id[:40]}",
        key=key,
        explain=admin_refusal,
        reraise_not_found=True,
    )
    if isinstance(retried, Refusal):
        return await _deliveries_page(
            request,
            core,
            webhook_id,
            retry_error=(delivery_id, retried.error or ""),
            status_code=retried.status_code,
        )
    return redirect(f"{page_url(webhook_id)}/deliveries?done=retried")


webhook_routes: list[Any] = [
    webhook_list,
    webhook_new,
    webhook_create,
    webhook_created,
    webhook_detail,
    webhook_update,
    *confirmed_routes(DELETE_WEBHOOK),
    webhook_deliveries,
    delivery_retry,
]

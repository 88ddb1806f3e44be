"""A staff member's second factor on their Admin page: whether they have one, and its reset.

A reset (lost or new phone) removes the authenticator and recovery codes and ends the
person's sessions; their next password sign-in sets up a new one. In production mode the
core keeps the reset waiting until a second admin approves it: the page then shows who
asked and why, an "Approve reset" button to any other admin, and "Cancel" to everyone.
"""

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, post

from app.client import BankingAPIError, FactorReset, SecondFactor, User
from app.console.admin.common import MANAGE, admin_refusal, quoted
from app.console.banking import CoreSession
from app.console.formatting import bank_zone, local_time
from app.console.writes import (
    FORM_EXPIRED,
    Refusal,
    WriteBody,
    key_from_form,
    redirect,
    send_write,
)

DONE_MESSAGES = {
    "factor_reset": (
        "Second factor reset. Their sessions ended; they set up a new authenticator app at "
        "their next sign-in."
    ),
    "factor_requested": (
        "Reset requested. Another admin must approve it before the authenticator is removed."
    ),
    "factor_cancelled": "The waiting reset was cancelled; nothing changed.",
}


def _path(user_id: str) -> str:
    return f"/users/{quoted(user_id)}/second-factor"


@dataclass(frozen=True)
class PendingReset:
    """A reset waiting for a second admin."""

    reason: str
    requested_by: str  # "Name (email)"
    requested_by_id: str
    requested_at: str


@dataclass(frozen=True)
class FactorView:
    """What the staff page shows of someone's second factor."""

    enrolled: bool
    enrolled_at: str
    required: bool
    recovery_codes_left: int
    needs_second_admin: bool
    pending: PendingReset | None


async def factor_context(core: CoreSession, user_id: str, tenant: Any) -> FactorView | None:
    """What the staff page shows of the factor (``None`` when the core says nothing)."""
    try:
        status = await core.get(_path(user_id), model=SecondFactor)
    except BankingAPIError:
        return None
    pending = status.pending_reset
    requested_by = ""
    if pending is not None:
        try:
            who = await core.get(f"/users/{quoted(pending.requested_by)}", model=User)
            requested_by = f"{who.name} ({who.email})"
        except BankingAPIError:
            requested_by = "another admin"
    zone = bank_zone(tenant)
    return FactorView(
        enrolled=status.enrolled,
        enrolled_at=local_time(status.enrolled_at, zone),
        required=status.required,
        recovery_codes_left=status.recovery_codes_left,
        needs_second_admin=status.reset_needs_second_admin,
        pending=(
            PendingReset(
                reason=pending.reason,
                requested_by=requested_by,
                requested_by_id=pending.requested_by,
                requested_at=local_time(pending.requested_at, zone),
            )
            if pending is not None
            else None
        ),
    )


async def _send(
    request: Request[Any, Any, Any], user_id: str, step: str, body: WriteBody
) -> Response[Any]:
    from app.console.admin.staff import _detail_page, page_url

    form = await request.form()
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _detail_page(
            request, core, user_id, action_error=FORM_EXPIRED, status_code=400
        )
    path = _path(user_id) + ("/reset" if step == "request" else f"/reset/{step}")
    answer = await send_write(
        request,
        core,
        core.post(path, body, idempotency_key=key, model=FactorReset),
        action=f"user.second_factor_{step}",
        target=f"user:{user_id[:40]}",
        key=key,
        explain=admin_refusal,
        reraise_not_found=True,
    )
    if isinstance(answer, Refusal):
        message = answer.errors.get("reason") or answer.error
        return await _detail_page(
            request, core, user_id, action_error=message, status_code=answer.status_code
        )
    done = {
        "COMPLETED": "factor_reset",
        "PENDING_APPROVAL": "factor_requested",
        "CANCELLED": "factor_cancelled",
    }.get(answer.status, "factor_reset")
    return redirect(f"{page_url(user_id)}?done={done}")


@post("/admin/staff/{user_id:str}/second-factor/reset", opt=MANAGE, name="admin_factor_reset")
async def reset_factor(request: Request[Any, Any, Any], user_id: str) -> Response[Any]:
    """Ask for (or, outside production mode, make) the reset, with its reason."""
    form = await request.form()
    reason = " ".join(str(form.get("reason") or "").split())[:500]
    if len(reason) < 3:
        from app.console.admin.staff import _detail_page

        return await _detail_page(
            request,
            CoreSession(request),
            user_id,
            action_error="Say why the second factor is reset (for example: lost phone).",
            status_code=400,
        )
    return await _send(request, user_id, "request", {"reason": reason})


@post(
    "/admin/staff/{user_id:str}/second-factor/approve",
    opt=MANAGE,
    name="admin_factor_approve",
)
async def approve_reset(request: Request[Any, Any, Any], user_id: str) -> Response[Any]:
    """A second admin approves a waiting reset (production mode)."""
    return await _send(request, user_id, "approve", {})


@post(
    "/admin/staff/{user_id:str}/second-factor/cancel",
    opt=MANAGE,
    name="admin_factor_cancel",
)
async def cancel_reset(request: Request[Any, Any, Any], user_id: str) -> Response[Any]:
    """Cancel a waiting reset."""
    return await _send(request, user_id, "cancel", {})


second_factor_routes: list[Any] = [reset_factor, approve_reset, cancel_reset]

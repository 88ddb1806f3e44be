"""Branches: the bank's branches, and opening a new one (code and name).

The core gives each new branch its teller-cash and inter-branch clearing GL accounts in
the same transaction, and refuses a code that is taken or not 1–10 letters or digits.
"""

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post

from app.client import Branch
from app.console.admin.common import (
    MANAGE,
    VIEW,
    admin_refusal,
    forget_branches,
    form_values,
    render_admin,
)
from app.console.banking import BranchList, CoreSession
from app.console.concurrent import together
from app.console.writes import (
    Refusal,
    form_expired,
    key_from_form,
    mint_key,
    redirect,
    send_write,
    text,
)

FIELDS = ("code", "name")


async def _branches_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    values: dict[str, str] | None = None,
    key: str | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    # Fresh, not the page cache: a branch just opened is listed at once.
    found, tenant = await together(core.get("/branches", model=BranchList), core.tenant())
    branches = found.branches
    opened = request.query_params.get("opened", "")[:10]
    return render_admin(
        request,
        "admin/branches.html",
        {
            "branches": [
                {
                    "code": b.code,
                    "name": b.name,
                    "staff": b.staff_count or 0,
                    "new": b.code == opened,
                }
                for b in branches
            ],
            "opened": next((b for b in branches if b.code == opened), None),
            **form_values(
                values or {name: "" for name in FIELDS}, key or mint_key(), errors, error
            ),
        },
        title="Branches",
        section="branches",
        tenant=tenant,
        status_code=status_code,
    )


@get("/admin/branches", opt=VIEW, name="admin_branches")
async def branch_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """Every branch with its staff count, and the form to open another."""
    return await _branches_page(request, CoreSession(request))


@post("/admin/branches", opt=MANAGE, name="admin_branch_open")
async def branch_open(request: Request[Any, Any, Any]) -> Response[Any]:
    """Open the branch, then show the list with it (POST → redirect → GET)."""
    form = await request.form()
    values = {name: text(form, name, 200) for name in FIELDS}
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _branches_page(request, core, values=values, **form_expired().as_form())
    opened = await send_write(
        request,
        core,
        core.post("/branches", values, idempotency_key=key, model=Branch),
        action="branch.open",
        target=None,
        key=key,
        explain=admin_refusal,
        done_target=lambda opened: f"branch:{opened.code}",
    )
    if isinstance(opened, Refusal):
        return await _branches_page(request, core, values=values, **opened.as_form())
    forget_branches(core)
    code = opened.code
    return redirect("/admin/branches?" + urlencode({"opened": code}))


branch_routes: list[Any] = [branch_list, branch_open]

"""Transfers between customer accounts: the same form → confirm → result flow as the
teller's cash forms. Internal transfers stay in one branch (officer); inter-branch ones go
through both branches' clearing accounts (manager only; the form is shown only to them)."""

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post

from app.console.banking import CoreSession
from app.console.drafts import Draft, DraftStore
from app.console.permissions import can
from app.console.teller.forms import MoneyForm, Picker, continue_, show, submit
from app.console.writes import mint_key, redirect

TEMPLATE = "transfers/transfer.html"
PICKERS = (
    Picker("source", "Source account", "source_account_id"),
    Picker("destination", "Destination account", "destination_account_id"),
)

INTERNAL = MoneyForm(
    kind="internal",
    path="/transfers",
    permission="transfers.internal",
    core_path="/transfers/internal",
    title="Internal transfer",
    noun="transfer",
    submit_label="Transfer",
    action="transfers.internal",
    pickers=PICKERS,
    lede="Between two accounts of one branch.",
)
INTER_BRANCH = MoneyForm(
    kind="inter_branch",
    path="/transfers/inter-branch",
    permission="transfers.inter_branch",
    core_path="/transfers/inter-branch",
    title="Inter-branch transfer",
    noun="transfer",
    submit_label="Transfer",
    action="transfers.inter_branch",
    pickers=PICKERS,
    lede="Between accounts of different branches, through each branch's clearing account.",
)


def _tabs(request: Request[Any, Any, Any]) -> dict[str, list[tuple[str, str]]]:
    core = CoreSession(request)
    tabs = [("Internal transfer", INTERNAL.path)]
    if can(core.signed_in, "transfers.inter_branch"):
        tabs.append(("Inter-branch transfer", INTER_BRANCH.path))
    return {"tabs": tabs}


@get("/transfers", opt={"permission": "transfers.internal"}, name="transfers")
async def internal_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The internal transfer form, or a draft's confirm step."""
    return await show(request, INTERNAL, TEMPLATE, _tabs(request))


@post("/transfers", opt={"permission": "transfers.internal"}, name="transfers_continue")
async def internal_continue(request: Request[Any, Any, Any]) -> Response[Any]:
    """The "Continue" button of the internal transfer form."""
    return await continue_(request, INTERNAL)


@post("/transfers/submit", opt={"permission": "transfers.internal"}, name="transfers_submit")
async def internal_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    """The "Transfer" button of the confirm step."""
    return await submit(request, INTERNAL)


@get(
    "/transfers/inter-branch",
    opt={"permission": "transfers.inter_branch"},
    name="transfers_inter_branch",
)
async def inter_branch_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The inter-branch form; ``?from=<internal draft>`` carries a refused internal transfer
    over to its confirm step as an inter-branch one."""
    origin = request.query_params.get("from")
    if origin:
        core = CoreSession(request)
        store = DraftStore(request, core)
        internal = await store.load(origin)
        if internal is not None and internal.kind == INTERNAL.kind:
            moved = Draft(
                kind=INTER_BRANCH.kind,
                key=mint_key(),
                values=dict(internal.values),
                accounts=dict(internal.accounts),
                status="ready" if len(internal.accounts) == 2 else "editing",
            )
            await store.save(moved)
            return redirect(f"{INTER_BRANCH.path}?{urlencode({'draft': moved.key})}")
    return await show(request, INTER_BRANCH, TEMPLATE, _tabs(request))


@post(
    "/transfers/inter-branch",
    opt={"permission": "transfers.inter_branch"},
    name="transfers_inter_branch_continue",
)
async def inter_branch_continue(request: Request[Any, Any, Any]) -> Response[Any]:
    """The "Continue" button of the inter-branch form."""
    return await continue_(request, INTER_BRANCH)


@post(
    "/transfers/inter-branch/submit",
    opt={"permission": "transfers.inter_branch"},
    name="transfers_inter_branch_submit",
)
async def inter_branch_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    """The "Transfer" button of the inter-branch confirm step."""
    return await submit(request, INTER_BRANCH)


transfers_router = Router(
    path="/",
    route_handlers=[
        internal_page,
        internal_continue,
        internal_submit,
        inter_branch_page,
        inter_branch_continue,
        inter_branch_submit,
    ],
)

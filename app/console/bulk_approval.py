"""The results a decision leaves on the queue, and "Approve selected": each chosen item
approved on its own call (its own idempotency key, derived from the form's), with its own
result, whatever the kind of item.

Each kind says in a :class:`BulkApproval` how one item is approved, what it is called and
where its result links to; the loop, the limits, the action log and the results are here.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response

from app.client import BankingAPIError
from app.console.banking import CoreSession
from app.console.drafts import DraftStore, valid_key
from app.console.lookup import looks_like_id
from app.console.pending_count import forget_pending_count
from app.console.writes import KEY_FIELD, FormErrors, Refusal, mint_key, redirect, send_write

MAX_BULK = 100
NOTHING_SELECTED = "Nothing was selected."


class Decided(msgspec.Struct, kw_only=True, frozen=True):
    """One item's result after a decision, as the queue shows it."""

    ref: str
    ok: bool
    outcome: str
    href: str = ""


class Decisions(msgspec.Struct, kw_only=True, frozen=True):
    """The results of a decision (one item or many), kept for the queue to show."""

    items: list[Decided]


async def show_results(
    request: Request[Any, Any, Any], core: CoreSession, items: list[Decided]
) -> Response[Any]:
    """Keep the results of a decision (one item or many) and show them on the queue."""
    key = mint_key()
    await DraftStore(request, core).save_blob(key, Decisions(items=items))
    return redirect(f"/approvals?{urlencode({'result': key})}")


async def _no_refs(core: CoreSession) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class BulkApproval:
    """How "Approve selected" approves one kind of item.

    Attributes:
        action: The console action log's verb.
        target: The logged target from the item's ID and reference.
        approve: Approve one item ``(core, id, key)``; the item in its new state.
        ref_of: The item's reference in the core's answer (empty when it has none).
        href: Where an item's result links to, from its ID and reference.
        done: The result of an approved item, in words.
        refused: The result of a refused item, in words.
        known_refs: The references of the items waiting (read once, ID → reference).
        lookup_ref: One item's reference when it is no longer waiting.
    """

    action: str
    target: Callable[[str, str], str]
    approve: Callable[[CoreSession, str, str], Awaitable[Any]]
    ref_of: Callable[[Any], str]
    href: Callable[[str, str], str]
    done: str
    refused: Callable[[BankingAPIError], str]
    known_refs: Callable[[CoreSession], Awaitable[dict[str, str]]] = _no_refs
    lookup_ref: Callable[[CoreSession, str], Awaitable[str]] | None = None


def _approved_target(kind: BulkApproval, item_id: str, ref: str, answer: Any) -> str:
    """The logged target of an approved item: its reference as the core now gives it."""
    return kind.target(item_id, kind.ref_of(answer) or ref)


async def approve_selected(request: Request[Any, Any, Any], kind: BulkApproval) -> Response[Any]:
    """Approve each selected item (``ids``) on its own, then show every result."""
    core = CoreSession(request)
    form = await request.form()
    bulk_key = valid_key(form.get(KEY_FIELD)) or mint_key()
    chosen = [str(i) for i in dict.fromkeys(form.getall("ids", [])) if looks_like_id(str(i))]
    if not chosen:
        return await show_results(
            request, core, [Decided(ref="", ok=False, outcome=NOTHING_SELECTED)]
        )
    try:
        refs = await kind.known_refs(core)
    except BankingAPIError:
        refs = {}  # each item's own call says what is wrong
    results: list[Decided] = []
    for item_id in chosen[:MAX_BULK]:
        key = f"{bulk_key}:{item_id}"
        ref = refs.get(item_id, "")
        if not ref and kind.lookup_ref is not None:
            # Not among those waiting (decided meanwhile?): its reference for the log.
            ref = await kind.lookup_ref(core, item_id)
        ref = ref or item_id[:8]
        answer = await send_write(
            request,
            core,
            kind.approve(core, item_id, key),
            action=kind.action,
            target=kind.target(item_id, ref),
            key=key,
            explain=lambda exc, _: (FormErrors(), kind.refused(exc)),
            done_target=partial(_approved_target, kind, item_id, ref),
        )
        if isinstance(answer, Refusal):
            href = kind.href(item_id, ref)
            results.append(Decided(ref=ref, href=href, ok=False, outcome=answer.error or ""))
            continue
        ref = kind.ref_of(answer) or ref
        results.append(Decided(ref=ref, href=kind.href(item_id, ref), ok=True, outcome=kind.done))
    if len(chosen) > MAX_BULK:
        results.append(
            Decided(ref="", ok=False, outcome=f"Only {MAX_BULK} items are approved at once.")
        )
    forget_pending_count(core.signed_in.tenant.code)
    return await show_results(request, core, results)

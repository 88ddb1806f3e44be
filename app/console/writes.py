"""What every console write shares: its idempotency key, its log row, its errors in words.

A write form carries an idempotency key minted when the form was rendered (a hidden field).
The key goes to the core with the write, so a double click, a resubmitted form or a retry
after a timeout is answered from the core's record and never runs twice. After a refusal
the form is shown again with the *same* key when the core stored nothing (a refusal before
its handler ran, an outage), and with a fresh one when it recorded a final answer (a 409 or
422), so that the corrected form is a new request rather than an idempotency conflict.
"""

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias, TypedDict

from litestar import Request, Response
from litestar.status_codes import HTTP_303_SEE_OTHER

from app.client import BankingAPIConflict, BankingAPIError, BankingAPIUnavailable
from app.console.actionlog import ActionLog, Actor
from app.console.auth.session import SignedIn
from app.console.banking import CoreSession
from app.console.errors import core_message
from app.console.htmx import VARY
from app.console.reasons import detail_words
from app.console.state import console_state

KEY_FIELD = "idempotency_key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# The core keeps the answer of these statuses under the key (api.md, "Idempotency").
_STORED_STATUSES = {409, 422}
# How long a write waits for a first, still-running request with the same key (a double
# click) before it says so. Each call already waits out the core's Retry-After a few times
# (the shared client, about 3 s), so the pauses between calls stop at a budget: a key held
# by a core process that died (its claim stands for a minute) is said in seconds, not after
# ten such calls (about 40 s of a spinning button).
IN_PROGRESS_WAITS = (0.1, 0.2, 0.3, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0)
IN_PROGRESS_BUDGET_SECONDS = 4.0

# A write's JSON body, as api.md's request schema for it says. The client has models of what
# the core answers, not of what it is sent (the core checks a body and refuses it in words),
# so a body is a plain mapping, named once here.
WriteBody: TypeAlias = dict[str, Any]

FORM_EXPIRED = "This form was out of date, so nothing was sent. Check it and send it again."


def mint_key() -> str:
    """A fresh idempotency key for a form being rendered."""
    return f"console-{uuid.uuid4().hex}"


def key_from_form(form: Mapping[str, Any]) -> str | None:
    """The key the form was rendered with, when it looks like one."""
    value = str(form.get(KEY_FIELD) or "").strip()
    return value if _KEY.match(value) else None


def key_after_error(error: BankingAPIError, key: str) -> str:
    """The key to render the form with again after ``error``."""
    if error.code == "IDEMPOTENCY_CONFLICT":
        return mint_key()
    if isinstance(error, BankingAPIUnavailable) or error.code == "IDEMPOTENCY_IN_PROGRESS":
        return key  # the first attempt may yet finish: a retry must be recognised
    return mint_key() if error.status in _STORED_STATUSES else key


class FormErrors(dict[str, str]):
    """Messages by form control; a control without one reads as ``None`` in templates."""

    def __missing__(self, key: str) -> None:
        return None


def text(form: Mapping[str, Any], name: str, max_length: int = 500) -> str:
    """A form field as stripped text (absent fields are empty)."""
    return str(form.get(name) or "").strip()[:max_length]


# -- amounts as people type them --------------------------------------------------------------

MAX_AMOUNT = Decimal("999999999999.99")
_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")


def normalise_amount(value: str) -> str:
    """What a person types (``"₦1,500.00"``) as the API's decimal string (``"1500.00"``).

    Only separators and the currency symbol are dropped; anything else is left for the
    core to judge, so its message names the real problem.
    """
    cleaned = value.strip()
    for symbol in ("₦", "$", "€", "£", "NGN", "USD", "EUR", "GBP"):
        cleaned = cleaned.replace(symbol, "")
    return cleaned.replace(",", "").replace(" ", "").replace("_", "")


def amount_problem(text: str) -> str | None:
    """Why ``text`` (normalised) is not an amount we can send, in words; ``None`` when fine."""
    if not text:
        return "Enter the amount."
    if not _AMOUNT.match(text):
        return "Enter the amount in figures, like 1500.00 (at most two decimal places)."
    try:
        value = Decimal(text)
    except InvalidOperation:
        return "Enter the amount in figures, like 1500.00."
    if value <= 0:
        return "Enter an amount greater than zero."
    if value > MAX_AMOUNT:
        return "That amount is too large (at most 999,999,999,999.99)."
    return None


def canonical_amount(text: str) -> str:
    """``"1500.5"`` → ``"1500.50"`` (what a confirm step and the core see)."""
    return format(Decimal(text).quantize(Decimal("0.01")), "f")


# -- sending a write and logging it -------------------------------------------------------------


def redirect(location: str) -> Response[Any]:
    """POST → redirect → GET."""
    return Response("", status_code=HTTP_303_SEE_OTHER, headers={**VARY, "Location": location})


def status_of(error: BankingAPIError) -> int:
    """The console's answer status for a refused write (a bad gateway if the core's is odd)."""
    return error.status if 400 <= error.status < 600 else 502


def error_code_of(error: BankingAPIError) -> str:
    """The error's code, or ``"UNAVAILABLE"`` for any outage or 5xx (said in one sentence)."""
    return "UNAVAILABLE" if error.status >= 500 else error.code


def actor_of(signed_in: SignedIn) -> Actor:
    return Actor(
        user_id=signed_in.user.id,
        email=signed_in.user.email,
        role=signed_in.user.role,
        tenant=signed_in.tenant.code,
    )


async def log_write(
    request: Request[Any, Any, Any],
    signed_in: SignedIn,
    *,
    action: str,
    target: str | None,
    key: str | None,
    error: BankingAPIError | None = None,
    error_code: str | None = None,
    outcome: str | None = None,
) -> None:
    """One console action-log row for a write that was sent (or refused on its way).

    The outcome is ``failure`` when there is an error code, ``success`` otherwise, unless
    ``outcome`` says (``pending``: the core holds the write for a checker).
    """
    code = error.code if error is not None else error_code
    await ActionLog(console_state(request.app).database).record(
        request,
        action=action,
        actor=actor_of(signed_in),
        outcome=outcome or ("failure" if code else "success"),
        target=target,
        error_code=code,
        idempotency_key=key,
    )


async def post_once(
    core: CoreSession,
    path: str,
    body: WriteBody,
    key: str,
    *,
    model: type[Any] | None = None,
) -> Any:
    """``POST`` with ``key`` (the answer as ``model``, one of the client's resources, when
    given); while a first request with that key is still running (a double click), wait for
    it and take its recorded answer instead of running again, for at most
    :data:`IN_PROGRESS_BUDGET_SECONDS` before another call (then the conflict is raised)."""
    deadline = time.monotonic() + IN_PROGRESS_BUDGET_SECONDS
    for wait in (*IN_PROGRESS_WAITS, None):
        try:
            return await core.send("POST", path, json=body, idempotency_key=key, model=model)
        except BankingAPIConflict as exc:
            if exc.code != "IDEMPOTENCY_IN_PROGRESS" or wait is None:
                raise
            if time.monotonic() + wait > deadline:
                raise
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


class Notice(TypedDict):
    """A refusal as keyword arguments for a page with one message and no fields."""

    key: str
    error: str | None
    status_code: int


class FormNotice(Notice):
    """The same for a form page, with the messages beside its controls."""

    errors: FormErrors


@dataclass(frozen=True)
class Refusal:
    """A write that did not go through, as its form shows it again: under which key, with
    which sentence above it and which messages beside its controls, with which status."""

    key: str
    error: str | None
    errors: FormErrors = field(default_factory=FormErrors)
    status_code: int = 400
    code: str | None = None  # the core's error code; None for a form that was out of date
    # The core's refusal itself, for a page that shows more than words (a period close's
    # blockers, a draft kept for the retry); None for a form that was out of date.
    cause: BankingAPIError | None = None

    def as_form(self) -> FormNotice:
        """Keyword arguments for a form page: ``key``, ``error``, ``errors``, ``status_code``."""
        return {**self.as_notice(), "errors": self.errors}

    def as_notice(self) -> Notice:
        """The same for a page with one message and no fields: ``key``, ``error``,
        ``status_code``."""
        return {"key": self.key, "error": self.error, "status_code": self.status_code}


def form_expired() -> Refusal:
    """A form posted without a key we can use: nothing was sent; a fresh key for the retry."""
    return Refusal(key=mint_key(), error=FORM_EXPIRED)


Explain = Callable[[BankingAPIError, SignedIn], tuple[FormErrors, str | None]]


def explain_error(error: BankingAPIError, signed_in: SignedIn) -> tuple[FormErrors, str | None]:
    """A refusal as ``(messages by control, one sentence)``, in the console's words."""
    return field_errors(error), error_summary(error, signed_in)


async def send_write(
    request: Request[Any, Any, Any],
    core: CoreSession,
    write: Awaitable[Any],
    *,
    action: str,
    target: str | None,
    key: str,
    explain: Explain = explain_error,
    done_target: Callable[[Any], str] | None = None,
    done_outcome: Callable[[Any], str | None] | None = None,
    reraise_not_found: bool = False,
) -> Any:
    """Await ``write`` (a core call sent with ``key``) and log it to the action log.

    Returns the core's answer, or a :class:`Refusal` for the form to show when the core
    refused: with the key to render it with (:func:`key_after_error`) and the refusal in
    words (``explain``).

    Args:
        request: The console request.
        core: The signed-in user's core session.
        write: The core call, not yet awaited.
        action: The action log's verb (``user.create``).
        target: What the write acts on; ``None`` for a create, whose ``done_target`` names
            the new resource from the answer.
        key: The form's idempotency key (the one ``write`` carries).
        explain: The refusal in words for this form.
        done_target: The logged target of a successful write, from the core's answer.
        done_outcome: The logged outcome of a successful write, from the core's answer
            (``pending`` when the core holds it for a checker); ``success`` otherwise.
        reraise_not_found: Let a 404 through (the console's not-found page) rather than
            show the form again.
    """
    try:
        answer = await write
    except BankingAPIError as exc:
        await log_write(request, core.signed_in, action=action, target=target, key=key, error=exc)
        if reraise_not_found and exc.status == 404:
            raise
        errors, summary = explain(exc, core.signed_in)
        return Refusal(
            key=key_after_error(exc, key),
            error=summary,
            errors=errors,
            status_code=status_of(exc),
            code=exc.code,
            cause=exc,
        )
    logged = done_target(answer) if done_target is not None else target
    outcome = done_outcome(answer) if done_outcome is not None else None
    await log_write(request, core.signed_in, action=action, target=logged, key=key, outcome=outcome)
    return answer


# -- core errors in words, next to the field they concern ----------------------------------

# Where a field's error is shown when its control has another name on the form.
FIELD_CONTROLS: dict[str, str] = {"account_type": "product_code"}


def field_errors(error: BankingAPIError) -> FormErrors:
    """The core error's per-field problems as ``{form control name: message}`` (the words
    from :mod:`app.console.reasons`, by each item's field and code)."""
    errors = FormErrors()
    for detail in error.details:
        field = str(detail.get("field") or "")
        if not field or field == "body":
            continue
        errors.setdefault(FIELD_CONTROLS.get(field, field), detail_words(detail))
    return errors


def error_summary(error: BankingAPIError, signed_in: SignedIn) -> str:
    """One sentence for a refused write, shown above (or beside) the action."""
    if error.code == "BRANCH_SCOPE":
        branch = next(
            (str(d.get("value")) for d in error.details if d.get("field") == "branch_code"),
            None,
        )
        if branch:
            return (
                f"This account belongs to branch {branch}; "
                f"you act for branch {signed_in.user.branch_id} only."
            )
        return error.message or core_message(error)
    if error.code == "VALIDATION_ERROR" or error.code == "MISSING_FIELD":
        return "Some details need attention; see the messages by each field."
    if error.code == "INVALID_STATE" and error.message:
        # The core's own sentence names the state ("A frozen account cannot be …").
        return error.message
    if error.code in {"ACCOUNT_NOT_ACTIVE", "INSUFFICIENT_FUNDS", "LIMIT_EXCEEDED"} and (
        error.message
    ):
        return error.message
    return core_message(error)

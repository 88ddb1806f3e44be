"""Confirm, then act: one pattern (and one template) for every "are you sure".

An action says what it acts on and what it sends in a :class:`ConfirmedAction`;
:func:`confirmed_routes` gives it its two routes:

    GET  <path>   the page: what the action does and, when it asks for a reason, the
                  reason's field (step one); else the question and its button at once
    POST <path>   an action with a reason: step two (the reason repeated, the question,
                  "Back"), then the write once ``confirmed=yes``; without a reason: the
                  write. A refusal shows the page again, in words, under the key
                  :func:`app.console.writes.key_after_error` gives.

Every write goes through :func:`app.console.writes.send_write`. The page is
``templates/components/confirm.html``; an action brings its own head (``head``), the facts
about its subject (``facts``) and, if it likes, what follows the panel (``after``).
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from markupsafe import Markup

from app.console.banking import CoreSession
from app.console.htmx import render
from app.console.writes import (
    FORM_EXPIRED,
    Explain,
    FormErrors,
    Refusal,
    explain_error,
    key_from_form,
    mint_key,
    redirect,
    send_write,
    text,
)

TEMPLATE = "components/confirm.html"
CONFIRMED = "confirmed"


@dataclass(frozen=True)
class Reason:
    """The reason an action asks for in its first step (kept with the record it changes)."""

    hint: str
    required: str  # the message when it is left empty
    label: str = "Reason"
    max_length: int = 500


@dataclass(frozen=True)
class ConfirmPage:
    """What the page says about one action on one subject.

    Attributes:
        title: The browser tab's title.
        question: The question above the button (may hold markup; values are escaped).
        button: The button that does it.
        cancel_url: Where "Cancel" (and the blocked page's link) goes.
        heading: The panel's title at the reason step (the question's is "Check and
            confirm").
        effect: What the action does, in a sentence.
        danger: A red button: the action cannot simply be undone.
        notes: Lines under the question.
        notice: Shown above the form, which still goes to the core (it decides).
        blocked: Shown instead of the form: why it can't be done now.
        back_label: The blocked page's link.
        continue_button: The reason step's button.
        continue_danger: That button is red too (it starts something that can't be undone).
    """

    title: str
    question: Markup
    button: str
    cancel_url: str
    heading: str = "Check and confirm"
    effect: str | None = None
    danger: bool = False
    notes: tuple[str, ...] = ()
    notice: str | None = None
    blocked: str | None = None
    back_label: str = "Cancel"
    continue_button: str = "Continue"
    continue_danger: bool = False


@dataclass(frozen=True)
class Subject:
    """What the action acts on: the values its head and facts templates read, and the
    page's words."""

    context: Mapping[str, Any]
    page: ConfirmPage


@dataclass(frozen=True)
class ConfirmedAction:
    """One action behind a confirmation.

    Attributes:
        name: The routes' names: ``<name>_form`` (GET) and ``<name>`` (POST).
        path: The URL, with one path parameter (``/accounts/{account_id:str}/freeze``).
        param: That parameter's name.
        opt: The routes' guard options (``{"permission": …}``).
        log: The action log's verb.
        head: The template of the page's head.
        facts: The template of the facts about the subject, or ``None``.
        load: The subject by the parameter's value (a missing one raises not-found).
        send: The write: ``(core, id, reason, key)``; ``reason`` is empty without one.
        target: The logged target from the ID (the core may be asked).
        done: Where to go after it is done: ``(id, the core's answer)`` → URL.
        reason: The reason asked for in step one, or ``None`` for a one-step action.
        explain: The refusal in words.
        after: A template after the panel, or ``None``.
        check: Checks the parameter before anything is read (raises not-found).
        reraise_not_found: A 404 from the write shows the not-found page.
    """

    name: str
    path: str
    param: str
    opt: Mapping[str, str]
    log: str
    head: str
    facts: str | None
    load: Callable[[CoreSession, str], Awaitable[Subject]]
    send: Callable[[CoreSession, str, str, str], Awaitable[Any]]
    target: Callable[[CoreSession, str], Awaitable[str]]
    done: Callable[[str, Any], str]
    reason: Reason | None = None
    explain: Explain = explain_error
    after: str | None = None
    check: Callable[[str], object] = lambda _value: None
    reraise_not_found: bool = False


async def confirm_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    action: ConfirmedAction,
    item_id: str,
    *,
    key: str,
    step: str,
    reason: str = "",
    errors: FormErrors | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    """The action's page at ``step`` (``reason`` or ``confirm``)."""
    subject = await action.load(core, item_id)
    return render(
        request,
        TEMPLATE,
        {
            **subject.context,
            "page_title": subject.page.title,
            "page": subject.page,
            "action_url": request.url.path,
            "head_template": action.head,
            "facts_template": action.facts,
            "after_template": action.after,
            "reason_field": action.reason,
            "step": step,
            "reason": reason,
            "key": key,
            "errors": errors or FormErrors(),
            "error": error,
        },
        block=None,
        status_code=status_code,
    )


def confirmed_routes(action: ConfirmedAction) -> list[Any]:
    """The action's GET and POST routes (see the module's docstring)."""
    first_step = "reason" if action.reason is not None else "confirm"

    @get(action.path, opt=dict(action.opt), name=f"{action.name}_form")
    async def ask(request: Request[Any, Any, Any]) -> Response[Any]:
        """What the action does, and its first step."""
        item_id = str(request.path_params[action.param])
        action.check(item_id)
        core = CoreSession(request)
        return await confirm_page(request, core, action, item_id, key=mint_key(), step=first_step)

    @post(action.path, opt=dict(action.opt), name=action.name)
    async def act(request: Request[Any, Any, Any]) -> Response[Any]:
        """The reason's second step, or the confirmed write."""
        item_id = str(request.path_params[action.param])
        action.check(item_id)
        form = await request.form()
        core = CoreSession(request)
        key = key_from_form(form)
        reason = text(form, "reason", action.reason.max_length) if action.reason else ""
        missing = action.reason is not None and not reason
        if key is None or missing:
            return await confirm_page(
                request, core, action, item_id,
                key=key or mint_key(), step=first_step, reason=reason,
                errors=FormErrors(reason=action.reason.required) if action.reason and missing
                else FormErrors(),
                error=FORM_EXPIRED if key is None else None, status_code=400,
            )  # fmt: skip
        if action.reason is not None and (form.get(CONFIRMED) != "yes" or form.get("back")):
            step = "reason" if form.get("back") else "confirm"
            return await confirm_page(
                request, core, action, item_id, key=key, step=step, reason=reason
            )
        target = await action.target(core, item_id)  # before the write: it may ask the core
        answer = await send_write(
            request,
            core,
            action.send(core, item_id, reason, key),
            action=action.log,
            target=target,
            key=key,
            explain=action.explain,
            reraise_not_found=action.reraise_not_found,
        )
        if isinstance(answer, Refusal):
            return await confirm_page(
                request, core, action, item_id,
                key=answer.key, step=first_step, reason=reason, errors=answer.errors,
                error=answer.error, status_code=answer.status_code,
            )  # fmt: skip
        return redirect(action.done(item_id, answer))

    return [ask, act]

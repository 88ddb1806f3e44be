"""What every console write shares: its idempotency key, its log row, its errors in words.

A write form carries an idempotency key minted when the form was rendered (a hidden field).
The key goes to the core with the write, so a double click, a resubmitted form or a retry
after a timeout is answered from the core's record and never runs twice. After a refusal
the form is shown again with the *same* key when the core stored nothing (a refusal before
its handler ran, an outage), and with a fresh one when it recorded a final answer (a 409 or
422), so that the corrected form is a new request rather than an idempotency conflict.
"""

import re
import uuid
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.status_codes import HTTP_303_SEE_OTHER

from app.client import BankingAPIError, BankingAPIUnavailable
from app.console.actionlog import ActionLog, Actor
from app.console.auth.session import SignedIn
from app.console.errors import core_message
from app.console.htmx import VARY
from app.console.state import console_state

KEY_FIELD = "idempotency_key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# The core keeps the answer of these statuses under the key (api.md, "Idempotency").
_STORED_STATUSES = {409, 422}

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


def text(form: Mapping[str, Any], name: str, max_length: int = 500) -> str:
    """A form field as stripped text (absent fields are empty)."""
    return str(form.get(name) or "").strip()[:max_length]


def normalise_amount(value: str) -> str:
    """What a person types (``"₦1,500.00"``) as the API's decimal string (``"1500.00"``).

    Only separators and the currency symbol are dropped; anything else is left for the
    core to judge, so its message names the real problem.
    """
    cleaned = value.strip()
    for symbol in ("₦", "$", "€", "£", "NGN", "USD", "EUR", "GBP"):
        cleaned = cleaned.replace(symbol, "")
    return cleaned.replace(",", "").replace(" ", "").replace("_", "")


def redirect(location: str) -> Response[Any]:
    """POST → redirect → GET."""
    return Response("", status_code=HTTP_303_SEE_OTHER, headers={**VARY, "Location": location})


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
) -> None:
    """One console action-log row for a write that was sent (or refused on its way)."""
    code = error.code if error is not None else error_code
    await ActionLog(console_state(request.app).database).record(
        request,
        action=action,
        actor=actor_of(signed_in),
        outcome="failure" if code else "success",
        target=target,
        error_code=code,
        idempotency_key=key,
    )


# -- core errors in words, next to the field they concern ----------------------------------

# Field labels as the forms show them (used when the core's reason is not plain enough).
FIELD_LABELS: dict[str, str] = {
    "customer_type": "Customer type",
    "first_name": "First name",
    "last_name": "Last name",
    "company_name": "Company name",
    "email": "Email",
    "phone": "Phone",
    "date_of_birth": "Date of birth",
    "address": "Address",
    "customer_id": "Customer",
    "product_code": "Product",
    "account_type": "Product",
    "currency": "Currency",
    "branch_code": "Branch",
    "alias": "Alias",
    "initial_deposit": "Initial deposit",
    "amount": "Amount",
    "reason": "Reason",
    "expires_at": "Expires",
}

# Where a field's error is shown when its control has another name on the form.
FIELD_CONTROLS: dict[str, str] = {"account_type": "product_code"}


class FormErrors(dict[str, str]):
    """Messages by form control; a control without one reads as ``None`` in templates."""

    def __missing__(self, key: str) -> None:
        return None


def plain_reason(field: str, reason: str, value: Any = None) -> str:
    """The core's ``reason`` for ``field`` in words staff understand."""
    low = reason.lower()
    label = FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
    if field == "email" and ("pattern" in low or "match" in low):
        return "Enter an email address like name@example.com."
    if field == "phone" and "give a phone number or an email" in low:
        return "Enter a phone number or an email address (at least one of them)."
    if field == "phone" and ("pattern" in low or "match" in low):
        return (
            "Enter a phone number with digits, spaces, brackets or dashes, like +234 803 000 0001."
        )
    if field == "date_of_birth":
        return "Enter the date of birth as a date, like 1990-04-21."
    if field == "expires_at":
        return "Choose a date and time in the future."
    if "required for" in low or low in {"required", "field required"} or "missing" in low:
        return f"Enter the {label.lower()}."
    if "at most" in low and "character" in low:
        found = re.search(r"at most (\d+)", low)
        limit = f" (at most {found.group(1)} characters)" if found else ""
        return f"This is too long{limit}."
    if field in {"amount", "initial_deposit"}:
        if "greater than zero" in low:
            return "Enter an amount greater than zero."
        if "at most 999" in low:
            return "That amount is too large (at most 999,999,999,999.99)."
        return "Enter an amount in figures, like 1500.00 (at most two decimal places)."
    if field == "currency" and "unsupported" in low:
        return "That currency is not offered."
    if field in {"product_code", "account_type", "currency"} and low.startswith("product "):
        return f"{reason[0].upper()}{reason[1:]}."
    if "unknown branch" in low:
        return "There is no such branch."
    if "unknown product" in low:
        return "Choose one of the bank's products."
    if "input should be" in low:
        return f"Choose a valid {label.lower()}."
    return f"{label}: {reason}."


def field_errors(error: BankingAPIError) -> FormErrors:
    """The core error's per-field problems as ``{form control name: message}``."""
    errors = FormErrors()
    for detail in error.details:
        field = str(detail.get("field") or "")
        if not field or field == "body":
            continue
        control = FIELD_CONTROLS.get(field, field)
        errors.setdefault(
            control, plain_reason(field, str(detail.get("reason") or ""), detail.get("value"))
        )
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

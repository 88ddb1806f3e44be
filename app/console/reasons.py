"""The core's refusals in the console's words: one table from (field, code) to a sentence.

Every item of an error's ``details`` carries a machine-readable ``code`` beside its
``field`` and the core's English ``reason`` (``app/core/detail_codes.py``; the shared names
are in codes.md). The console never reads the English to decide what to say: it looks up
``(field, code)``, then ``("*", code)`` for words that fit any field, and for a code it
does not know says ``"<Label>: <reason>."`` (the core may add codes before the console
learns them).

In the words, ``{label}`` is the control's label in lower case, ``{one}`` the same for one
item of a list ("Scopes" → "scope"), ``{bound}`` the number the reason names (a length's
limit: codes.md says the reason carries it) and ``{value}`` the value refused.
"""

import re
from collections.abc import Mapping
from typing import Any

# What a form calls each field the core names (when its label is not the field's name).
LABELS: dict[str, str] = {
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
    "branch_id": "Branch",
    "alias": "Alias",
    "initial_deposit": "Initial deposit",
    "amount": "Amount",
    "reason": "Reason",
    "expires_at": "Expires",
    "name": "Name",
    "password": "Password",
    "role": "Role",
    "roles": "Role",
    "code": "Code",
    "teller_approval_limit": "Teller approval limit",
    "allow_same_maker_checker": "Maker and checker",
    "scopes": "Scopes",
    "url": "URL",
    "events": "Events",
    "secret": "Secret",
    "is_active": "Active",
    "as_of": "As-of date",
    "date": "Date",
    "from": "From date",
    "to": "To date",
    "user_id": "Teller",
    "start_date": "Start date",
    "end_date": "End date",
    "narration": "Narration",
    "frequency": "Frequency",
}

ANY = "*"
AMOUNT_IN_FIGURES = "Enter an amount in figures, like 1500.00 (at most two decimal places)."
LIMIT_IN_FIGURES = "Enter the limit in figures, like 1000000.00 (at most two decimal places)."
DATE_OF_BIRTH = "Enter the date of birth as a date, like 1990-04-21."
IN_THE_FUTURE = "Choose a date and time in the future."
ROLES = "Choose one of the roles."
WEB_ADDRESS = "Enter a full web address, like https://example.com/hooks/branchdesk."
SECRET = "Use 16 to 200 letters, digits or symbols without spaces, or leave it empty."

# (field, code) → words; ANY as the field fits every field without words of its own.
WORDS: dict[tuple[str, str], str] = {
    # Any field.
    (ANY, "required"): "Enter the {label}.",
    (ANY, "too_long"): "This is too long (at most {bound} characters).",
    (ANY, "too_short"): "Use at least {bound} characters.",
    (ANY, "invalid_choice"): "Choose a valid {label}.",
    (ANY, "empty_list"): "Choose at least one {one}.",
    (ANY, "not_positive"): "Enter an amount greater than zero.",
    (ANY, "too_large"): "That amount is too large (at most 999,999,999,999.99).",
    (ANY, "too_many_decimals"): AMOUNT_IN_FIGURES,
    (ANY, "unsupported_currency"): "That currency is not offered.",
    (ANY, "unknown_branch"): "There is no such branch.",
    (ANY, "unknown_product"): "Choose one of the bank's products.",
    (ANY, "unknown_customer"): "There is no such customer.",
    (ANY, "unknown_account"): "There is no such account.",
    (ANY, "product_currency_mismatch"): "That product is not offered in this currency.",
    ("currency", "product_currency_mismatch"): (
        "That product is not offered in {value}; choose another currency or product."
    ),
    (ANY, "in_past"): IN_THE_FUTURE,
    (ANY, "duplicate"): "This {label} is already used; choose another.",
    # Customers and accounts.
    ("email", "invalid_format"): "Enter an email address like name@example.com.",
    ("phone", "invalid_format"): (
        "Enter a phone number with digits, spaces, brackets or dashes, like +234 803 000 0001."
    ),
    ("phone", "contact_required"): (
        "Enter a phone number or an email address (at least one of them)."
    ),
    ("email", "contact_required"): (
        "Enter a phone number or an email address (at least one of them)."
    ),
    ("date_of_birth", "invalid_format"): DATE_OF_BIRTH,
    ("date_of_birth", "in_future"): DATE_OF_BIRTH,
    ("amount", "invalid_format"): AMOUNT_IN_FIGURES,
    ("initial_deposit", "invalid_format"): AMOUNT_IN_FIGURES,
    ("expires_at", "invalid_format"): IN_THE_FUTURE,
    # Standing instructions.
    ("start_date", "in_past"): (
        "In the past: the first payment is on the business date or a later day."
    ),
    # Transfers.
    ("destination_account_id", "same_branch"): (
        "Both accounts are in the same branch; use a transfer within the branch."
    ),
    # Staff.
    ("email", "duplicate"): "A staff user with this email already exists.",
    ("branch_id", "required"): "Choose a branch.",
    ("branch_id", "unknown_branch"): "There is no branch with this code; choose one of the list.",
    ("role", "required"): ROLES,
    ("role", "empty_list"): ROLES,
    ("role", "invalid_choice"): ROLES,
    ("scopes", "empty_list"): "Choose at least one scope.",
    ("role", "self_demotion"): (
        "You can't take the admin role away from yourself; ask another admin."
    ),
    ("is_active", "self_deactivation"): (
        "You can't deactivate your own account; ask another admin."
    ),
    # Branches.
    ("code", "duplicate"): "A branch with this code already exists; choose another code.",
    ("code", "invalid_format"): "Use 1 to 10 letters or digits, like 004 or LAG2.",
    # Settings.
    ("teller_approval_limit", "not_positive"): "Enter a limit greater than zero.",
    ("teller_approval_limit", "too_large"): (
        "That limit is too large (at most 999,999,999,999.99)."
    ),
    ("teller_approval_limit", "invalid_format"): LIMIT_IN_FIGURES,
    ("teller_approval_limit", "too_many_decimals"): LIMIT_IN_FIGURES,
    # API keys.
    ("scopes", "scope_not_in_role"): (
        "These scopes are beyond the key's role; untick them or choose a higher role."
    ),
    # Webhooks.
    ("url", "https_required"): "Use an https:// address; this bank sends events over https only.",
    ("url", "private_address"): (
        "Use a public address; local and private network addresses are refused here."
    ),
    ("url", "credentials_in_url"): "Leave the user name and password out of the address.",
    ("url", "invalid_format"): WEB_ADDRESS,
    ("url", "required"): WEB_ADDRESS,
    ("secret", "not_printable"): SECRET,
    ("secret", "too_short"): SECRET,
    ("secret", "too_long"): SECRET,
    ("events", "required"): "Choose at least one event.",
    ("events", "empty_list"): "Choose at least one event.",
    ("events", "invalid_choice"): "Choose events from the list.",
}

_BOUND = re.compile(r"(\d+)")


def label_of(field: str) -> str:
    """The field's label as a form shows it (``first_name`` → ``First name``)."""
    return LABELS.get(field) or field.replace("_", " ").capitalize()


def words_for(field: str, code: str | None, reason: str | None, value: Any = None) -> str:
    """What the console says for a refused ``field`` (the core's ``code`` and ``reason``,
    and the ``value`` it refused)."""
    label = label_of(field)
    text = (reason or "").strip() or "not accepted"
    words = WORDS.get((field, code or "")) or WORDS.get((ANY, code or ""))
    if words is None:
        return f"{label}: {text.rstrip('.')}."
    found = _BOUND.search(text)
    lower = label.lower()
    return words.format(
        label=lower,
        one=lower[:-1] if lower.endswith("s") else lower,
        bound=found.group(1) if found else "the allowed number of",
        value="" if value is None else str(value)[:64],
    )


def detail_words(detail: Mapping[str, Any], field: str | None = None) -> str:
    """:func:`words_for` one item of an error's ``details`` (``field``: the name to look
    it up under, when the form calls it otherwise)."""
    return words_for(
        field or str(detail.get("field") or ""),
        str(detail.get("code") or "") or None,
        str(detail.get("reason") or ""),
        detail.get("value"),
    )

"""Machine-readable reasons for the items of an error's ``details`` (issue 12).

Every item carries ``code`` beside ``field`` and the English ``reason``, so a client maps
(field, code) to its own words instead of matching our English. The names of the shared
vocabulary (``/work/briefs/codes.md``) are fixed; the core may add more, and a client falls
back to the ``reason`` for a code it does not know.

Codes come from three places:

- a hand check names its code (``detail(field, DetailCode.REQUIRED, "required")``);
- a msgspec refusal is classified from its message (``from_msgspec``); a body's own rule
  names its code (``app.core.contract.bodies``);
- an item built without one gets the code its error implies (``with_codes``), so no item
  ever leaves without a code.
"""

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any


class DetailCode(StrEnum):
    # The shared vocabulary (codes.md).
    REQUIRED = "required"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    INVALID_FORMAT = "invalid_format"
    INVALID_CHOICE = "invalid_choice"
    NOT_POSITIVE = "not_positive"
    TOO_MANY_DECIMALS = "too_many_decimals"
    TOO_LARGE = "too_large"
    UNSUPPORTED_CURRENCY = "unsupported_currency"
    UNKNOWN_BRANCH = "unknown_branch"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_CUSTOMER = "unknown_customer"
    PRODUCT_CURRENCY_MISMATCH = "product_currency_mismatch"
    CONTACT_REQUIRED = "contact_required"
    IN_PAST = "in_past"
    DUPLICATE = "duplicate"
    SELF_DEACTIVATION = "self_deactivation"
    SELF_DEMOTION = "self_demotion"
    SCOPE_NOT_IN_ROLE = "scope_not_in_role"
    HTTPS_REQUIRED = "https_required"
    PRIVATE_ADDRESS = "private_address"
    CREDENTIALS_IN_URL = "credentials_in_url"
    NOT_PRINTABLE = "not_printable"
    EMPTY_LIST = "empty_list"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    BRANCH_SCOPE = "branch_scope"
    JOURNAL_PENDING = "journal_pending"
    TELLER_TRANSACTION_PENDING = "teller_transaction_pending"
    EARLIER_PERIOD_OPEN = "earlier_period_open"
    # The core's additions.
    INVALID = "invalid"  # none of the above fits; the reason says why
    UNKNOWN_FIELD = "unknown_field"
    MALFORMED_JSON = "malformed_json"
    OUT_OF_RANGE = "out_of_range"  # outside the bounds the reason names (a page's limit)
    INSUFFICIENT_ROLE = "insufficient_role"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    TOO_SMALL = "too_small"  # below a minimum other than zero (a limit of at least N)
    IN_FUTURE = "in_future"
    UNKNOWN_TENANT = "unknown_tenant"
    UNKNOWN_GL_ACCOUNT = "unknown_gl_account"
    UNKNOWN_JOURNAL = "unknown_journal"
    UNKNOWN_PERIOD = "unknown_period"
    UNKNOWN_USER = "unknown_user"
    NOT_FOUND = "not_found"  # a reference to nothing of a kind without its own code
    REUSED = "reused"  # an idempotency key or one-time code seen with another request
    CURRENCY_MISMATCH = "currency_mismatch"
    SAME_ACCOUNT = "same_account"
    INTER_BRANCH_REQUIRED = "inter_branch_required"
    SAME_BRANCH = "same_branch"
    LIMIT_EXCEEDED = "limit_exceeded"
    ACCOUNT_FROZEN = "account_frozen"
    ACCOUNT_NOT_ACTIVE = "account_not_active"
    UNBALANCED = "unbalanced"
    HEADER_NOT_POSTABLE = "header_not_postable"
    MANUAL_ENTRY_NOT_ALLOWED = "manual_entry_not_allowed"
    INVALID_STATE = "invalid_state"
    IMMUTABLE = "immutable"  # a field that cannot change once set
    AWAITING_APPROVAL = "awaiting_approval"
    PERIOD_CLOSED = "period_closed"
    OVERLAPS = "overlaps"  # a period's dates overlap another's
    NOT_IN_PRODUCTION = "not_in_production"  # a setting production mode refuses
    REJECTED = "rejected"  # an identity provider's or a batch item's refusal


def detail(field: str | None, code: DetailCode, reason: str, value: Any = None) -> dict[str, Any]:
    """One ``details`` item; ``value`` is shown as text unless it is a string, int or bool."""
    item: dict[str, Any] = {"field": field, "code": code.value, "reason": reason}
    if value is not None:
        item["value"] = value if isinstance(value, str | int | bool) else str(value)
    return item


# What an item's error implies when the item names no code itself.
_BY_ERROR: dict[str, DetailCode] = {
    "MISSING_FIELD": DetailCode.REQUIRED,
    "IDEMPOTENCY_KEY_REQUIRED": DetailCode.REQUIRED,
    "TENANT_REQUIRED": DetailCode.REQUIRED,
    "INSUFFICIENT_FUNDS": DetailCode.INSUFFICIENT_FUNDS,
    "BRANCH_SCOPE": DetailCode.BRANCH_SCOPE,
    "DUPLICATE_RESOURCE": DetailCode.DUPLICATE,
    "ACCOUNT_NOT_FOUND": DetailCode.UNKNOWN_ACCOUNT,
    "CUSTOMER_NOT_FOUND": DetailCode.UNKNOWN_CUSTOMER,
    "GL_ACCOUNT_NOT_FOUND": DetailCode.UNKNOWN_GL_ACCOUNT,
    "JOURNAL_NOT_FOUND": DetailCode.UNKNOWN_JOURNAL,
    "PERIOD_NOT_FOUND": DetailCode.UNKNOWN_PERIOD,
    "TENANT_NOT_FOUND": DetailCode.UNKNOWN_TENANT,
    "RESOURCE_NOT_FOUND": DetailCode.NOT_FOUND,
    "CURRENCY_MISMATCH": DetailCode.CURRENCY_MISMATCH,
    "SAME_ACCOUNT": DetailCode.SAME_ACCOUNT,
    "INTER_BRANCH_REQUIRED": DetailCode.INTER_BRANCH_REQUIRED,
    "LIMIT_EXCEEDED": DetailCode.LIMIT_EXCEEDED,
    "ACCOUNT_FROZEN": DetailCode.ACCOUNT_FROZEN,
    "ACCOUNT_NOT_ACTIVE": DetailCode.ACCOUNT_NOT_ACTIVE,
    "UNBALANCED_JOURNAL": DetailCode.UNBALANCED,
    "HEADER_ACCOUNT_NOT_POSTABLE": DetailCode.HEADER_NOT_POSTABLE,
    "MANUAL_ENTRY_NOT_ALLOWED": DetailCode.MANUAL_ENTRY_NOT_ALLOWED,
    "INVALID_STATE": DetailCode.INVALID_STATE,
    "ALREADY_REVERSED": DetailCode.INVALID_STATE,
    "PERIOD_CLOSED": DetailCode.PERIOD_CLOSED,
    "NO_OPEN_PERIOD": DetailCode.PERIOD_CLOSED,
    "IDEMPOTENCY_CONFLICT": DetailCode.REUSED,
    "UNSUPPORTED_MEDIA_TYPE": DetailCode.INVALID_FORMAT,
    "INVALID_FORMAT": DetailCode.INVALID_FORMAT,
    "SSO_ACCESS_DENIED": DetailCode.REJECTED,
    "BATCH_REJECTED": DetailCode.REJECTED,
}


def with_codes(details: Iterable[Mapping[str, Any]], error_code: str) -> list[dict[str, Any]]:
    """``details`` with a ``code`` on every item: its own, else the one its error implies."""
    fallback = _BY_ERROR.get(error_code, DetailCode.INVALID).value
    coded: list[dict[str, Any]] = []
    for item in details:
        if "code" in item:
            coded.append(dict(item))
            continue
        # ``code`` right after ``field``, as codes.md shows the item.
        ordered: dict[str, Any] = {}
        if "field" in item:
            ordered["field"] = item["field"]
        ordered["code"] = fallback
        ordered.update(item)
        coded.append(ordered)
    return coded


_LENGTH = re.compile(r"of length (<|>)=? ?(\d+)")
_BOUND = re.compile(r"Expected `(?:int|float|decimal|number)` (>|>=|<|<=) (-?[\d.]+)")


def from_msgspec(message: str) -> DetailCode:
    """The code of a msgspec ``ValidationError`` message (msgspec has no error kinds)."""
    if "missing required field" in message:
        return DetailCode.REQUIRED
    if "contains unknown field" in message:
        return DetailCode.UNKNOWN_FIELD
    if message.startswith("Invalid enum value"):
        return DetailCode.INVALID_CHOICE
    length = _LENGTH.search(message)
    if length is not None:
        if length.group(1) == "<":
            return DetailCode.TOO_LONG
        if length.group(2) == "1":
            return DetailCode.EMPTY_LIST if "`array`" in message else DetailCode.REQUIRED
        return DetailCode.TOO_SHORT
    bound = _BOUND.search(message)
    if bound is not None:
        if bound.group(1).startswith("<"):
            return DetailCode.TOO_LARGE
        return DetailCode.NOT_POSITIVE if bound.group(2) in {"0", "1"} else DetailCode.TOO_SMALL
    if "got `null`" in message:
        return DetailCode.REQUIRED
    return DetailCode.INVALID_FORMAT

"""Request bodies of /tenant/settings and /branches."""

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from app.core.contract.bodies import Body, Flag, refuse
from app.core.detail_codes import DetailCode, detail
from app.core.money import grammar_code

# "Money on the wire" (api.md): no sign, exponent, spaces or separators.
MAX_AMOUNT = Decimal("999999999999.99")
_AMOUNT_DIGITS = 2  # NGN, USD, EUR, GBP: the currencies the platform books
_AMOUNT_PATTERN = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")  # 2 = _AMOUNT_DIGITS


def approval_limit_problem(value: Any) -> dict[str, Any] | None:
    """What is wrong with a teller approval limit: a positive amount, as a decimal string or
    a JSON number exact to the minor unit; None when nothing is."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        # bool is an int to Python, never an amount to us
        return _limit_problem(DetailCode.INVALID_FORMAT, "must be a decimal string such as 1500.00")
    text = _amount_text(value)
    if not _AMOUNT_PATTERN.match(text):
        # The same codes as every amount's grammar: a sign, letters or an exponent are
        # invalid_format, a third decimal too_many_decimals, a thirteenth digit too_large.
        return _limit_problem(
            grammar_code(text, _AMOUNT_DIGITS),
            f"must be a decimal string with at most 12 integer and "
            f"{_AMOUNT_DIGITS} decimal digits, no sign or exponent",
        )
    amount = Decimal(text)  # the pattern admits only what Decimal reads
    if amount <= 0:
        return _limit_problem(DetailCode.NOT_POSITIVE, "must be greater than 0")
    if amount > MAX_AMOUNT:
        return _limit_problem(DetailCode.TOO_LARGE, "must be at most 999999999999.99")
    return None


def _amount_text(value: int | float | str | Decimal) -> str:
    if isinstance(value, float):
        # repr() is the shortest text that reads back as this float: the JSON number sent.
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def _limit_problem(code: DetailCode, reason: str) -> dict[str, Any]:
    return detail("teller_approval_limit", code, reason)


MfaRole = Literal["viewer", "teller", "officer", "manager", "admin", "none"]


class TenantSettingsUpdate(Body):
    """`PUT /tenant/settings`: only the members sent change (each may be left out, not
    null)."""

    # A positive amount (its grammar is a rule with its own codes: ``member_problems``).
    teller_approval_limit: Any | msgspec.UnsetType = msgspec.UNSET
    allow_same_maker_checker: Flag | msgspec.UnsetType = msgspec.UNSET
    # The lowest role that needs a second factor to sign in with a password, or "none".
    mfa_required_role: MfaRole | msgspec.UnsetType = msgspec.UNSET

    @classmethod
    def member_problems(cls, members: Mapping[str, Any]) -> list[dict[str, Any]]:
        limit = members.get("teller_approval_limit", msgspec.UNSET)
        if limit is msgspec.UNSET:
            return []
        if limit is None:
            return [_limit_problem(DetailCode.REQUIRED, "may be left out but not null")]
        problem = approval_limit_problem(limit)
        return [problem] if problem else []

    def __post_init__(self) -> None:
        refuse(self.member_problems({"teller_approval_limit": self.teller_approval_limit}))

    @property
    def approval_limit(self) -> Decimal | None:
        """The limit sent, as an amount (checked as the body was decoded)."""
        limit = self.teller_approval_limit
        return None if limit is msgspec.UNSET else Decimal(_amount_text(limit))


class BranchCreate(Body):
    """`POST /branches`."""

    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{1,10}$")]
    # Not blank (the type says so, so every bad field is named at once); kept trimmed.
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]

    def __post_init__(self) -> None:
        self.name = self.name.strip()

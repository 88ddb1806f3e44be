"""Request bodies of /tenant/settings and /branches."""

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from app.core.contract.bodies import Body
from app.core.detail_codes import DetailCode, refusal
from app.core.money import grammar_code

# "Money on the wire" (api.md): no sign, exponent, spaces or separators.
MAX_AMOUNT = Decimal("999999999999.99")
_AMOUNT_DIGITS = 2  # NGN, USD, EUR, GBP: the currencies the platform books
_AMOUNT_PATTERN = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")  # 2 = _AMOUNT_DIGITS


def parse_amount(value: Any) -> Decimal:
    """A positive amount from a decimal string, or a JSON number exact to the minor unit."""
    if isinstance(value, bool):  # bool is an int to Python, never an amount to us
        raise refusal(DetailCode.INVALID_FORMAT, "must be a decimal string such as 1500.00")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        # repr() is the shortest text that reads back as this float: the JSON number sent.
        text = repr(value)
        if text.endswith(".0"):
            text = text[:-2]
    elif isinstance(value, str):
        text = value
    else:
        raise refusal(DetailCode.INVALID_FORMAT, "must be a decimal string such as 1500.00")
    if not _AMOUNT_PATTERN.match(text):
        # The same codes as every amount's grammar: a sign, letters or an exponent are
        # invalid_format, a third decimal too_many_decimals, a thirteenth digit too_large.
        raise refusal(
            grammar_code(text, _AMOUNT_DIGITS),
            f"must be a decimal string with at most 12 integer and "
            f"{_AMOUNT_DIGITS} decimal digits, no sign or exponent",
        )
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already rules it out
        raise refusal(
            DetailCode.INVALID_FORMAT, "must be a decimal string such as 1500.00"
        ) from exc
    if amount <= 0:
        raise refusal(DetailCode.NOT_POSITIVE, "must be greater than 0")
    if amount > MAX_AMOUNT:
        raise refusal(DetailCode.TOO_LARGE, "must be at most 999999999999.99")
    return amount


Amount = Annotated[Decimal, BeforeValidator(parse_amount)]


def _json_bool(value: Any) -> Any:
    # Litestar validates bodies with strict=False, which overrides StrictBool: check here.
    if value is not None and not isinstance(value, bool):
        raise refusal(DetailCode.INVALID_FORMAT, "must be true or false")
    return value


JsonBool = Annotated[bool, BeforeValidator(_json_bool)]
MfaRole = Literal["viewer", "teller", "officer", "manager", "admin", "none"]


def _not_null(value: Any) -> Any:
    if value is None:
        raise refusal(DetailCode.REQUIRED, "may be left out but not null")
    return value


class TenantSettingsUpdate(BaseModel):
    """`PUT /tenant/settings`: only the fields sent change.

    (pydantic until ``validation.every_problem`` runs a body's own rules: the amount's
    grammar is a rule with its own codes, and a refusal names every bad field.)
    """

    model_config = ConfigDict(extra="forbid")

    teller_approval_limit: Amount | None = None
    allow_same_maker_checker: JsonBool | None = None
    # The lowest role that needs a second factor to sign in with a password, or "none".
    mfa_required_role: MfaRole | None = None

    _reject_null = field_validator(
        "teller_approval_limit", "allow_same_maker_checker", "mfa_required_role", mode="before"
    )(_not_null)


class BranchCreate(Body):
    """`POST /branches`."""

    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{1,10}$")]
    # Not blank (the type says so, so every bad field is named at once); kept trimmed.
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]

    def __post_init__(self) -> None:
        self.name = self.name.strip()

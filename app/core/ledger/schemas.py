"""Request bodies of POST /gl/accounts and PATCH /gl/accounts/{id}."""

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from app.core.detail_codes import DetailCode, refusal

Category = Literal["ASSET", "LIABILITY", "EQUITY", "REVENUE", "EXPENSE"]

# Codes the chart already uses look like "2101" or "1101-001": letters, digits, . _ -
GL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$")


def _json_bool(value: Any) -> Any:
    # Litestar validates bodies with strict=False, which would read "yes" as true.
    if value is not None and not isinstance(value, bool):
        raise refusal(DetailCode.INVALID_FORMAT, "must be true or false")
    return value


JsonBool = Annotated[bool, BeforeValidator(_json_bool)]


def _not_null(value: Any) -> Any:
    if value is None:
        raise refusal(DetailCode.REQUIRED, "may be left out but not null")
    return value


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise refusal(DetailCode.REQUIRED, "must not be blank")
    return value


def _currency(value: str | None) -> str | None:
    return None if value is None else value.upper()


class GLAccountCreate(BaseModel):
    """A new account of the chart; ``currency_code`` defaults to the tenant's base currency."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    category: Category
    parent_id: str | None = Field(default=None, max_length=64)
    is_header: JsonBool = False
    allow_manual_entries: JsonBool | None = None
    currency_code: str | None = Field(default=None, min_length=3, max_length=3)

    _clean_name = field_validator("name")(_name)
    _upper_currency = field_validator("currency_code")(_currency)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        value = value.strip()
        if not GL_CODE.match(value):
            raise refusal(
                DetailCode.INVALID_FORMAT,
                "1-30 letters, digits, '.', '_' or '-', starting with a letter or digit",
            )
        return value


class GLAccountUpdate(BaseModel):
    """Only the fields sent change; ``parent_id: null`` makes the account a root."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, max_length=30)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    category: Category | None = None
    parent_id: str | None = Field(default=None, max_length=64)
    is_header: JsonBool | None = None
    allow_manual_entries: JsonBool | None = None
    currency_code: str | None = Field(default=None, min_length=3, max_length=3)
    is_active: JsonBool | None = None

    _reject_null = field_validator(
        "code",
        "name",
        "category",
        "is_header",
        "allow_manual_entries",
        "currency_code",
        "is_active",
        mode="before",
    )(_not_null)
    _upper_currency = field_validator("currency_code")(_currency)

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str | None) -> str | None:
        return None if value is None else _name(value)

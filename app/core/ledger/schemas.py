"""Request bodies of POST /gl/accounts and PATCH /gl/accounts/{id}."""

import re
from typing import Annotated, Any, Literal

import msgspec

from app.core.contract.bodies import Body, Flag, refuse, trimmed
from app.core.detail_codes import DetailCode, detail

Category = Literal["ASSET", "LIABILITY", "EQUITY", "REVENUE", "EXPENSE"]

# Codes the chart already uses look like "2101" or "1101-001": letters, digits, . _ -
GL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$")

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
Ref = Annotated[str, msgspec.Meta(max_length=64)]


def _code(value: str, problems: list[dict[str, Any]]) -> str:
    value = value.strip()
    if not GL_CODE.match(value):
        problems.append(
            detail(
                "code",
                DetailCode.INVALID_FORMAT,
                "1-30 letters, digits, '.', '_' or '-', starting with a letter or digit",
            )
        )
    return value


class GLAccountCreate(Body):
    """A new account of the chart; ``currency_code`` defaults to the tenant's base currency."""

    code: Code
    name: Name
    category: Category
    parent_id: Ref | None = None
    is_header: Flag = False
    allow_manual_entries: Flag | None = None
    currency_code: Currency | None = None

    def __post_init__(self) -> None:
        problems: list[dict[str, Any]] = []
        self.code = _code(self.code, problems)
        self.name = trimmed("name", self.name, problems) or ""
        if self.currency_code is not None:
            self.currency_code = self.currency_code.upper()
        refuse(problems)


class GLAccountUpdate(Body):
    """Only the members sent change: each may be left out but not sent null, except
    ``parent_id``, whose ``null`` makes the account a root."""

    code: Annotated[str, msgspec.Meta(max_length=30)] | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET
    category: Category | msgspec.UnsetType = msgspec.UNSET
    parent_id: Ref | msgspec.UnsetType | None = msgspec.UNSET
    is_header: Flag | msgspec.UnsetType = msgspec.UNSET
    allow_manual_entries: Flag | msgspec.UnsetType = msgspec.UNSET
    currency_code: Currency | msgspec.UnsetType = msgspec.UNSET
    is_active: Flag | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        problems: list[dict[str, Any]] = []
        if isinstance(self.name, str):
            self.name = trimmed("name", self.name, problems) or ""
        if isinstance(self.currency_code, str):
            self.currency_code = self.currency_code.upper()
        refuse(problems)

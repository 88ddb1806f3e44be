"""Request bodies of /webhooks."""

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from app.core.detail_codes import DetailCode, refusal
from app.core.webhooks.events import EVENT_TYPES, KNOWN_EVENT_TYPES

# Printable ASCII, no spaces; at most 100 so that its sealed form fits its column.
_SECRET = re.compile(r"^[\x21-\x7e]{16,100}$")
MAX_URL = 2000


def _json_bool(value: Any) -> Any:
    # Litestar validates bodies with strict=False, which would turn "yes" into True.
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


def _url(value: str) -> str:
    """An absolute http(s) URL with a host; the deployment's policy is checked later."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        raise refusal(DetailCode.INVALID_FORMAT, "must be an http or https URL") from None
    del port
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise refusal(DetailCode.INVALID_FORMAT, "must be an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise refusal(
            DetailCode.CREDENTIALS_IN_URL,
            "must not carry credentials: the signature authenticates us",
        )
    if parts.fragment:
        raise refusal(DetailCode.INVALID_FORMAT, "must not have a #fragment")
    if any(c.isspace() for c in value):
        raise refusal(DetailCode.INVALID_FORMAT, "must not contain spaces")
    return value


def _events(value: list[str]) -> list[str]:
    unknown = sorted({e for e in value if e not in KNOWN_EVENT_TYPES})
    if unknown:
        raise refusal(
            DetailCode.INVALID_CHOICE,
            f"unknown event types: {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}",
        )
    chosen = set(value)
    return [e for e in EVENT_TYPES if e in chosen]  # each once, in the contract's order


def _secret(value: str | None) -> str | None:
    if value is not None and not _SECRET.match(value):
        raise refusal(
            DetailCode.NOT_PRINTABLE, "must be 16-100 printable ASCII characters without spaces"
        )
    return value


class WebhookCreate(BaseModel):
    """`POST /webhooks`: a secret is generated (and shown once) when none is sent."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=MAX_URL)
    secret: str | None = None
    events: list[str] = Field(min_length=1, max_length=len(EVENT_TYPES) * 2)
    is_active: JsonBool = True

    _clean_name = field_validator("name")(_name)
    _clean_url = field_validator("url")(_url)
    _clean_events = field_validator("events")(_events)
    _clean_secret = field_validator("secret")(_secret)


class WebhookUpdate(BaseModel):
    """`PATCH /webhooks/{id}`: only the fields sent change; a new ``secret`` replaces it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL)
    secret: str | None = None
    events: list[str] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES) * 2)
    is_active: JsonBool | None = None

    _reject_null = field_validator("name", "url", "secret", "events", "is_active", mode="before")(
        _not_null
    )

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str | None) -> str | None:
        return None if value is None else _name(value)

    @field_validator("url")
    @classmethod
    def _clean_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)

    @field_validator("events")
    @classmethod
    def _clean_events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _events(value)

    _clean_secret = field_validator("secret")(_secret)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)

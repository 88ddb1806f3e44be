"""Request bodies of /webhooks."""

import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec

from app.core.contract.bodies import Body, Flag, refuse
from app.core.detail_codes import DetailCode, detail
from app.core.webhooks.events import EVENT_TYPES, KNOWN_EVENT_TYPES

# Printable ASCII, no spaces; at most 100 so that its sealed form fits its column.
_SECRET = re.compile(r"^[\x21-\x7e]{16,100}$")
MAX_URL = 2000

# Blank names and URLs, no events: the body's rules say so (``member_problems``), so that a
# form with several bad fields hears of each (msgspec would stop at the first; the document
# still says minLength/minItems: app/core/contract/requests.py, FIELDS).
Name = Annotated[str, msgspec.Meta(max_length=200)]
Url = Annotated[str, msgspec.Meta(max_length=MAX_URL)]
Events = Annotated[list[str], msgspec.Meta(max_length=len(EVENT_TYPES) * 2)]

Problems = list[dict[str, Any]]


def _name(value: str, problems: Problems) -> str:
    value = value.strip()
    if not value:
        problems.append(detail("name", DetailCode.REQUIRED, "must not be blank"))
    return value


def _url(value: str, problems: Problems) -> str:
    """An absolute http(s) URL with a host; the deployment's policy is checked later."""
    if not value:
        problems.append(detail("url", DetailCode.REQUIRED, "must not be blank"))
        return value
    value = value.strip()
    problem = _url_problem(value)
    if problem is not None:
        problems.append(detail("url", *problem))
    return value


def _url_problem(value: str) -> tuple[DetailCode, str] | None:
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return DetailCode.INVALID_FORMAT, "must be an http or https URL"
    del port
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return DetailCode.INVALID_FORMAT, "must be an http or https URL with a host"
    if parts.username is not None or parts.password is not None:
        return (
            DetailCode.CREDENTIALS_IN_URL,
            "must not carry credentials: the signature authenticates us",
        )
    if parts.fragment:
        return DetailCode.INVALID_FORMAT, "must not have a #fragment"
    if any(c.isspace() for c in value):
        return DetailCode.INVALID_FORMAT, "must not contain spaces"
    return None


def _events(value: list[str], problems: Problems) -> list[str]:
    if not value:
        problems.append(detail("events", DetailCode.EMPTY_LIST, "name at least one event type"))
        return value
    unknown = sorted({e for e in value if e not in KNOWN_EVENT_TYPES})
    if unknown:
        problems.append(
            detail(
                "events",
                DetailCode.INVALID_CHOICE,
                f"unknown event types: {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}",
            )
        )
        return value
    chosen = set(value)
    return [e for e in EVENT_TYPES if e in chosen]  # each once, in the contract's order


def _secret(value: str, problems: Problems) -> None:
    if not _SECRET.match(value):
        problems.append(
            detail(
                "secret",
                DetailCode.NOT_PRINTABLE,
                "must be 16-100 printable ASCII characters without spaces",
            )
        )


def _rules(members: Mapping[str, Any]) -> Problems:
    """The rules each member sent is judged by alone (they clean nothing)."""
    problems: Problems = []
    if isinstance(members.get("name"), str):
        _name(members["name"], problems)
    if isinstance(members.get("url"), str):
        _url(members["url"], problems)
    if isinstance(members.get("events"), list):
        _events(members["events"], problems)
    if isinstance(members.get("secret"), str):
        _secret(members["secret"], problems)
    return problems


class WebhookCreate(Body):
    """`POST /webhooks`: a secret is generated (and shown once) when none is sent."""

    name: Name
    url: Url
    events: Events
    secret: str | None = None
    is_active: Flag = True

    @classmethod
    def member_problems(cls, members: Mapping[str, Any]) -> Problems:
        return _rules(members)

    def __post_init__(self) -> None:
        problems: Problems = []
        self.name = _name(self.name, problems)
        self.url = _url(self.url, problems)
        self.events = _events(self.events, problems)
        if self.secret is not None:
            _secret(self.secret, problems)
        refuse(problems)


class WebhookUpdate(Body):
    """`PATCH /webhooks/{id}`: only the fields sent change (each may be left out, none may
    be null); a new ``secret`` replaces it."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    url: Url | msgspec.UnsetType = msgspec.UNSET
    secret: str | msgspec.UnsetType = msgspec.UNSET
    events: Events | msgspec.UnsetType = msgspec.UNSET
    is_active: Flag | msgspec.UnsetType = msgspec.UNSET

    @classmethod
    def member_problems(cls, members: Mapping[str, Any]) -> Problems:
        return _rules(members)

    def __post_init__(self) -> None:
        problems: Problems = []
        if not isinstance(self.name, msgspec.UnsetType):
            self.name = _name(self.name, problems)
        if not isinstance(self.url, msgspec.UnsetType):
            self.url = _url(self.url, problems)
        if not isinstance(self.events, msgspec.UnsetType):
            self.events = _events(self.events, problems)
        if not isinstance(self.secret, msgspec.UnsetType):
            _secret(self.secret, problems)
        refuse(problems)

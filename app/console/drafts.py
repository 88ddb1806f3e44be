"""Money forms in progress, kept on the server between "Continue", the confirm step and
the final submit.

A draft lives in the console's session store (Redis in production, in-process otherwise)
under its own key, so a stale copy of the session written back by a parallel request can
never lose it. It is keyed by the signed-in session *and* the form's idempotency key, so
another session cannot read or replay it, and it expires on its own.
"""

import re
from typing import Any, TypeVar

import msgspec
from litestar import Request

from app.console.banking import CoreSession
from app.console.lookup import AccountSummary
from app.console.state import console_state

DRAFT_SECONDS = 2 * 60 * 60
_BlobT = TypeVar("_BlobT", bound=msgspec.Struct)
_KEY = re.compile(r"^console-[0-9a-f]{32}$")


def valid_key(value: object) -> str | None:
    """``value`` when it is a key this console minted (safe in URLs and store keys)."""
    text = str(value or "").strip()
    return text if _KEY.match(text) else None


class Draft(msgspec.Struct, kw_only=True):
    """One money form: what was typed, what was checked, and how it ended."""

    kind: str
    key: str
    values: dict[str, str] = msgspec.field(default_factory=dict)
    # Chosen accounts per picker field ("account", "source", "destination"): the core's body.
    accounts: dict[str, AccountSummary] = msgspec.field(default_factory=dict)
    errors: dict[str, str] = msgspec.field(default_factory=dict)
    summary: str | None = None
    # "editing" (the form), "ready" (the confirm step), "done" (posted: see ``result_ref``).
    status: str = "editing"
    # Sent to the core at least once: the key may have done its work, so it is never reused
    # for a different body.
    sent: bool = False
    result_ref: str | None = None

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, raw: bytes | str) -> "Draft | None":
        try:
            return _DRAFT.decode(raw)
        except msgspec.DecodeError:  # a draft of an older console: the form starts again
            return None


_DRAFT = msgspec.json.Decoder(Draft)


class DraftStore:
    """Drafts of the signed-in staff member of one request."""

    def __init__(self, request: Request[Any, Any, Any], core: CoreSession) -> None:
        self._store = console_state(request.app).session_store
        self._prefix = f"money-draft:{core.signed_in.session_id}:"

    async def load(self, key: str | None) -> Draft | None:
        if not key or not valid_key(key):
            return None
        raw = await self._store.get(self._prefix + key)
        return Draft.from_json(raw) if raw is not None else None

    async def save(self, draft: Draft) -> None:
        await self._store.set(self._prefix + draft.key, draft.to_json(), expires_in=DRAFT_SECONDS)

    async def load_blob(self, key: str | None, model: type[_BlobT]) -> _BlobT | None:
        """Any other short-lived page state (a decision's results, a job's run), as
        ``model``."""
        if not key or not valid_key(key):
            return None
        raw = await self._store.get(self._prefix + key)
        if raw is None:
            return None
        try:
            return msgspec.json.decode(raw, type=model)
        except msgspec.DecodeError:
            return None

    async def save_blob(self, key: str, value: msgspec.Struct) -> None:
        await self._store.set(self._prefix + key, msgspec.json.encode(value), expires_in=600)

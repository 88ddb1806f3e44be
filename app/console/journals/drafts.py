"""Composer drafts, kept on the server between a form post and the page it redirects to.

Like the money forms' drafts: in the console's session store (Redis in production), under
the signed-in session *and* the form's idempotency key, so another session cannot read or
replay one, and each expires on its own.
"""

from typing import Any

from litestar import Request

from app.console.banking import CoreSession
from app.console.drafts import valid_key
from app.console.journals.composer import JournalDraft
from app.console.state import console_state

DRAFT_SECONDS = 2 * 60 * 60


class JournalDrafts:
    """Composer drafts of the signed-in staff member of one request."""

    def __init__(self, request: Request[Any, Any, Any], core: CoreSession) -> None:
        self._store = console_state(request.app).session_store
        self._prefix = f"journal-draft:{core.signed_in.session_id}:"

    async def load(self, key: str | None) -> JournalDraft | None:
        """The draft kept under ``key``, if it is one of ours and has not expired."""
        if not key or not valid_key(key):
            return None
        raw = await self._store.get(self._prefix + key)
        return JournalDraft.from_json(raw) if raw is not None else None

    async def save(self, draft: JournalDraft) -> None:
        """Keep ``draft`` under its key (a key this console did not mint is not stored)."""
        if valid_key(draft.key):
            await self._store.set(
                self._prefix + draft.key, draft.to_json(), expires_in=DRAFT_SECONDS
            )

"""Secrets a response shows once are not kept for a replay.

``POST /api-keys`` answers with the new key and ``POST /webhooks`` with the signing
secret: the only time either is shown. The idempotency record keeps the response for
24 hours to replay it, so the handler names the field (:func:`shown_once`) and the record
keeps the response with that field's value replaced by :data:`REDACTED`. A replay answers
the same status and resource, says which field was withheld in the ``Idempotent-Redacted``
header, and never the secret: whoever lost the first answer revokes the key (or rotates
the webhook's secret) and makes a new one.
"""

import json
from typing import Any

from app.core.context import RequestContext

NOTE = "shown_once"
REDACTED = "(shown once, at creation; not kept)"
REDACTED_HEADER = "idempotent-redacted"


def shown_once(ctx: RequestContext, *fields: str) -> None:
    """Mark top-level fields of this response as secrets shown this once."""
    ctx.notes.setdefault(NOTE, []).extend(fields)


def fields_shown_once(ctx: RequestContext) -> list[str]:
    return list(ctx.notes.get(NOTE) or [])


def redacted_body(body: bytes, fields: list[str]) -> bytes:
    """The JSON body with each named field's value replaced by :data:`REDACTED`."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        return b""  # never keep what could not be redacted
    if not isinstance(document, dict):
        return b""
    for name in fields:
        if name in document:
            document[name] = REDACTED
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()

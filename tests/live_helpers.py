"""Helpers for the live-update suites: signed webhook deliveries and an SSE stream reader.

Shared by the console suite (one process) and the multi-process suite.
"""

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

WEBHOOK_PATH = "/webhooks/cba"


def event_payload(
    event_type: str, tenant_id: str, *, event_id: str | None = None, **data: Any
) -> dict[str, Any]:
    """A payload shaped as api.md's "Webhooks" section sends it."""
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "type": event_type,
        "tenant_id": tenant_id,
        "data": data,
        "created_at": "2026-12-01T10:00:00Z",
    }


def signed(
    secret: str,
    payload: dict[str, Any] | bytes,
    *,
    timestamp: int | None = None,
    webhook_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """``(body, headers)`` of a delivery signed like the vendor's scheme."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Timestamp": str(t),
        "X-Webhook-Signature": f"t={t},v1={digest}",
    }
    if webhook_id is None and isinstance(payload, dict):
        webhook_id = str(payload.get("id"))
    if webhook_id is not None:
        headers["X-Webhook-ID"] = webhook_id
    return body, headers


async def deliver(
    client: httpx.AsyncClient, secret: str, payload: dict[str, Any], **options: Any
) -> httpx.Response:
    body, headers = signed(secret, payload, **options)
    return await client.post(WEBHOOK_PATH, content=body, headers=headers)


@dataclass(frozen=True)
class Message:
    """One server-sent event (``event is None`` for a comment line such as a keep-alive)."""

    event: str | None
    data: str
    comment: str | None = None

    @property
    def signal(self) -> dict[str, Any]:
        """The JSON an ``approvals`` signal carries (event type and ID)."""
        value: dict[str, Any] = json.loads(self.data)
        return value

    @property
    def event_id(self) -> str | None:
        return self.signal.get("event_id") if self.event == "approvals" else None


class EventStream:
    """Reads an open ``text/event-stream`` response message by message."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.ended = False

    async def next(self, within: float = 10.0) -> Message:
        """The next message (comments included).

        Raises:
            TimeoutError: Nothing arrived in time.
            EOFError: The server closed the stream.
        """
        return await asyncio.wait_for(self._read(), within)

    async def _read(self) -> Message:
        event: str | None = None
        data: list[str] = []
        comment: str | None = None
        async for line in self._lines:
            if line == "":
                if event is None and not data and comment is None:
                    continue
                return Message(event, "\n".join(data), comment)
            if line.startswith(":"):
                comment = line[1:].strip()
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        self.ended = True
        raise EOFError("the stream ended")

    async def next_event(self, within: float = 10.0) -> Message:
        """The next real event, skipping keep-alive comments."""
        deadline = time.monotonic() + within
        while True:
            message = await self.next(max(0.01, deadline - time.monotonic()))
            if message.event is not None:
                return message

    async def until(
        self, *, event: str | None = None, event_id: str | None = None, within: float = 10.0
    ) -> list[Message]:
        """Every event up to and including the first named ``event`` or signalling ``event_id``.

        Other signals may arrive in between (the core's own deliveries of earlier work):
        callers check what they care about in the list.
        """
        seen: list[Message] = []
        deadline = time.monotonic() + within
        while True:
            message = await self.next_event(max(0.01, deadline - time.monotonic()))
            seen.append(message)
            if (event is not None and message.event == event) or (
                event_id is not None and message.event_id == event_id
            ):
                return seen

    async def keep_alives(self, count: int, within: float = 15.0) -> list[Message]:
        """Read until ``count`` keep-alive comments went by; return the events in between."""
        seen: list[Message] = []
        deadline = time.monotonic() + within
        while count > 0:
            message = await self.next(max(0.01, deadline - time.monotonic()))
            if message.event is None:
                count -= 1
            else:
                seen.append(message)
        return seen


@asynccontextmanager
async def open_stream(client: httpx.AsyncClient, path: str = "/live/events"):  # type: ignore[no-untyped-def]
    """Open the live stream with ``client``'s cookies; yields once it says ``ready``."""
    async with client.stream("GET", path, headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200, response.status_code
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        first = await stream.next_event()
        assert first.event == "ready", first
        yield stream

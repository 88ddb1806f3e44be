"""The delivery client (app/core/webhooks/pinning.py) against a scripted server on
loopback: what keeps a connection, what closes it, how a failure is named, and that it
connects only where it is told."""

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from app.core.webhooks import pinning
from app.core.webhooks.pinning import (
    ConnectionClosed,
    DeliveryClient,
    InvalidResponse,
    failure_category,
)
from app.core.webhooks.targets import Target

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
LOOPBACK = ipaddress.ip_address("127.0.0.1")


@dataclass
class Scripted:
    """Answers each request with the next answer of ``answers`` (bytes; None: close without
    answering; a ``Cut``: these bytes, then close); then ``OK``. Counts connections and
    keeps each request."""

    answers: list["bytes | Cut | None"] = field(default_factory=list)
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0) if self.answers else OK
                if answer is None:
                    return  # closes the connection without answering
                if isinstance(answer, Cut):
                    writer.write(answer.sent)
                    await writer.drain()
                    return
                writer.write(answer)
                await writer.drain()
                if b"connection: close" in answer.lower() or answer.startswith(b"HTTP/1.0"):
                    return
        finally:
            writer.close()


@dataclass(frozen=True)
class Cut:
    """Part of an answer, after which the server closes the connection."""

    sent: bytes


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    scripted = Scripted()
    listening = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    scripted.port = listening.sockets[0].getsockname()[1]
    yield scripted
    listening.close()


def target(server: Scripted, path: str = "/in") -> Target:
    return Target.parse(f"http://hooks.example.com:{server.port}{path}")


async def post(client: DeliveryClient, server: Scripted) -> int:
    return await client.post(
        target(server), LOOPBACK, [("X-Webhook-ID", "evt_1")], b'{"id":"evt_1"}', 5.0
    )


@pytest.fixture
async def client() -> AsyncIterator[DeliveryClient]:
    client = DeliveryClient()
    yield client
    await client.aclose()


async def test_one_kept_connection_carries_every_request(server, client):
    assert [await post(client, server) for _ in range(5)] == [200] * 5
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /in HTTP/1.1\r\n")
    assert f"Host: hooks.example.com:{server.port}\r\n".encode() in first
    assert first.endswith(b'Content-Length: 14\r\n\r\n{"id":"evt_1"}')


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        # Too long to read for the sake of keeping the connection.
        b"HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n" + b"x" * 70000,
        # No length: the body ends with the connection.
        b"HTTP/1.1 202 Accepted\r\n\r\n",
    ],
)
async def test_answers_that_end_the_connection_are_not_kept(server, client, answer):
    server.answers = [answer]
    status = await post(client, server)
    assert status in (200, 202)
    assert await post(client, server) == 200
    assert server.connections == 2


async def test_a_chunked_answer_is_read_to_its_end_and_the_connection_kept(server, client):
    server.answers = [
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
    ]
    assert await post(client, server) == 201
    assert await post(client, server) == 200
    assert server.connections == 1


async def test_an_interim_answer_is_skipped(server, client):
    server.answers = [b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK]
    assert await post(client, server) == 200


@pytest.mark.parametrize(
    "answer",
    [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    ],
)
async def test_a_malformed_answer_is_an_invalid_response(server, client, answer):
    server.answers = [answer]
    with pytest.raises(InvalidResponse) as raised:
        await post(client, server)
    assert failure_category(raised.value) == "invalid response"


async def test_a_kept_connection_closed_as_the_request_went_out_is_tried_once_more(server, client):
    """The server read the request and closed without answering, on a kept connection:
    the request goes again on a new connection (the receiver dedups on the event ID)."""
    assert await post(client, server) == 200
    server.answers = [None]
    assert await post(client, server) == 200
    assert server.connections == 2
    assert len(server.requests) == 3


async def test_a_new_connection_closed_without_an_answer_is_connection_closed(server, client):
    server.answers = [None]
    with pytest.raises(ConnectionClosed) as raised:
        await post(client, server)
    assert failure_category(raised.value) == "connection closed"
    assert len(server.requests) == 1  # not sent twice: the connection was new


async def test_a_body_cut_short_still_answers_with_its_status_but_is_not_kept(server, client):
    # Ten bytes announced, three sent, then the server closes the connection.
    server.answers = [Cut(b"HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\nabc")]
    assert await post(client, server) == 500
    assert await post(client, server) == 200
    assert server.connections == 2


async def test_a_head_cut_short_is_connection_closed_and_not_sent_again(server, client):
    assert await post(client, server) == 200  # a kept connection, then:
    server.answers = [Cut(b"HTTP/1.1 200 O")]  # part of a head, and the connection ends
    with pytest.raises(ConnectionClosed) as raised:
        await post(client, server)
    assert raised.value.answered
    assert len(server.requests) == 2  # some answer had come: not sent a second time


async def test_nobody_listening_is_connection_refused(client):
    closed = Scripted(port=1)
    with pytest.raises(OSError) as raised:
        await post(client, closed)
    assert failure_category(raised.value) == "connection refused"


async def test_the_connection_goes_only_to_the_address_given(server):
    """The name is never resolved: the connection is opened to the address passed in,
    and a kept connection serves only requests checked to that same address."""
    opened: list[tuple[str, int, str | None]] = []

    async def opener(address, port, tls, server_hostname, timeout):  # type: ignore[no-untyped-def]  # noqa: ASYNC109
        opened.append((address, port, server_hostname))
        return await pinning.open_stream("127.0.0.1", port, tls, server_hostname, timeout)

    client = DeliveryClient(opener)
    try:
        assert await post(client, server) == 200
        assert await post(client, server) == 200
        other = ipaddress.ip_address("127.0.0.2")
        assert (
            await client.post(target(server), other, [("X-Webhook-ID", "evt_2")], b"{}", 5.0) == 200
        )
    finally:
        await client.aclose()
    assert opened == [("127.0.0.1", server.port, None), ("127.0.0.2", server.port, None)]


async def test_a_kept_connection_is_not_used_after_the_keep_alive_time(server, monkeypatch):
    client = DeliveryClient()
    clock = [1000.0]
    monkeypatch.setattr(pinning.time, "monotonic", lambda: clock[0])
    try:
        assert await post(client, server) == 200
        clock[0] += pinning.KEEPALIVE_SECONDS + 0.1
        assert await post(client, server) == 200
    finally:
        await client.aclose()
    assert server.connections == 2


def test_a_header_that_would_split_the_request_is_refused():
    from app.core.webhooks.pinning import _request
    from app.core.webhooks.targets import TargetRefused

    with pytest.raises(TargetRefused):
        _request(
            Target.parse("http://hooks.example.com/in"),
            [("X-Webhook-ID", "evt\r\nX-Evil: 1")],
            b"{}",
        )

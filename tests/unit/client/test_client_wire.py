"""The client's HTTP/1.1 keep-alive transport (``app.client._wire``) against a real socket.

A small asyncio server on loopback answers each request as the test scripts it and counts
connections, so reuse, closing, chunked and compressed bodies, timeouts and broken answers
are each seen the way the console would meet them from a real core.
"""

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from app.client import BankingClient
from app.client import _wire as wire
from app.client._wire import KeepAliveTransport

Answer = Callable[[bytes, bytes], bytes | None]  # (request head, body) -> raw answer


def ok(body: bytes = b'{"ok":true}', *extra: str) -> bytes:
    head = [
        "HTTP/1.1 200 OK",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class Server:
    answer: Answer
    connections: int = 0
    requests: list[tuple[bytes, bytes]] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append((head, body))
                raw = self.answer(head, body)
                if raw is None:  # hang up without an answer
                    writer.close()
                    return
                writer.write(raw)
                await writer.drain()
                if b"Connection: close" in raw:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answer], Server]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> Server:
        server = Server(answer)
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        server.port = listening.sockets[0].getsockname()[1]
        servers.append(listening)
        return server

    yield start  # type: ignore[misc]
    for listening in servers:
        listening.close()


async def test_connections_are_kept_and_reused(serve):
    server = await serve(lambda head, body: ok())
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        for _ in range(5):
            response = await client.get(f"{server.url}/tenant")
            assert response.status_code == 200
            assert response.json() == {"ok": True}
    assert server.connections == 1
    assert len(server.requests) == 5
    assert server.requests[0][0].startswith(b"GET /tenant HTTP/1.1\r\n")


async def test_a_body_goes_with_its_length_and_the_headers_as_given(serve):
    server = await serve(lambda head, body: ok(body))
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        sent = {"amount": "1500.00", "narration": "naïve café"}
        response = await client.post(
            f"{server.url}/deposits?x=1",
            content=json.dumps(sent).encode(),
            headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"},
        )
    assert json.loads(response.content) == sent
    head, body = server.requests[0]
    assert head.startswith(b"POST /deposits?x=1 HTTP/1.1\r\n")
    assert b"\r\nIdempotency-Key: k-1\r\n" in head
    assert f"\r\nContent-Length: {len(body)}\r\n".encode() in head
    assert b"\r\nHost: 127.0.0.1:" in head


async def test_connection_close_makes_the_next_call_open_another(serve):
    server = await serve(lambda head, body: ok(b"{}", "Connection: close"))
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        for _ in range(3):
            assert (await client.get(f"{server.url}/")).status_code == 200
    assert server.connections == 3


async def test_a_connection_the_server_closed_is_not_reused(serve):
    server = await serve(lambda head, body: ok())
    transport = KeepAliveTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(f"{server.url}/")).status_code == 200
        server.writers[0].close()  # the server ends the idle connection
        await asyncio.sleep(0.05)
        assert (await client.get(f"{server.url}/")).status_code == 200
    assert server.connections == 2


async def test_an_idle_connection_expires_before_the_servers_timeout(serve, monkeypatch):
    monkeypatch.setattr(wire, "KEEPALIVE_EXPIRY_SECONDS", 0.05)
    server = await serve(lambda head, body: ok())
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        assert (await client.get(f"{server.url}/")).status_code == 200
        await asyncio.sleep(0.1)
        assert (await client.get(f"{server.url}/")).status_code == 200
    assert server.connections == 2


async def test_chunked_and_compressed_answers_are_read_whole(serve):
    payload = json.dumps({"rows": list(range(500))}).encode()
    packed = gzip.compress(payload)
    chunks = b"".join(
        f"{len(packed[i : i + 100]):x}\r\n".encode() + packed[i : i + 100] + b"\r\n"
        for i in range(0, len(packed), 100)
    )
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    server = await serve(lambda head, body: raw)
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        first = await client.get(f"{server.url}/")
        second = await client.get(f"{server.url}/")
    assert first.json() == second.json() == {"rows": list(range(500))}
    assert server.connections == 1


async def test_refused_slow_and_broken_answers_are_httpx_errors(serve):
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://127.0.0.1:9/")  # nothing listens on the discard port

        never = await serve(lambda head, body: b"")  # reads the request, answers nothing
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{never.url}/", timeout=httpx.Timeout(5.0, read=0.2))

        hangs_up = await serve(lambda head, body: None)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{hangs_up.url}/")

        garbage = await serve(lambda head, body: b"NOT HTTP AT ALL\r\n\r\n")
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{garbage.url}/")

        with pytest.raises(httpx.UnsupportedProtocol):
            await client.get("ftp://127.0.0.1/")


async def test_the_banking_client_uses_it_and_retries_a_read_over_it(serve):
    calls: list[int] = []

    def flaky(head: bytes, body: bytes) -> bytes | None:
        calls.append(1)
        if len(calls) == 1:
            return None  # the first attempt's connection drops
        return ok(b'{"success": true, "data": {"code": "demo_bank"}}')

    server = await serve(flaky)

    async def no_wait(_seconds: float) -> None:
        return None

    async with BankingClient(f"{server.url}/api/v1/cba", "demo_bank", sleep=no_wait) as client:
        assert await client.get("/tenant", token="t") == {"code": "demo_bank"}
    assert len(calls) == 2
    assert server.requests[-1][0].startswith(b"GET /api/v1/cba/tenant HTTP/1.1\r\n")


async def test_at_most_the_pool_limit_of_connections_at_once(serve):
    server = await serve(lambda head, body: ok())
    transport = KeepAliveTransport(httpx.Limits(max_connections=2, max_keepalive_connections=2))
    async with httpx.AsyncClient(transport=transport) as client:
        answers = await asyncio.gather(*(client.get(f"{server.url}/") for _ in range(10)))
    assert [a.status_code for a in answers] == [200] * 10
    assert server.connections == 2


def test_it_runs_on_uvloop_as_the_servers_do():
    """Production runs uvloop, whose transports are not asyncio.Transport subclasses."""
    uvloop = pytest.importorskip("uvloop")

    async def main() -> tuple[int, int]:
        server = Server(lambda head, body: ok())
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        server.port = listening.sockets[0].getsockname()[1]
        try:
            async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
                statuses = [(await client.get(f"{server.url}/")).status_code for _ in range(3)]
        finally:
            listening.close()
        return sum(statuses), server.connections

    assert uvloop.run(main()) == (600, 1)
